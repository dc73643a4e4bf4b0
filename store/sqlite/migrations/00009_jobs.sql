-- The same table as store/postgres/migrations/00009_jobs.sql: requests
-- answered before their work was done (recovery, sign-up).

-- +goose Up

-- One row per answered request, written before the answer and deleted once
-- its work is done. data is sealed by the service (the email, names and
-- client address). A worker claims a row by pushing next_attempt_at to the
-- end of its lease, so a crash leaves the row to be claimed again.
CREATE TABLE jobs (
    id              TEXT    NOT NULL PRIMARY KEY,
    kind            TEXT    NOT NULL,
    data            BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT ''
) STRICT;

-- ClaimJobs takes the jobs that are due, longest due first.
CREATE INDEX jobs_due ON jobs (next_attempt_at, id);

-- +goose Down
DROP TABLE jobs;
