-- The same change as store/sqlite/migrations/00005_identity_issuers.sql
-- (which explains it): identities are (issuer, subject), and users record
-- how their email was verified.

-- +goose Up
ALTER TABLE identities ADD COLUMN issuer text NOT NULL DEFAULT '';
ALTER TABLE identities DROP CONSTRAINT identities_provider_subject_key;
CREATE UNIQUE INDEX identities_issuer_subject ON identities (issuer, subject) WHERE issuer <> '';
CREATE UNIQUE INDEX identities_legacy_provider_subject ON identities (provider, subject) WHERE issuer = '';

ALTER TABLE users ADD COLUMN email_verified_by text NOT NULL DEFAULT ''
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
DELETE FROM identities a USING identities b
    WHERE a.provider = b.provider AND a.subject = b.subject AND a.id > b.id;
ALTER TABLE identities DROP COLUMN issuer;
ALTER TABLE identities ADD CONSTRAINT identities_provider_subject_key UNIQUE (provider, subject);
