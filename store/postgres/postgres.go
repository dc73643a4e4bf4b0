// Package postgres is the latch.Store on PostgreSQL (pgx v5, pgxpool): the
// backend that several replicas of Latch share.
//
// Transactions run at READ COMMITTED. Every compare-and-swap is a single
// statement whose WHERE clause (or ON CONFLICT target) is re-checked by
// Postgres against the latest committed row after waiting for a concurrent
// writer, so two writers cannot both succeed without SERIALIZABLE and its
// retries.
package postgres

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a latch.Store on a pgx connection pool. It is safe for
// concurrent use.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time
	// timeout bounds every call (bound): a database that does not answer
	// within it is down, as far as the caller is concerned.
	timeout time.Duration
	// listenConfig connects the session change feed's own connection
	// (changes.go): the pool's, outside the pool.
	listenConfig *pgx.ConnConfig
}

// DefaultTimeout is the bound of every store call without WithTimeout.
const DefaultTimeout = contract.DefaultTimeout

// Option configures a Store at Open.
type Option func(*Store)

// WithTimeout bounds every store call, Open's own check included, by d
// (contract.DefaultTimeout when d is not positive). A call the database
// does not finish within d ends as KindUnavailable (database_unavailable).
func WithTimeout(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.timeout = d
		}
	}
}

var _ latch.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a key=value
// DSN, as pgx parses them). Parameters pgx does not know are sent as
// runtime parameters: search_path=<schema> makes the store, and Migrate,
// use that schema. Open checks the server answers; it does not migrate.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	s := &Store{now: time.Now, timeout: contract.DefaultTimeout}
	for _, o := range opts {
		o(s)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors can echo the URL, password included.
		return nil, errors.New("postgres: cannot parse the database URL")
	}
	// The pool goes on connecting after the request that wanted the
	// connection gave up, and without a timeout a silent server holds such
	// a connection attempt (and its slot in the pool) forever. The URL's
	// connect_timeout, when shorter, wins.
	if c := cfg.ConnConfig.ConnectTimeout; c <= 0 || c > s.timeout {
		cfg.ConnConfig.ConnectTimeout = s.timeout
	}
	s.listenConfig = cfg.ConnConfig.Copy()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s.pool = pool
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return s, nil
}

// Ping checks that the database answers within the store's bound, for a
// readiness check: nil, or KindUnavailable.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return fail(s.pool.Ping(ctx))
}

// bound limits a store call to the store's timeout; every exported method
// that reaches the database starts with it (TestEveryCallIsBounded).
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// fail is contract.Fail with what Postgres adds to the shared causes of an
// unreachable database.
func fail(err error) error { return contract.Fail(err, unreachable) }

// unreachable reports the Postgres failures that mean the database cannot
// serve us now, beyond contract.Unreachable's network ones: any failure to
// connect (refused, timed out, or refused by the server: a pool that
// cannot connect cannot serve, whatever the reason, and the log says
// which), a timeout inside pgx, and the SQLSTATEs of a server that is
// going away or full: class 08 (connection exception), 57P01..57P03
// (shutdown, crash, starting up) and 53300 (too many connections).
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.Timeout(err) {
		return true
	}
	code := pgCode(err)
	return strings.HasPrefix(code, "08") || code == "57P01" || code == "57P02" || code == "57P03" || code == "53300"
}

// Migrate applies the pending migrations to the first schema of the
// search_path, goose's version table included. Concurrent Migrate calls
// against the same schema (replicas starting together) take turns on an
// advisory lock named after the schema, so migrations of other schemas in
// the same database (parallel tests) do not wait for each other. Then the
// users that migration 00006 listed get their canonical email
// (rekeyEmails).
func (s *Store) Migrate(ctx context.Context) error {
	var schema *string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if schema == nil {
		return errors.New("postgres: migrate: no schema of the search_path exists")
	}
	h := fnv.New64a()
	h.Write([]byte("latch migrations " + *schema))
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64())), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	// goose speaks database/sql; this *sql.DB borrows the pool's
	// connections (and their search_path) and closing it leaves the pool open.
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker),
		// The global registry holds Go migrations registered by init
		// functions; this store has none, and must not pick up anyone else's.
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	// The migrations may have changed tables that cached statements
	// describe; start from fresh connections.
	s.pool.Reset()
	return s.rekeyEmails(ctx)
}

