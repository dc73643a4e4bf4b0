-- +goose Up
-- The data keys (issue 16): the same table as
-- store/postgres/migrations/00022_data_keys.sql. A data key seals
-- long-lived secrets (TOTP secrets) and keys recovery-code hashes; unlike
-- a signing key it is never published, rotated or retired. key is the
-- 256-bit key, wrapped with the key encryption key when one is set.
CREATE TABLE data_keys (
    id         TEXT    NOT NULL PRIMARY KEY,
    key        BLOB    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE data_keys;
