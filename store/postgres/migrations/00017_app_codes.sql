-- Authorization codes and sessions of apps (issue 15).
--
-- Columns are only added (sessions carries the triggers of 00013 and
-- 00014). NULL app_id is Latch's own flow (codes) or a native session.
-- Lists (scopes, amr) are space-separated text, as sessions.scopes. A code
-- remembers the session made from it (grant_session_id) so that a replay
-- can revoke it, and when it was replayed (replayed_at). grant_session_id
-- has no foreign key: the session may be purged before the code, and a
-- replay then has nothing to revoke.

-- +goose Up
ALTER TABLE authorization_codes
    ADD COLUMN app_id            text REFERENCES apps (id) ON DELETE CASCADE,
    ADD COLUMN nonce             text NOT NULL DEFAULT '',
    ADD COLUMN scopes            text NOT NULL DEFAULT '',
    ADD COLUMN auth_time         timestamptz,
    ADD COLUMN amr               text NOT NULL DEFAULT '',
    ADD COLUMN parent_session_id uuid,
    ADD COLUMN grant_session_id  uuid,
    ADD COLUMN replayed_at       timestamptz;

ALTER TABLE sessions
    ADD COLUMN app_id            text REFERENCES apps (id) ON DELETE CASCADE,
    ADD COLUMN auth_time         timestamptz,
    ADD COLUMN amr               text NOT NULL DEFAULT '',
    ADD COLUMN parent_session_id uuid;

-- The cascade from apps finds an app's sessions and codes without a scan.
CREATE INDEX sessions_app_id ON sessions (app_id) WHERE app_id IS NOT NULL;
CREATE INDEX authorization_codes_app_id ON authorization_codes (app_id) WHERE app_id IS NOT NULL;

-- +goose Down
DROP INDEX authorization_codes_app_id;
DROP INDEX sessions_app_id;
ALTER TABLE sessions
    DROP COLUMN parent_session_id,
    DROP COLUMN amr,
    DROP COLUMN auth_time,
    DROP COLUMN app_id;
ALTER TABLE authorization_codes
    DROP COLUMN replayed_at,
    DROP COLUMN grant_session_id,
    DROP COLUMN parent_session_id,
    DROP COLUMN amr,
    DROP COLUMN auth_time,
    DROP COLUMN scopes,
    DROP COLUMN nonce,
    DROP COLUMN app_id;
