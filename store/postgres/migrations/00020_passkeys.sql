-- Passkeys (issue 16): the same change as
-- store/sqlite/migrations/00020_passkeys.sql.
--
-- A passkey is a factor of kind 'webauthn': its WebAuthn credential record
-- is in columns added to factors (credential id, COSE public key,
-- attestation type, AAGUID, sign count, transports, backup flags, user
-- handle). The credential id is unique: an assertion names its passkey by
-- it (FactorByCredentialID). transports is a comma-separated list.
--
-- webauthn_challenges keeps the SHA-256 of each ceremony's challenge
-- until it is answered once (used_at set by one conditional update) or
-- expires: an assertion cannot be replayed even from an authenticator
-- whose sign count stays 0.

-- +goose Up
ALTER TABLE factors ADD COLUMN credential_id bytea;
ALTER TABLE factors ADD COLUMN public_key bytea;
ALTER TABLE factors ADD COLUMN attestation_type text NOT NULL DEFAULT '';
ALTER TABLE factors ADD COLUMN aaguid bytea;
ALTER TABLE factors ADD COLUMN sign_count bigint NOT NULL DEFAULT 0;
ALTER TABLE factors ADD COLUMN transports text NOT NULL DEFAULT '';
ALTER TABLE factors ADD COLUMN backup_eligible boolean NOT NULL DEFAULT false;
ALTER TABLE factors ADD COLUMN backup_state boolean NOT NULL DEFAULT false;
ALTER TABLE factors ADD COLUMN user_handle bytea;

CREATE UNIQUE INDEX factors_credential_id ON factors (credential_id);

CREATE TABLE webauthn_challenges (
    hash       bytea       NOT NULL PRIMARY KEY,
    purpose    text        NOT NULL,
    user_id    uuid        REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- The purge (expires_at < now).
CREATE INDEX webauthn_challenges_expires_at ON webauthn_challenges (expires_at);
-- The cascade from users.
CREATE INDEX webauthn_challenges_user_id ON webauthn_challenges (user_id);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP INDEX factors_credential_id;
ALTER TABLE factors DROP COLUMN user_handle;
ALTER TABLE factors DROP COLUMN backup_state;
ALTER TABLE factors DROP COLUMN backup_eligible;
ALTER TABLE factors DROP COLUMN transports;
ALTER TABLE factors DROP COLUMN sign_count;
ALTER TABLE factors DROP COLUMN aaguid;
ALTER TABLE factors DROP COLUMN attestation_type;
ALTER TABLE factors DROP COLUMN public_key;
ALTER TABLE factors DROP COLUMN credential_id;
