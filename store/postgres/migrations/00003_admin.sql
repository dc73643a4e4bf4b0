-- The same tables as store/sqlite/migrations/00003_admin.sql: tenants
-- get a number and unique names; API clients, their grants, per-tenant
-- password policies and the audit log; a credential can be marked to be
-- changed at the next sign-in.

-- +goose Up

-- The number is filled in for the existing tenants before it becomes an
-- identity column, so that the default tenant is number 1 whatever order
-- the rows lie in; the sequence then continues after the largest.
ALTER TABLE tenants ADD COLUMN number bigint;

UPDATE tenants t SET number = n.number
FROM (SELECT id, row_number() OVER (
          ORDER BY id <> '00000000-0000-0000-0000-000000000001', created_at, id) AS number
      FROM tenants) n
WHERE n.id = t.id;

ALTER TABLE tenants ALTER COLUMN number SET NOT NULL;

ALTER TABLE tenants ALTER COLUMN number ADD GENERATED ALWAYS AS IDENTITY;

ALTER TABLE tenants
    ADD CONSTRAINT tenants_number_key UNIQUE (number),
    ADD CONSTRAINT tenants_name_key UNIQUE (name);

SELECT setval(pg_get_serial_sequence('tenants', 'number'), max(number)) FROM tenants;

ALTER TABLE credentials ADD COLUMN must_change boolean NOT NULL DEFAULT false;

-- ListUsers reads a tenant's users in number order.
CREATE INDEX users_tenant_id_number ON users (tenant_id, number);
DROP INDEX users_tenant_id;

-- id is an opaque random string the client authenticates with, not a UUID.
CREATE TABLE clients (
    id          text        NOT NULL PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    name        text        NOT NULL,
    scope       text        NOT NULL,
    super       boolean     NOT NULL,
    secret_hash bytea       NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);

-- A tenant's clients, oldest first.
CREATE INDEX clients_tenant_id ON clients (tenant_id, created_at);

CREATE TABLE client_tokens (
    id           uuid        NOT NULL PRIMARY KEY,
    client_id    text        NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    refresh_hash bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);

CREATE INDEX client_tokens_client_id ON client_tokens (client_id);

-- policy is a latch.PasswordPolicy as JSON text (as in SQLite: the store
-- only ever reads it whole).
CREATE TABLE tenant_policies (
    tenant_id  uuid        NOT NULL PRIMARY KEY REFERENCES tenants (id),
    policy     text        NOT NULL,
    updated_at timestamptz NOT NULL
);

-- Append-only. No foreign keys: an event outlives the user it names (and
-- target_id may name a client). tenant_id is NULL for events of no tenant,
-- details is a JSON object of strings or NULL for none.
CREATE TABLE audit_events (
    id         bigint      NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  uuid,
    at         timestamptz NOT NULL,
    action     text        NOT NULL,
    actor_type text        NOT NULL,
    actor_id   text        NOT NULL,
    target_id  text        NOT NULL,
    ip         text        NOT NULL,
    details    text
);

-- The log is read newest first (by id), by tenant or by the user acted on.
CREATE INDEX audit_events_tenant_id ON audit_events (tenant_id, id);
CREATE INDEX audit_events_target_id ON audit_events (target_id, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE tenant_policies;
DROP TABLE client_tokens;
DROP TABLE clients;
CREATE INDEX users_tenant_id ON users (tenant_id);
DROP INDEX users_tenant_id_number;
ALTER TABLE credentials DROP COLUMN must_change;
ALTER TABLE tenants DROP CONSTRAINT tenants_name_key;
ALTER TABLE tenants DROP COLUMN number;
