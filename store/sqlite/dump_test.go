package sqlite_test

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/store/sqlite"
)

// sqliteShell returns the path of the system sqlite3 shell. Without one
// the test is skipped, except in CI (CI=true), where .ci/run installs it:
// the dump/restore check must not go quietly unrun there.
func sqliteShell(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the sqlite3 shell is not installed (CI=true): .ci/run installs it (apt-get install sqlite3)")
		}
		t.Skip("the sqlite3 shell is not installed")
	}
	return p
}

// populate fills a store, through the use cases, with every kind of row:
// tenants, a password and a factor policy, users with and without a password, an identity,
// sessions and refresh tokens, a changed password (history, and a
// password.change audit event without details), audit events with
// details, password links and the outbox, API clients and their tokens,
// an app and a user's consent to it, an authorization code and the signing
// key.
func populate(t *testing.T, st latch.Store) {
	t.Helper()
	ctx := t.Context()
	h := testenv.NewHarness(t, st)
	op := account.Operator("")

	if _, err := h.Accounts.CreateTenant(ctx, op, "acme"); err != nil {
		t.Fatal(err)
	}
	history := 3
	if _, err := h.Accounts.SetPolicy(ctx, op, account.PolicyChange{History: &history}); err != nil {
		t.Fatal(err)
	}
	// A factor policy row (every table holds rows), one that requires
	// nothing: the sign-ins below have no factor.
	allowed := []string{"totp", "webauthn", "recovery_code"}
	if _, err := h.Accounts.SetFactorPolicy(ctx, op, account.FactorPolicyChange{Allowed: &allowed}); err != nil {
		t.Fatal(err)
	}
	const first, second = "correct horse battery", "staple orbit lantern"
	ada := h.PasswordUser(t, "ada@example.com", first, "", true)
	pair, err := h.Accounts.Login(ctx, account.LoginInput{Email: "ada@example.com", Password: first, ClientIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	cur, confirm := first, second
	if err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: second, Confirmation: &confirm, CurrentPassword: &cur}); err != nil {
		t.Fatal(err)
	}

	_, oauth := h.OAuthUser(t, "bob@example.com")
	bob, err := h.Accounts.Authenticate(ctx, oauth.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Accounts.RequestPasswordLink(ctx, bob); err != nil {
		t.Fatal(err)
	}
	h.APIClient(t, latch.ScopeManageAll, "", false)
	// An app (its secret hash is a BLOB) and a user's consent to it.
	app, err := h.Accounts.CreateApp(ctx, op, account.AppInput{
		Name: "Shop", Type: latch.AppConfidential, RedirectURIs: []string{"https://shop.example/cb"},
		PostLogoutRedirectURIs: []string{"https://shop.example/bye"}, Scopes: []string{latch.AppScopeOpenID, latch.AppScopeEmail},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Accounts.GrantConsent(ctx, ada.ID, app.App.ID, []string{latch.AppScopeOpenID}); err != nil {
		t.Fatal(err)
	}
	// A sign-out: a session change for the other processes on the file.
	if err := h.Accounts.Logout(ctx, bob); err != nil {
		t.Fatal(err)
	}

	code := sha256.Sum256([]byte("an authorization code"))
	now := h.Clock.Now()
	if err := st.CreateAuthorizationCode(ctx, latch.AuthorizationCode{
		Hash: code[:], UserID: ada.ID, CodeChallenge: "challenge", RedirectURI: "https://app.example.com/cb",
		CreatedAt: now, ExpiresAt: now.Add(time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	// A confirmed second factor (its sealed secret is a BLOB) and a set
	// of recovery codes, one used.
	factor := latch.Factor{ID: uuid.Must(uuid.NewV7()).String(), UserID: ada.ID, Kind: latch.FactorTOTP,
		Name: "Phone", Secret: []byte("sealed secret"), CreatedAt: now}
	if err := st.CreateFactor(ctx, factor, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.ConfirmFactor(ctx, factor.ID, 1, now, nil); err != nil {
		t.Fatal(err)
	}
	recovery := [][]byte{[]byte("recovery hash 1"), []byte("recovery hash 2")}
	if err := st.ReplaceRecoveryCodes(ctx, ada.ID, recovery, now, nil); err != nil {
		t.Fatal(err)
	}
	passkey := latch.Factor{ID: uuid.Must(uuid.NewV7()).String(), UserID: ada.ID, Kind: latch.FactorWebAuthn,
		Name: "Laptop", CreatedAt: now, ConfirmedAt: &now, CredentialID: []byte("credential id"), PublicKey: []byte("cose key"),
		AttestationType: "none", SignCount: 3, Transports: []string{"internal"}, BackupEligible: true, UserHandle: []byte("user handle")}
	if err := st.CreateFactor(ctx, passkey, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateWebAuthnChallenge(ctx, latch.WebAuthnChallenge{Hash: []byte("challenge hash"), Purpose: "mfa", UserID: ada.ID,
		CreatedAt: now, ExpiresAt: now.Add(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := st.UseRecoveryCode(ctx, ada.ID, recovery[0], now, nil, nil); err != nil {
		t.Fatal(err)
	}
	h.Accounts.Wait()
	// A request recorded and not yet done (the worker runs it later).
	if err := st.EnqueueJob(ctx, latch.Job{Kind: latch.JobRecovery, Data: []byte("sealed request"), CreatedAt: now, NextAttemptAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// tables lists the database's own tables (not SQLite's).
func tables(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// contents returns every row of table, each rendered with its column
// types, sorted: two databases hold the same rows if this is equal.
func contents(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT * FROM "`+table+`"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%#v", vals))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func openFile(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkSameRows fails unless restored holds exactly the rows of src, table
// by table. Every table of src but the ones in mayBeEmpty must hold rows,
// so that no kind of row goes untested.
// legacyRefreshTokens holds only the refresh tokens of sessions begun
// before migration 00013 (sessions carry their chain since): populate
// makes none.
const legacyRefreshTokens = "refresh_tokens"

func checkSameRows(t *testing.T, src, restored *sql.DB, mayBeEmpty ...string) {
	t.Helper()
	names := tables(t, src)
	if got := tables(t, restored); !slices.Equal(got, names) {
		t.Fatalf("restored tables = %v, want %v", got, names)
	}
	for _, table := range names {
		want := contents(t, src, table)
		if len(want) == 0 && !slices.Contains(mayBeEmpty, table) {
			t.Errorf("table %s is empty: the test does not cover its rows", table)
		}
		if got := contents(t, restored, table); !slices.Equal(got, want) {
			t.Errorf("table %s: %d rows restored, want %d; restored:\n%s\nwant:\n%s",
				table, len(got), len(want), strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// checkStore fails unless the database at path opens as a Store with no
// migration left to apply, passes integrity_check, and holds the audit
// log populate wrote, password changes included.
func checkStore(t *testing.T, path string) {
	t.Helper()
	ctx := t.Context()
	db := openFile(t, path)
	var before int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check = %q, %v", ok, err)
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var after int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("migrating applied %d migrations: the copy was not at the latest version", after-before)
	}
	events, err := st.AuditEvents(ctx, latch.AuditQuery{Action: latch.AuditPasswordChange, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) == 0 {
		t.Errorf("no %s event in the audit log", latch.AuditPasswordChange)
	}
}

// TestDumpRestoreWithShell takes a database holding every kind of row
// through the sqlite3 shell's `.dump | sqlite3` (the backup an operator
// is most likely to make) and checks that every row comes back. Older
// shells (3.40, Debian 12's) evaluate some CHECK constraints on NULL
// differently from the embedded SQLite: the restore must not drop rows
// that the schema accepted.
func TestDumpRestoreWithShell(t *testing.T) {
	shell := sqliteShell(t)
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "latch.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	populate(t, st)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	src := openFile(t, path)
	var withDetails, without int
	if err := src.QueryRowContext(ctx, `SELECT count(details), count(*) - count(details) FROM audit_events`).Scan(&withDetails, &without); err != nil {
		t.Fatal(err)
	}
	if withDetails == 0 || without == 0 {
		t.Fatalf("audit events: %d with details, %d without; want some of each", withDetails, without)
	}

	dump, err := exec.CommandContext(ctx, shell, path, ".dump").Output()
	if err != nil {
		t.Fatalf("sqlite3 .dump: %v", err)
	}
	restoredPath := filepath.Join(dir, "restored.db")
	restore := exec.CommandContext(ctx, shell, restoredPath)
	restore.Stdin = bytes.NewReader(dump)
	out, err := restore.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("sqlite3 restore: %v\n%s", err, out)
	}
	checkSameRows(t, src, openFile(t, restoredPath), "email_rekey_pending", legacyRefreshTokens)
	checkStore(t, restoredPath)
}
