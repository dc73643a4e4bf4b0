-- One-time codes that carry a provider sign-in back to the app, which
-- redeems them at the token endpoint with its PKCE verifier. Only the
-- SHA-256 of a code is kept.

-- +goose Up
CREATE TABLE authorization_codes (
    hash           bytea       NOT NULL PRIMARY KEY,
    user_id        uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_challenge text        NOT NULL,
    redirect_uri   text        NOT NULL,
    password_hash  text        NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz
);

CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

-- +goose Down
DROP TABLE authorization_codes;
