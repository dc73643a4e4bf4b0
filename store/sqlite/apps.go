package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

// This file holds latch.AppStore: apps (OAuth clients of end users) and
// the consents users gave them.

const appColumns = `a.id, a.tenant_id, a.name, a.type, a.secret_hash, a.first_party, a.redirect_uris,
	a.post_logout_redirect_uris, a.scopes, a.client_credentials, a.pkce_optional, a.created_at, a.updated_at, a.revoked_at`

func scanApp(row scanner) (latch.App, error) {
	var a latch.App
	var typ, redirects, postLogout, scopes string
	var created, updated int64
	var revoked sql.NullInt64
	if err := row.Scan(&a.ID, &a.TenantID, &a.Name, &typ, &a.SecretHash, &a.FirstParty, &redirects,
		&postLogout, &scopes, &a.ClientCredentials, &a.PKCEOptional, &created, &updated, &revoked); err != nil {
		return latch.App{}, err
	}
	a.Type = latch.AppType(typ)
	var err error
	if a.RedirectURIs, err = contract.DecodeURIs(redirects); err != nil {
		return latch.App{}, err
	}
	if a.PostLogoutRedirectURIs, err = contract.DecodeURIs(postLogout); err != nil {
		return latch.App{}, err
	}
	a.Scopes = contract.SplitScopes(scopes)
	a.CreatedAt, a.UpdatedAt, a.RevokedAt = fromMicros(created), fromMicros(updated), fromNullMicros(revoked)
	return a, nil
}

// appLists encodes a's lists in their stored form.
func appLists(a latch.App) (redirects, postLogout, scopes string, err error) {
	if redirects, err = contract.EncodeURIs(a.RedirectURIs); err != nil {
		return
	}
	if postLogout, err = contract.EncodeURIs(a.PostLogoutRedirectURIs); err != nil {
		return
	}
	scopes, err = contract.JoinScopes(a.Scopes)
	return
}

