package postgres_test

import (
	"database/sql"
	"io/fs"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for goose
	"github.com/pressly/goose/v3"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/store/postgres"
	"github.com/latchid/latch/store/storetest"
)

// TestMigrateAdminKeepsData checks 00003 on a database that has data: the
// default tenant becomes number 1 whatever the order of the rows, the
// numbers continue after the existing ones, and going down and up again
// works.
func TestMigrateAdminKeepsData(t *testing.T) {
	ctx := t.Context()
	url, db, p := schemaAt(t, 2)
	// A tenant that sorts, and was created, before the default one.
	const early = "00000000-0000-0000-0000-000000000000"
	for _, q := range []string{
		`INSERT INTO tenants (id, name, created_at) VALUES ('` + early + `', 'early', '2000-01-01')`,
		`INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name, profile_picture,
			verified, active, admin, created_at, updated_at)
		 VALUES ('0190b8a2-7c1e-7d3a-9f00-000000000001', '` + early + `', 'a@example.com', 'a@example.com', '', '', '',
			false, true, false, now(), now())`,
		`INSERT INTO credentials (user_id, hash, created_at, updated_at) VALUES ('0190b8a2-7c1e-7d3a-9f00-000000000001', 'h', now(), now())`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tenants, err := st.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tenants) != 2 || tenants[0].ID != latch.DefaultTenantID || tenants[0].Number != 1 ||
		tenants[1].ID != early || tenants[1].Number != 2 {
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

	if _, err := p.DownTo(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tenants, err = st.Tenants(ctx)
	if err != nil || len(tenants) != 3 || tenants[0].Number != 1 || tenants[0].ID != latch.DefaultTenantID || tenants[2].Name != "next" {
		t.Fatalf("tenants after down and up = %+v, %v", tenants, err)
	}
	next, err = st.CreateTenant(ctx, latch.Tenant{Name: "after"}, nil)
	if err != nil || next.Number != 4 {
		t.Fatalf("CreateTenant after down and up = %+v, %v; want number 4", next, err)
	}
}

// TestMigrateMail checks 00004 on a database that has users: their links
// and messages can be stored once it is applied, and going down drops the
// two tables and nothing else.
func TestMigrateMail(t *testing.T) {
	ctx := t.Context()
	url, db, p := schemaAt(t, 3)
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Written in version 3's columns: today's CreateUser writes later ones.
	u := latch.User{ID: "0190b8a2-7c1e-7d3a-9f00-0000000000b0", Email: "before@example.com"}
	for _, q := range []string{
		`INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name, profile_picture,
			verified, active, admin, created_at, updated_at)
		 VALUES ('` + u.ID + `', '` + latch.DefaultTenantID + `', 'before@example.com', 'before@example.com', '', '', '',
			false, true, false, now(), now())`,
		`INSERT INTO credentials (user_id, hash, created_at, updated_at) VALUES ('` + u.ID + `', 'h', now(), now())`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
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
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables
			WHERE schemaname = current_schema() AND tablename IN ('mail_outbox', 'password_links')`).Scan(&n); err != nil || n != 0 {
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
	url, db, p := schemaAt(t, 4)
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const (
		withIdentity = "0190b8a2-7c1e-7d3a-9f00-0000000000c1"
		assertedOnly = "0190b8a2-7c1e-7d3a-9f00-0000000000c2"
		linkedLater  = "0190b8a2-7c1e-7d3a-9f00-0000000000c4"
		unverified   = "0190b8a2-7c1e-7d3a-9f00-0000000000c3"
	)
	for _, q := range []string{
		`INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name, profile_picture,
			verified, active, admin, created_at, updated_at) VALUES
		 ('` + withIdentity + `', '` + latch.DefaultTenantID + `', 'c1@example.com', 'c1@example.com', '', '', '', true, true, false, '2025-01-01', '2025-01-01'),
		 ('` + assertedOnly + `', '` + latch.DefaultTenantID + `', 'c2@example.com', 'c2@example.com', '', '', '', true, true, false, '2025-01-01', '2025-01-01'),
		 ('` + unverified + `', '` + latch.DefaultTenantID + `', 'c3@example.com', 'c3@example.com', '', '', '', false, true, false, '2025-01-01', '2025-01-01'),
		 ('` + linkedLater + `', '` + latch.DefaultTenantID + `', 'c4@example.com', 'c4@example.com', '', '', '', true, true, false, '2025-01-01', '2025-01-01')`,
		`INSERT INTO identities (id, user_id, provider, subject, email, created_at) VALUES
		 ('0190b8a2-7c1e-7d3a-9f00-0000000000d1', '` + withIdentity + `', 'oidc', 'sub-1', 'c1@example.com', '2025-01-01'),
		 ('0190b8a2-7c1e-7d3a-9f00-0000000000d2', '` + withIdentity + `', 'google', 'sub-1', 'c1@example.com', '2025-01-01'),
		 ('0190b8a2-7c1e-7d3a-9f00-0000000000d3', '` + unverified + `', 'oidc', 'sub-3', 'c3@example.com', '2025-01-01'),
		 ('0190b8a2-7c1e-7d3a-9f00-0000000000d4', '` + linkedLater + `', 'google', 'sub-4', 'c4@example.com', '2025-01-02')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
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
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM identities`).Scan(&n4); err != nil || n4 != 4 {
			t.Fatalf("%d identities after going down, %v", n4, err)
		}
	}
}

// TestMigrateCanonicalEmails checks 00006 and the rekey that follows it on
// accounts stored with the old lowercase keys (storetest.LegacyEmails); a
// second Migrate changes nothing, and going down and up again works.
func TestMigrateCanonicalEmails(t *testing.T) {
	ctx := t.Context()
	url, db, p := schemaAt(t, 4)
	for i, l := range storetest.LegacyEmails {
		if _, err := db.ExecContext(ctx, `INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name,
			profile_picture, verified, active, admin, created_at, updated_at)
			VALUES ($1, $2, $3, $4, '', '', '', true, true, false, $5, $5)`,
			l.ID, latch.DefaultTenantID, l.Email, l.OldKey, time.Date(2025, 1, 1, 0, 0, i, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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
	if err := db.QueryRowContext(ctx, `SELECT email_normalized FROM users WHERE id = $1`, storetest.LegacyEmails[2].ID).Scan(&key); err != nil || key != "kelvin@example.com" {
		t.Fatalf("the Kelvin account's key after going down: %q, %v; want its old key", key, err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	storetest.CheckRekeyedEmails(t, st, true)
}

// schemaAt returns a fresh schema's URL with the migrations applied up to
// version, a database/sql handle on it, and the goose provider that moves
// it further up or down.
func schemaAt(t *testing.T, version int64) (string, *sql.DB, *goose.Provider) {
	t.Helper()
	url := testenv.PostgresURL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	fsys, err := fs.Sub(postgres.Migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(t.Context(), version); err != nil {
		t.Fatal(err)
	}
	return url, db, p
}

// TestMigrationStatus: a schema never migrated reports nothing applied and
// gets no version table from asking; one migrated part way reports the
// rest pending; a migrated one nothing.
func TestMigrationStatus(t *testing.T) {
	ctx := t.Context()
	st, err := postgres.Open(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	status, err := st.MigrationStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	latest := status.Latest
	if status.Backend != "postgres" || status.Applied != 0 || latest < 11 || len(status.Pending()) != len(status.Migrations) {
		t.Fatalf("fresh: %+v", status)
	}
	if again, err := st.MigrationStatus(ctx); err != nil || again.Applied != 0 {
		t.Fatalf("asked twice: %+v %v", again, err)
	}
	url, _, _ := schemaAt(t, 5)
	part, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer part.Close()
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
	url, db, _ := schemaAt(t, 12)
	l := storetest.LegacyRefresh{UserID: "0190a5d2-0000-7000-8000-000000000001",
		Rotating: "0190a5d2-0000-7000-8000-000000000002", Reused: "0190a5d2-0000-7000-8000-000000000003"}
	created, expires, used := storetest.LegacyUsedAt.Add(-time.Hour), storetest.LegacyExpiry, storetest.LegacyUsedAt
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name, profile_picture, verified, active, admin, created_at, updated_at)
			VALUES ($1, $2, 'legacy@example.com', 'legacy@example.com', '', '', '', true, true, false, $3, $3)`, []any{l.UserID, latch.DefaultTenantID, created}},
		{`INSERT INTO sessions (id, user_id, kind, scopes, created_at, expires_at) VALUES ($1, $2, 'session', 'user:read user:update', $3, $4), ($5, $2, 'session', 'user:read user:update', $3, $4)`,
			[]any{l.Rotating, l.UserID, created, expires, l.Reused}},
		{`INSERT INTO refresh_tokens (hash, session_id, created_at, used_at, next_hash) VALUES ($1, $2, $3, NULL, NULL), ($4, $5, $3, $6, $7), ($7, $5, $6, NULL, NULL)`,
			[]any{storetest.LegacyUnused, l.Rotating, created, storetest.LegacyUsed, l.Reused, used, storetest.LegacyUnusedB}},
	} {
		if _, err := db.ExecContext(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
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
	url, db, p := schemaAt(t, 17)
	const cols = `(id, tenant_id, name, type, secret_hash, first_party, redirect_uris, post_logout_redirect_uris,
		scopes, client_credentials, created_at, updated_at)`
	if _, err := db.ExecContext(ctx, `INSERT INTO apps `+cols+` VALUES
		('app_pub', $1, 'SPA', 'public', NULL, false, '["https://spa.example/cb"]', '[]', 'openid', false, now(), now()),
		('app_conf', $1, 'Shop', 'confidential', '\x01', false, '["https://shop.example/cb"]', '[]', 'openid', true, now(), now())`,
		latch.DefaultTenantID); err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check := func() {
		t.Helper()
		for _, id := range []string{"app_pub", "app_conf"} {
			a, err := st.AppByID(ctx, id)
			if err != nil || a.PKCEOptional {
				t.Errorf("%s after 00018: PKCEOptional %v, %v; want false", id, a.PKCEOptional, err)
			}
		}
		if _, err := db.ExecContext(ctx, `UPDATE apps SET pkce_optional = true WHERE id = 'app_pub'`); err == nil ||
			!strings.Contains(err.Error(), "apps_pkce_optional_confidential") {
			t.Errorf("a public app given pkce_optional by SQL: %v, want the CHECK to fail", err)
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
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM apps`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d apps after going down, %v; want 2", n, err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	check()
}
