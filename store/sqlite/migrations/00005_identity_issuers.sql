-- The same change as store/postgres/migrations/00005_identity_issuers.sql.
--
-- An outside identity is (issuer, subject), never (provider type, subject):
-- a subject means something only at the issuer that assigned it, so two
-- OIDC providers (or GitHub and a GitHub Enterprise) must not share
-- identities. Rows stored before have no issuer (''); `latch serve`
-- attributes them to the one configured provider of their type at start,
-- or refuses to start while that is ambiguous. Until then the old
-- (provider, subject) uniqueness still holds for them.
--
-- users.email_verified_by records whose word made an email verified:
-- 'link' (a Latch link the person opened), 'provider' (a provider that
-- verified it signed the person in), 'asserted' (an operator or API client
-- said so), '' (unverified). Emails verified before this was recorded are
-- 'legacy', except where the account was made by a provider sign-in
-- (an identity created with the account, with the account's email), whose
-- verified email made it verified; an identity linked later may have been
-- linked on an email that was merely asserted, so it proves nothing.
-- Neither 'asserted' nor 'legacy' is ever enough to link a provider by
-- email.
--
-- identities is rebuilt, since SQLite cannot drop a table constraint;
-- nothing references it, so the drop breaks no foreign key.

-- +goose Up
CREATE TABLE identities_new (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL,
    issuer     TEXT    NOT NULL DEFAULT '',
    subject    TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    created_at INTEGER NOT NULL
) STRICT;

INSERT INTO identities_new (id, user_id, provider, issuer, subject, email, created_at)
SELECT id, user_id, provider, '', subject, email, created_at FROM identities;

DROP TABLE identities;
ALTER TABLE identities_new RENAME TO identities;

CREATE INDEX identities_user_id ON identities (user_id);
CREATE UNIQUE INDEX identities_issuer_subject ON identities (issuer, subject) WHERE issuer <> '';
CREATE UNIQUE INDEX identities_legacy_provider_subject ON identities (provider, subject) WHERE issuer = '';

ALTER TABLE users ADD COLUMN email_verified_by TEXT NOT NULL DEFAULT ''
    CHECK (email_verified_by IN ('', 'link', 'provider', 'asserted', 'legacy'));

UPDATE users SET email_verified_by = CASE
    WHEN EXISTS (SELECT 1 FROM identities i WHERE i.user_id = users.id
                 AND i.created_at = users.created_at AND lower(i.email) = users.email_normalized)
    THEN 'provider'
    ELSE 'legacy' END
WHERE verified;

-- +goose Down
DROP INDEX identities_issuer_subject;
DROP INDEX identities_legacy_provider_subject;
ALTER TABLE users DROP COLUMN email_verified_by;
CREATE TABLE identities_old (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    email      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (provider, subject)
) STRICT;
INSERT OR IGNORE INTO identities_old (id, user_id, provider, subject, email, created_at)
SELECT id, user_id, provider, subject, email, created_at FROM identities;
DROP TABLE identities;
ALTER TABLE identities_old RENAME TO identities;
CREATE INDEX identities_user_id ON identities (user_id);
