-- Refresh-token reuse, for users and API clients (the same change as
-- store/postgres/migrations/00007_refresh_reuse.sql).

-- +goose Up

-- next_hash is the hash of the token a refresh token was rotated into, so
-- that a second presentation within the reuse interval is recognised as
-- the same client asking twice (it derives the same successor). NULL for
-- an unused token, and for tokens used before this migration (their reuse
-- revokes, as it did).
ALTER TABLE refresh_tokens ADD COLUMN next_hash BLOB;

-- An API client's grants form chains too: a grant renewed with its
-- refresh token is replaced (replaced_at, next_id: the grant that
-- followed) rather than merely revoked, so that its refresh token
-- presented again is recognised as a reuse; family_id is the chain's
-- first grant, so a reuse revokes the whole chain at once.
ALTER TABLE client_tokens ADD COLUMN family_id TEXT;
ALTER TABLE client_tokens ADD COLUMN replaced_at INTEGER;
ALTER TABLE client_tokens ADD COLUMN next_id TEXT;
UPDATE client_tokens SET family_id = id;
CREATE INDEX client_tokens_family_id ON client_tokens (family_id);

-- +goose Down
DROP INDEX client_tokens_family_id;
ALTER TABLE client_tokens DROP COLUMN next_id;
ALTER TABLE client_tokens DROP COLUMN replaced_at;
ALTER TABLE client_tokens DROP COLUMN family_id;
ALTER TABLE refresh_tokens DROP COLUMN next_hash;
