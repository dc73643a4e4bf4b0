-- One row per sign-in (store/sqlite/migrations/00013_session_row.sql is
-- the same change).
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
-- it (audit_*), instead of a second row in audit_events. audit_id is drawn
-- from audit_events' identity sequence, so the two sources are one id
-- sequence and AuditEvents pages through their union by id. Events outlive
-- what they name: the trigger moves a session's event into audit_events,
-- with its id, before the row is deleted, whatever deletes it
-- (PurgeSessions, or the cascade of a user's deletion).
--
-- ADD COLUMN without a default rewrites nothing: existing rows (and their
-- refresh_tokens) stay as they are.

-- +goose Up
ALTER TABLE sessions
    ADD COLUMN refresh_hash       bytea,
    ADD COLUMN refresh_generation bigint,
    ADD COLUMN refresh_rotated_at timestamptz,
    ADD COLUMN audit_id           bigint,
    ADD COLUMN audit_tenant_id    uuid,
    ADD COLUMN audit_at           timestamptz,
    ADD COLUMN audit_action       text,
    ADD COLUMN audit_actor_type   text,
    ADD COLUMN audit_actor_id     text,
    ADD COLUMN audit_target_id    text,
    ADD COLUMN audit_ip           text,
    ADD COLUMN audit_details      text;

-- The audit log's filters, on the events sessions carry: the same lookups
-- as audit_events' own indexes, only over the rows that carry one.
CREATE UNIQUE INDEX sessions_audit_id ON sessions (audit_id) WHERE audit_id IS NOT NULL;
CREATE INDEX sessions_audit_tenant_id ON sessions (audit_tenant_id, audit_id) WHERE audit_id IS NOT NULL;
CREATE INDEX sessions_audit_target_id ON sessions (audit_target_id, audit_id) WHERE audit_id IS NOT NULL;

-- +goose StatementBegin
CREATE FUNCTION sessions_keep_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_events (id, tenant_id, at, action, actor_type, actor_id, target_id, ip, details)
    OVERRIDING SYSTEM VALUE
    VALUES (OLD.audit_id, OLD.audit_tenant_id, OLD.audit_at, OLD.audit_action, OLD.audit_actor_type,
            OLD.audit_actor_id, OLD.audit_target_id, OLD.audit_ip, OLD.audit_details);
    RETURN OLD;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER sessions_keep_audit BEFORE DELETE ON sessions
FOR EACH ROW WHEN (OLD.audit_id IS NOT NULL) EXECUTE FUNCTION sessions_keep_audit();

-- +goose Down
-- The events sessions carry move to audit_events first; chains on session
-- rows cannot go back to refresh_tokens (only their hashes are known, and
-- the old code cannot read the new tokens): those sessions' refresh tokens
-- stop working, their access tokens do not.
INSERT INTO audit_events (id, tenant_id, at, action, actor_type, actor_id, target_id, ip, details)
OVERRIDING SYSTEM VALUE
SELECT audit_id, audit_tenant_id, audit_at, audit_action, audit_actor_type, audit_actor_id, audit_target_id, audit_ip, audit_details
FROM sessions WHERE audit_id IS NOT NULL;
DROP TRIGGER sessions_keep_audit ON sessions;
DROP FUNCTION sessions_keep_audit();
DROP INDEX sessions_audit_target_id;
DROP INDEX sessions_audit_tenant_id;
DROP INDEX sessions_audit_id;
ALTER TABLE sessions
    DROP COLUMN audit_details,
    DROP COLUMN audit_ip,
    DROP COLUMN audit_target_id,
    DROP COLUMN audit_actor_id,
    DROP COLUMN audit_actor_type,
    DROP COLUMN audit_action,
    DROP COLUMN audit_at,
    DROP COLUMN audit_tenant_id,
    DROP COLUMN audit_id,
    DROP COLUMN refresh_rotated_at,
    DROP COLUMN refresh_generation,
    DROP COLUMN refresh_hash;