// MigrationStatus reports the applied and the embedded migrations of the
// first schema of the search_path. It only reads: a schema never migrated
// has no version table yet, and gets none from this.
func (s *Store) MigrationStatus(ctx context.Context) (latch.MigrationStatus, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return latch.MigrationStatus{}, fmt.Errorf("postgres: migrations: %w", err)
	}
	var table *string
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass('goose_db_version')::text`).Scan(&table); err != nil {
		return latch.MigrationStatus{}, fail(err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return latch.MigrationStatus{}, fmt.Errorf("postgres: migrations: %w", err)
	}
	st, err := contract.MigrationStatus(ctx, "postgres", p, table != nil)
	if err != nil {
		return latch.MigrationStatus{}, fail(err)
	}
	return st, nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// write runs fn in one transaction, committing if it returns nil.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fail(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(ctx) // the error from fn is the one worth reporting
		return fail(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(err)
	}
	return nil
}

// Postgres error codes (SQLSTATE) the store turns into latch errors.
const (
	foreignKeyViolation = "23503"
	uniqueViolation     = "23505"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// oneRow checks that an Exec succeeded and touched a row, returning
// ifNone when it touched none.
func oneRow(tag pgconn.CommandTag, err error, ifNone error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ifNone
	}
	return nil
}

func utc(t time.Time) time.Time { return t.UTC() }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

const userColumns = `u.id, u.number, u.tenant_id, u.email, u.first_name, u.last_name,
	u.profile_picture, u.verified, u.email_verified_by, u.active, u.admin, u.created_at, u.updated_at`

// userDest returns the Scan destinations for userColumns and a function
// that finishes u once Scan has filled them.
func userDest(u *latch.User) ([]any, func()) {
	dest := []any{&u.ID, &u.Number, &u.TenantID, &u.Email, &u.FirstName, &u.LastName,
		&u.ProfilePicture, &u.Verified, &u.VerifiedBy, &u.Active, &u.Admin, &u.CreatedAt, &u.UpdatedAt}
	return dest, func() {
		// pgx returns timestamptz in the local zone.
		u.CreatedAt, u.UpdatedAt = utc(u.CreatedAt), utc(u.UpdatedAt)
	}
}

// CreateUser implements latch.Store.
func (s *Store) CreateUser(ctx context.Context, nu latch.NewUser) (latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	nu, err := contract.NewUser(nu, s.now)
	if err != nil {
		return latch.User{}, err
	}
	u := nu.User
	key, err := contract.EmailKey(u.Email)
	if err != nil {
		return latch.User{}, err
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		number, err := insertUser(ctx, tx, u, key)
		if err != nil {
			return err
		}
		u.Number = number
		if id := nu.Identity; id != nil {
			if err := insertIdentity(ctx, tx, *id); err != nil {
				return err
			}
		}
		if nu.PasswordHash != "" {
			if err := insertCredential(ctx, tx, u.ID, nu.PasswordHash, nu.MustChangePassword, u.CreatedAt); err != nil {
				return err
			}
			if err := addPasswordHistory(ctx, tx, u.ID, nu.PasswordHash, u.CreatedAt); err != nil {
				return err
			}
		}
		if err := insertMail(ctx, tx, nu.Mail); err != nil {
			return err
		}
		return appendAudit(ctx, tx, nu.Audit)
	})
	if err != nil {
		return latch.User{}, err
	}
	return u, nil
}

// insertUser stores u, whose email's key is key, and returns the Number
// assigned. A taken email is Conflict (CodeEmailTaken), a taken id
// Conflict, an unknown tenant Invalid.
func insertUser(ctx context.Context, tx pgx.Tx, u latch.User, key string) (int64, error) {
	// ON CONFLICT DO NOTHING turns the duplicate email into "no row
	// returned" and, unlike a unique violation, leaves the transaction
	// usable; a concurrent insert of the same email is waited for.
	var number int64
	err := tx.QueryRow(ctx, `
		INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name,
			profile_picture, verified, email_verified_by, active, admin, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (email_normalized) DO NOTHING
		RETURNING number`,
		u.ID, u.TenantID, u.Email, key, u.FirstName, u.LastName,
		u.ProfilePicture, u.Verified, string(u.VerifiedBy), u.Active, u.Admin, u.CreatedAt, u.UpdatedAt,
	).Scan(&number)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return 0, contract.EmailTaken()
	case pgCode(err) == uniqueViolation:
		return 0, contract.AlreadyExists("user")
	case pgCode(err) == foreignKeyViolation:
		return 0, contract.Invalid("tenant_id", "unknown tenant")
	case err != nil:
		return 0, err
	}
	return number, nil
}

// insertCredential stores a new user's first password.
func insertCredential(ctx context.Context, tx pgx.Tx, userID, hash string, mustChange bool, at time.Time) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO credentials (user_id, hash, must_change, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)`,
		userID, hash, mustChange, at)
	return err
}

// UserByID implements latch.Store.
func (s *Store) UserByID(ctx context.Context, id string) (latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	// Checked here: the uuid column would reject a malformed id with an
	// error, and a malformed id is simply no user.
	id, ok := contract.ID(id)
	if !ok {
		return latch.User{}, contract.NotFound("user")
	}
	return s.user(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = $1`, id)
}

// UserByEmail implements latch.Store.
func (s *Store) UserByEmail(ctx context.Context, email string) (latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.user(ctx, `SELECT `+userColumns+` FROM users u WHERE u.email_normalized = $1`, latch.EmailLookupKey(email))
}

func (s *Store) user(ctx context.Context, query string, args ...any) (latch.User, error) {
	var u latch.User
	dest, finish := userDest(&u)
	err := s.pool.QueryRow(ctx, query, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.User{}, contract.NotFound("user")
	}
	if err != nil {
		return latch.User{}, fail(err)
	}
	finish()
	return u, nil
}

// UserByIdentity implements latch.Store.
func (s *Store) UserByIdentity(ctx context.Context, issuer, subject string) (latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if issuer == "" {
		// Rows not yet attributed to an issuer belong to nobody's sign-in.
		return latch.User{}, contract.NotFound("user")
	}
	return s.user(ctx, `SELECT `+userColumns+` FROM identities i JOIN users u ON u.id = i.user_id
		WHERE i.issuer = $1 AND i.subject = $2`, issuer, subject)
}

// insertIdentity links ident inside tx; a taken (issuer, subject) is
// Conflict (CodeIdentityTaken).
func insertIdentity(ctx context.Context, tx pgx.Tx, ident latch.Identity) error {
	tag, err := tx.Exec(ctx, `
		INSERT INTO identities (id, user_id, provider, issuer, subject, email, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (issuer, subject) WHERE issuer <> '' DO NOTHING`,
		ident.ID, ident.UserID, string(ident.Provider), ident.Issuer, ident.Subject, ident.Email, contract.Time(ident.CreatedAt))
	switch pgCode(err) {
	case foreignKeyViolation:
		return contract.NotFound("user")
	case uniqueViolation:
		return contract.AlreadyExists("identity")
	}
	return oneRow(tag, err, contract.IdentityTaken())
}

// detachUnproven unlinks every identity of userID and, if it had any,
// ends every session, in tx (see ChangePassword's Verify). Without an
// identity there is nobody to detach: a sign-up's first password keeps
// its sessions.
func detachUnproven(ctx context.Context, tx pgx.Tx, userID string, at time.Time) error {
	tag, err := tx.Exec(ctx, `DELETE FROM identities WHERE user_id = $1`, userID)
	if err != nil || tag.RowsAffected() == 0 {
		return err
	}
	return revokeAllSessions(ctx, tx, userID, at)
}

// ClaimUnfinishedUser implements latch.Store.
func (s *Store) ClaimUnfinishedUser(ctx context.Context, ident latch.Identity, claim latch.User, audit *latch.AuditEvent) (latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ident, err := contract.Identity(ident, s.now)
	if err != nil {
		return latch.User{}, err
	}
	audit, err = contract.AuditPtr(audit, s.now)
	if err != nil {
		return latch.User{}, err
	}
	at := contract.Time(ident.CreatedAt)
	var u latch.User
	err = s.write(ctx, func(tx pgx.Tx) error {
		// Locked first, in a statement of its own: every writer of a
		// credential or an identity of the user locks the row too, so
		// the conditions claimUnfinished checks (in a later statement,
		// which sees what committed before the lock was granted) hold to
		// the commit.
		if err := lockUserRow(ctx, tx, ident.UserID, contract.ClaimRefused()); err != nil {
			return err
		}
		var err error
		if u, err = claimUnfinished(ctx, tx, ident.UserID, claim, at); err != nil {
			return err
		}
		if err := insertIdentity(ctx, tx, ident); err != nil {
			return err
		}
		if err := revokeAllSessions(ctx, tx, ident.UserID, at); err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit)
	})
	if err != nil {
		return latch.User{}, err
	}
	return u, nil
}

// lockUserRow locks the user's row for the rest of tx, as lockUser does
// without reading anything; an unknown user is ifNone. NO KEY UPDATE: the
// lock does not hold off inserts that only reference the user (sessions,
// identities).
func lockUserRow(ctx context.Context, tx pgx.Tx, userID string, ifNone error) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE`, userID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return ifNone
	}
	return err
}

// claimUnfinished marks the user verified by a provider and gives it
// claim's profile, if it is an account nobody finished: unverified,
// active, not an administrator, without a password or an identity.
// Otherwise the error is contract.ClaimRefused (Conflict).
func claimUnfinished(ctx context.Context, tx pgx.Tx, userID string, claim latch.User, at time.Time) (latch.User, error) {
	var u latch.User
	dest, finish := userDest(&u)
	err := tx.QueryRow(ctx, `
		UPDATE users u SET verified = true, email_verified_by = 'provider',
			first_name = $1, last_name = $2, profile_picture = $3, updated_at = $4
		WHERE id = $5 AND NOT verified AND active AND NOT admin
		  AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = u.id)
		  AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.user_id = u.id)
		RETURNING `+userColumns,
		claim.FirstName, claim.LastName, claim.ProfilePicture, at, userID).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.User{}, contract.ClaimRefused()
	}
	if err != nil {
		return latch.User{}, err
	}
	finish()
	return u, nil
}

