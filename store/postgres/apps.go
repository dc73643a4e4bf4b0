package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

// This file holds latch.AppStore: apps (OAuth clients of end users) and
// the consents users gave them.

const appColumns = `a.id, a.tenant_id, a.name, a.type, a.secret_hash, a.first_party, a.redirect_uris,
	a.post_logout_redirect_uris, a.scopes, a.client_credentials, a.pkce_optional, a.created_at, a.updated_at, a.revoked_at`

func scanApp(row pgx.Row) (latch.App, error) {
	var a latch.App
	var typ, redirects, postLogout, scopes string
	if err := row.Scan(&a.ID, &a.TenantID, &a.Name, &typ, &a.SecretHash, &a.FirstParty, &redirects,
		&postLogout, &scopes, &a.ClientCredentials, &a.PKCEOptional, &a.CreatedAt, &a.UpdatedAt, &a.RevokedAt); err != nil {
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
	a.CreatedAt, a.UpdatedAt, a.RevokedAt = utc(a.CreatedAt), utc(a.UpdatedAt), utcPtr(a.RevokedAt)
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
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO apps (id, tenant_id, name, type, secret_hash, first_party, redirect_uris,
				post_logout_redirect_uris, scopes, client_credentials, pkce_optional, created_at, updated_at, revoked_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
			ON CONFLICT (id) DO NOTHING`,
			a.ID, a.TenantID, a.Name, string(a.Type), a.SecretHash, a.FirstParty, redirects, postLogout, scopes,
			a.ClientCredentials, a.PKCEOptional, a.CreatedAt, a.UpdatedAt, a.RevokedAt)
		if pgCode(err) == foreignKeyViolation {
			return contract.NotFound("tenant")
		}
		if err := oneRow(tag, err, contract.AlreadyExists("app")); err != nil {
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
	a, err := findApp(ctx, s.pool, id, "")
	if err != nil {
		return latch.App{}, fail(err)
	}
	return a, nil
}

// queryRower is what findApp reads with: the pool or a transaction.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// findApp reads an app; lock is "" or a locking clause (FOR UPDATE).
func findApp(ctx context.Context, db queryRower, id, lock string) (latch.App, error) {
	a, err := scanApp(db.QueryRow(ctx, `SELECT `+appColumns+` FROM apps a WHERE a.id = $1 `+lock, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.App{}, contract.NotFound("app")
	}
	return a, err
}

// AppsByTenant implements latch.Store. apps_tenant_id serves it; the ids
// are COLLATE "C", so the order is SQLite's.
func (s *Store) AppsByTenant(ctx context.Context, q latch.AppQuery) ([]latch.App, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	q, err := contract.AppQuery(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+appColumns+` FROM apps a
		WHERE a.tenant_id = $1 AND a.id > $2 ORDER BY a.id LIMIT $3`, q.TenantID, q.AfterID, q.Limit)
	return collect(rows, err, scanApp)
}

// UpdateApp implements latch.Store: the row is locked while it is read,
// changed and written back, so two updates of different fields both hold.
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
	err = s.write(ctx, func(tx pgx.Tx) error {
		old, err := findApp(ctx, tx, up.ID, "FOR UPDATE")
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
		if _, err := tx.Exec(ctx, `
			UPDATE apps SET name = $1, first_party = $2, redirect_uris = $3, post_logout_redirect_uris = $4,
				scopes = $5, client_credentials = $6, pkce_optional = $7, updated_at = $8
			WHERE id = $9`,
			a.Name, a.FirstParty, redirects, postLogout, scopes, a.ClientCredentials, a.PKCEOptional, a.UpdatedAt, a.ID); err != nil {
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
	return s.write(ctx, func(tx pgx.Tx) error {
		a, err := findApp(ctx, tx, id, "FOR UPDATE")
		if err != nil {
			return err
		}
		if a.Type != latch.AppConfidential {
			return contract.Invalid("type", "a public app has no secret")
		}
		if _, err := tx.Exec(ctx, `UPDATE apps SET secret_hash = $1, updated_at = $2 WHERE id = $3`,
			secretHash, at, id); err != nil {
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
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE apps SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, at, id)
		if err := oneRow(tag, err, contract.NotFound("app")); err != nil {
			return err
		}
		n, err := revokeGrants(ctx, tx, id, "", at)
		if err != nil {
			return err
		}
		contract.GrantsRevoked(ev, n)
		return appendAudit(ctx, tx, ev)
	})
}

// UpsertConsent implements latch.Store. The row is made if missing and
// then locked, so that two grants at once both end up in the union.
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
	err = s.write(ctx, func(tx pgx.Tx) error {
		// Told apart here rather than from the foreign-key failure, which
		// names a constraint, not which row was missing.
		for _, ref := range []struct{ what, query, id string }{
			{"user", `SELECT 1 FROM users WHERE id = $1`, c.UserID},
			{"app", `SELECT 1 FROM apps WHERE id = $1`, c.AppID},
		} {
			var one int
			if err := tx.QueryRow(ctx, ref.query, ref.id).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
				return contract.NotFound(ref.what)
			} else if err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO app_consents (user_id, app_id, scopes, granted_at) VALUES ($1, $2, '', $3)
			ON CONFLICT (user_id, app_id) DO NOTHING`, c.UserID, c.AppID, c.GrantedAt)
		if pgCode(err) == foreignKeyViolation {
			return contract.NotFound("user") // deleted since the check above
		}
		if err != nil {
			return err
		}
		var had string
		if err := tx.QueryRow(ctx, `SELECT scopes FROM app_consents WHERE user_id = $1 AND app_id = $2 FOR UPDATE`,
			c.UserID, c.AppID).Scan(&had); err != nil {
			return err
		}
		c.Scopes = contract.UnionScopes(contract.SplitScopes(had), c.Scopes)
		scopes, err := contract.JoinScopes(c.Scopes)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE app_consents SET scopes = $1, granted_at = $2 WHERE user_id = $3 AND app_id = $4`,
			scopes, c.GrantedAt, c.UserID, c.AppID); err != nil {
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
	rows, err := s.pool.Query(ctx, `
		SELECT user_id, app_id, scopes, granted_at FROM app_consents
		WHERE user_id = $1 ORDER BY granted_at DESC, app_id`, userID)
	return collect(rows, err, func(row pgx.Row) (latch.AppConsent, error) {
		var c latch.AppConsent
		var scopes string
		if err := row.Scan(&c.UserID, &c.AppID, &scopes, &c.GrantedAt); err != nil {
			return latch.AppConsent{}, err
		}
		c.Scopes, c.GrantedAt = contract.SplitScopes(scopes), utc(c.GrantedAt)
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
	at := s.now()
	if ev != nil {
		at = ev.At
	}
	at = contract.Time(at)
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM app_consents WHERE user_id = $1 AND app_id = $2`, userID, appID)
		if err := oneRow(tag, err, contract.NotFound("consent")); err != nil {
			return err
		}
		n, err := revokeGrants(ctx, tx, appID, userID, at)
		if err != nil {
			return err
		}
		// A code issued under the consent and not yet redeemed goes with
		// it; a used one stays, to tell a replay.
		if _, err := tx.Exec(ctx, `
			DELETE FROM authorization_codes WHERE app_id = $1 AND user_id = $2 AND used_at IS NULL`, appID, userID); err != nil {
			return err
		}
		contract.GrantsRevoked(ev, n)
		return appendAudit(ctx, tx, ev)
	})
}

// revokeGrants revokes the live grants of the app (of userID's only, when
// it is not "") at at and returns how many. sessions_app_id finds them.
func revokeGrants(ctx context.Context, tx pgx.Tx, appID, userID string, at time.Time) (int64, error) {
	var tag pgconn.CommandTag
	var err error
	if userID == "" {
		tag, err = tx.Exec(ctx, `
			UPDATE sessions SET revoked_at = $1
			WHERE app_id = $2 AND revoked_at IS NULL AND expires_at > $1`, at, appID)
	} else {
		tag, err = tx.Exec(ctx, `
			UPDATE sessions SET revoked_at = $1
			WHERE app_id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $1`, at, appID, userID)
	}
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
