-- CHECK constraints that every SQLite reads alike, so that a database
-- survives the sqlite3 shell's `.dump | sqlite3` (see
-- store/postgres/migrations/00010_portable_checks.sql: Postgres needs no
-- change).
--
-- audit_events.details is nullable (NULL: an event without details, such
-- as password.change) and was checked with CHECK (json_valid(details)).
-- The embedded SQLite's json_valid(NULL) is NULL, which a CHECK lets
-- through; older shells (3.40, Debian 12's) answer 0, so a restore made
-- with them refused every event without details and dropped those rows.
-- Saying that NULL is allowed makes the rule the same everywhere. The other
-- CHECKs are on NOT NULL columns and are unaffected.
--
-- SQLite cannot alter a CHECK: the table is rebuilt and renamed into
-- place. Nothing references audit_events (events outlive what they name),
-- so the drop breaks no foreign key. The rename carries the table's
-- AUTOINCREMENT counter over, and the counter is copied first, so that no
-- event id is ever handed out twice, even one purged since.

-- +goose Up
CREATE TABLE audit_events_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT,
    at         INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    actor_type TEXT    NOT NULL,
    actor_id   TEXT    NOT NULL,
    target_id  TEXT    NOT NULL,
    ip         TEXT    NOT NULL,
    details    TEXT CHECK (details IS NULL OR json_valid(details))
) STRICT;

INSERT INTO audit_events_new (id, tenant_id, at, action, actor_type, actor_id, target_id, ip, details)
SELECT id, tenant_id, at, action, actor_type, actor_id, target_id, ip, details FROM audit_events;

DELETE FROM sqlite_sequence WHERE name = 'audit_events_new';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'audit_events_new', seq FROM sqlite_sequence WHERE name = 'audit_events';

DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;

CREATE INDEX audit_events_tenant_id ON audit_events (tenant_id, id);
CREATE INDEX audit_events_target_id ON audit_events (target_id, id);

-- +goose Down
CREATE TABLE audit_events_old (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT,
    at         INTEGER NOT NULL,
    action     TEXT    NOT NULL,
    actor_type TEXT    NOT NULL,
    actor_id   TEXT    NOT NULL,
    target_id  TEXT    NOT NULL,
    ip         TEXT    NOT NULL,
    details    TEXT CHECK (json_valid(details))
) STRICT;

INSERT INTO audit_events_old (id, tenant_id, at, action, actor_type, actor_id, target_id, ip, details)
SELECT id, tenant_id, at, action, actor_type, actor_id, target_id, ip, details FROM audit_events;

DELETE FROM sqlite_sequence WHERE name = 'audit_events_old';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'audit_events_old', seq FROM sqlite_sequence WHERE name = 'audit_events';

DROP TABLE audit_events;
ALTER TABLE audit_events_old RENAME TO audit_events;

CREATE INDEX audit_events_tenant_id ON audit_events (tenant_id, id);
CREATE INDEX audit_events_target_id ON audit_events (target_id, id);
