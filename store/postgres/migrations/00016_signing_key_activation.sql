-- A rotation can be announced ahead (`latch keys rotate --announce`): the
-- new key is published at once and signs from activates_at, so relying
-- parties that cache the key set know it before they meet it. NULL for a
-- key that signs from when it is stored, as every key before this
-- migration.

-- +goose Up
ALTER TABLE signing_keys ADD COLUMN activates_at timestamptz;

-- +goose Down
ALTER TABLE signing_keys DROP COLUMN activates_at;
