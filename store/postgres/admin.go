package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

// This file holds latch.TenantStore, latch.ClientStore, latch.AuditStore and
// the administrative methods of the other parts: tenants and their password
// policies, API clients and their grants, user administration (listing,
// updating, deleting, the password history, sessions) and the audit log.

// appendAudit stores e, if not nil, in tx: an event is written with the
// change it records or not at all. e must have been through
// contract.Audit.
func appendAudit(ctx context.Context, tx pgx.Tx, e *latch.AuditEvent) error {
	if e == nil {
		return nil
	}
	details, err := contract.EncodeDetails(e.Details)
	if err != nil {
		return err
	}
	var tenantID *string
	if e.TenantID != "" {
		tenantID = &e.TenantID
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO audit_events (tenant_id, at, action, actor_type, actor_id, target_id, ip, details)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		tenantID, e.At, e.Action, e.ActorType, e.ActorID, e.TargetID, e.IP, details)
	return err
}

// Constraint names the store tells apart (see 00003_admin.sql).
const tenantsNameKey = "tenants_name_key"

// pgConstraint returns the constraint a Postgres error names, or "".
func pgConstraint(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.ConstraintName
	}
	return ""
}

const tenantColumns = `id, number, name, created_at`

func scanTenant(row pgx.Row) (latch.Tenant, error) {
	var t latch.Tenant
	if err := row.Scan(&t.ID, &t.Number, &t.Name, &t.CreatedAt); err != nil {
		return latch.Tenant{}, err
	}
	t.CreatedAt = utc(t.CreatedAt)
	return t, nil
}

// collect scans every row with scan, closing rows.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, fail(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fail(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(err)
	}
	return out, nil
}

// CreateTenant implements latch.Store.
func (s *Store) CreateTenant(ctx context.Context, t latch.Tenant, audit *latch.AuditEvent) (latch.Tenant, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	t, err := contract.Tenant(t, s.now)
	if err != nil {
		return latch.Tenant{}, err
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return latch.Tenant{}, err
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		var err error
		if t.Number, err = insertTenant(ctx, tx, t); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
	if err != nil {
		return latch.Tenant{}, err
	}
	return t, nil
}

// insertTenant stores t and returns the Number assigned. A taken name is
// Conflict (CodeNameTaken), a taken id Conflict.
func insertTenant(ctx context.Context, tx pgx.Tx, t latch.Tenant) (int64, error) {
	// A duplicate name (a concurrent one waited for) returns no row; a
	// duplicate id still fails.
	var number int64
	err := tx.QueryRow(ctx, `
		INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING
		RETURNING number`, t.ID, t.Name, t.CreatedAt).Scan(&number)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, contract.NameTaken()
	case pgCode(err) == uniqueViolation && pgConstraint(err) == tenantsNameKey:
		return 0, contract.NameTaken()
	case pgCode(err) == uniqueViolation:
		return 0, contract.AlreadyExists("tenant")
	case err != nil:
		return 0, err
	}
	return number, nil
}

// TenantByID implements latch.Store.
func (s *Store) TenantByID(ctx context.Context, id string) (latch.Tenant, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return latch.Tenant{}, contract.NotFound("tenant")
	}
	t, err := scanTenant(s.pool.QueryRow(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.Tenant{}, contract.NotFound("tenant")
	}
	if err != nil {
		return latch.Tenant{}, fail(err)
	}
	return t, nil
}

// Tenants implements latch.Store, in number order.
func (s *Store) Tenants(ctx context.Context) ([]latch.Tenant, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY number`)
	return collect(rows, err, scanTenant)
}

const clientColumns = `c.id, c.tenant_id, c.name, c.scope, c.super, c.secret_hash, c.created_at, c.revoked_at`

// clientDest is userDest for clientColumns.
func clientDest(c *latch.Client) ([]any, func()) {
	var scope string
	dest := []any{&c.ID, &c.TenantID, &c.Name, &scope, &c.Super, &c.SecretHash, &c.CreatedAt, &c.RevokedAt}
	return dest, func() {
		c.Scope = latch.Scope(scope)
		c.CreatedAt = utc(c.CreatedAt)
		c.RevokedAt = utcPtr(c.RevokedAt)
	}
}

func scanClient(row pgx.Row) (latch.Client, error) {
	var c latch.Client
	dest, finish := clientDest(&c)
	if err := row.Scan(dest...); err != nil {
		return latch.Client{}, err
	}
	finish()
	return c, nil
}

// CreateClient implements latch.Store.
func (s *Store) CreateClient(ctx context.Context, c latch.Client, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	c, err := contract.Client(c, s.now)
	if err != nil {
		return err
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO clients (id, tenant_id, name, scope, super, secret_hash, created_at, revoked_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO NOTHING`,
			c.ID, c.TenantID, c.Name, string(c.Scope), c.Super, c.SecretHash, c.CreatedAt, c.RevokedAt)
		if pgCode(err) == foreignKeyViolation {
			return contract.NotFound("tenant")
		}
		if err := oneRow(tag, err, contract.AlreadyExists("client")); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// ClientByID implements latch.Store.
