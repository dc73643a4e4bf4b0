package sqlite

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/storetest"
)

// TestMigrateAdminKeepsData checks 00003, which rebuilds tenants, on a
// database that has data: the tenants keep their ids (the default one
// becomes number 1 whatever the order of the rows), users keep pointing at
// them, foreign keys are still enforced, and going down and up again
// works.
func TestMigrateAdminKeepsData(t *testing.T) {
	ctx := t.Context()
	st, p := storeAt(t, 2)
	// A tenant that sorts, and was created, before the default one.
	const early = "00000000-0000-0000-0000-000000000000"
	for _, q := range []string{
		`INSERT INTO tenants (id, name, created_at) VALUES ('` + early + `', 'early', 0)`,
		`INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name, profile_picture,
			verified, active, admin, created_at, updated_at)
		 VALUES ('0190b8a2-7c1e-7d3a-9f00-000000000001', '` + early + `', 'a@example.com', 'a@example.com', '', '', '', 0, 1, 0, 0, 0),
		        ('0190b8a2-7c1e-7d3a-9f00-000000000002', '` + latch.DefaultTenantID + `', 'b@example.com', 'b@example.com', '', '', '', 0, 1, 0, 0, 0)`,
		`INSERT INTO credentials (user_id, hash, created_at, updated_at) VALUES ('0190b8a2-7c1e-7d3a-9f00-000000000001', 'h', 0, 0)`,
	} {
		if _, err := st.writer.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	check := func() {
		t.Helper()
		rows, err := st.writer.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			t.Fatal(err)
		}
		if rows.Next() {
			t.Error("foreign_key_check found violations")
		}
		rows.Close()
		var fk int
		if err := st.writer.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v after migrating", fk, err)
		}
		// Foreign keys are still enforced.
		_, err = st.CreateUser(ctx, latch.NewUser{User: latch.User{TenantID: "0190b8a2-7c1e-7d3a-9f00-0000000000ff", Email: "x@example.com"}})
		if !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("user of an unknown tenant: %v, want Invalid", err)
		}
	}

	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check()
	tenants, err := st.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tenants) != 2 || tenants[0].ID != latch.DefaultTenantID || tenants[0].Number != 1 ||
		tenants[1].ID != early || tenants[1].Number != 2 || tenants[1].Name != "early" {
		t.Fatalf("tenants after migrating = %+v", tenants)
	}
	u, err := st.UserByEmail(ctx, "a@example.com")
	if err != nil || u.TenantID != early {
		t.Fatalf("user after migrating = %+v, %v", u, err)
	}
	c, err := st.Credential(ctx, u.ID)
	if err != nil || c.Hash != "h" || c.MustChange {
		t.Fatalf("credential after migrating = %+v, %v", c, err)
	}
	next, err := st.CreateTenant(ctx, latch.Tenant{Name: "next"}, nil)
	if err != nil || next.Number != 3 {
		t.Fatalf("CreateTenant after migrating = %+v, %v; want number 3", next, err)
	}

	// Down and up again.
	if _, err := p.DownTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.writer.QueryRowContext(ctx, `SELECT count(*) FROM tenants`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("%d tenants after going down, %v; want 3", n, err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check()
	if _, err := st.UserByEmail(ctx, "b@example.com"); err != nil {
		t.Fatal(err)
	}
	tenants, err = st.Tenants(ctx)
	if err != nil || len(tenants) != 3 || tenants[0].Number != 1 || tenants[0].ID != latch.DefaultTenantID {
		t.Fatalf("tenants after down and up = %+v, %v", tenants, err)
	}
}

// TestMigrateMail checks 00004 on a database that has users: their links
// and messages can be stored once it is applied, and going down drops the
// two tables and nothing else.
func TestMigrateMail(t *testing.T) {
	ctx := t.Context()
	st, p := storeAt(t, 3)
	// Written in version 3's columns: today's CreateUser writes later ones.
	u := latch.User{ID: "0190b8a2-7c1e-7d3a-9f00-0000000000b0", Email: "before@example.com"}
	for _, q := range []string{
		`INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name, profile_picture,
			verified, active, admin, created_at, updated_at)
		 VALUES ('` + u.ID + `', '` + latch.DefaultTenantID + `', 'before@example.com', 'before@example.com', '', '', '', 0, 1, 0, 0, 0)`,
		`INSERT INTO credentials (user_id, hash, created_at, updated_at) VALUES ('` + u.ID + `', 'h', 0, 0)`,
	} {
		if _, err := st.writer.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // up, then down and up again
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		if err := st.CreatePasswordLink(ctx,
			latch.PasswordLink{Hash: []byte("link"), UserID: u.ID, Purpose: latch.LinkRecovery, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
			latch.MailMessage{To: u.Email, Template: latch.MailRecovery, Data: []byte("sealed")}); err != nil {
			t.Fatal(err)
		}
		if ms, err := st.ClaimMail(ctx, now.Add(time.Second), time.Minute, 10); err != nil || len(ms) != 1 {
			t.Fatalf("ClaimMail = %+v, %v", ms, err)
		}
		if _, err := p.DownTo(ctx, 3); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := st.writer.QueryRowContext(ctx,
			`SELECT count(*) FROM sqlite_schema WHERE name IN ('mail_outbox', 'password_links')`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d mail tables after going down, %v", n, err)
		}
		if c, err := st.Credential(ctx, u.ID); err != nil || c.Hash != "h" {
			t.Fatalf("credential after going down = %+v, %v", c, err)
		}
	}
}

// TestMigrateIdentityIssuers checks 00005 on a database with identities
// and verified users: identities keep their rows but belong to no issuer
// until attributed, the old (provider, subject) pairs stay unique until
// then, and verified emails are recorded as proven only where a provider
// identity is on the account.
func TestMigrateIdentityIssuers(t *testing.T) {
	ctx := t.Context()
	st, p := storeAt(t, 4)
	const (
		withIdentity = "0190b8a2-7c1e-7d3a-9f00-0000000000c1"
		assertedOnly = "0190b8a2-7c1e-7d3a-9f00-0000000000c2"
		linkedLater  = "0190b8a2-7c1e-7d3a-9f00-0000000000c4"
		unverified   = "0190b8a2-7c1e-7d3a-9f00-0000000000c3"
	)
	for _, q := range []string{
		`INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name, profile_picture,
			verified, active, admin, created_at, updated_at) VALUES
		 ('` + withIdentity + `', '` + latch.DefaultTenantID + `', 'c1@example.com', 'c1@example.com', '', '', '', 1, 1, 0, 0, 0),
		 ('` + assertedOnly + `', '` + latch.DefaultTenantID + `', 'c2@example.com', 'c2@example.com', '', '', '', 1, 1, 0, 0, 0),
		 ('` + unverified + `', '` + latch.DefaultTenantID + `', 'c3@example.com', 'c3@example.com', '', '', '', 0, 1, 0, 0, 0),
		 ('` + linkedLater + `', '` + latch.DefaultTenantID + `', 'c4@example.com', 'c4@example.com', '', '', '', 1, 1, 0, 0, 0)`,
		`INSERT INTO identities (id, user_id, provider, subject, email, created_at) VALUES
		 ('0190b8a2-7c1e-7d3a-9f00-0000000000d1', '` + withIdentity + `', 'oidc', 'sub-1', 'c1@example.com', 0),
		 ('0190b8a2-7c1e-7d3a-9f00-0000000000d2', '` + withIdentity + `', 'google', 'sub-1', 'c1@example.com', 0),
		 ('0190b8a2-7c1e-7d3a-9f00-0000000000d3', '` + unverified + `', 'oidc', 'sub-3', 'c3@example.com', 0),
		 ('0190b8a2-7c1e-7d3a-9f00-0000000000d4', '` + linkedLater + `', 'google', 'sub-4', 'c4@example.com', 5)`,
	} {
		if _, err := st.writer.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // up, then down and up again
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]latch.EmailVerification{withIdentity: latch.EmailVerifiedByProvider, assertedOnly: latch.EmailVerifiedLegacy, unverified: latch.EmailUnverified,
			// An identity linked after the account was made may have been
			// linked on an asserted email: no proof.
			linkedLater: latch.EmailVerifiedLegacy} {
			u, err := st.UserByID(ctx, id)
			if err != nil || u.VerifiedBy != want {
				t.Errorf("user %s VerifiedBy = %q, %v; want %q", id, u.VerifiedBy, err, want)
			}
		}
		counts, err := st.LegacyIdentityCount(ctx)
		if err != nil || len(counts) != 2 || counts[latch.ProviderOIDC] != 2 || counts[latch.ProviderGoogle] != 2 {
			t.Fatalf("LegacyIdentityCount = %v, %v", counts, err)
		}
		// Not attributed yet: nobody signs in with them.
		if _, err := st.UserByIdentity(ctx, "", "sub-1"); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("an unattributed identity was found: %v", err)
		}
		n, err := st.AttributeLegacyIdentities(ctx, latch.ProviderOIDC, "https://sso.example")
		if err != nil || n != 2 {
			t.Fatalf("AttributeLegacyIdentities = %d, %v", n, err)
		}
		if u, err := st.UserByIdentity(ctx, "https://sso.example", "sub-3"); err != nil || u.ID != unverified {
			t.Errorf("an attributed identity: %v, %v", u.ID, err)
		}
		// Attributing google's to the same issuer would make sub-1 one
		// identity twice: refused, nothing written.
		if _, err := st.AttributeLegacyIdentities(ctx, latch.ProviderGoogle, "https://sso.example"); !latch.IsCode(err, latch.CodeIdentityTaken) {
			t.Errorf("a colliding attribution: %v", err)
		}
		if counts, _ := st.LegacyIdentityCount(ctx); counts[latch.ProviderGoogle] != 2 {
			t.Errorf("a refused attribution wrote: %v", counts)
		}
		if _, err := p.DownTo(ctx, 4); err != nil {
			t.Fatal(err)
		}
		var n4 int
		if err := st.writer.QueryRowContext(ctx, `SELECT count(*) FROM identities`).Scan(&n4); err != nil || n4 != 4 {
			t.Fatalf("%d identities after going down, %v", n4, err)
		}
	}
}

