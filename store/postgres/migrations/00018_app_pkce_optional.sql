-- The per-app PKCE exception (issue 15): the same column as
-- store/sqlite/migrations/00018_app_pkce_optional.sql.
--
-- Latch requires PKCE (S256) of every app. pkce_optional lets one
-- confidential app leave it out, for a relying party that cannot send it;
-- an operator sets it, audited (latch.App.PKCEOptional). Every app stored
-- before keeps requiring PKCE (DEFAULT false; with a constant default the
-- column is added without rewriting the table).
--
-- The column is only added. Its CHECK holds the rule a later writer could
-- forget, as apps' CHECK on client_credentials does: a public app proves
-- itself by PKCE alone, so it never has the exception.

-- +goose Up
ALTER TABLE apps
    ADD COLUMN pkce_optional boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT apps_pkce_optional_confidential CHECK (NOT pkce_optional OR type = 'confidential');

-- +goose Down
ALTER TABLE apps
    DROP CONSTRAINT apps_pkce_optional_confidential,
    DROP COLUMN pkce_optional;