// CreateApp implements latch.Store.
func (s *Store) CreateApp(ctx context.Context, a latch.App, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	a, err := contract.App(a, s.now)
	if err != nil {
		return err
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	redirects, postLogout, scopes, err := appLists(a)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO apps (id, tenant_id, name, type, secret_hash, first_party, redirect_uris,
				post_logout_redirect_uris, scopes, client_credentials, pkce_optional, created_at, updated_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			a.ID, a.TenantID, a.Name, string(a.Type), a.SecretHash, a.FirstParty, redirects, postLogout, scopes,
			a.ClientCredentials, a.PKCEOptional, micros(a.CreatedAt), micros(a.UpdatedAt), microsPtr(a.RevokedAt))
		if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
			return contract.NotFound("tenant")
		}
		if err := oneRow(res, err, contract.AlreadyExists("app")); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// AppByID implements latch.Store.
func (s *Store) AppByID(ctx context.Context, id string) (latch.App, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !contract.ClientID(id) {
		return latch.App{}, contract.NotFound("app")
	}
	a, err := findApp(ctx, s.reader, id)
	if err != nil {
		return latch.App{}, fail(err)
	}
	return a, nil
}

// queryRower is what findApp reads with: the reader pool or a write
// transaction.
type queryRower interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func findApp(ctx context.Context, db queryRower, id string) (latch.App, error) {
	a, err := scanApp(db.QueryRowContext(ctx, `SELECT `+appColumns+` FROM apps a WHERE a.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return latch.App{}, contract.NotFound("app")
	}
	return a, err
}

// AppsByTenant implements latch.Store. apps_tenant_id serves it.
func (s *Store) AppsByTenant(ctx context.Context, q latch.AppQuery) ([]latch.App, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	q, err := contract.AppQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT `+appColumns+` FROM apps a
		WHERE a.tenant_id = ? AND a.id > ? ORDER BY a.id LIMIT ?`, q.TenantID, q.AfterID, q.Limit)
	if err != nil {
		return nil, fail(err)
	}
	return collect(rows, scanApp)
}

// UpdateApp implements latch.Store: read, change and write back in one
// transaction (SQLite has one writer, so nothing changes in between).
func (s *Store) UpdateApp(ctx context.Context, up latch.AppUpdate) (latch.App, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !contract.ClientID(up.ID) {
		return latch.App{}, contract.NotFound("app")
	}
	ev, err := contract.AuditPtr(up.Audit, s.now)
	if err != nil {
		return latch.App{}, err
	}
	at := contract.Or(up.At, s.now)
	var a latch.App
	err = s.write(ctx, func(tx *sql.Tx) error {
		old, err := findApp(ctx, tx, up.ID)
		if err != nil {
			return err
		}
		if a, err = contract.ApplyAppUpdate(old, up, at); err != nil {
			return err
		}
		redirects, postLogout, scopes, err := appLists(a)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			UPDATE apps SET name = ?, first_party = ?, redirect_uris = ?, post_logout_redirect_uris = ?,
				scopes = ?, client_credentials = ?, pkce_optional = ?, updated_at = ?
			WHERE id = ?`,
			a.Name, a.FirstParty, redirects, postLogout, scopes, a.ClientCredentials, a.PKCEOptional, micros(a.UpdatedAt), a.ID); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
	if err != nil {
		return latch.App{}, err
	}
	return a, nil
}

// RotateAppSecret implements latch.Store.
func (s *Store) RotateAppSecret(ctx context.Context, id string, secretHash []byte, at time.Time, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !contract.ClientID(id) {
		return contract.NotFound("app")
	}
	if len(secretHash) == 0 {
		return contract.Invalid("secret_hash", "the new secret hash is empty")
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	at = contract.Or(at, s.now)
	return s.write(ctx, func(tx *sql.Tx) error {
		a, err := findApp(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.Type != latch.AppConfidential {
			return contract.Invalid("type", "a public app has no secret")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE apps SET secret_hash = ?, updated_at = ? WHERE id = ?`,
			secretHash, micros(at), id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// RevokeApp implements latch.Store.
func (s *Store) RevokeApp(ctx context.Context, id string, at time.Time, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !contract.ClientID(id) {
		return contract.NotFound("app")
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	at = contract.Or(at, s.now)
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE apps SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, micros(at), id)
		if err := oneRow(res, err, contract.NotFound("app")); err != nil {
			return err
		}
		n, err := revokeGrants(ctx, tx, id, "", micros(at))
		if err != nil {
			return err
		}
		contract.GrantsRevoked(ev, n)
		return appendAudit(ctx, tx, ev)
	})
}

// UpsertConsent implements latch.Store.
func (s *Store) UpsertConsent(ctx context.Context, c latch.AppConsent, audit *latch.AuditEvent) (latch.AppConsent, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	c, err := contract.Consent(c, s.now)
	if err != nil {
		return latch.AppConsent{}, err
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return latch.AppConsent{}, err
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		// Told apart here rather than from the foreign-key failure, which
		// does not say which key it was.
		for _, ref := range []struct{ what, query, id string }{
			{"user", `SELECT 1 FROM users WHERE id = ?`, c.UserID},
			{"app", `SELECT 1 FROM apps WHERE id = ?`, c.AppID},
		} {
			var one int
			if err := tx.QueryRowContext(ctx, ref.query, ref.id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return contract.NotFound(ref.what)
			} else if err != nil {
				return err
			}
		}
		var had string
		err := tx.QueryRowContext(ctx, `SELECT scopes FROM app_consents WHERE user_id = ? AND app_id = ?`,
			c.UserID, c.AppID).Scan(&had)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		c.Scopes = contract.UnionScopes(contract.SplitScopes(had), c.Scopes)
		scopes, err := contract.JoinScopes(c.Scopes)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO app_consents (user_id, app_id, scopes, granted_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id, app_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
			c.UserID, c.AppID, scopes, micros(c.GrantedAt)); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
	if err != nil {
		return latch.AppConsent{}, err
	}
	return c, nil
}

// ConsentsByUser implements latch.Store: none for an unknown user.
func (s *Store) ConsentsByUser(ctx context.Context, userID string) ([]latch.AppConsent, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok {
		return nil, nil
	}
	rows, err := s.reader.QueryContext(ctx, `
		SELECT user_id, app_id, scopes, granted_at FROM app_consents
		WHERE user_id = ? ORDER BY granted_at DESC, app_id`, userID)
	if err != nil {
		return nil, fail(err)
	}
	return collect(rows, func(row scanner) (latch.AppConsent, error) {
		var c latch.AppConsent
		var scopes string
		var granted int64
		if err := row.Scan(&c.UserID, &c.AppID, &scopes, &granted); err != nil {
			return latch.AppConsent{}, err
		}
		c.Scopes, c.GrantedAt = contract.SplitScopes(scopes), fromMicros(granted)
		return c, nil
	})
}

// RevokeConsent implements latch.Store.
func (s *Store) RevokeConsent(ctx context.Context, userID, appID string, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok || !contract.ClientID(appID) {
		return contract.NotFound("consent")
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	at := micros(s.now())
	if ev != nil {
		at = micros(ev.At)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM app_consents WHERE user_id = ? AND app_id = ?`, userID, appID)
		if err := oneRow(res, err, contract.NotFound("consent")); err != nil {
			return err
		}
		n, err := revokeGrants(ctx, tx, appID, userID, at)
		if err != nil {
			return err
		}
		// A code issued under the consent and not yet redeemed goes with
		// it; a used one stays, to tell a replay.
		if _, err := tx.ExecContext(ctx, `
			DELETE FROM authorization_codes WHERE app_id = ? AND user_id = ? AND used_at IS NULL`, appID, userID); err != nil {
			return err
		}
		contract.GrantsRevoked(ev, n)
		return appendAudit(ctx, tx, ev)
	})
}

// revokeGrants revokes the live grants of the app (of userID's only, when
// it is not "") at at and returns how many. sessions_app_id finds them.
func revokeGrants(ctx context.Context, tx *sql.Tx, appID, userID string, at int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = ?1
		WHERE app_id = ?2 AND (?3 = '' OR user_id = ?3) AND revoked_at IS NULL AND expires_at > ?1`,
		at, appID, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
