-- The durable mail outbox and single-use password links (the same tables
-- as store/sqlite/migrations/00004_mail.sql).

-- +goose Up

-- data is the template's values, sealed by the caller; NULL once the
-- message is sent or given up (it may hold a link token). A message is
-- pending while neither sent_at nor failed_at is set.
CREATE TABLE mail_outbox (
    id              uuid        NOT NULL PRIMARY KEY,
    to_address      text        NOT NULL,
    template        text        NOT NULL,
    data            bytea,
    created_at      timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    sent_at         timestamptz,
    failed_at       timestamptz,
    last_error      text        NOT NULL DEFAULT ''
);

-- ClaimMail takes the pending messages that are due, longest due first;
-- sent and failed ones, the bulk of the table, are not in the index.
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at, id)
    WHERE sent_at IS NULL AND failed_at IS NULL;

-- MailMessages lists the outbox newest first.
CREATE INDEX mail_outbox_created_at ON mail_outbox (created_at, id);

-- Only the SHA-256 of a link's token is kept. used_at is set when the link
-- is used, or superseded by a newer link of the same user and purpose.
CREATE TABLE password_links (
    hash       bytea       NOT NULL PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text        NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- A new link supersedes the user's live links of its purpose; deleting a
-- user must not scan the table either.
CREATE INDEX password_links_user_id ON password_links (user_id, purpose);

CREATE INDEX password_links_expires_at ON password_links (expires_at);

-- +goose Down
DROP TABLE password_links;
DROP TABLE mail_outbox;
