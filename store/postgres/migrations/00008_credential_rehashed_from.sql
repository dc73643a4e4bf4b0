-- The hash a rehash replaced (the same change as
-- store/sqlite/migrations/00008_credential_rehashed_from.sql).

-- +goose Up

-- rehashed_from is the digest (store/internal/contract.RehashDigest) of
-- the hash the last rehash of this password replaced, and NULL once the
-- password itself is set again. A login that verified the replaced hash
-- while another login upgraded it checked the same password, and may
-- still start its session; a password change clears it, so nothing
-- verified before a change outlives it. Only a SHA-256 digest is kept:
-- the condition needs equality, not the hash, and this column should not
-- add another copy of a weaker hash to the database.
ALTER TABLE credentials ADD COLUMN rehashed_from bytea;

-- +goose Down
ALTER TABLE credentials DROP COLUMN rehashed_from;
