-- The same as store/sqlite/migrations/00006_email_canonical.sql.
--
-- Until now email_normalized was strings.ToLower of the address; it is now
-- the address's canonical form (latch.CanonicalEmail), which IDNA and
-- PRECIS define and SQL cannot compute. Every existing user is listed here,
-- and Store.Migrate, right after the migrations, gives each its canonical
-- address and key in Go (latch.EmailRekeys) and empties the list. A later
-- change of the canonical form lists the users again.

-- +goose Up
CREATE TABLE email_rekey_pending (
    user_id uuid NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE
);

INSERT INTO email_rekey_pending (user_id) SELECT id FROM users;

-- +goose Down
-- Addresses keep their canonical form (already lowercase); those kept
-- under a legacy key get their old key back.
UPDATE users SET email_normalized = substr(email_normalized, 8)
WHERE email_normalized LIKE 'legacy:%';

DROP TABLE email_rekey_pending;