func (s *Store) ClientByID(ctx context.Context, id string) (latch.Client, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !contract.ClientID(id) {
		return latch.Client{}, contract.NotFound("client")
	}
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients c WHERE c.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.Client{}, contract.NotFound("client")
	}
	if err != nil {
		return latch.Client{}, fail(err)
	}
	return c, nil
}

// Clients implements latch.Store.
func (s *Store) Clients(ctx context.Context, tenantID string) ([]latch.Client, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tenantID, err := contract.TenantFilter(tenantID)
	if err != nil {
		return nil, err
	}
	query, args := `SELECT `+clientColumns+` FROM clients c`, []any(nil)
	if tenantID != "" {
		query, args = query+` WHERE c.tenant_id = $1`, append(args, tenantID)
	}
	rows, err := s.pool.Query(ctx, query+` ORDER BY c.created_at, c.id`, args...)
	return collect(rows, err, scanClient)
}

// RevokeClient implements latch.Store. Revoking a revoked client keeps the
// first time and succeeds; the audit event, if any, is appended either
// way, as a record of the request.
func (s *Store) RevokeClient(ctx context.Context, id string, at time.Time, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !contract.ClientID(id) {
		return contract.NotFound("client")
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	at = contract.Or(at, s.now)
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE clients SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, at, id)
		if err := oneRow(tag, err, contract.NotFound("client")); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// CreateClientToken implements latch.Store.
func (s *Store) CreateClientToken(ctx context.Context, t latch.ClientToken) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	t, err := contract.ClientToken(t, s.now)
	if err != nil {
		return err
	}
	if !contract.ClientID(t.ClientID) {
		return contract.NotFound("client")
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		return insertClientToken(ctx, tx, t, t.ID)
	})
}

// insertClientToken stores t as a grant of the chain familyID (its own id
// for a chain's first grant).
func insertClientToken(ctx context.Context, tx pgx.Tx, t latch.ClientToken, familyID string) error {
	tag, err := tx.Exec(ctx, `
		INSERT INTO client_tokens (id, client_id, refresh_hash, created_at, expires_at, revoked_at, family_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (id) DO NOTHING`,
		t.ID, t.ClientID, t.RefreshHash, t.CreatedAt, t.ExpiresAt, t.RevokedAt, familyID)
	switch pgCode(err) {
	case foreignKeyViolation:
		return contract.NotFound("client")
	case uniqueViolation:
		return contract.AlreadyExists("refresh token")
	}
	return oneRow(tag, err, contract.AlreadyExists("client token"))
}

const clientTokenColumns = `t.id, t.client_id, t.refresh_hash, t.created_at, t.expires_at, t.revoked_at`

