// Package sqlite is the latch.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go): the default for a single replica.
//
// SQLite allows one writer at a time. Rather than let concurrent writers
// collide and retry on SQLITE_BUSY, the Store keeps two pools on the same
// file: a writer with a single connection, whose transactions begin
// IMMEDIATE (taking the write lock up front, so a read-then-write
// transaction can never fail to upgrade), and a reader with several
// connections, which in WAL mode read a consistent snapshot without waiting
// for the writer. Writes are therefore serialized in Go, in the writer pool's
// queue, and a compare-and-swap inside a write transaction cannot race.
package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a latch.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	writer *sql.DB
	reader *sql.DB
	// sessionWithUser is prepared on first use (the table must exist):
	// it runs on every authenticated request, and preparing it per call
	// parses and plans the join each time, which more than doubled its
	// cost in BenchmarkSessionWithUser.
	sessionWithUser atomic.Pointer[sql.Stmt]
	// clientTokenWithClient is the same for API clients' requests.
	clientTokenWithClient atomic.Pointer[sql.Stmt]
	now                   func() time.Time
	// timeout bounds every call (bound): a database locked by another
	// process for longer is unavailable, as far as the caller is concerned.
	timeout time.Duration
	// readerDSN opens a read-only connection like the reader's: the
	// session change feed polls on one of its own (changes.go).
	readerDSN string
	// changePoll is how often the session change feed polls.
	changePoll time.Duration
}

// DefaultTimeout is the bound of every store call without WithTimeout.
const DefaultTimeout = contract.DefaultTimeout

// Option configures a Store at Open.
type Option func(*Store)

// WithTimeout bounds every store call by d (contract.DefaultTimeout when
// d is not positive). A call not finished within d, such as a write
// waiting for another process's lock, ends as KindUnavailable
// (database_unavailable).
func WithTimeout(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.timeout = d
		}
	}
}

var _ latch.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path. It does not
// migrate: call Migrate.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	s := &Store{now: time.Now, timeout: contract.DefaultTimeout, changePoll: DefaultChangePoll}
	for _, o := range opts {
		o(s)
	}
	// The reader and writer pools must reach the same database, which an
	// in-memory name would not; a '?' would be taken for DSN parameters.
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: %q: want a plain file path", path)
	}
	pragmas := url.Values{"_pragma": {
		// busy_timeout matters only when another process (latch migrate
		// beside a running server) holds the lock: in-process writers
		// queue on the writer pool instead.
		"busy_timeout(5000)",
		"foreign_keys(1)",
		"journal_mode(WAL)",
		// In WAL mode NORMAL cannot corrupt the database; a power loss may
		// lose the last commits, which is the usual trade for not fsyncing
		// every commit.
		"synchronous(NORMAL)",
	}}

	w := url.Values{"_txlock": {"immediate"}}
	for k, v := range pragmas {
		w[k] = v
	}
	writer := openCached(path + "?" + w.Encode())
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxIdleTime(0)
	writer.SetConnMaxLifetime(0)
	// The writer connects first, alone: switching a new file to WAL takes
	// an exclusive lock that readers connecting at once would contend for.
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	r := url.Values{"_pragma": append(append([]string(nil), pragmas["_pragma"]...),
		// A bug that writes through the reader fails loudly instead of
		// bypassing the writer's serialization.
		"query_only(1)")}
	s.readerDSN = path + "?" + r.Encode()
	reader := openCached(s.readerDSN)
	// Reads are CPU work in a pure-Go SQLite, so more connections than
	// cores buy little; a few spare ones cover goroutines parked between
	// statements.
	n := max(4, 2*runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	reader.SetConnMaxIdleTime(0)
	reader.SetConnMaxLifetime(0)
	if err := reader.PingContext(ctx); err != nil {
		reader.Close()
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	s.writer, s.reader = writer, reader
	return s, nil
}

// Ping checks that the database answers within the store's bound, for a
// readiness check: nil, or KindUnavailable. It reads, so a long write
// lock held by another process does not fail it (readers in WAL mode do
// not wait for the writer); a file gone or unreadable does.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	// schema_version reads the file's header (SELECT 1 would read
	// nothing).
	var version int
	return fail(s.reader.QueryRowContext(ctx, `PRAGMA schema_version`).Scan(&version))
}

// bound limits a store call to the store's timeout; every exported method
// that reaches the database starts with it (TestEveryCallIsBounded).
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// fail is contract.Fail with what SQLite adds to the shared causes of an
// unreachable database.
func fail(err error) error { return contract.Fail(err, unreachable) }

// unreachable reports the SQLite failures that mean the database cannot
// serve us now: the file locked by another process beyond busy_timeout
// (SQLITE_BUSY, SQLITE_LOCKED and their extended codes), and a statement
// interrupted because the call's context ended (the driver interrupts
// SQLite when the bound passes).
func unreachable(err error) bool {
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_INTERRUPT:
		return true
	}
	return false
}

// Migrate applies the pending migrations, then gives the users that
// migration 00006 listed their canonical email (rekeyEmails).
func (s *Store) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	// The global registry holds Go migrations registered by init
	// functions; this store has none, and must not pick up anyone else's.
	p, err := goose.NewProvider(goose.DialectSQLite3, s.writer, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return s.rekeyEmails(ctx)
}