// LegacyIdentityCount implements latch.Store.
func (s *Store) LegacyIdentityCount(ctx context.Context) (map[latch.Provider]int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT provider, count(*) FROM identities WHERE issuer = '' GROUP BY provider`)
	if err != nil {
		return nil, fail(err)
	}
	defer rows.Close()
	out := map[latch.Provider]int{}
	for rows.Next() {
		var p string
		var n int
		if err := rows.Scan(&p, &n); err != nil {
			return nil, fail(err)
		}
		out[latch.Provider(p)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fail(err)
	}
	return out, nil
}

// AttributeLegacyIdentities implements latch.Store.
func (s *Store) AttributeLegacyIdentities(ctx context.Context, provider latch.Provider, issuer string) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if issuer == "" || provider == "" {
		return 0, contract.Invalid("issuer", "an issuer is required")
	}
	var n int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE identities SET issuer = $1 WHERE issuer = '' AND provider = $2`, issuer, string(provider))
		if pgCode(err) == uniqueViolation {
			return contract.IdentityTaken()
		}
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		return nil
	})
	return int(n), err
}

// AddIdentity implements latch.Store.
func (s *Store) AddIdentity(ctx context.Context, ident latch.Identity, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	ident, err := contract.Identity(ident, s.now)
	if err != nil {
		return err
	}
	if audit, err = contract.AuditPtr(audit, s.now); err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		// Locked as by ChangePassword, for ClaimUnfinishedUser.
		if err := lockUserRow(ctx, tx, ident.UserID, contract.NotFound("user")); err != nil {
			return err
		}
		if err := insertIdentity(ctx, tx, ident); err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit)
	})
}