// ClientTokenWithClient implements latch.Store: one round trip, two
// primary-key probes. A revoked token or client is returned as it is: the
// caller decides.
func (s *Store) ClientTokenWithClient(ctx context.Context, tokenID string) (latch.ClientToken, latch.Client, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(tokenID)
	if !ok {
		return latch.ClientToken{}, latch.Client{}, contract.NotFound("client token")
	}
	var t latch.ClientToken
	var c latch.Client
	cdest, cfinish := clientDest(&c)
	err := s.pool.QueryRow(ctx, `SELECT `+clientTokenColumns+`, `+clientColumns+`
		FROM client_tokens t JOIN clients c ON c.id = t.client_id
		WHERE t.id = $1`, id).Scan(append(
		[]any{&t.ID, &t.ClientID, &t.RefreshHash, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt}, cdest...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.ClientToken{}, latch.Client{}, contract.NotFound("client token")
	}
	if err != nil {
		return latch.ClientToken{}, latch.Client{}, fail(err)
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = utc(t.CreatedAt), utc(t.ExpiresAt), utcPtr(t.RevokedAt)
	cfinish()
	return t, c, nil
}

// RotateClientToken implements latch.Store. The grant is locked, so
// concurrent rotations of one refresh token queue, and each later one
// reads it as the earlier left it (replaced): exactly one replaces it. The
// client is locked against a concurrent revocation until the commit.
func (s *Store) RotateClientToken(ctx context.Context, oldRefreshHash []byte, next latch.ClientToken, reuseInterval time.Duration) (latch.ClientToken, latch.Client, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if len(oldRefreshHash) == 0 {
		return latch.ClientToken{}, latch.Client{}, contract.NotFound("client token")
	}
	next, err := contract.ClientToken(next, s.now)
	if err != nil {
		return latch.ClientToken{}, latch.Client{}, err
	}
	at := next.CreatedAt
	var c latch.Client
	inForce := next
	reused := false
	err = s.write(ctx, func(tx pgx.Tx) error {
		g, client, err := lockClientGrant(ctx, tx, oldRefreshHash)
		if err != nil {
			return err
		}
		c = client
		if !c.Live() {
			return contract.NotFound("client token")
		}
		if g.replaced != nil {
			if contract.WithinReuse(*g.replaced, at, reuseInterval) && g.nextID != nil {
				successor, live, err := clientTokenSuccessor(ctx, tx, *g.nextID, at)
				if err != nil {
					return err
				}
				if live && bytes.Equal(successor.RefreshHash, next.RefreshHash) {
					inForce = successor
					return nil
				}
			}
			// A reuse: the whole chain ends, and that must stand although
			// the caller gets an error, so it commits.
			reused = true
			return revokeClientChain(ctx, tx, g.familyID, at)
		}
		if !g.token.Live(at) {
			return contract.NotFound("client token")
		}
		if err := replaceClientGrant(ctx, tx, g.id, next.ID, at); err != nil {
			return err
		}
		next.ClientID = c.ID
		inForce = next
		return insertClientToken(ctx, tx, next, g.familyID)
	})
	if err != nil {
		return latch.ClientToken{}, latch.Client{}, err
	}
	if reused {
		return latch.ClientToken{}, latch.Client{}, contract.RefreshTokenReused()
	}
	return inForce, c, nil
}

// clientGrant is a client token as a rotation reads it.
type clientGrant struct {
	id       string
	familyID string            // the chain's: the first grant's id
	nextID   *string           // the grant that replaced it, if any
	token    latch.ClientToken // ExpiresAt and RevokedAt only
	replaced *time.Time
}

// lockClientGrant reads the grant whose refresh token hashes to hash, and
// its client; an unknown hash is NotFound. The grant is locked against
// concurrent rotations, the client against its revocation.
func lockClientGrant(ctx context.Context, tx pgx.Tx, hash []byte) (clientGrant, latch.Client, error) {
	var g clientGrant
	var c latch.Client
	dest, finish := clientDest(&c)
	err := tx.QueryRow(ctx, `
		SELECT t.id::text, COALESCE(t.family_id, t.id)::text, t.expires_at, t.revoked_at, t.replaced_at, t.next_id::text, `+clientColumns+`
		FROM client_tokens t JOIN clients c ON c.id = t.client_id
		WHERE t.refresh_hash = $1
		FOR NO KEY UPDATE OF t FOR SHARE OF c`,
		hash).Scan(append([]any{&g.id, &g.familyID, &g.token.ExpiresAt, &g.token.RevokedAt, &g.replaced, &g.nextID}, dest...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return clientGrant{}, latch.Client{}, contract.NotFound("client token")
	}
	if err != nil {
		return clientGrant{}, latch.Client{}, err
	}
	finish()
	return g, c, nil
}

// revokeClientChain revokes every grant of the chain familyID.
func revokeClientChain(ctx context.Context, tx pgx.Tx, familyID string, at time.Time) error {
	_, err := tx.Exec(ctx, `
		UPDATE client_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL`, at, familyID)
	return err
}

// replaceClientGrant ends the grant id, replaced by nextID.
func replaceClientGrant(ctx context.Context, tx pgx.Tx, id, nextID string, at time.Time) error {
	_, err := tx.Exec(ctx, `
		UPDATE client_tokens SET revoked_at = $1, replaced_at = $1, next_id = $2 WHERE id = $3`, at, nextID, id)
	return err
}

// clientTokenSuccessor reads the grant id that replaced another, and
// reports whether it is in force at at: live and not replaced itself. FOR
// SHARE waits for a rotation of it under way, so that is what its commit
// left.
func clientTokenSuccessor(ctx context.Context, tx pgx.Tx, id string, at time.Time) (latch.ClientToken, bool, error) {
	var t latch.ClientToken
	var replaced *time.Time
	err := tx.QueryRow(ctx, `
		SELECT id::text, client_id, refresh_hash, created_at, expires_at, revoked_at, replaced_at
		FROM client_tokens WHERE id = $1 FOR SHARE`, id,
	).Scan(&t.ID, &t.ClientID, &t.RefreshHash, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &replaced)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.ClientToken{}, false, nil
	}
	if err != nil {
		return latch.ClientToken{}, false, err
	}
	t.CreatedAt, t.ExpiresAt, t.RevokedAt = utc(t.CreatedAt), utc(t.ExpiresAt), utcPtr(t.RevokedAt)
	return t, t.Live(at) && replaced == nil, nil
}

// UserByNumber implements latch.Store.
func (s *Store) UserByNumber(ctx context.Context, number int64) (latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.user(ctx, `SELECT `+userColumns+` FROM users u WHERE u.number = $1`, number)
}

func scanUser(row pgx.Row) (latch.User, error) {
	var u latch.User
	dest, finish := userDest(&u)
	if err := row.Scan(dest...); err != nil {
		return latch.User{}, err
	}
	finish()
	return u, nil
}

// ListUsers implements latch.Store; users_tenant_id_number serves it.
func (s *Store) ListUsers(ctx context.Context, q latch.UserQuery) ([]latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	q, err := contract.UserQuery(q)
	if err != nil {
		return nil, err
	}
	where := `u.tenant_id = $1 AND u.number > $2`
	args := []any{q.TenantID, q.AfterNumber}
	if q.Email != "" {
		args = append(args, latch.EmailLookupKey(q.Email))
		where += fmt.Sprintf(` AND u.email_normalized = $%d`, len(args))
	}
	args = append(args, q.Limit)
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM users u
		WHERE `+where+fmt.Sprintf(` ORDER BY u.number LIMIT $%d`, len(args)), args...)
	return collect(rows, err, scanUser)
}

// UpdateUser implements latch.Store.
func (s *Store) UpdateUser(ctx context.Context, up latch.UserUpdate) (latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(up.ID)
	if !ok {
		return latch.User{}, contract.NotFound("user")
	}
	ev, err := contract.AuditPtr(up.Audit, s.now)
	if err != nil {
		return latch.User{}, err
	}
	at := contract.Or(up.At, s.now)
	var u latch.User
	err = s.write(ctx, func(tx pgx.Tx) error {
		var err error
		if u, err = updateUser(ctx, tx, id, up, at); err != nil {
			return err
		}
		if up.Active != nil && !*up.Active {
			// A deactivated user's sessions end with the deactivation, so
			// reactivating cannot revive them.
			if err := revokeAllSessions(ctx, tx, id, at); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, ev)
	})
	if err != nil {
		return latch.User{}, err
	}
	return u, nil
}

// updateUser writes the fields up sets to the user id and returns the user
// as updated; an unknown user is NotFound.
func updateUser(ctx context.Context, tx pgx.Tx, id string, up latch.UserUpdate, at time.Time) (latch.User, error) {
	var u latch.User
	dest, finish := userDest(&u)
	// A nil pointer is NULL, and COALESCE keeps the stored value.
	err := tx.QueryRow(ctx, `
		UPDATE users u SET
			first_name = COALESCE($1::text, first_name),
			last_name = COALESCE($2::text, last_name),
			active = COALESCE($3::boolean, active),
			admin = COALESCE($4::boolean, admin),
			verified = COALESCE($5::boolean, verified),
			-- Marked verified by an administrator: asserted, unless the
			-- person proved it already. Unmarked: unverified.
			email_verified_by = CASE WHEN $5::boolean IS NULL THEN email_verified_by
				WHEN $5::boolean THEN CASE WHEN verified THEN email_verified_by ELSE 'asserted' END
				ELSE '' END,
			updated_at = $6
		WHERE id = $7
		RETURNING `+userColumns,
		up.FirstName, up.LastName, up.Active, up.Admin, up.Verified, at, id).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.User{}, contract.NotFound("user")
	}
	if err != nil {
		return latch.User{}, err
	}
	finish()
	return u, nil
}

// DeleteUser implements latch.Store. Identities, the credential, the
// password history, sessions (with their refresh tokens), authorization
// codes and password links go with the user (ON DELETE CASCADE); audit
// events and the outbox's messages stay.
func (s *Store) DeleteUser(ctx context.Context, id string, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return contract.NotFound("user")
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err := oneRow(tag, err, contract.NotFound("user")); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// SessionsByUser implements latch.Store: none for an unknown user.
func (s *Store) SessionsByUser(ctx context.Context, userID string, now time.Time) ([]latch.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT `+sessionColumns+` FROM sessions s
		WHERE s.user_id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
		ORDER BY s.created_at DESC, s.id DESC`, userID, contract.Or(now, s.now))
	return collect(rows, err, func(row pgx.Row) (latch.Session, error) {
		var sess latch.Session
		dest, finish := sessionDest(&sess)
		if err := row.Scan(dest...); err != nil {
			return latch.Session{}, err
		}
		finish()
		return sess, nil
	})
}

// LatestSessionExpiry implements latch.Store.
func (s *Store) LatestSessionExpiry(ctx context.Context, kinds []latch.TokenKind, now time.Time) (time.Time, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if len(kinds) == 0 {
		return time.Time{}, nil
	}
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = string(k)
	}
	var latest *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT max(expires_at) FROM sessions
		WHERE revoked_at IS NULL AND expires_at > $1 AND kind = ANY($2)`, contract.Or(now, s.now), names).Scan(&latest)
	if err != nil {
		return time.Time{}, fail(err)
	}
	if latest == nil {
		return time.Time{}, nil
	}
	return latest.UTC(), nil
}

// RevokeSessions implements latch.Store. An unknown user is NotFound, as
// is a session of someone else. The audit event, if any, is appended
// whenever the call succeeds, even if it revoked nothing.
func (s *Store) RevokeSessions(ctx context.Context, r latch.SessionRevocation) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(r.UserID)
	if !ok {
		return 0, contract.NotFound("user")
	}
	var sessionID string
	if r.SessionID != "" {
		if sessionID, ok = contract.ID(r.SessionID); !ok {
			return 0, contract.NotFound("session")
		}
	}
	ev, err := contract.AuditPtr(r.Audit, s.now)
	if err != nil {
		return 0, err
	}
	at := contract.Or(r.At, s.now)
	var n int64
	err = s.write(ctx, func(tx pgx.Tx) error {
		if err := userExists(ctx, tx, userID); err != nil {
			return err
		}
		var err error
		if sessionID == "" {
			n, err = revokeLiveSessions(ctx, tx, userID, at)
		} else {
			n, err = revokeSessionOf(ctx, tx, userID, sessionID, at)
		}
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// revokeLiveSessions revokes every live session of the user (neither
// revoked nor expired) and returns how many it revoked.
func revokeLiveSessions(ctx context.Context, tx pgx.Tx, userID string, at time.Time) (int64, error) {
	return rowsAffected(tx.Exec(ctx, `
		UPDATE sessions SET revoked_at = $1
		WHERE user_id = $2 AND revoked_at IS NULL AND expires_at > $1`, at, userID))
}

// revokeSessionOf revokes the session sessionID if it is the user's
// (NotFound otherwise, as an unknown session) and returns how many it
// revoked: none if it was revoked already.
func revokeSessionOf(ctx context.Context, tx pgx.Tx, userID, sessionID string, at time.Time) (int64, error) {
	// The lock makes a concurrent revocation wait, so that only one of
	// two counts the session.
	var live bool
	err := tx.QueryRow(ctx, `
		SELECT revoked_at IS NULL FROM sessions WHERE id = $1 AND user_id = $2
		FOR NO KEY UPDATE`, sessionID, userID).Scan(&live)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, contract.NotFound("session")
	}
	if err != nil {
		return 0, err
	}
	var n int64
	if live {
		if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2`, at, sessionID); err != nil {
			return 0, err
		}
		n = 1
	}
	// The apps' grants made from it end with it, as at a sign-out
	// (RevokeSessionAndGrants), even when it had ended already.
	tag, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1
		WHERE user_id = $3 AND parent_session_id = $2 AND app_id IS NOT NULL AND revoked_at IS NULL AND expires_at > $1`, at, sessionID, userID)
	if err != nil {
		return 0, err
	}
	return n + tag.RowsAffected(), nil
}

// TenantPolicy implements latch.Store.
func (s *Store) TenantPolicy(ctx context.Context, tenantID string) (latch.PasswordPolicy, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tenantID, ok := contract.ID(tenantID)
	if !ok {
		return latch.PasswordPolicy{}, contract.NotFound("password policy")
	}
	var policy string
	err := s.pool.QueryRow(ctx, `SELECT policy FROM tenant_policies WHERE tenant_id = $1`, tenantID).Scan(&policy)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.PasswordPolicy{}, contract.NotFound("password policy")
	}
	if err != nil {
		return latch.PasswordPolicy{}, fail(err)
	}
	return contract.DecodePolicy(policy)
}

// SetTenantPolicy implements latch.Store.
func (s *Store) SetTenantPolicy(ctx context.Context, tenantID string, p latch.PasswordPolicy, at time.Time, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tenantID, ok := contract.ID(tenantID)
	if !ok {
		return contract.NotFound("tenant")
	}
	policy, err := contract.EncodePolicy(p)
	if err != nil {
		return err
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO tenant_policies (tenant_id, policy, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at`,
			tenantID, policy, contract.Or(at, s.now))
		if pgCode(err) == foreignKeyViolation {
			return contract.NotFound("tenant")
		}
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// AppendAudit implements latch.Store.
func (s *Store) AppendAudit(ctx context.Context, e latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	e, err := contract.Audit(e, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error { return appendAudit(ctx, tx, &e) })
}

