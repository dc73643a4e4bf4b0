-- Second factors and recovery codes (issue 16): the same tables as
-- store/sqlite/migrations/00019_factors.sql.
--
-- A factor of any kind (TOTP now, a passkey later) is one row of factors:
-- the fields every kind has (name, created, confirmed, last used), and the
-- columns of a kind, added with it (secret and last_step for TOTP; a
-- passkey's credential id and public key later). secret is the TOTP
-- secret sealed with the service key, never in clear. last_step is the
-- latest RFC 6238 time step accepted: UseTOTPStep raises it with a
-- conditional update, so a code is accepted once across replicas.
--
-- recovery_codes holds only the hash of each code; a regeneration deletes
-- the user's set and inserts the new one in one transaction.

-- +goose Up
CREATE TABLE factors (
    id           uuid        NOT NULL PRIMARY KEY,
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text        NOT NULL CHECK (kind IN ('totp', 'webauthn')),
    name         text        NOT NULL,
    secret       bytea,
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    last_used_at timestamptz,
    last_step    bigint      NOT NULL DEFAULT 0,
    CHECK (kind <> 'totp' OR secret IS NOT NULL)
);

-- A user's factors (FactorsByUser), and the cascade from users.
CREATE INDEX factors_user_id ON factors (user_id);

CREATE TABLE recovery_codes (
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       bytea       NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (user_id, hash)
);

-- +goose Down
DROP TABLE recovery_codes;
DROP TABLE factors;
