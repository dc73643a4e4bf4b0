-- The same change as store/postgres/migrations/00013_session_row.sql: one
-- row per sign-in.
--
-- A session row carries its refresh-token chain: the current token's
-- SHA-256 (refresh_hash; NULL for a session without refresh, or one whose
-- chain still lives in refresh_tokens), its generation and when it was
-- rotated. A rotation updates this row instead of marking one token row
-- used and inserting another. refresh_tokens stays for the sessions that
-- began before: their unused token rotates into the session row once, and
-- a used one presented again is still recognised as a reuse. New sessions
-- never write it.
--
-- A session row also carries the audit event of the sign-in that started
-- it (audit_*), instead of a second row in audit_events. audit_id is taken
-- from audit_events' own counter (sqlite_sequence), so the two sources are
-- one id sequence and AuditEvents pages through their union by id. Events
-- outlive what they name: the trigger moves a session's event into
-- audit_events, with its id, before the row is deleted, whatever deletes it
-- (PurgeSessions, or the cascade of a user's deletion).
--
-- ADD COLUMN keeps existing rows (and their refresh_tokens) as they are;
-- no table is rebuilt.

-- +goose Up
ALTER TABLE sessions ADD COLUMN refresh_hash BLOB;
ALTER TABLE sessions ADD COLUMN refresh_generation INTEGER;
ALTER TABLE sessions ADD COLUMN refresh_rotated_at INTEGER;
ALTER TABLE sessions ADD COLUMN audit_id INTEGER;
ALTER TABLE sessions ADD COLUMN audit_tenant_id TEXT;
ALTER TABLE sessions ADD COLUMN audit_at INTEGER;
ALTER TABLE sessions ADD COLUMN audit_action TEXT;
ALTER TABLE sessions ADD COLUMN audit_actor_type TEXT;
ALTER TABLE sessions ADD COLUMN audit_actor_id TEXT;
ALTER TABLE sessions ADD COLUMN audit_target_id TEXT;
ALTER TABLE sessions ADD COLUMN audit_ip TEXT;
ALTER TABLE sessions ADD COLUMN audit_details TEXT;

-- The audit log's filters, on the events sessions carry: the same lookups
-- as audit_events' own indexes, only over the rows that carry one.
CREATE UNIQUE INDEX sessions_audit_id ON sessions (audit_id) WHERE audit_id IS NOT NULL;
CREATE INDEX sessions_audit_tenant_id ON sessions (audit_tenant_id, audit_id) WHERE audit_id IS NOT NULL;
CREATE INDEX sessions_audit_target_id ON sessions (audit_target_id, audit_id) WHERE audit_id IS NOT NULL;

-- audit_events' counter must exist for CreateSession to draw from it; an
-- empty log has none yet.
INSERT INTO sqlite_sequence (name, seq)
SELECT 'audit_events', COALESCE((SELECT max(id) FROM audit_events), 0)
WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'audit_events');

-- +goose StatementBegin
CREATE TRIGGER sessions_keep_audit BEFORE DELETE ON sessions
FOR EACH ROW WHEN OLD.audit_id IS NOT NULL
BEGIN
    INSERT INTO audit_events (id, tenant_id, at, action, actor_type, actor_id, target_id, ip, details)
    VALUES (OLD.audit_id, OLD.audit_tenant_id, OLD.audit_at, OLD.audit_action, OLD.audit_actor_type,
            OLD.audit_actor_id, OLD.audit_target_id, OLD.audit_ip, OLD.audit_details);
END;
-- +goose StatementEnd

-- +goose Down
-- The events sessions carry move to audit_events first; chains on session
-- rows cannot go back to refresh_tokens (only their hashes are known, and
-- the old code cannot read the new tokens): those sessions' refresh tokens
-- stop working, their access tokens do not.
INSERT INTO audit_events (id, tenant_id, at, action, actor_type, actor_id, target_id, ip, details)
SELECT audit_id, audit_tenant_id, audit_at, audit_action, audit_actor_type, audit_actor_id, audit_target_id, audit_ip, audit_details
FROM sessions WHERE audit_id IS NOT NULL;
DROP TRIGGER sessions_keep_audit;
DROP INDEX sessions_audit_target_id;
DROP INDEX sessions_audit_tenant_id;
DROP INDEX sessions_audit_id;
ALTER TABLE sessions DROP COLUMN audit_details;
ALTER TABLE sessions DROP COLUMN audit_ip;
ALTER TABLE sessions DROP COLUMN audit_target_id;
ALTER TABLE sessions DROP COLUMN audit_actor_id;
ALTER TABLE sessions DROP COLUMN audit_actor_type;
ALTER TABLE sessions DROP COLUMN audit_action;
ALTER TABLE sessions DROP COLUMN audit_at;
ALTER TABLE sessions DROP COLUMN audit_tenant_id;
ALTER TABLE sessions DROP COLUMN audit_id;
ALTER TABLE sessions DROP COLUMN refresh_rotated_at;
ALTER TABLE sessions DROP COLUMN refresh_generation;
ALTER TABLE sessions DROP COLUMN refresh_hash;