// RemoveIdentity implements latch.Store. Locking the user row first
// serializes removals for one user, so two concurrent unlinks cannot both
// pass the "not the last one" check.
func (s *Store) RemoveIdentity(ctx context.Context, userID, identityID string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	uid, ok1 := contract.ID(userID)
	iid, ok2 := contract.ID(identityID)
	if !ok1 || !ok2 {
		return contract.NotFound("identity")
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, uid).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return contract.NotFound("identity")
		}
		if err != nil {
			return err
		}
		if err := checkRemovable(ctx, tx, uid, iid); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM identities WHERE id = $1 AND user_id = $2`, iid, uid)
		return err
	})
}

// checkRemovable checks that the identity iid of the user uid exists
// (NotFound otherwise) and that the user keeps a way to sign in without it,
// another identity or a password (Conflict, CodeLastSignInMethod,
// otherwise).
func checkRemovable(ctx context.Context, tx pgx.Tx, uid, iid string) error {
	var others, passwords int
	err := tx.QueryRow(ctx, `
		SELECT (SELECT count(*) FROM identities WHERE user_id = $1 AND id <> $2),
		       (SELECT count(*) FROM credentials WHERE user_id = $1)
		FROM identities WHERE id = $2 AND user_id = $1`, uid, iid).Scan(&others, &passwords)
	if errors.Is(err, pgx.ErrNoRows) {
		return contract.NotFound("identity")
	}
	if err != nil {
		return err
	}
	if others == 0 && passwords == 0 {
		return contract.LastSignInMethod()
	}
	return nil
}

// IdentitiesByUser implements latch.Store.
func (s *Store) IdentitiesByUser(ctx context.Context, userID string) ([]latch.Identity, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok {
		return nil, contract.NotFound("user")
	}
	// The LEFT JOIN tells "no such user" (no row) from "a user without
	// identities" (one row of NULLs) in one read.
	rows, err := s.pool.Query(ctx, `
		SELECT i.id, i.provider, i.issuer, i.subject, i.email, i.created_at
		FROM users u LEFT JOIN identities i ON i.user_id = u.id
		WHERE u.id = $1
		ORDER BY i.created_at, i.id`, userID)
	if err != nil {
		return nil, fail(err)
	}
	out, found, err := identitiesOf(rows, userID)
	if err != nil {
		return nil, fail(err)
	}
	if !found {
		return nil, contract.NotFound("user")
	}
	return out, nil
}

// identitiesOf reads IdentitiesByUser's rows for the user userID, closing
// rows. found is false when there was no row at all (no such user); the
// row of NULLs of a user without identities adds none to out.
func identitiesOf(rows pgx.Rows, userID string) (out []latch.Identity, found bool, err error) {
	defer rows.Close()
	for rows.Next() {
		found = true
		var id, provider, issuer, subject, email *string
		var created *time.Time
		if err := rows.Scan(&id, &provider, &issuer, &subject, &email, &created); err != nil {
			return nil, false, err
		}
		if id == nil {
			continue
		}
		out = append(out, latch.Identity{
			ID: *id, UserID: userID, Provider: latch.Provider(*provider), Issuer: *issuer,
			Subject: *subject, Email: *email, CreatedAt: utc(*created),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return out, found, nil
}

// CredentialHashExists implements latch.Store.
func (s *Store) CredentialHashExists(ctx context.Context, like, notLike string) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var found bool
	err := s.pool.QueryRow(ctx, `
		SELECT EXISTS (SELECT 1 FROM credentials WHERE hash LIKE $1 AND ($2 = '' OR hash NOT LIKE $2))`,
		like, notLike).Scan(&found)
	if err != nil {
		return false, fail(err)
	}
	return found, nil
}

// Credential implements latch.Store.
func (s *Store) Credential(ctx context.Context, userID string) (latch.Credential, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok {
		return latch.Credential{}, contract.NotFound("credential")
	}
	c := latch.Credential{UserID: userID}
	err := s.pool.QueryRow(ctx,
		`SELECT hash, must_change, created_at, updated_at FROM credentials WHERE user_id = $1`, userID,
	).Scan(&c.Hash, &c.MustChange, &c.CreatedAt, &c.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.Credential{}, contract.NotFound("credential")
	}
	if err != nil {
		return latch.Credential{}, fail(err)
	}
	c.CreatedAt, c.UpdatedAt = utc(c.CreatedAt), utc(c.UpdatedAt)
	return c, nil
}

// ChangePassword implements latch.Store.
func (s *Store) ChangePassword(ctx context.Context, pc latch.PasswordChange) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(pc.UserID)
	if !ok {
		return contract.NotFound("user")
	}
	if pc.NewHash == "" {
		return contract.Invalid("new_hash", "new password hash is empty")
	}
	if err := contract.KeepSessions(pc); err != nil {
		return err
	}
	at := contract.Or(pc.At, s.now)
	// A KeepSessionID that is no session id keeps no session; NULL is
	// distinct from every id.
	var keep any
	if id, ok := contract.ID(pc.KeepSessionID); ok {
		keep = id
	}
	audit, err := contract.AuditPtr(pc.Audit, s.now)
	if err != nil {
		return err
	}
	mail, err := contract.MailPtr(pc.Mail, at, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		verifiedBy, err := lockUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		// The link is checked first: without it the caller may not learn
		// anything of the stored password (not even a Conflict).
		if pc.LinkHash != nil {
			if err := usePasswordLink(ctx, tx, pc.LinkHash, userID, at); err != nil {
				return err
			}
		}
		if err := writeCredential(ctx, tx, userID, pc, at); err != nil {
			return err
		}
		if err := addPasswordHistory(ctx, tx, userID, pc.NewHash, at); err != nil {
			return err
		}
		if !pc.KeepSessions {
			if err := revokeSessionsBut(ctx, tx, userID, keep, at); err != nil {
				return err
			}
		}
		// Whatever set the password, no link sent before may set it again.
		if err := endPasswordLinks(ctx, tx, userID, at); err != nil {
			return err
		}
		if pc.Verify {
			if err := verifyEmailByLink(ctx, tx, userID, verifiedBy, at); err != nil {
				return err
			}
		}
		if err := insertMail(ctx, tx, mail); err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit)
	})
}

// lockUser locks the user's row for the rest of tx and returns whose word
// verified its email; an unknown user is NotFound. A password change
// locks it first: before the link, as CreatePasswordLink locks it before
// superseding links (taken in the other order, a new link requested while
// the old one is used could deadlock with the change); and so that a
// concurrent ClaimUnfinishedUser, which locks it too, sees this password
// or comes before it (a foreign key's FOR KEY SHARE would not wait).
func lockUser(ctx context.Context, tx pgx.Tx, userID string) (verifiedBy string, err error) {
	err = tx.QueryRow(ctx, `SELECT email_verified_by FROM users WHERE id = $1 FOR NO KEY UPDATE`, userID).Scan(&verifiedBy)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", contract.NotFound("user")
	}
	return verifiedBy, err
}

// writeCredential stores pc.NewHash as the user's password if what is
// stored still allows it (see latch.PasswordChange): Conflict
// (CodeConcurrentUpdate) otherwise.
func writeCredential(ctx context.Context, tx pgx.Tx, userID string, pc latch.PasswordChange, at time.Time) error {
	var tag pgconn.CommandTag
	var err error
	switch {
	case pc.Overwrite:
		// An administrator's reset: whatever is stored, or nothing.
		// The first creation time is kept, as by a change.
		tag, err = tx.Exec(ctx, `
			INSERT INTO credentials (user_id, hash, must_change, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (user_id) DO UPDATE
			SET hash = excluded.hash, must_change = excluded.must_change, updated_at = excluded.updated_at, rehashed_from = NULL`,
			userID, pc.NewHash, pc.MustChange, at)
	case pc.PreviousHash == "":
		// A concurrent first password makes this wait for its commit,
		// then do nothing.
		tag, err = tx.Exec(ctx, `
			INSERT INTO credentials (user_id, hash, must_change, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (user_id) DO NOTHING`, userID, pc.NewHash, pc.MustChange, at)
	default:
		// A concurrent change makes this wait, then re-check the hash
		// against the committed row. The hash the last rehash replaced
		// is the same password: a caller that verified it just before
		// the rehash knew the current password.
		tag, err = tx.Exec(ctx, `
			UPDATE credentials SET hash = $1, must_change = $2, updated_at = $3, rehashed_from = NULL
			WHERE user_id = $4 AND (hash = $5 OR rehashed_from = $6)`,
			pc.NewHash, pc.MustChange, at, userID, pc.PreviousHash, contract.RehashDigest(pc.PreviousHash))
	}
	return oneRow(tag, err, contract.ConcurrentUpdate())
}

// addPasswordHistory records hash as the user's password from at on, for
// the policy that refuses the last N passwords.
func addPasswordHistory(ctx context.Context, tx pgx.Tx, userID, hash string, at time.Time) error {
	_, err := tx.Exec(ctx, `
		INSERT INTO password_history (user_id, hash, created_at) VALUES ($1, $2, $3)`,
		userID, hash, at)
	return err
}

// revokeSessionsBut revokes every live session of the user except keep (a
// session id, or nil: NULL is distinct from every id, so none is kept).
func revokeSessionsBut(ctx context.Context, tx pgx.Tx, userID string, keep any, at time.Time) error {
	_, err := tx.Exec(ctx, `
		UPDATE sessions SET revoked_at = $1
		WHERE user_id = $2 AND revoked_at IS NULL AND id IS DISTINCT FROM $3::uuid`, at, userID, keep)
	return err
}

// revokeAllSessions revokes every session of the user not revoked yet,
// expired ones included.
func revokeAllSessions(ctx context.Context, tx pgx.Tx, userID string, at time.Time) error {
	_, err := tx.Exec(ctx, `
		UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, at, userID)
	return err
}

// endPasswordLinks uses up every live password link of the user, whatever
// its purpose.
func endPasswordLinks(ctx context.Context, tx pgx.Tx, userID string, at time.Time) error {
	_, err := tx.Exec(ctx, `
		UPDATE password_links SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL AND expires_at > $1`, at, userID)
	return err
}