// AuditEvents implements latch.Store. Ids come from a sequence, so an
// event whose transaction commits late may carry a smaller id than one
// already read: a reader paging by BeforeID can miss it, which an audit
// listing tolerates.
func (s *Store) AuditEvents(ctx context.Context, q latch.AuditQuery) ([]latch.AuditEvent, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	q, err := contract.AuditQuery(q)
	if err != nil {
		return nil, err
	}
	// The log is two sources, one id sequence: audit_events, and the
	// sign-ins that session rows carry (see CreateSession). Each branch
	// takes its newest Limit through its own index, then the union its
	// newest Limit. Both filters number the same arguments alike.
	logWhere, args := auditFilter(q, "")
	sessWhere, _ := auditFilter(q, "audit_")
	if logWhere != "" {
		logWhere = ` WHERE ` + logWhere
	}
	if sessWhere != "" {
		sessWhere = ` AND ` + sessWhere
	}
	args = append(args, q.Limit)
	limit := fmt.Sprintf(`$%d`, len(args))
	query := `
		(SELECT id, tenant_id, at, action, actor_type, actor_id, target_id, ip, details
			FROM audit_events` + logWhere + ` ORDER BY id DESC LIMIT ` + limit + `)
		UNION ALL
		(SELECT audit_id, audit_tenant_id, audit_at, audit_action, audit_actor_type, audit_actor_id, audit_target_id, audit_ip, audit_details
			FROM sessions WHERE audit_id IS NOT NULL` + sessWhere + ` ORDER BY audit_id DESC LIMIT ` + limit + `)
		ORDER BY 1 DESC LIMIT ` + limit
	rows, err := s.pool.Query(ctx, query, args...)
	return collect(rows, err, scanAuditEvent)
}

