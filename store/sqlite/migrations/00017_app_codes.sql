-- Authorization codes and sessions of apps (issue 15): the same columns as
-- store/postgres/migrations/00017_app_codes.sql.
--
-- Columns are only added: sessions carries the triggers of 00013 and
-- 00014, which a table rebuild would drop. NULL app_id is Latch's own
-- flow (codes) or a native session. Lists (scopes, amr) are space-separated
-- text, as sessions.scopes. A code remembers the session made from it
-- (grant_session_id) so that a replay can revoke it, and when it was
-- replayed (replayed_at). grant_session_id has no foreign key: the session
-- may be purged before the code, and a replay then has nothing to revoke.

-- +goose Up
ALTER TABLE authorization_codes ADD COLUMN app_id TEXT REFERENCES apps (id) ON DELETE CASCADE;
ALTER TABLE authorization_codes ADD COLUMN nonce TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN auth_time INTEGER;
ALTER TABLE authorization_codes ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN parent_session_id TEXT;
ALTER TABLE authorization_codes ADD COLUMN grant_session_id TEXT;
ALTER TABLE authorization_codes ADD COLUMN replayed_at INTEGER;

ALTER TABLE sessions ADD COLUMN app_id TEXT REFERENCES apps (id) ON DELETE CASCADE;
ALTER TABLE sessions ADD COLUMN auth_time INTEGER;
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN parent_session_id TEXT;

-- The cascade from apps finds an app's sessions and codes without a scan.
CREATE INDEX sessions_app_id ON sessions (app_id) WHERE app_id IS NOT NULL;
CREATE INDEX authorization_codes_app_id ON authorization_codes (app_id) WHERE app_id IS NOT NULL;

-- +goose Down
DROP INDEX authorization_codes_app_id;
DROP INDEX sessions_app_id;
ALTER TABLE sessions DROP COLUMN parent_session_id;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE sessions DROP COLUMN auth_time;
ALTER TABLE sessions DROP COLUMN app_id;
ALTER TABLE authorization_codes DROP COLUMN replayed_at;
ALTER TABLE authorization_codes DROP COLUMN grant_session_id;
ALTER TABLE authorization_codes DROP COLUMN parent_session_id;
ALTER TABLE authorization_codes DROP COLUMN amr;
ALTER TABLE authorization_codes DROP COLUMN auth_time;
ALTER TABLE authorization_codes DROP COLUMN scopes;
ALTER TABLE authorization_codes DROP COLUMN nonce;
ALTER TABLE authorization_codes DROP COLUMN app_id;