// verifyEmailByLink marks the user's email verified by a link; verifiedBy
// is what lockUser read.
func verifyEmailByLink(ctx context.Context, tx pgx.Tx, userID, verifiedBy string, at time.Time) error {
	if verifiedBy == string(latch.EmailUnverified) {
		// The mailbox's owner proves the address of an account
		// nobody had proven it for: whatever signed in to it
		// before (a provider that did not verify the address)
		// was not them, and leaves with its sessions.
		if err := detachUnproven(ctx, tx, userID, at); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `
		UPDATE users SET verified = true, email_verified_by = 'link', updated_at = $1
		WHERE id = $2 AND email_verified_by <> 'link'`, at, userID)
	return err
}

func userExists(ctx context.Context, q interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}, userID string) error {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1`, userID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return contract.NotFound("user")
	}
	return err
}

// ReplacePasswordHash implements latch.Store.
func (s *Store) ReplacePasswordHash(ctx context.Context, userID, oldHash, newHash string, at time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok {
		return contract.NotFound("user")
	}
	if newHash == "" {
		return contract.Invalid("new_hash", "new password hash is empty")
	}
	// rehashed_from remembers the hash replaced: a login that verified it
	// just before checked the same password (see CreateSession).
	tag, err := s.pool.Exec(ctx, `
		UPDATE credentials SET hash = $1, rehashed_from = $2, updated_at = $3 WHERE user_id = $4 AND hash = $5`,
		newHash, contract.RehashDigest(oldHash), contract.Or(at, s.now), userID, oldHash)
	err = oneRow(tag, err, contract.ConcurrentUpdate())
	if latch.IsCode(err, latch.CodeConcurrentUpdate) {
		// Nothing matched: tell an unknown user from a changed hash.
		if err := userExists(ctx, s.pool, userID); err != nil {
			return fail(err)
		}
	}
	return fail(err)
}

// CreateSession implements latch.Store.
func (s *Store) CreateSession(ctx context.Context, ns latch.NewSession) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	row, err := contract.CheckNewSession(ns, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if ns.WhilePasswordHash != "" {
			if err := passwordStill(ctx, tx, row.UserID, ns.WhilePasswordHash); err != nil {
				return err
			}
		}
		return insertSession(ctx, tx, row.ID, row.UserID, ns.Session, row.Scopes, row.CreatedAt, ns.RefreshHash, row.Audit)
	})
}

// passwordStill checks that the user's password is still the one hash
// was made from (see latch.NewSession.WhilePasswordHash): Conflict
// (CodeConcurrentUpdate) otherwise. FOR SHARE holds off a concurrent
// password change until the transaction commits; the change then revokes
// the session with the others. A change that committed first leaves no
// such row. The hash the last rehash replaced is the same password (a
// change clears it); a rehash committing meanwhile is waited for, and the
// row it leaves still matches.
func passwordStill(ctx context.Context, tx pgx.Tx, userID, hash string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM credentials WHERE user_id = $1 AND (hash = $2 OR rehashed_from = $3) FOR SHARE`,
		userID, hash, contract.RehashDigest(hash)).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return contract.ConcurrentUpdate()
	}
	return err
}

