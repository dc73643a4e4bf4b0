-- Refresh-token reuse (the same change as
-- store/sqlite/migrations/00007_refresh_reuse.sql).

-- +goose Up

-- next_hash is the hash of the token a refresh token was rotated into, so
-- that a second presentation within the reuse interval is recognised as
-- the same client asking twice (it derives the same successor). NULL for
-- an unused token, and for tokens used before this migration (their reuse
-- revokes, as it did).
ALTER TABLE refresh_tokens ADD COLUMN next_hash bytea;

-- +goose Down
ALTER TABLE refresh_tokens DROP COLUMN next_hash;
