-- +goose Up
-- A tenant's second-factor policy (issue 16). No row: the service's
-- default (no factor required, every kind allowed). allowed is the
-- comma-separated kinds, in latch.FactorPolicyKinds' order.
CREATE TABLE tenant_factor_policies (
    tenant_id  uuid        NOT NULL PRIMARY KEY REFERENCES tenants (id),
    required   boolean     NOT NULL,
    allowed    text        NOT NULL CHECK (allowed <> ''),
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE tenant_factor_policies;