// TestMigrateCanonicalEmails checks 00006 and the rekey that follows it on
// accounts stored with the old lowercase keys (storetest.LegacyEmails); a
// second Migrate changes nothing, and going down and up again works.
func TestMigrateCanonicalEmails(t *testing.T) {
	ctx := t.Context()
	st, p := storeAt(t, 4)
	for i, l := range storetest.LegacyEmails {
		if _, err := st.writer.ExecContext(ctx, `INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name,
			profile_picture, verified, active, admin, created_at, updated_at) VALUES (?, ?, ?, ?, '', '', '', 1, 1, 0, ?, ?)`,
			l.ID, latch.DefaultTenantID, l.Email, l.OldKey, i, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.CheckRekeyedEmails(t, st, false)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.CheckRekeyedEmails(t, st, false)

	if _, err := p.DownTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	var key string
	if err := st.writer.QueryRowContext(ctx, `SELECT email_normalized FROM users WHERE id = ?`, storetest.LegacyEmails[2].ID).Scan(&key); err != nil || key != "kelvin@example.com" {
		t.Fatalf("the Kelvin account's key after going down: %q, %v; want its old key", key, err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.CheckRekeyedEmails(t, st, true)
}

// storeAt opens a store on a fresh file with its migrations applied up to
// version, and the goose provider that moves it further up or down.
func storeAt(t *testing.T, version int64) (*Store, *goose.Provider) {
	t.Helper()
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, st.writer, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), version); err != nil {
		t.Fatal(err)
	}
	return st, p
}

// TestMigratePortableChecks checks 00010, which rebuilds audit_events for
// a CHECK that every SQLite reads alike: events keep their rows and ids,
// an id handed out before (even of an event since deleted) is not handed
// out again, details must still be JSON or NULL, and going down and up
// again works.
func TestMigratePortableChecks(t *testing.T) {
	ctx := t.Context()
	st, p := storeAt(t, 7)
	const cols = `(id, tenant_id, at, action, actor_type, actor_id, target_id, ip, details)`
	for _, q := range []string{
		`INSERT INTO audit_events ` + cols + ` VALUES
			(1, NULL, 1, 'tenant.create', 'operator', 'cli', '', '', '{"name":"acme"}'),
			(2, '` + latch.DefaultTenantID + `', 2, 'password.change', 'user', 'u', 'u', '192.0.2.1', NULL),
			(3, '` + latch.DefaultTenantID + `', 3, 'login.success', 'user', 'u', 'u', '192.0.2.1', '{"method":"password"}')`,
		// An event ids went up to, since deleted: its id stays used.
		`INSERT INTO audit_events ` + cols + ` VALUES (9, NULL, 9, 'x', 'operator', 'cli', '', '', NULL)`,
		`DELETE FROM audit_events WHERE id = 9`,
	} {
		if _, err := st.writer.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	before := auditRows(t, st)

	for round := range 2 { // up, then down and up again
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		var sql string
		if err := st.writer.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE name = 'audit_events'`).Scan(&sql); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(sql, "details IS NULL OR json_valid(details)") {
			t.Fatalf("audit_events after migrating:\n%s", sql)
		}
		if got := auditRows(t, st); !slices.Equal(got, before) {
			t.Fatalf("round %d: audit rows = %v, want %v", round, got, before)
		}
		var n int
		if err := st.writer.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE name IN
			('audit_events_new', 'audit_events_old', 'audit_events_tenant_id', 'audit_events_target_id')`).Scan(&n); err != nil || n != 2 {
			t.Fatalf("round %d: %d of the indexes and leftovers, %v; want the 2 indexes", round, n, err)
		}
		if _, err := st.writer.ExecContext(ctx, `INSERT INTO audit_events (at, action, actor_type, actor_id, target_id, ip, details)
			VALUES (0, 'x', 'operator', 'cli', '', '', 'not json')`); sqliteCode(err) != sqlite3.SQLITE_CONSTRAINT_CHECK {
			t.Fatalf("round %d: details that are not JSON: %v, want a CHECK failure", round, err)
		}
		if err := st.AppendAudit(ctx, latch.AuditEvent{At: time.Unix(10, 0), Action: "after", ActorType: "operator", ActorID: "cli"}); err != nil {
			t.Fatal(err)
		}
		var id int64
		if err := st.writer.QueryRowContext(ctx, `SELECT max(id) FROM audit_events`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		if id <= 9 {
			t.Fatalf("round %d: a new event got id %d, at or below one handed out before (9)", round, id)
		}
		if _, err := st.writer.ExecContext(ctx, `DELETE FROM audit_events WHERE action = 'after'`); err != nil {
			t.Fatal(err)
		}
		if _, err := p.DownTo(ctx, 7); err != nil {
			t.Fatal(err)
		}
		if got := auditRows(t, st); !slices.Equal(got, before) {
			t.Fatalf("round %d: audit rows after going down = %v, want %v", round, got, before)
		}
	}
}

// auditRows renders every audit event, by id.
func auditRows(t *testing.T, st *Store) []string {
	t.Helper()
	rows, err := st.writer.QueryContext(t.Context(),
		`SELECT id, ifnull(tenant_id, '-'), at, action, actor_type, actor_id, target_id, ip, ifnull(details, '-') FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, at int64
		var tenant, action, actorType, actorID, target, ip, details string
		if err := rows.Scan(&id, &tenant, &at, &action, &actorType, &actorID, &target, &ip, &details); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(id, tenant, at, action, actorType, actorID, target, ip, details))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrationStatus: a database never migrated reports nothing applied
// and gets no version table from asking; one migrated part way reports
// the rest pending; a migrated one nothing.
func TestMigrationStatus(t *testing.T) {
	ctx := t.Context()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	status, err := st.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	latest := status.Latest
	if status.Backend != "sqlite" || status.Applied != 0 || latest < 11 || len(status.Pending()) != len(status.Migrations) || status.Migrations[0].Name != "00001_init.sql" {
		t.Fatalf("fresh: %+v", status)
	}
	var tables int
	if err := st.reader.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'goose_db_version'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("the status created goose's table: %d %v", tables, err)
	}
	part, _ := storeAt(t, 5)
	if status, err = part.MigrationStatus(ctx); err != nil || status.Applied != 5 || len(status.Pending()) != len(status.Migrations)-5 || status.Migrations[4].AppliedAt == nil {
		t.Fatalf("at 5: %+v %v", status, err)
	}
	if err := part.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if status, err = part.MigrationStatus(ctx); err != nil || status.Applied != latest || len(status.Pending()) != 0 {
		t.Fatalf("migrated: %+v %v", status, err)
	}
}

// TestMigrateSessionRow checks 00013: sessions and refresh tokens stored
// one row per token keep working (storetest.CheckLegacyRefresh).
func TestMigrateSessionRow(t *testing.T) {
	ctx := t.Context()
	st, _ := storeAt(t, 12)
	l := storetest.LegacyRefresh{UserID: "0190a5d2-0000-7000-8000-000000000001",
		Rotating: "0190a5d2-0000-7000-8000-000000000002", Reused: "0190a5d2-0000-7000-8000-000000000003"}
	created, expires, used := micros(storetest.LegacyUsedAt.Add(-time.Hour)), micros(storetest.LegacyExpiry), micros(storetest.LegacyUsedAt)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name, profile_picture, verified, active, admin, created_at, updated_at)
			VALUES (?, ?, 'legacy@example.com', 'legacy@example.com', '', '', '', 1, 1, 0, ?, ?)`, []any{l.UserID, latch.DefaultTenantID, created, created}},
		{`INSERT INTO sessions (id, user_id, kind, scopes, created_at, expires_at) VALUES (?, ?, 'session', 'user:read user:update', ?, ?), (?, ?, 'session', 'user:read user:update', ?, ?)`,
			[]any{l.Rotating, l.UserID, created, expires, l.Reused, l.UserID, created, expires}},
		{`INSERT INTO refresh_tokens (hash, session_id, created_at, used_at, next_hash) VALUES (?, ?, ?, NULL, NULL), (?, ?, ?, ?, ?), (?, ?, ?, NULL, NULL)`,
			[]any{storetest.LegacyUnused, l.Rotating, created, storetest.LegacyUsed, l.Reused, created, used, storetest.LegacyUnusedB, storetest.LegacyUnusedB, l.Reused, used}},
	} {
		if _, err := st.writer.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.CheckLegacyRefresh(t, st, l)
}

// TestMigrateAppPKCEOptional checks 00018: apps stored before it keep
// requiring PKCE, the table refuses the exception for a public app even to
// a writer that skips the store's checks, and going down and up again
// keeps the apps.
func TestMigrateAppPKCEOptional(t *testing.T) {
	ctx := t.Context()
	st, p := storeAt(t, 17)
	const cols = `(id, tenant_id, name, type, secret_hash, first_party, redirect_uris, post_logout_redirect_uris,
		scopes, client_credentials, created_at, updated_at)`
	if _, err := st.writer.ExecContext(ctx, `INSERT INTO apps `+cols+` VALUES
		('app_pub', ?, 'SPA', 'public', NULL, 0, '["https://spa.example/cb"]', '[]', 'openid', 0, 0, 0),
		('app_conf', ?, 'Shop', 'confidential', X'01', 0, '["https://shop.example/cb"]', '[]', 'openid', 1, 0, 0)`,
		latch.DefaultTenantID, latch.DefaultTenantID); err != nil {
		t.Fatal(err)
	}
	check := func() {
		t.Helper()
		for _, id := range []string{"app_pub", "app_conf"} {
			a, err := st.AppByID(ctx, id)
			if err != nil || a.PKCEOptional {
				t.Errorf("%s after 00018: PKCEOptional %v, %v; want false", id, a.PKCEOptional, err)
			}
		}
		if _, err := st.writer.ExecContext(ctx, `UPDATE apps SET pkce_optional = 1 WHERE id = 'app_pub'`); sqliteCode(err) != sqlite3.SQLITE_CONSTRAINT_CHECK {
			t.Errorf("a public app given pkce_optional by SQL: %v, want a CHECK failure", err)
		}
		if _, err := st.writer.ExecContext(ctx, `UPDATE apps SET pkce_optional = 2 WHERE id = 'app_conf'`); sqliteCode(err) != sqlite3.SQLITE_CONSTRAINT_CHECK {
			t.Errorf("pkce_optional = 2: %v, want a CHECK failure", err)
		}
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check()
	on := true
	if a, err := st.UpdateApp(ctx, latch.AppUpdate{ID: "app_conf", PKCEOptional: &on}); err != nil || !a.PKCEOptional {
		t.Fatalf("setting pkce_optional on the confidential app: %+v, %v", a, err)
	}

	if _, err := p.DownTo(ctx, 17); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := st.writer.QueryRowContext(ctx, `SELECT count(*) FROM apps`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d apps after going down, %v; want 2", n, err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check()
}