// MigrationStatus reports the applied and the embedded migrations. It
// only reads: a database never migrated has no version table yet, and
// gets none from this.
func (s *Store) MigrationStatus(ctx context.Context) (latch.MigrationStatus, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return latch.MigrationStatus{}, fmt.Errorf("sqlite: migrations: %w", err)
	}
	var tables int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'goose_db_version'`).Scan(&tables); err != nil {
		return latch.MigrationStatus{}, fail(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.writer, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return latch.MigrationStatus{}, fmt.Errorf("sqlite: migrations: %w", err)
	}
	st, err := contract.MigrationStatus(ctx, "sqlite", p, tables > 0)
	if err != nil {
		return latch.MigrationStatus{}, fail(err)
	}
	return st, nil
}

// prepared returns the statement that *p holds, preparing query into it
// first if it holds none.
func (s *Store) prepared(ctx context.Context, p *atomic.Pointer[sql.Stmt], query string) (*sql.Stmt, error) {
	if stmt := p.Load(); stmt != nil {
		return stmt, nil
	}
	stmt, err := s.reader.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if !p.CompareAndSwap(nil, stmt) {
		stmt.Close() // another goroutine prepared it first
		if stmt = p.Load(); stmt == nil {
			return nil, errors.New("sqlite: store closed") // Close swapped it out
		}
	}
	return stmt, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	var errs []error
	for _, p := range []*atomic.Pointer[sql.Stmt]{&s.sessionWithUser, &s.clientTokenWithClient} {
		if stmt := p.Swap(nil); stmt != nil {
			errs = append(errs, stmt.Close())
		}
	}
	errs = append(errs, s.reader.Close(), s.writer.Close())
	if err := errors.Join(errs...); err != nil {
		return fail(err)
	}
	return nil
}

// write runs fn in one write transaction, committing if it returns nil.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback() // the error from fn is the one worth reporting
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

// sqliteCode returns the extended result code of a SQLite error, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// Times are stored as INTEGER microseconds since the epoch, UTC.
func micros(t time.Time) int64 { return contract.Time(t).UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func microsPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return micros(*t)
}

func fromNullMicros(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

type scanner interface{ Scan(dest ...any) error }

const userColumns = `u.id, u.number, u.tenant_id, u.email, u.first_name, u.last_name,
	u.profile_picture, u.verified, u.email_verified_by, u.active, u.admin, u.created_at, u.updated_at`

// userDest returns the Scan destinations for userColumns and a function
// that finishes u once Scan has filled them.
func userDest(u *latch.User) ([]any, func()) {
	var created, updated int64
	dest := []any{&u.ID, &u.Number, &u.TenantID, &u.Email, &u.FirstName, &u.LastName,
		&u.ProfilePicture, &u.Verified, &u.VerifiedBy, &u.Active, &u.Admin, &created, &updated}
	return dest, func() {
		u.CreatedAt = fromMicros(created)
		u.UpdatedAt = fromMicros(updated)
	}
}

func scanUser(row scanner) (latch.User, error) {
	var u latch.User
	dest, finish := userDest(&u)
	if err := row.Scan(dest...); err != nil {
		return latch.User{}, err
	}
	finish()
	return u, nil
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
	err = s.write(ctx, func(tx *sql.Tx) error {
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
			if err := insertCredential(ctx, tx, u.ID, nu.PasswordHash, nu.MustChangePassword, micros(u.CreatedAt)); err != nil {
				return err
			}
			if err := addPasswordHistory(ctx, tx, u.ID, nu.PasswordHash, micros(u.CreatedAt)); err != nil {
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

// oneRow checks that an Exec succeeded and touched a row, returning
// ifNone when it touched none.
func oneRow(res sql.Result, err error, ifNone error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return ifNone
	}
	return nil
}

// insertUser stores u, whose email's key is key, and returns the Number
// assigned. A taken email is Conflict (CodeEmailTaken), a taken id
// Conflict, an unknown tenant Invalid.
func insertUser(ctx context.Context, tx *sql.Tx, u latch.User, key string) (int64, error) {
	// ON CONFLICT DO NOTHING turns the duplicate email into "no row
	// returned" rather than an error whose message would need parsing
	// to tell it from a duplicate id.
	var number int64
	err := tx.QueryRowContext(ctx, `
		INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name,
			profile_picture, verified, email_verified_by, active, admin, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (email_normalized) DO NOTHING
		RETURNING number`,
		u.ID, u.TenantID, u.Email, key, u.FirstName, u.LastName,
		u.ProfilePicture, u.Verified, string(u.VerifiedBy), u.Active, u.Admin, micros(u.CreatedAt), micros(u.UpdatedAt),
	).Scan(&number)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, contract.EmailTaken()
	case sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return 0, contract.AlreadyExists("user")
	case sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return 0, contract.Invalid("tenant_id", "unknown tenant")
	case err != nil:
		return 0, err
	}
	return number, nil
}

// insertCredential stores a new user's first password.
func insertCredential(ctx context.Context, tx *sql.Tx, userID, hash string, mustChange bool, at int64) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO credentials (user_id, hash, must_change, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		userID, hash, mustChange, at, at)
	return err
}

// UserByID implements latch.Store.
func (s *Store) UserByID(ctx context.Context, id string) (latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return latch.User{}, contract.NotFound("user")
	}
	return s.user(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id)
}

// UserByEmail implements latch.Store.
func (s *Store) UserByEmail(ctx context.Context, email string) (latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.user(ctx, `SELECT `+userColumns+` FROM users u WHERE u.email_normalized = ?`, latch.EmailLookupKey(email))
}

func (s *Store) user(ctx context.Context, query string, args ...any) (latch.User, error) {
	u, err := scanUser(s.reader.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return latch.User{}, contract.NotFound("user")
	}
	if err != nil {
		return latch.User{}, fail(err)
	}
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
		WHERE i.issuer = ? AND i.subject = ?`, issuer, subject)
}

