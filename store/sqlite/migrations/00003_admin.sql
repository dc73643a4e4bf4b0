-- The same tables as store/postgres/migrations/00003_admin.sql: tenants
-- get a number and unique names; API clients, their grants, per-tenant
-- password policies and the audit log; a credential can be marked to be
-- changed at the next sign-in.
--
-- tenants is rebuilt: SQLite cannot add a column that the database
-- numbers, and the implicit rowid will not do as the number, since VACUUM
-- may renumber the rows of a table without an INTEGER PRIMARY KEY. The
-- rebuild runs inside goose's transaction, with foreign keys on (the Store
-- opens every connection so, and PRAGMA foreign_keys cannot change inside a
-- transaction). defer_foreign_keys holds every check until the commit
-- (it switches itself off there): dropping tenants leaves users pointing
-- at no row, and inserting the rows again into the new tenants resolves
-- those violations, so the commit finds none. Renaming a copy into place
-- instead would not do: with foreign keys on, renaming the old table
-- makes users reference it under its new name.

-- +goose Up
PRAGMA defer_foreign_keys = ON;

CREATE TABLE tenants_copy AS SELECT id, name, created_at FROM tenants;

DROP TABLE tenants;

-- number is the rowid: AUTOINCREMENT makes SQLite assign it and never reuse
-- one, as Postgres's identity column does (and tenants are never deleted).
-- id is the key everything else references.
CREATE TABLE tenants (
    number     INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

-- The default tenant is number 1; any others follow in creation order.
INSERT INTO tenants (number, id, name, created_at)
SELECT row_number() OVER (
           ORDER BY id <> '00000000-0000-0000-0000-000000000001', created_at, id),
       id, name, created_at
FROM tenants_copy;

DROP TABLE tenants_copy;

ALTER TABLE credentials
    ADD COLUMN must_change INTEGER NOT NULL DEFAULT 0 CHECK (must_change IN (0, 1));

-- id is an opaque random string the client authenticates with, not a UUID.
CREATE TABLE clients (
    id          TEXT    NOT NULL PRIMARY KEY,
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id),
    name        TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    super       INTEGER NOT NULL CHECK (super IN (0, 1)),
    secret_hash BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT, WITHOUT ROWID;

-- A tenant's clients, oldest first.
CREATE INDEX clients_tenant_id ON clients (tenant_id, created_at);

CREATE TABLE client_tokens (
    id           TEXT    NOT NULL PRIMARY KEY,
    client_id    TEXT    NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    refresh_hash BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER
) STRICT;

CREATE INDEX client_tokens_client_id ON client_tokens (client_id);

-- policy is a latch.PasswordPolicy as JSON.
CREATE TABLE tenant_policies (
    tenant_id  TEXT    NOT NULL PRIMARY KEY REFERENCES tenants (id),
    policy     TEXT    NOT NULL CHECK (json_valid(policy)),
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- Append-only. No foreign keys: an event outlives the user it names (and
-- target_id may name a client). tenant_id is NULL for events of no tenant,
-- details is a JSON object of strings or NULL for none.
CREATE TABLE audit_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT,
    at         INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    actor_type TEXT    NOT NULL,
    actor_id   TEXT    NOT NULL,
    target_id  TEXT    NOT NULL,
    ip         TEXT    NOT NULL,
    details    TEXT CHECK (json_valid(details))
) STRICT;

-- The log is read newest first (by id), by tenant or by the user acted on.
CREATE INDEX audit_events_tenant_id ON audit_events (tenant_id, id);
CREATE INDEX audit_events_target_id ON audit_events (target_id, id);

-- +goose Down
DROP TABLE audit_events;
DROP TABLE tenant_policies;
DROP TABLE client_tokens;
DROP TABLE clients;
ALTER TABLE credentials DROP COLUMN must_change;

PRAGMA defer_foreign_keys = ON;

CREATE TABLE tenants_copy AS SELECT id, name, created_at FROM tenants;

DROP TABLE tenants;

CREATE TABLE tenants (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

INSERT INTO tenants (id, name, created_at) SELECT id, name, created_at FROM tenants_copy;

DROP TABLE tenants_copy;
