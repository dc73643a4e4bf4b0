-- Nothing to change: this keeps the migration numbers of both backends
-- aligned with store/sqlite/migrations/00010_portable_checks.sql, which
-- makes a SQLite CHECK read alike in every SQLite version. Postgres's
-- audit_events.details has no CHECK, and Postgres evaluates CHECKs on NULL
-- as the SQL standard says, in every version.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