// insertIdentity links ident inside tx; a taken (issuer, subject) is
// Conflict (CodeIdentityTaken).
func insertIdentity(ctx context.Context, tx *sql.Tx, ident latch.Identity) error {
	res, err := tx.ExecContext(ctx, `
		INSERT INTO identities (id, user_id, provider, issuer, subject, email, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (issuer, subject) WHERE issuer <> '' DO NOTHING`,
		ident.ID, ident.UserID, string(ident.Provider), ident.Issuer, ident.Subject, ident.Email, micros(ident.CreatedAt))
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return contract.NotFound("user")
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return contract.AlreadyExists("identity")
	}
	return oneRow(res, err, contract.IdentityTaken())
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
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := insertIdentity(ctx, tx, ident); err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit)
	})
}

// ClaimUnfinishedUser implements latch.Store. The writer's transaction is
// serialized, so the check and the writes see the same account.
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
	at := micros(ident.CreatedAt)
	var u latch.User
	err = s.write(ctx, func(tx *sql.Tx) error {
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

// claimUnfinished marks the user verified by a provider and gives it
// claim's profile, if it is an account nobody finished: unverified,
// active, not an administrator, without a password or an identity.
// Otherwise the error is contract.ClaimRefused (Conflict).
func claimUnfinished(ctx context.Context, tx *sql.Tx, userID string, claim latch.User, at int64) (latch.User, error) {
	var u latch.User
	dest, finish := userDest(&u)
	err := tx.QueryRowContext(ctx, `
		UPDATE users SET verified = 1, email_verified_by = 'provider',
			first_name = ?, last_name = ?, profile_picture = ?, updated_at = ?
		WHERE id = ? AND NOT verified AND active AND NOT admin
		  AND NOT EXISTS (SELECT 1 FROM credentials c WHERE c.user_id = users.id)
		  AND NOT EXISTS (SELECT 1 FROM identities i WHERE i.user_id = users.id)
		RETURNING `+userReturning,
		claim.FirstName, claim.LastName, claim.ProfilePicture, at, userID).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := s.reader.QueryContext(ctx, `SELECT provider, count(*) FROM identities WHERE issuer = '' GROUP BY provider`)
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE identities SET issuer = ? WHERE issuer = '' AND provider = ?`, issuer, string(provider))
		if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
			return contract.IdentityTaken()
		}
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// RemoveIdentity implements latch.Store. The writer's transaction is
// serialized, so the check and the delete see the same identities.
func (s *Store) RemoveIdentity(ctx context.Context, userID, identityID string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	uid, ok1 := contract.ID(userID)
	iid, ok2 := contract.ID(identityID)
	if !ok1 || !ok2 {
		return contract.NotFound("identity")
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := checkRemovable(ctx, tx, uid, iid); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM identities WHERE id = ? AND user_id = ?`, iid, uid)
		return err
	})
}

