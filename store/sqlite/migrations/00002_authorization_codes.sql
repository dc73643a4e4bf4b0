-- The same table as store/postgres/migrations/00002_authorization_codes.sql.

-- +goose Up
CREATE TABLE authorization_codes (
    hash           BLOB    NOT NULL PRIMARY KEY,
    user_id        TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_challenge TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
) STRICT, WITHOUT ROWID;

CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

-- +goose Down
DROP TABLE authorization_codes;
