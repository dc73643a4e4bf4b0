-- Session changes, for the sessions cache of every replica (the same
-- changes as store/sqlite/migrations/00014_session_changes.sql, which
-- records them in a table instead).
--
-- A replica keeps Authenticate's answer (a live session and its active
-- user) in memory and must hear of anything that can change it: a session
-- revoked, re-scoped, given another end, moved or deleted while live; its
-- user changed or deleted. Triggers NOTIFY each in the writing
-- transaction (delivered at commit, never for a rollback), whoever
-- writes: any replica, or the operator CLI.
--
-- The payload is "<schema> <user id> <microseconds since the epoch>": the
-- schema, because one database may hold several Latch schemas (tests do)
-- and the channel is the database's; the trigger's clock_timestamp(), for
-- the delay metric.
--
-- The session trigger names its columns and compares them: an update of
-- anything else (a refresh token's rotation, say) tells nothing.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION latch_session_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at text := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('latch_session_changes', TG_TABLE_SCHEMA || ' ' || old.user_id::text || ' ' || at);
    END IF;
    IF TG_OP = 'UPDATE' AND new.user_id IS DISTINCT FROM old.user_id THEN
        PERFORM pg_notify('latch_session_changes', TG_TABLE_SCHEMA || ' ' || new.user_id::text || ' ' || at);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION latch_user_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at text := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint::text;
BEGIN
    PERFORM pg_notify('latch_session_changes', TG_TABLE_SCHEMA || ' ' || old.id::text || ' ' || at);
    IF TG_OP = 'UPDATE' AND new.id IS DISTINCT FROM old.id THEN
        PERFORM pg_notify('latch_session_changes', TG_TABLE_SCHEMA || ' ' || new.id::text || ' ' || at);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER session_changes_session_update
AFTER UPDATE OF user_id, kind, scopes, expires_at, revoked_at ON sessions
FOR EACH ROW
WHEN (old.user_id IS DISTINCT FROM new.user_id OR old.kind IS DISTINCT FROM new.kind
   OR old.scopes IS DISTINCT FROM new.scopes OR old.expires_at IS DISTINCT FROM new.expires_at
   OR old.revoked_at IS DISTINCT FROM new.revoked_at)
EXECUTE FUNCTION latch_session_changed();

-- A revoked session was told of when it was revoked; deleting it (the
-- purge) changes no answer.
CREATE TRIGGER session_changes_session_delete
AFTER DELETE ON sessions
FOR EACH ROW
WHEN (old.revoked_at IS NULL)
EXECUTE FUNCTION latch_session_changed();

-- Every column of latch.User (email_normalized is not one: rekeying it
-- changes no answer).
CREATE TRIGGER session_changes_user_update
AFTER UPDATE OF id, number, tenant_id, email, first_name, last_name, profile_picture, verified,
    email_verified_by, active, admin, created_at, updated_at ON users
FOR EACH ROW
WHEN (old.id IS DISTINCT FROM new.id OR old.number IS DISTINCT FROM new.number
   OR old.tenant_id IS DISTINCT FROM new.tenant_id OR old.email IS DISTINCT FROM new.email
   OR old.first_name IS DISTINCT FROM new.first_name OR old.last_name IS DISTINCT FROM new.last_name
   OR old.profile_picture IS DISTINCT FROM new.profile_picture OR old.verified IS DISTINCT FROM new.verified
   OR old.email_verified_by IS DISTINCT FROM new.email_verified_by OR old.active IS DISTINCT FROM new.active
   OR old.admin IS DISTINCT FROM new.admin OR old.created_at IS DISTINCT FROM new.created_at
   OR old.updated_at IS DISTINCT FROM new.updated_at)
EXECUTE FUNCTION latch_user_changed();

CREATE TRIGGER session_changes_user_delete
AFTER DELETE ON users
FOR EACH ROW
EXECUTE FUNCTION latch_user_changed();

-- +goose Down
DROP TRIGGER session_changes_user_delete ON users;
DROP TRIGGER session_changes_user_update ON users;
DROP TRIGGER session_changes_session_delete ON sessions;
DROP TRIGGER session_changes_session_update ON sessions;
DROP FUNCTION latch_user_changed();
DROP FUNCTION latch_session_changed();