// checkRemovable checks that the identity iid of the user uid exists
// (NotFound otherwise) and that the user keeps a way to sign in without it,
// another identity or a password (Conflict, CodeLastSignInMethod,
// otherwise).
func checkRemovable(ctx context.Context, tx *sql.Tx, uid, iid string) error {
	var others, passwords int
	err := tx.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM identities WHERE user_id = ?1 AND id <> ?2),
		       (SELECT count(*) FROM credentials WHERE user_id = ?1)
		FROM identities WHERE id = ?2 AND user_id = ?1`, uid, iid).Scan(&others, &passwords)
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := s.reader.QueryContext(ctx, `
		SELECT i.id, i.provider, i.issuer, i.subject, i.email, i.created_at
		FROM users u LEFT JOIN identities i ON i.user_id = u.id
		WHERE u.id = ?
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
func identitiesOf(rows *sql.Rows, userID string) (out []latch.Identity, found bool, err error) {
	defer rows.Close()
	for rows.Next() {
		found = true
		var id, provider, issuer, subject, email sql.NullString
		var created sql.NullInt64
		if err := rows.Scan(&id, &provider, &issuer, &subject, &email, &created); err != nil {
			return nil, false, err
		}
		if !id.Valid {
			continue
		}
		out = append(out, latch.Identity{
			ID: id.String, UserID: userID, Provider: latch.Provider(provider.String), Issuer: issuer.String,
			Subject: subject.String, Email: email.String, CreatedAt: fromMicros(created.Int64),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	return out, found, nil
}

// CredentialHashExists implements latch.Store. LIKE is case-insensitive
// for ASCII in SQLite; the patterns it is given do not depend on case.
func (s *Store) CredentialHashExists(ctx context.Context, like, notLike string) (bool, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var found bool
	err := s.reader.QueryRowContext(ctx, `
		SELECT EXISTS (SELECT 1 FROM credentials WHERE hash LIKE ? AND (? = '' OR hash NOT LIKE ?))`,
		like, notLike, notLike).Scan(&found)
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
	var created, updated int64
	err := s.reader.QueryRowContext(ctx,
		`SELECT hash, must_change, created_at, updated_at FROM credentials WHERE user_id = ?`, userID,
	).Scan(&c.Hash, &c.MustChange, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return latch.Credential{}, contract.NotFound("credential")
	}
	if err != nil {
		return latch.Credential{}, fail(err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
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
	when := contract.Or(pc.At, s.now)
	at := micros(when)
	// A KeepSessionID that is no session id keeps no session.
	keep, _ := contract.ID(pc.KeepSessionID)
	audit, err := contract.AuditPtr(pc.Audit, s.now)
	if err != nil {
		return err
	}
	mail, err := contract.MailPtr(pc.Mail, when, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, userID); err != nil {
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
			if err := verifyEmailByLink(ctx, tx, userID, at); err != nil {
				return err
			}
		}
		if err := insertMail(ctx, tx, mail); err != nil {
			return err
		}
		return appendAudit(ctx, tx, audit)
	})
}

// writeCredential stores pc.NewHash as the user's password if what is
// stored still allows it (see latch.PasswordChange): Conflict
// (CodeConcurrentUpdate) otherwise.
func writeCredential(ctx context.Context, tx *sql.Tx, userID string, pc latch.PasswordChange, at int64) error {
	var res sql.Result
	var err error
	switch {
	case pc.Overwrite:
		// An administrator's reset: whatever is stored, or nothing.
		// The first creation time is kept, as by a change.
		res, err = tx.ExecContext(ctx, `
			INSERT INTO credentials (user_id, hash, must_change, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
			ON CONFLICT (user_id) DO UPDATE
			SET hash = excluded.hash, must_change = excluded.must_change, updated_at = excluded.updated_at, rehashed_from = NULL`,
			userID, pc.NewHash, pc.MustChange, at)
	case pc.PreviousHash == "":
		res, err = tx.ExecContext(ctx, `
			INSERT INTO credentials (user_id, hash, must_change, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
			ON CONFLICT (user_id) DO NOTHING`, userID, pc.NewHash, pc.MustChange, at)
	default:
		// The hash the last rehash replaced is the same password: a
		// caller that verified it just before the rehash knew the
		// current password (see ReplacePasswordHash).
		res, err = tx.ExecContext(ctx, `
			UPDATE credentials SET hash = ?, must_change = ?, updated_at = ?, rehashed_from = NULL
			WHERE user_id = ? AND (hash = ? OR rehashed_from = ?)`,
			pc.NewHash, pc.MustChange, at, userID, pc.PreviousHash, contract.RehashDigest(pc.PreviousHash))
	}
	return oneRow(res, err, contract.ConcurrentUpdate())
}

// addPasswordHistory records hash as the user's password from at on, for
// the policy that refuses the last N passwords.
func addPasswordHistory(ctx context.Context, tx *sql.Tx, userID, hash string, at int64) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO password_history (user_id, hash, created_at) VALUES (?, ?, ?)`,
		userID, hash, at)
	return err
}

// revokeSessionsBut revokes every live session of the user except keep (a
// session id, or "": no session has it, so none is kept).
func revokeSessionsBut(ctx context.Context, tx *sql.Tx, userID, keep string, at int64) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = ?
		WHERE user_id = ? AND revoked_at IS NULL AND id <> ?`, at, userID, keep)
	return err
}

// revokeAllSessions revokes every session of the user not revoked yet,
// expired ones included.
func revokeAllSessions(ctx context.Context, tx *sql.Tx, userID string, at int64) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, at, userID)
	return err
}

// endPasswordLinks uses up every live password link of the user, whatever
// its purpose.
func endPasswordLinks(ctx context.Context, tx *sql.Tx, userID string, at int64) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE password_links SET used_at = ?1 WHERE user_id = ?2 AND used_at IS NULL AND expires_at > ?1`, at, userID)
	return err
}

// verifyEmailByLink marks the user's email verified by a link.
func verifyEmailByLink(ctx context.Context, tx *sql.Tx, userID string, at int64) error {
	// The mailbox's owner proves the address of an account nobody
	// had proven it for, that a provider signed in to: whoever the
	// provider (which did not verify the address) signed in was
	// not them, and leaves with its sessions. Without an identity
	// there is nobody to detach (a sign-up's first password keeps
	// its sessions).
	if _, err := tx.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = ?1 WHERE user_id = ?2 AND revoked_at IS NULL
		AND EXISTS (SELECT 1 FROM users WHERE id = ?2 AND email_verified_by = '')
		AND EXISTS (SELECT 1 FROM identities WHERE user_id = ?2)`, at, userID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `
		DELETE FROM identities WHERE user_id = ?1
		AND EXISTS (SELECT 1 FROM users WHERE id = ?1 AND email_verified_by = '')`, userID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `
		UPDATE users SET verified = 1, email_verified_by = 'link', updated_at = ?
		WHERE id = ? AND email_verified_by <> 'link'`, at, userID)
	return err
}

