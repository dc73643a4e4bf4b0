-- Second factors and recovery codes (issue 16): the same tables as
-- store/postgres/migrations/00019_factors.sql.
--
-- A factor of any kind (TOTP now, a passkey later) is one row of factors:
-- the fields every kind has (name, created, confirmed, last used), and the
-- columns of a kind, added with it (secret and last_step for TOTP; a
-- passkey's credential id and public key later). secret is the TOTP
-- secret sealed with the service key, never in clear. last_step is the
-- latest RFC 6238 time step accepted: UseTOTPStep raises it with a
-- conditional update, so a code is accepted once.
--
-- recovery_codes holds only the hash of each code; a regeneration deletes
-- the user's set and inserts the new one in one transaction.

-- +goose Up
CREATE TABLE factors (
    id           TEXT    NOT NULL PRIMARY KEY,
    user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('totp', 'webauthn')),
    name         TEXT    NOT NULL,
    secret       BLOB,
    created_at   INTEGER NOT NULL,
    confirmed_at INTEGER,
    last_used_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0,
    CHECK (kind <> 'totp' OR secret IS NOT NULL)
) STRICT, WITHOUT ROWID;

-- A user's factors (FactorsByUser), and the cascade from users.
CREATE INDEX factors_user_id ON factors (user_id);

CREATE TABLE recovery_codes (
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (user_id, hash)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE recovery_codes;
DROP TABLE factors;