// insertSession stores sess as id of userID, created at created; an
// unknown user is NotFound, a taken id Conflict.
func insertSession(ctx context.Context, tx pgx.Tx, id, userID string, sess latch.Session, scopes string, created time.Time, refreshHash []byte, audit *latch.AuditEvent) error {
	var generation *int64
	var rotated *time.Time
	if len(refreshHash) == 0 {
		refreshHash = nil
	} else {
		generation, rotated = new(int64(0)), &created
	}
	ev, err := sessionAudit(audit)
	if err != nil {
		return err
	}
	// audit_id is drawn from audit_events' own identity sequence when the
	// row carries an event: the log and the sessions share one id
	// sequence (see AuditEvents).
	grant, err := contract.SessionGrant(sess)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO sessions (id, user_id, kind, scopes, created_at, expires_at, revoked_at,
			refresh_hash, refresh_generation, refresh_rotated_at,
			audit_id, audit_tenant_id, audit_at, audit_action, audit_actor_type, audit_actor_id, audit_target_id, audit_ip, audit_details,
			app_id, auth_time, amr, parent_session_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
			CASE WHEN $11::boolean THEN nextval(pg_get_serial_sequence('audit_events', 'id')) END,
			$12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
		ON CONFLICT (id) DO NOTHING`,
		append(append([]any{id, userID, string(sess.Kind), scopes, created, contract.Time(sess.ExpiresAt), contract.TimePtr(sess.RevokedAt),
			refreshHash, generation, rotated, audit != nil}, ev...),
			grant.AppID, grant.AuthTime, grant.AMR, grant.ParentSessionID)...)
	if pgCode(err) == foreignKeyViolation {
		if grant.AppID != nil {
			return contract.NotFound("user or app")
		}
		return contract.NotFound("user")
	}
	return oneRow(tag, err, contract.AlreadyExists("session"))
}

// sessionAudit returns the audit_* column values (but the id) of a
// session row that carries e: all NULL for nil.
func sessionAudit(e *latch.AuditEvent) ([]any, error) {
	if e == nil {
		return make([]any, 8), nil
	}
	details, err := contract.EncodeDetails(e.Details)
	if err != nil {
		return nil, err
	}
	var tenantID *string
	if e.TenantID != "" {
		tenantID = &e.TenantID
	}
	return []any{tenantID, e.At, e.Action, e.ActorType, e.ActorID, e.TargetID, e.IP, details}, nil
}

const sessionColumns = `s.id, s.user_id, s.kind, s.scopes, s.created_at, s.expires_at, s.revoked_at,
	s.app_id, s.auth_time, s.amr, s.parent_session_id`

// sessionDest is userDest for sessionColumns.
func sessionDest(sess *latch.Session) ([]any, func()) {
	var kind, scopes, amr string
	var appID, parentID *string
	var authTime *time.Time
	dest := []any{&sess.ID, &sess.UserID, &kind, &scopes, &sess.CreatedAt, &sess.ExpiresAt, &sess.RevokedAt,
		&appID, &authTime, &amr, &parentID}
	return dest, func() {
		sess.Kind = latch.TokenKind(kind)
		sess.Scopes = contract.SplitScopes(scopes)
		sess.CreatedAt, sess.ExpiresAt = utc(sess.CreatedAt), utc(sess.ExpiresAt)
		sess.RevokedAt = utcPtr(sess.RevokedAt)
		sess.AppID = deref(appID)
		sess.AuthTime = zeroOrUTC(authTime)
		sess.AMR = contract.SplitScopes(amr)
		sess.ParentSessionID = deref(parentID)
	}
}

// deref is a nullable text column's value, empty for NULL.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// zeroOrUTC is a nullable time column's value, the zero time for NULL.
func zeroOrUTC(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// SessionWithUser implements latch.Store. pgx prepares and caches the
// statement per connection on first use, so the per-request cost is one
// round trip with two primary-key probes.
func (s *Store) SessionWithUser(ctx context.Context, sessionID string) (latch.Session, latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(sessionID)
	if !ok {
		return latch.Session{}, latch.User{}, contract.NotFound("session")
	}
	var sess latch.Session
	var u latch.User
	sdest, sfinish := sessionDest(&sess)
	udest, ufinish := userDest(&u)
	err := s.pool.QueryRow(ctx, `SELECT `+sessionColumns+`, `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id
		WHERE s.id = $1`, id).Scan(append(sdest, udest...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.Session{}, latch.User{}, contract.NotFound("session")
	}
	if err != nil {
		return latch.Session{}, latch.User{}, fail(err)
	}
	sfinish()
	ufinish()
	return sess, u, nil
}

// sessionReturning is sessionColumns for RETURNING.
const sessionReturning = `id, user_id, kind, scopes, created_at, expires_at, revoked_at,
	app_id, auth_time, amr, parent_session_id`

// RotateRefreshToken implements latch.Store: one UPDATE of the session
// row, which matches only while the presented token is the chain's current
// one and the session is live. Concurrent rotations of one token queue on
// the row lock; each later one re-evaluates the condition on the row the
// earlier left (READ COMMITTED), so exactly one rotates, and the others
// then read its successor as current (within the reuse interval, the
// same client).
func (s *Store) RotateRefreshToken(ctx context.Context, r latch.RefreshRotation) (latch.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, err := contract.RefreshRotation(r)
	if err != nil {
		return latch.Session{}, err
	}
	at := contract.Or(r.At, s.now)
	var sess latch.Session
	dest, finish := sessionDest(&sess)
	err = s.pool.QueryRow(ctx, `
		UPDATE sessions SET refresh_hash = $1, refresh_generation = refresh_generation + 1, refresh_rotated_at = $2
		WHERE id = $3 AND refresh_hash = $4 AND refresh_generation = $5 AND revoked_at IS NULL AND expires_at > $2
		RETURNING `+sessionReturning, r.NextHash, at, id, r.Hash, r.Generation).Scan(dest...)
	if err == nil {
		finish()
		return sess, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return latch.Session{}, fail(err)
	}
	// Not the current token of a live session: which of the rest is it?
	var current *int64
	var currentHash []byte
	var rotated *time.Time
	err = s.pool.QueryRow(ctx, `
		SELECT `+sessionColumns+`, s.refresh_hash, s.refresh_generation, s.refresh_rotated_at
		FROM sessions s WHERE s.id = $1`, id).Scan(append(dest, &currentHash, &current, &rotated)...)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (currentHash == nil || current == nil || rotated == nil)) {
		return latch.Session{}, contract.NotFound("refresh token")
	}
	if err != nil {
		return latch.Session{}, fail(err)
	}
	finish()
	if !sess.Live(at) {
		return latch.Session{}, contract.SessionEnded()
	}
	switch contract.ClassifyRefresh(r, *current, currentHash, *rotated, at) {
	case contract.RefreshAgain:
		return sess, nil
	case contract.RefreshReused:
		if _, err := s.pool.Exec(ctx, `
			UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, at, id); err != nil {
			return latch.Session{}, fail(err)
		}
		return latch.Session{}, contract.RefreshTokenReused()
	}
	return latch.Session{}, contract.NotFound("refresh token")
}

// RefreshTokenHead implements latch.Store.
func (s *Store) RefreshTokenHead(ctx context.Context, sessionID string) (int64, []byte, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(sessionID)
	if !ok {
		return 0, nil, contract.NotFound("refresh token")
	}
	var generation *int64
	var hash []byte
	err := s.pool.QueryRow(ctx, `SELECT refresh_generation, refresh_hash FROM sessions WHERE id = $1`, id).Scan(&generation, &hash)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (generation == nil || len(hash) == 0)) {
		return 0, nil, contract.NotFound("refresh token")
	}
	if err != nil {
		return 0, nil, fail(err)
	}
	return *generation, hash, nil
}

// RotateLegacyRefreshToken implements latch.Store, for the refresh tokens
// of sessions begun before migration 00013 (refresh_tokens, one row per
// token).
func (s *Store) RotateLegacyRefreshToken(ctx context.Context, hash []byte, next func(sessionID string) []byte, at time.Time, reuseInterval time.Duration) (latch.Session, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if len(hash) == 0 {
		return latch.Session{}, contract.NotFound("refresh token")
	}
	at = contract.Or(at, s.now)
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return latch.Session{}, fail(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit

	sess, used, successor, chainHash, chainGeneration, err := lockLegacyRefreshToken(ctx, tx, hash)
	if err != nil {
		return latch.Session{}, fail(err)
	}
	nextHash := next(sess.ID)
	if len(nextHash) == 0 {
		return latch.Session{}, contract.Invalid("refresh_token", "new refresh token hash is empty")
	}
	if used != nil {
		// Within the interval, the same client again: its successor is
		// still the chain's generation 1.
		if contract.WithinReuse(*used, at, reuseInterval) && bytes.Equal(successor, nextHash) &&
			chainGeneration != nil && *chainGeneration == 1 && bytes.Equal(chainHash, nextHash) {
			if !sess.Live(at) {
				return latch.Session{}, contract.SessionEnded()
			}
			return sess, nil
		}
		return latch.Session{}, revokeForReuse(ctx, tx, sess.ID, at)
	}
	if !sess.Live(at) {
		return latch.Session{}, contract.SessionEnded()
	}
	if _, err := tx.Exec(ctx, `
		UPDATE refresh_tokens SET used_at = $1, next_hash = $2 WHERE hash = $3 AND used_at IS NULL`,
		at, nextHash, hash); err != nil {
		return latch.Session{}, fail(err)
	}
	tag, err := tx.Exec(ctx, `
		UPDATE sessions SET refresh_hash = $1, refresh_generation = 1, refresh_rotated_at = $2
		WHERE id = $3 AND refresh_hash IS NULL`, nextHash, at, sess.ID)
	if err != nil {
		return latch.Session{}, fail(err)
	}
	if tag.RowsAffected() == 0 {
		// The chain already left refresh_tokens, through another of its
		// tokens: this one is a copy.
		return latch.Session{}, revokeForReuse(ctx, tx, sess.ID, at)
	}
	if err := tx.Commit(ctx); err != nil {
		return latch.Session{}, fail(err)
	}
	return sess, nil
}

// lockLegacyRefreshToken reads the token with hash, whether and into what
// it was used, its session and the session's chain; an unknown hash is
// NotFound. FOR NO KEY UPDATE locks the token and its session: concurrent
// rotations of one token queue here, and each later one reads the token as
// the earlier left it (used).
func lockLegacyRefreshToken(ctx context.Context, tx pgx.Tx, hash []byte) (sess latch.Session, used *time.Time, successor, chainHash []byte, chainGeneration *int64, err error) {
	dest, finish := sessionDest(&sess)
	err = tx.QueryRow(ctx, `
		SELECT rt.used_at, rt.next_hash, s.refresh_hash, s.refresh_generation, `+sessionColumns+`
		FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
		WHERE rt.hash = $1
		FOR NO KEY UPDATE`, hash).Scan(append([]any{&used, &successor, &chainHash, &chainGeneration}, dest...)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.Session{}, nil, nil, nil, nil, contract.NotFound("refresh token")
	}
	if err != nil {
		return latch.Session{}, nil, nil, nil, nil, err
	}
	finish()
	return sess, used, successor, chainHash, chainGeneration, nil
}

// revokeForReuse revokes the session of a reused refresh token and commits
// tx: the revocation must stand although the caller gets an error.
func revokeForReuse(ctx context.Context, tx pgx.Tx, sessionID string, at time.Time) error {
	if _, err := tx.Exec(ctx, `
		UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`,
		at, sessionID); err != nil {
		return fail(err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fail(err)
	}
	return contract.RefreshTokenReused()
}

// RevokeSession implements latch.Store.
func (s *Store) RevokeSession(ctx context.Context, sessionID string, at time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(sessionID)
	if !ok {
		return contract.NotFound("session")
	}
	// COALESCE keeps the first revocation time, and still counts the row
	// as matched, so an already revoked session is not NotFound.
	tag, err := s.pool.Exec(ctx, `
		UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`,
		contract.Or(at, s.now), id)
	return fail(oneRow(tag, err, contract.NotFound("session")))
}

// RevokeSessionAndGrants implements latch.Store. The grants are found by
// their user's sessions (sessions_user_id): a grant is its browser
// session's user's.
func (s *Store) RevokeSessionAndGrants(ctx context.Context, sessionID string, at time.Time) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(sessionID)
	if !ok {
		return 0, contract.NotFound("session")
	}
	when := contract.Or(at, s.now)
	var n int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		var userID string
		err := tx.QueryRow(ctx, `
			UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING user_id`, when, id).Scan(&userID)
		if errors.Is(err, pgx.ErrNoRows) {
			return contract.NotFound("session")
		}
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			UPDATE sessions SET revoked_at = $1
			WHERE user_id = $2 AND parent_session_id = $3 AND app_id IS NOT NULL AND revoked_at IS NULL AND expires_at > $1`,
			when, userID, id)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// PurgeSessions implements latch.Store. Legacy refresh tokens go with
// their session (ON DELETE CASCADE), and the trigger sessions_keep_audit
// moves the audit event a session carries to audit_events. One bounded
// batch per call keeps locks short.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `
		DELETE FROM sessions WHERE id IN (
			SELECT id FROM sessions WHERE expires_at < $1 OR revoked_at < $1 LIMIT $2)`,
		contract.Time(before), limit)
	if err != nil {
		return 0, fail(err)
	}
	return int(tag.RowsAffected()), nil
}

// CreateAuthorizationCode implements latch.Store.
func (s *Store) CreateAuthorizationCode(ctx context.Context, c latch.AuthorizationCode) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(c.UserID)
	if !ok || len(c.Hash) == 0 {
		return contract.Invalid("code", "a code needs a hash and a user")
	}
	scopes, err := contract.JoinScopes(c.Scopes)
	if err != nil {
		return err
	}
	grant, err := contract.CodeGrant(c)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `
		INSERT INTO authorization_codes (hash, user_id, code_challenge, redirect_uri, password_hash, created_at, expires_at,
			app_id, nonce, scopes, auth_time, amr, parent_session_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.Hash, userID, c.CodeChallenge, c.RedirectURI, c.PasswordHash, contract.Or(c.CreatedAt, s.now), contract.Time(c.ExpiresAt),
		grant.AppID, c.Nonce, scopes, grant.AuthTime, grant.AMR, grant.ParentSessionID)
	switch pgCode(err) {
	case foreignKeyViolation:
		if grant.AppID != nil {
			return contract.NotFound("user or app")
		}
		return contract.NotFound("user")
	case uniqueViolation:
		return contract.AlreadyExists("authorization code")
	}
	return fail(err)
}

// codeColumns are an authorization code's columns for RETURNING and
// SELECT, read by codeDest.
const codeColumns = `hash, user_id, code_challenge, redirect_uri, password_hash, created_at, expires_at,
	app_id, nonce, scopes, auth_time, amr, parent_session_id`

// codeDest is sessionDest for codeColumns.
func codeDest(c *latch.AuthorizationCode) ([]any, func()) {
	var appID, parentID *string
	var authTime *time.Time
	var scopes, amr string
	dest := []any{&c.Hash, &c.UserID, &c.CodeChallenge, &c.RedirectURI, &c.PasswordHash, &c.CreatedAt, &c.ExpiresAt,
		&appID, &c.Nonce, &scopes, &authTime, &amr, &parentID}
	return dest, func() {
		c.CreatedAt, c.ExpiresAt = c.CreatedAt.UTC(), c.ExpiresAt.UTC()
		c.AppID = deref(appID)
		c.Scopes = contract.SplitScopes(scopes)
		c.AuthTime = zeroOrUTC(authTime)
		c.AMR = contract.SplitScopes(amr)
		c.ParentSessionID = deref(parentID)
	}
}

// ConsumeAuthorizationCode implements latch.Store: one UPDATE marks the
// code used only if it is unused and unexpired, so two redemptions cannot
// both succeed. An app's code is not Latch's own: it is redeemed only by
// RedeemAppCode, which also stores its grant.
func (s *Store) ConsumeAuthorizationCode(ctx context.Context, hash []byte, at time.Time) (latch.AuthorizationCode, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	at = contract.Or(at, s.now)
	var c latch.AuthorizationCode
	dest, finish := codeDest(&c)
	err := s.pool.QueryRow(ctx, `
		UPDATE authorization_codes SET used_at = $1
		WHERE hash = $2 AND used_at IS NULL AND expires_at > $1 AND app_id IS NULL
		RETURNING `+codeColumns,
		at, hash).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.AuthorizationCode{}, contract.NotFound("authorization code")
	}
	if err != nil {
		return latch.AuthorizationCode{}, fail(err)
	}
	finish()
	return c, nil
}

