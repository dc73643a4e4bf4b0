-- The same tables as store/postgres/migrations/00004_mail.sql: the durable
-- mail outbox and single-use password links.

-- +goose Up

-- data is the template's values, sealed by the caller; NULL once the
-- message is sent or given up (it may hold a link token). A message is
-- pending while neither sent_at nor failed_at is set.
CREATE TABLE mail_outbox (
    id              TEXT    NOT NULL PRIMARY KEY,
    to_address      TEXT    NOT NULL,
    template        TEXT    NOT NULL,
    data            BLOB,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    failed_at       INTEGER,
    last_error      TEXT    NOT NULL DEFAULT ''
) STRICT;

-- ClaimMail takes the pending messages that are due, longest due first;
-- sent and failed ones, the bulk of the table, are not in the index.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;

-- MailMessages lists the outbox newest first.
CREATE INDEX mail_outbox_created_at ON mail_outbox (created_at, id);

-- Only the SHA-256 of a link's token is kept. used_at is set when the link
-- is used, or superseded by a newer link of the same user and purpose.
CREATE TABLE password_links (
    hash       BLOB    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT, WITHOUT ROWID;

-- A new link supersedes the user's live links of its purpose; deleting a
-- user must not scan the table either.
CREATE INDEX password_links_user_id ON password_links (user_id, purpose);

CREATE INDEX password_links_expires_at ON password_links (expires_at);

-- +goose Down
DROP TABLE password_links;
DROP TABLE mail_outbox;
