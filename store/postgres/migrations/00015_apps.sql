-- Apps (OAuth clients of end users, issue 15) and the consents users gave
-- them: the same tables as store/sqlite/migrations/00015_apps.sql.
--
-- An app is not an API client (clients): it acts for the users who sign
-- in to it, never for a tenant's administration, so it has a table of its
-- own. id is the client_id, an opaque random string (not a UUID).
--
-- Lists are stored as text both backends keep alike: scopes space-separated,
-- as sessions.scopes (a scope holds no space, RFC 6749 section 3.3); the
-- redirect URIs as a JSON array of strings, since they are compared as
-- exact strings and nothing must be lost in the round trip (text, not
-- jsonb, which would not be the same bytes back).
--
-- The CHECKs hold the rules a later writer could forget: a public app has
-- no secret and a confidential one has one, and only a confidential app may
-- use the client_credentials grant.
--
-- Tenants are never deleted, so apps reference them without a cascade (as
-- clients do). Apps are revoked, not deleted; a consent still goes with its
-- app, and with its user (DeleteUser deletes everything that is theirs).

-- +goose Up
CREATE TABLE apps (
    id                        text        COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id                 uuid        NOT NULL REFERENCES tenants (id),
    name                      text        NOT NULL,
    type                      text        NOT NULL CHECK (type IN ('public', 'confidential')),
    secret_hash               bytea,
    first_party               boolean     NOT NULL,
    redirect_uris             text        NOT NULL,
    post_logout_redirect_uris text        NOT NULL,
    scopes                    text        NOT NULL,
    client_credentials        boolean     NOT NULL,
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL,
    revoked_at                timestamptz,
    CHECK ((type = 'public') = (secret_hash IS NULL)),
    CHECK (NOT client_credentials OR type = 'confidential')
);

-- A tenant's apps in id order (AppsByTenant pages by id). The ids are
-- COLLATE "C": they compare bytewise, as in SQLite, so both backends page
-- alike whatever the database's locale.
CREATE INDEX apps_tenant_id ON apps (tenant_id, id);

CREATE TABLE app_consents (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id     text        COLLATE "C" NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    scopes     text        NOT NULL,
    granted_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, app_id)
);

-- The cascade from apps finds an app's consents without a full scan.
CREATE INDEX app_consents_app_id ON app_consents (app_id);

-- +goose Down
DROP TABLE app_consents;
DROP TABLE apps;
