-- The same tables as store/postgres/migrations/00001_init.sql, in SQLite's
-- terms: ids are canonical UUID text, times are INTEGER microseconds since
-- the Unix epoch in UTC (compact, sortable, and exactly the precision
-- Postgres keeps), booleans are 0/1. STRICT makes SQLite refuse a value of
-- the wrong type instead of storing it.

-- +goose Up
CREATE TABLE tenants (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

INSERT INTO tenants (id, name, created_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'default', unixepoch() * 1000000);

-- number is the rowid: AUTOINCREMENT makes SQLite assign it and never reuse
-- one, as Postgres's identity column does. id is the key everything else
-- references.
CREATE TABLE users (
    number           INTEGER PRIMARY KEY AUTOINCREMENT,
    id               TEXT    NOT NULL UNIQUE,
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id),
    email            TEXT    NOT NULL,
    email_normalized TEXT    NOT NULL UNIQUE,
    first_name       TEXT    NOT NULL,
    last_name        TEXT    NOT NULL,
    profile_picture  TEXT    NOT NULL,
    verified         INTEGER NOT NULL CHECK (verified IN (0, 1)),
    active           INTEGER NOT NULL CHECK (active IN (0, 1)),
    admin            INTEGER NOT NULL CHECK (admin IN (0, 1)),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
) STRICT;

CREATE INDEX users_tenant_id ON users (tenant_id);

CREATE TABLE identities (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (provider, subject)
) STRICT;

-- Looked up by user, and needed so deleting a user does not scan the table.
CREATE INDEX identities_user_id ON identities (user_id);

-- WITHOUT ROWID: these tables are only ever reached by their primary key,
-- so storing rows in the key's B-tree saves a second lookup.
CREATE TABLE credentials (
    user_id    TEXT    NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE password_history (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- A password policy reads a user's last N hashes, newest first.
CREATE INDEX password_history_user_id ON password_history (user_id, id);

CREATE TABLE sessions (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    scopes     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE refresh_tokens (
    hash       BLOB    NOT NULL PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    algorithm  TEXT    NOT NULL,
    private    BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE password_history;
DROP TABLE credentials;
DROP TABLE identities;
DROP TABLE users;
DROP TABLE tenants;
