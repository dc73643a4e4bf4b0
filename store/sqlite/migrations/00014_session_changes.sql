-- Session changes, for the sessions cache of every process on this file
-- (the same changes as store/postgres/migrations/00014_session_changes.sql,
-- which NOTIFYs them instead).
--
-- A replica keeps Authenticate's answer (a live session and its active
-- user) in memory and must hear of anything that can change it: a session
-- revoked, re-scoped, given another end, moved or deleted while live; its
-- user changed or deleted. Triggers record each in the writing
-- transaction, whoever writes: this server, or `latch sessions revoke` run
-- beside it. The Store's feed polls the table (seq > the last seen) and
-- deletes old rows now and then.
--
-- The session trigger names its columns and compares them: an update of
-- anything else (a refresh token's rotation, say) records nothing.
-- at is microseconds since the Unix epoch (julianday keeps milliseconds;
-- unixepoch('subsec') needs SQLite 3.42, which an operator's shell may not
-- be), for the delay metric.

-- +goose Up
CREATE TABLE session_changes (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT    NOT NULL,
    at      INTEGER NOT NULL
) STRICT;

-- +goose StatementBegin
CREATE TRIGGER session_changes_session_update
AFTER UPDATE OF user_id, kind, scopes, expires_at, revoked_at ON sessions
WHEN old.user_id IS NOT new.user_id OR old.kind IS NOT new.kind OR old.scopes IS NOT new.scopes
  OR old.expires_at IS NOT new.expires_at OR old.revoked_at IS NOT new.revoked_at
BEGIN
    INSERT INTO session_changes (user_id, at)
    SELECT old.user_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)
    UNION SELECT new.user_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER);
END;
-- +goose StatementEnd

-- A revoked session was told of when it was revoked; deleting it (the
-- purge) changes no answer.
-- +goose StatementBegin
CREATE TRIGGER session_changes_session_delete
AFTER DELETE ON sessions
WHEN old.revoked_at IS NULL
BEGIN
    INSERT INTO session_changes (user_id, at)
    VALUES (old.user_id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));
END;
-- +goose StatementEnd

-- Every column of latch.User (email_normalized is not one: rekeying it
-- changes no answer).
-- +goose StatementBegin
CREATE TRIGGER session_changes_user_update
AFTER UPDATE OF id, number, tenant_id, email, first_name, last_name, profile_picture, verified,
    email_verified_by, active, admin, created_at, updated_at ON users
WHEN old.id IS NOT new.id OR old.number IS NOT new.number OR old.tenant_id IS NOT new.tenant_id
  OR old.email IS NOT new.email OR old.first_name IS NOT new.first_name OR old.last_name IS NOT new.last_name
  OR old.profile_picture IS NOT new.profile_picture OR old.verified IS NOT new.verified
  OR old.email_verified_by IS NOT new.email_verified_by OR old.active IS NOT new.active
  OR old.admin IS NOT new.admin OR old.created_at IS NOT new.created_at OR old.updated_at IS NOT new.updated_at
BEGIN
    INSERT INTO session_changes (user_id, at)
    SELECT old.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER)
    UNION SELECT new.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER session_changes_user_delete
AFTER DELETE ON users
BEGIN
    INSERT INTO session_changes (user_id, at)
    VALUES (old.id, CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER));
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER session_changes_user_delete;
DROP TRIGGER session_changes_user_update;
DROP TRIGGER session_changes_session_delete;
DROP TRIGGER session_changes_session_update;
DROP TABLE session_changes;
