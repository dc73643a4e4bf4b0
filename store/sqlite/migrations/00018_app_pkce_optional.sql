-- The per-app PKCE exception (issue 15): the same column as
-- store/postgres/migrations/00018_app_pkce_optional.sql.
--
-- Latch requires PKCE (S256) of every app. pkce_optional lets one
-- confidential app leave it out, for a relying party that cannot send it;
-- an operator sets it, audited (latch.App.PKCEOptional). Every app stored
-- before keeps requiring PKCE (DEFAULT 0).
--
-- The column is only added (apps is not rebuilt). Its CHECK holds the rule
-- a later writer could forget, as apps' CHECK on client_credentials does: a
-- public app proves itself by PKCE alone, so it never has the exception.
-- SQLite tests an added CHECK against the rows already there; every one
-- passes, as they all get 0.

-- +goose Up
ALTER TABLE apps ADD COLUMN pkce_optional INTEGER NOT NULL DEFAULT 0
    CHECK (pkce_optional IN (0, 1) AND (pkce_optional = 0 OR type = 'confidential'));

-- +goose Down
ALTER TABLE apps DROP COLUMN pkce_optional;
