-- Requests answered before their work was done: recovery, sign-up (the
-- same table as store/sqlite/migrations/00009_jobs.sql).

-- +goose Up

-- One row per answered request, written before the answer and deleted once
-- its work is done. data is sealed by the service (the email, names and
-- client address). A worker claims a row by pushing next_attempt_at to the
-- end of its lease, so a crash leaves the row to be claimed again.
CREATE TABLE jobs (
    id              uuid        NOT NULL PRIMARY KEY,
    kind            text        NOT NULL,
    data            bytea       NOT NULL,
    created_at      timestamptz NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    last_error      text        NOT NULL DEFAULT ''
);

-- ClaimJobs takes the jobs that are due, longest due first.
CREATE INDEX jobs_due ON jobs (next_attempt_at, id);

-- +goose Down
DROP TABLE jobs;
