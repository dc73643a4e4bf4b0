-- +goose Up
-- A tenant's second-factor policy (issue 16): the same table as
-- store/postgres/migrations/00021_factor_policy.sql. No row: the
-- service's default (no factor required, every kind allowed). allowed is
-- the comma-separated kinds, in latch.FactorPolicyKinds' order.
CREATE TABLE tenant_factor_policies (
    tenant_id  TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id),
    required   INTEGER NOT NULL CHECK (required IN (0, 1)),
    allowed    TEXT    NOT NULL CHECK (allowed <> ''),
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE tenant_factor_policies;
