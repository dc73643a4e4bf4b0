-- The same tables as store/sqlite/migrations/00001_init.sql. Unqualified
-- names: the tables land in the first schema of the connection's
-- search_path, which is how tests give each run a schema of its own.

-- +goose Up
CREATE TABLE tenants (
    id         uuid        NOT NULL PRIMARY KEY,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL
);

INSERT INTO tenants (id, name, created_at)
VALUES ('00000000-0000-0000-0000-000000000001', 'default', date_trunc('second', now()));

CREATE TABLE users (
    id               uuid        NOT NULL PRIMARY KEY,
    number           bigint      NOT NULL GENERATED ALWAYS AS IDENTITY UNIQUE,
    tenant_id        uuid        NOT NULL REFERENCES tenants (id),
    email            text        NOT NULL,
    email_normalized text        NOT NULL UNIQUE,
    first_name       text        NOT NULL,
    last_name        text        NOT NULL,
    profile_picture  text        NOT NULL,
    verified         boolean     NOT NULL,
    active           boolean     NOT NULL,
    admin            boolean     NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);

CREATE INDEX users_tenant_id ON users (tenant_id);

CREATE TABLE identities (
    id         uuid        NOT NULL PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   text        NOT NULL,
    subject    text        NOT NULL,
    email      text        NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (provider, subject)
);

-- Looked up by user, and needed so deleting a user does not scan the table.
CREATE INDEX identities_user_id ON identities (user_id);

CREATE TABLE credentials (
    user_id    uuid        NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       text        NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE password_history (
    id         bigint      NOT NULL GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       text        NOT NULL,
    created_at timestamptz NOT NULL
);

-- A password policy reads a user's last N hashes, newest first.
CREATE INDEX password_history_user_id ON password_history (user_id, id);

CREATE TABLE sessions (
    id         uuid        NOT NULL PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       text        NOT NULL,
    scopes     text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE refresh_tokens (
    hash       bytea       NOT NULL PRIMARY KEY,
    session_id uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
    id         text        NOT NULL PRIMARY KEY,
    algorithm  text        NOT NULL,
    private    bytea       NOT NULL,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE password_history;
DROP TABLE credentials;
DROP TABLE identities;
DROP TABLE users;
DROP TABLE tenants;
