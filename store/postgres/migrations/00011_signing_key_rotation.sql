-- Signing keys rotate (`latch keys rotate`): a key signs until a newer one
-- replaces it (rotated_at), then only verifies until every token it signed
-- has expired (retire_at), then is deleted. Both are NULL for the key that
-- signs; keys stored before this migration keep signing as before.

-- +goose Up
ALTER TABLE signing_keys ADD COLUMN rotated_at timestamptz;
ALTER TABLE signing_keys ADD COLUMN retire_at timestamptz;

-- +goose Down
ALTER TABLE signing_keys DROP COLUMN retire_at;
ALTER TABLE signing_keys DROP COLUMN rotated_at;
