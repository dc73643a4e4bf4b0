-- The same index as store/postgres/migrations/00011_outbox_pending_age.sql.
--
-- OldestPendingMail (the outbox's oldest pending message, a metric read at
-- every scrape) finds the pending message created first in one index
-- entry. mail_outbox_due orders the same rows by next_attempt_at, which a
-- retry pushes forward, so it cannot answer without reading every pending
-- row: as many as an SMTP outage lets pile up.

-- +goose Up
CREATE INDEX mail_outbox_pending_created ON mail_outbox (created_at)
    WHERE sent_at IS NULL AND failed_at IS NULL;

-- +goose Down
DROP INDEX mail_outbox_pending_created;
