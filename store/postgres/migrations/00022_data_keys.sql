-- +goose Up
-- The data keys (issue 16). A data key seals long-lived secrets (TOTP
-- secrets) and keys recovery-code hashes; unlike a signing key it is
-- never published, rotated or retired. key is the 256-bit key, wrapped
-- with the key encryption key when one is set.
CREATE TABLE data_keys (
    id         text        NOT NULL PRIMARY KEY,
    key        bytea       NOT NULL,
    created_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE data_keys;