func userExists(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, userID string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
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
	res, err := s.writer.ExecContext(ctx, `
		UPDATE credentials SET hash = ?, rehashed_from = ?, updated_at = ? WHERE user_id = ? AND hash = ?`,
		newHash, contract.RehashDigest(oldHash), micros(contract.Or(at, s.now)), userID, oldHash)
	err = oneRow(res, err, contract.ConcurrentUpdate())
	if latch.IsCode(err, latch.CodeConcurrentUpdate) {
		// Nothing matched: tell an unknown user from a changed hash.
		if err := userExists(ctx, s.reader, userID); err != nil {
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
	return s.write(ctx, func(tx *sql.Tx) error {
		if ns.WhilePasswordHash != "" {
			if err := passwordStill(ctx, tx, row.UserID, ns.WhilePasswordHash); err != nil {
				return err
			}
		}
		return insertSession(ctx, tx, row.ID, row.UserID, ns.Session, row.Scopes, micros(row.CreatedAt), ns.RefreshHash, row.Audit)
	})
}

// passwordStill checks that the user's password is still the one hash was
// made from (see latch.NewSession.WhilePasswordHash): Conflict
// (CodeConcurrentUpdate) otherwise. The writer's transaction is BEGIN
// IMMEDIATE: no password change can commit between this check and the
// caller's insert. The hash the last rehash replaced is the same password
// (a change clears it).
func passwordStill(ctx context.Context, tx *sql.Tx, userID, hash string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM credentials WHERE user_id = ? AND (hash = ? OR rehashed_from = ?)`,
		userID, hash, contract.RehashDigest(hash)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return contract.ConcurrentUpdate()
	}
	return err
}

// insertSession stores sess as id of userID, created at created, with
// generation 0 of its refresh chain if refreshHash is not empty and the
// audit event of its start if audit is not nil: one row. An unknown user
// is NotFound, a taken id Conflict.
func insertSession(ctx context.Context, tx *sql.Tx, id, userID string, sess latch.Session, scopes string, created int64, refreshHash []byte, audit *latch.AuditEvent) error {
	var generation, rotated any
	if len(refreshHash) == 0 {
		refreshHash = nil
	} else {
		generation, rotated = 0, created
	}
	ev, err := sessionAudit(ctx, tx, audit)
	if err != nil {
		return err
	}
	grant, err := contract.SessionGrant(sess)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO sessions (id, user_id, kind, scopes, created_at, expires_at, revoked_at,
			refresh_hash, refresh_generation, refresh_rotated_at,
			audit_id, audit_tenant_id, audit_at, audit_action, audit_actor_type, audit_actor_id, audit_target_id, audit_ip, audit_details,
			app_id, auth_time, amr, parent_session_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		append(append([]any{id, userID, string(sess.Kind), scopes, created, micros(sess.ExpiresAt), microsPtr(sess.RevokedAt),
			refreshHash, generation, rotated}, ev...),
			grant.AppID, microsPtr(grant.AuthTime), grant.AMR, grant.ParentSessionID)...)
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		if grant.AppID != nil {
			return contract.NotFound("user or app")
		}
		return contract.NotFound("user")
	}
	return oneRow(res, err, contract.AlreadyExists("session"))
}

// sessionAudit returns the audit_* column values of a session row that
// carries e (all NULL for nil), its id drawn from audit_events' own
// AUTOINCREMENT counter: the log and the sessions share one id sequence,
// and an id is never handed out twice. The writer is serialized, so the
// increment is not raced; the tx's rollback undoes it with the rest.
func sessionAudit(ctx context.Context, tx *sql.Tx, e *latch.AuditEvent) ([]any, error) {
	if e == nil {
		return make([]any, 9), nil
	}
	details, err := contract.EncodeDetails(e.Details)
	if err != nil {
		return nil, err
	}
	var tenantID *string
	if e.TenantID != "" {
		tenantID = &e.TenantID
	}
	var id int64
	err = tx.QueryRowContext(ctx, `
		UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'audit_events' RETURNING seq`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// Migration 00013 creates the counter; a table emptied by hand
		// may have lost it.
		err = tx.QueryRowContext(ctx, `
			INSERT INTO sqlite_sequence (name, seq)
			VALUES ('audit_events', COALESCE((SELECT max(id) FROM audit_events), 0) + 1) RETURNING seq`).Scan(&id)
	}
	if err != nil {
		return nil, err
	}
	return []any{id, tenantID, micros(e.At), e.Action, e.ActorType, e.ActorID, e.TargetID, e.IP, details}, nil
}

const sessionColumns = `s.id, s.user_id, s.kind, s.scopes, s.created_at, s.expires_at, s.revoked_at,
	s.app_id, s.auth_time, s.amr, s.parent_session_id`

// sessionDest is userDest for sessionColumns.
func sessionDest(sess *latch.Session) ([]any, func()) {
	var kind, scopes, amr string
	var created, expires int64
	var revoked, authTime sql.NullInt64
	var appID, parentID sql.NullString
	dest := []any{&sess.ID, &sess.UserID, &kind, &scopes, &created, &expires, &revoked,
		&appID, &authTime, &amr, &parentID}
	return dest, func() {
		sess.Kind = latch.TokenKind(kind)
		sess.Scopes = contract.SplitScopes(scopes)
		sess.CreatedAt = fromMicros(created)
		sess.ExpiresAt = fromMicros(expires)
		sess.RevokedAt = fromNullMicros(revoked)
		sess.AppID = appID.String
		sess.AuthTime = zeroOrMicros(authTime)
		sess.AMR = contract.SplitScopes(amr)
		sess.ParentSessionID = parentID.String
	}
}

// sessionWithUserQuery joins by primary key (sessions.id) and unique key
// (users.id): two index probes, no scan.
const sessionWithUserQuery = `SELECT ` + sessionColumns + `, ` + userColumns + `
	FROM sessions s JOIN users u ON u.id = s.user_id
	WHERE s.id = ?`

// SessionWithUser implements latch.Store.
func (s *Store) SessionWithUser(ctx context.Context, sessionID string) (latch.Session, latch.User, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(sessionID)
	if !ok {
		return latch.Session{}, latch.User{}, contract.NotFound("session")
	}
	stmt, err := s.prepared(ctx, &s.sessionWithUser, sessionWithUserQuery)
	if err != nil {
		return latch.Session{}, latch.User{}, fail(err)
	}
	var sess latch.Session
	var u latch.User
	sdest, sfinish := sessionDest(&sess)
	udest, ufinish := userDest(&u)
	// This read runs on every authenticated request and takes microseconds,
	// so it is not worth cancelling: with a cancellable context both
	// database/sql and the driver start a goroutine per query to watch it,
	// which measurably costs more than the query itself.
	err = stmt.QueryRowContext(context.WithoutCancel(ctx), id).Scan(append(sdest, udest...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return latch.Session{}, latch.User{}, contract.NotFound("session")
	}
	if err != nil {
		return latch.Session{}, latch.User{}, fail(err)
	}
	sfinish()
	ufinish()
	return sess, u, nil
}

// sessionReturning is sessionColumns for RETURNING, which takes no table
// alias.
const sessionReturning = `id, user_id, kind, scopes, created_at, expires_at, revoked_at,
	app_id, auth_time, amr, parent_session_id`

// RotateRefreshToken implements latch.Store: one UPDATE of the session
// row, which matches only while the presented token is the chain's current
// one and the session is live. The writer is serialized, so of concurrent
// presentations of one token the first rotates it and the later ones find
// its successor current (within the reuse interval, the same client).
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
	err = s.writer.QueryRowContext(ctx, `
		UPDATE sessions SET refresh_hash = ?1, refresh_generation = refresh_generation + 1, refresh_rotated_at = ?2
		WHERE id = ?3 AND refresh_hash = ?4 AND refresh_generation = ?5 AND revoked_at IS NULL AND expires_at > ?2
		RETURNING `+sessionReturning, r.NextHash, micros(at), id, r.Hash, r.Generation).Scan(dest...)
	if err == nil {
		finish()
		return sess, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return latch.Session{}, fail(err)
	}
	// Not the current token of a live session: which of the rest is it?
	var current sql.NullInt64
	var currentHash []byte
	var rotated sql.NullInt64
	err = s.reader.QueryRowContext(ctx, `
		SELECT `+sessionColumns+`, s.refresh_hash, s.refresh_generation, s.refresh_rotated_at
		FROM sessions s WHERE s.id = ?`, id).Scan(append(dest, &currentHash, &current, &rotated)...)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && currentHash == nil) {
		return latch.Session{}, contract.NotFound("refresh token")
	}
	if err != nil {
		return latch.Session{}, fail(err)
	}
	finish()
	if !sess.Live(at) {
		return latch.Session{}, contract.SessionEnded()
	}
	switch contract.ClassifyRefresh(r, current.Int64, currentHash, fromMicros(rotated.Int64), at) {
	case contract.RefreshAgain:
		return sess, nil
	case contract.RefreshReused:
		if _, err := s.writer.ExecContext(ctx, `
			UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, micros(at), id); err != nil {
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
	var generation sql.NullInt64
	var hash []byte
	err := s.reader.QueryRowContext(ctx, `SELECT refresh_generation, refresh_hash FROM sessions WHERE id = ?`, id).Scan(&generation, &hash)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && (!generation.Valid || len(hash) == 0)) {
		return 0, nil, contract.NotFound("refresh token")
	}
	if err != nil {
		return 0, nil, fail(err)
	}
	return generation.Int64, hash, nil
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
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return latch.Session{}, fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	sess, used, successor, chain, err := legacyRefreshToken(ctx, tx, hash)
	if err != nil {
		return latch.Session{}, fail(err)
	}
	nextHash := next(sess.ID)
	if len(nextHash) == 0 {
		return latch.Session{}, contract.Invalid("refresh_token", "new refresh token hash is empty")
	}
	if used.Valid {
		// Within the interval, the same client again: its successor is
		// still the chain's generation 1.
		if contract.WithinReuse(fromMicros(used.Int64), at, reuseInterval) && bytes.Equal(successor, nextHash) &&
			chain.generation.Valid && chain.generation.Int64 == 1 && bytes.Equal(chain.hash, nextHash) {
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
	if _, err := tx.ExecContext(ctx, `
		UPDATE refresh_tokens SET used_at = ?, next_hash = ? WHERE hash = ? AND used_at IS NULL`,
		micros(at), nextHash, hash); err != nil {
		return latch.Session{}, fail(err)
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE sessions SET refresh_hash = ?, refresh_generation = 1, refresh_rotated_at = ?
		WHERE id = ? AND refresh_hash IS NULL`, nextHash, micros(at), sess.ID)
	if err := oneRow(res, err, errChainMoved); errors.Is(err, errChainMoved) {
		// The chain already left refresh_tokens, through another of its
		// tokens: this one is a copy.
		return latch.Session{}, revokeForReuse(ctx, tx, sess.ID, at)
	} else if err != nil {
		return latch.Session{}, fail(err)
	}
	if err := tx.Commit(); err != nil {
		return latch.Session{}, fail(err)
	}
	return sess, nil
}

var errChainMoved = errors.New("refresh chain already on the session row")

// sessionChain is where a session row's refresh chain stands.
type sessionChain struct {
	hash       []byte
	generation sql.NullInt64
}

// legacyRefreshToken reads the token with hash, whether and into what it
// was used, its session and the session's chain; an unknown hash is
// NotFound.
func legacyRefreshToken(ctx context.Context, tx *sql.Tx, hash []byte) (sess latch.Session, used sql.NullInt64, successor []byte, chain sessionChain, err error) {
	dest, finish := sessionDest(&sess)
	err = tx.QueryRowContext(ctx, `
		SELECT rt.used_at, rt.next_hash, s.refresh_hash, s.refresh_generation, `+sessionColumns+`
		FROM refresh_tokens rt JOIN sessions s ON s.id = rt.session_id
		WHERE rt.hash = ?`, hash).Scan(append([]any{&used, &successor, &chain.hash, &chain.generation}, dest...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return latch.Session{}, used, nil, chain, contract.NotFound("refresh token")
	}
	if err != nil {
		return latch.Session{}, used, nil, chain, err
	}
	finish()
	return sess, used, successor, chain, nil
}

// revokeForReuse revokes the session of a reused refresh token and commits
// tx: the revocation must stand although the caller gets an error.
func revokeForReuse(ctx context.Context, tx *sql.Tx, sessionID string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL`,
		micros(at), sessionID); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
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
	res, err := s.writer.ExecContext(ctx, `
		UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`,
		micros(contract.Or(at, s.now)), id)
	return fail(oneRow(res, err, contract.NotFound("session")))
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
	when := micros(contract.Or(at, s.now))
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		var userID string
		err := tx.QueryRowContext(ctx, `
			UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING user_id`, when, id).Scan(&userID)
		if errors.Is(err, sql.ErrNoRows) {
			return contract.NotFound("session")
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE sessions SET revoked_at = ?1
			WHERE user_id = ?2 AND parent_session_id = ?3 AND app_id IS NOT NULL AND revoked_at IS NULL AND expires_at > ?1`,
			when, userID, id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// PurgeSessions implements latch.Store. Legacy refresh tokens go with
// their session (ON DELETE CASCADE), and the trigger sessions_keep_audit
// moves the audit event a session carries to audit_events. One bounded batch per call keeps the
// writer's lock short.
func (s *Store) PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if limit <= 0 {
		return 0, nil
	}
	res, err := s.writer.ExecContext(ctx, `
		DELETE FROM sessions WHERE id IN (
			SELECT id FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1 LIMIT ?2)`,
		micros(before), limit)
	if err != nil {
		return 0, fail(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fail(err)
	}
	return int(n), nil
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
	_, err = s.writer.ExecContext(ctx, `
		INSERT INTO authorization_codes (hash, user_id, code_challenge, redirect_uri, password_hash, created_at, expires_at,
			app_id, nonce, scopes, auth_time, amr, parent_session_id)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, userID, c.CodeChallenge, c.RedirectURI, c.PasswordHash, micros(contract.Or(c.CreatedAt, s.now)), micros(c.ExpiresAt),
		grant.AppID, c.Nonce, scopes, microsPtr(grant.AuthTime), grant.AMR, grant.ParentSessionID)
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		if grant.AppID != nil {
			return contract.NotFound("user or app")
		}
		return contract.NotFound("user")
	case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
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
	var created, expires int64
	var authTime sql.NullInt64
	var appID, parentID sql.NullString
	var scopes, amr string
	dest := []any{&c.Hash, &c.UserID, &c.CodeChallenge, &c.RedirectURI, &c.PasswordHash, &created, &expires,
		&appID, &c.Nonce, &scopes, &authTime, &amr, &parentID}
	return dest, func() {
		c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
		c.AppID = appID.String
		c.Scopes = contract.SplitScopes(scopes)
		c.AuthTime = zeroOrMicros(authTime)
		c.AMR = contract.SplitScopes(amr)
		c.ParentSessionID = parentID.String
	}
}

// zeroOrMicros is fromNullMicros for a time whose absence is the zero
// time.
func zeroOrMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
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
	err := s.writer.QueryRowContext(ctx, `
		UPDATE authorization_codes SET used_at = ?1
		WHERE hash = ?2 AND used_at IS NULL AND expires_at > ?1 AND app_id IS NULL
		RETURNING `+codeColumns,
		micros(at), hash).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
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
	err := s.reader.QueryRowContext(ctx, `
		SELECT `+codeColumns+` FROM authorization_codes WHERE hash = ? AND app_id IS NOT NULL`, hash).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return latch.AuthorizationCode{}, contract.NotFound("authorization code")
	}
	if err != nil {
		return latch.AuthorizationCode{}, fail(err)
	}
	finish()
	return c, nil
}

// RedeemAppCode implements latch.Store in one write transaction; the
// writer is serialized (BEGIN IMMEDIATE), so of concurrent redemptions
// the first spends the code and the later ones find it used: replays.
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
	err = s.write(ctx, func(tx *sql.Tx) error {
		dest, finish := codeDest(&c)
		err := tx.QueryRowContext(ctx, `
			UPDATE authorization_codes SET used_at = ?1, grant_session_id = ?3
			WHERE hash = ?2 AND used_at IS NULL AND expires_at > ?1 AND app_id IS NOT NULL
			RETURNING `+codeColumns,
			micros(at), hash, id).Scan(dest...)
		if errors.Is(err, sql.ErrNoRows) {
			// Unknown, expired, or used: only a used code is a replay.
			var grantID sql.NullString
			err := tx.QueryRowContext(ctx, `
				UPDATE authorization_codes SET replayed_at = ?1
				WHERE hash = ?2 AND used_at IS NOT NULL AND app_id IS NOT NULL
				RETURNING grant_session_id`, micros(at), hash).Scan(&grantID)
			if errors.Is(err, sql.ErrNoRows) {
				return contract.NotFound("authorization code")
			}
			if err != nil {
				return err
			}
			if grantID.Valid {
				if _, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL`,
					micros(at), grantID.String); err != nil {
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
		return insertSession(ctx, tx, id, userID, ns.Session, row.Scopes, micros(row.CreatedAt), ns.RefreshHash, row.Audit)
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
	res, err := s.writer.ExecContext(ctx, `
		DELETE FROM authorization_codes WHERE hash IN (
			SELECT hash FROM authorization_codes WHERE expires_at < ? LIMIT ?)`, micros(before), limit)
	if err != nil {
		return 0, fail(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fail(err)
	}
	return int(n), nil
}

// SigningKeys implements latch.Store.
func (s *Store) SigningKeys(ctx context.Context) ([]latch.SigningKey, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.reader.QueryContext(ctx, `
		SELECT id, algorithm, private, created_at, activates_at, rotated_at, retire_at FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, fail(err)
	}
	defer rows.Close()
	var keys []latch.SigningKey
	for rows.Next() {
		var k latch.SigningKey
		var created int64
		var activates, rotated, retire sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.Private, &created, &activates, &rotated, &retire); err != nil {
			return nil, fail(err)
		}
		k.CreatedAt = fromMicros(created)
		k.ActivatesAt, k.RotatedAt, k.RetireAt = fromNullMicros(activates), fromNullMicros(rotated), fromNullMicros(retire)
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
	res, err := s.writer.ExecContext(ctx, `
		INSERT INTO signing_keys (id, algorithm, private, created_at, activates_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		k.ID, k.Algorithm, k.Private, micros(contract.Or(k.CreatedAt, s.now)), microsPtr(k.ActivatesAt))
	return fail(oneRow(res, err, contract.AlreadyExists("signing key")))
}

// RotateSigningKey implements latch.Store.
func (s *Store) RotateSigningKey(ctx context.Context, k latch.SigningKey, retireAt time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if k.ID == "" {
		return contract.Invalid("id", "signing key id is empty")
	}
	created := micros(contract.Or(k.CreatedAt, s.now))
	activates := created
	if k.ActivatesAt != nil {
		activates = micros(*k.ActivatesAt)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `
			UPDATE signing_keys SET rotated_at = ?, retire_at = COALESCE(retire_at, ?)
			WHERE algorithm = ? AND (rotated_at IS NULL OR rotated_at > ?)`, activates, micros(retireAt), k.Algorithm, activates); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `
			INSERT INTO signing_keys (id, algorithm, private, created_at, activates_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, k.ID, k.Algorithm, k.Private, created, microsPtr(k.ActivatesAt))
		return oneRow(res, err, contract.AlreadyExists("signing key"))
	})
}

// DeleteRetiredSigningKeys implements latch.Store.
func (s *Store) DeleteRetiredSigningKeys(ctx context.Context, now time.Time) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	res, err := s.writer.ExecContext(ctx, `DELETE FROM signing_keys WHERE retire_at <= ?`, micros(contract.Or(now, s.now)))
	if err != nil {
		return 0, fail(err)
	}
	n, err := res.RowsAffected()
	return int(n), fail(err)
}

// PasswordHistory implements latch.Store: none for an unknown user.
func (s *Store) PasswordHistory(ctx context.Context, userID string, limit int) ([]string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok || limit <= 0 {
		return nil, nil
	}
	rows, err := s.reader.QueryContext(ctx, `
		SELECT hash FROM password_history WHERE user_id = ? ORDER BY id DESC LIMIT ?`, userID, limit)
	if err != nil {
		return nil, fail(err)
	}
	defer rows.Close()
	var hashes []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fail(err)
		}
		hashes = append(hashes, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fail(err)
	}
	return hashes, nil
}