// AppCodeByHash implements latch.Store.
func (s *Store) AppCodeByHash(ctx context.Context, hash []byte) (latch.AuthorizationCode, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var c latch.AuthorizationCode
	dest, finish := codeDest(&c)
	err := s.pool.QueryRow(ctx, `
		SELECT `+codeColumns+` FROM authorization_codes WHERE hash = $1 AND app_id IS NOT NULL`, hash).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.AuthorizationCode{}, contract.NotFound("authorization code")
	}
	if err != nil {
		return latch.AuthorizationCode{}, fail(err)
	}
	finish()
	return c, nil
}

// RedeemAppCode implements latch.Store in one transaction. Concurrent
// redemptions queue on the code's row lock; each later one re-evaluates
// the condition on the row the first left (READ COMMITTED), finds it
// used, and is a replay.
func (s *Store) RedeemAppCode(ctx context.Context, hash []byte, at time.Time, ns latch.NewSession) (latch.AuthorizationCode, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	at = contract.Or(at, s.now)
	row, err := contract.CheckNewSession(ns, s.now)
	if err != nil {
		return latch.AuthorizationCode{}, err
	}
	id, userID := row.ID, row.UserID
	var c latch.AuthorizationCode
	replayed := false
	err = s.write(ctx, func(tx pgx.Tx) error {
		dest, finish := codeDest(&c)
		err := tx.QueryRow(ctx, `
			UPDATE authorization_codes SET used_at = $1, grant_session_id = $3
			WHERE hash = $2 AND used_at IS NULL AND expires_at > $1 AND app_id IS NOT NULL
			RETURNING `+codeColumns,
			at, hash, id).Scan(dest...)
		if errors.Is(err, pgx.ErrNoRows) {
			// Unknown, expired, or used: only a used code is a replay.
			var grantID *string
			err := tx.QueryRow(ctx, `
				UPDATE authorization_codes SET replayed_at = $1
				WHERE hash = $2 AND used_at IS NOT NULL AND app_id IS NOT NULL
				RETURNING grant_session_id`, at, hash).Scan(&grantID)
			if errors.Is(err, pgx.ErrNoRows) {
				return contract.NotFound("authorization code")
			}
			if err != nil {
				return err
			}
			if grantID != nil {
				if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL`,
					at, *grantID); err != nil {
					return err
				}
			}
			replayed = true // committed, then answered as Conflict
			return nil
		}
		if err != nil {
			return err
		}
		finish()
		if err := contract.GrantMatchesCode(latch.Session{UserID: userID, AppID: ns.Session.AppID}, c.UserID, c.AppID); err != nil {
			return err
		}
		if ns.WhilePasswordHash != "" {
			if err := passwordStill(ctx, tx, userID, ns.WhilePasswordHash); err != nil {
				return err
			}
		}
		return insertSession(ctx, tx, id, userID, ns.Session, row.Scopes, row.CreatedAt, ns.RefreshHash, row.Audit)
	})
	if err != nil {
		return latch.AuthorizationCode{}, err
	}
	if replayed {
		return latch.AuthorizationCode{}, contract.AuthorizationCodeReused()
	}
	return c, nil
}

// PurgeAuthorizationCodes implements latch.Store.
func (s *Store) PurgeAuthorizationCodes(ctx context.Context, before time.Time, limit int) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if limit <= 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `
		DELETE FROM authorization_codes WHERE hash IN (
			SELECT hash FROM authorization_codes WHERE expires_at < $1 LIMIT $2)`, contract.Time(before), limit)
	if err != nil {
		return 0, fail(err)
	}
	return int(tag.RowsAffected()), nil
}

// SigningKeys implements latch.Store.
func (s *Store) SigningKeys(ctx context.Context) ([]latch.SigningKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		SELECT id, algorithm, private, created_at, activates_at, rotated_at, retire_at FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fail(err)
	}
	defer rows.Close()
	var keys []latch.SigningKey
	for rows.Next() {
		var k latch.SigningKey
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Private, &k.CreatedAt, &k.ActivatesAt, &k.RotatedAt, &k.RetireAt); err != nil {
			return nil, fail(err)
		}
		k.CreatedAt = utc(k.CreatedAt)
		k.ActivatesAt, k.RotatedAt, k.RetireAt = utcPtr(k.ActivatesAt), utcPtr(k.RotatedAt), utcPtr(k.RetireAt)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(err)
	}
	return keys, nil
}

// AddSigningKey implements latch.Store.
func (s *Store) AddSigningKey(ctx context.Context, k latch.SigningKey) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if k.ID == "" {
		return contract.Invalid("id", "signing key id is empty")
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO signing_keys (id, algorithm, private, created_at, activates_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Algorithm, k.Private, contract.Or(k.CreatedAt, s.now), contract.TimePtr(k.ActivatesAt))
	return fail(oneRow(tag, err, contract.AlreadyExists("signing key")))
}

// RotateSigningKey implements latch.Store.
func (s *Store) RotateSigningKey(ctx context.Context, k latch.SigningKey, retireAt time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if k.ID == "" {
		return contract.Invalid("id", "signing key id is empty")
	}
	created := contract.Or(k.CreatedAt, s.now)
	activates := created
	if k.ActivatesAt != nil {
		activates = contract.Time(*k.ActivatesAt)
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `
			UPDATE signing_keys SET rotated_at = $1, retire_at = COALESCE(retire_at, $2)
			WHERE algorithm = $3 AND (rotated_at IS NULL OR rotated_at > $1)`, activates, contract.Time(retireAt), k.Algorithm); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO signing_keys (id, algorithm, private, created_at, activates_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO NOTHING`, k.ID, k.Algorithm, k.Private, created, contract.TimePtr(k.ActivatesAt))
		return oneRow(tag, err, contract.AlreadyExists("signing key"))
	})
}

// DeleteRetiredSigningKeys implements latch.Store.
func (s *Store) DeleteRetiredSigningKeys(ctx context.Context, now time.Time) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tag, err := s.pool.Exec(ctx, `DELETE FROM signing_keys WHERE retire_at <= $1`, contract.Or(now, s.now))
	if err != nil {
		return 0, fail(err)
	}
	return int(tag.RowsAffected()), nil
}

// PasswordHistory implements latch.Store: none for an unknown user.
func (s *Store) PasswordHistory(ctx context.Context, userID string, limit int) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok || limit <= 0 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `
		SELECT hash FROM password_history WHERE user_id = $1 ORDER BY id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, fail(err)
	}
	hashes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fail(err)
	}
	return hashes, nil
}