// auditFilter returns the conditions of q (joined by AND; "" for none)
// and their arguments, numbered $1, $2, ... in order.
func auditFilter(q latch.AuditQuery, prefix string) (where string, args []any) {
	var conds []string
	add := func(cond string, arg any) {
		args = append(args, arg)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if q.TenantID != "" {
		add(prefix+`tenant_id = $%d`, q.TenantID)
	}
	if q.Action != "" {
		add(prefix+`action = $%d`, q.Action)
	}
	if q.ActorID != "" {
		add(prefix+`actor_id = $%d`, q.ActorID)
	}
	if q.TargetID != "" {
		add(prefix+`target_id = $%d`, q.TargetID)
	}
	if !q.Since.IsZero() {
		add(prefix+`at >= $%d`, q.Since)
	}
	if q.BeforeID > 0 {
		add(prefix+`id < $%d`, q.BeforeID)
	}
	return strings.Join(conds, ` AND `), args
}

// scanAuditEvent scans a row of AuditEvents.
func scanAuditEvent(row pgx.Row) (latch.AuditEvent, error) {
	var e latch.AuditEvent
	var tenantID, details *string
	if err := row.Scan(&e.ID, &tenantID, &e.At, &e.Action, &e.ActorType, &e.ActorID, &e.TargetID, &e.IP, &details); err != nil {
		return latch.AuditEvent{}, err
	}
	if tenantID != nil {
		e.TenantID = *tenantID
	}
	e.At = utc(e.At)
	var err error
	e.Details, err = contract.DecodeDetails(details)
	return e, err
}
