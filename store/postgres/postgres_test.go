package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/store/postgres"
	"github.com/latchid/latch/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) latch.Store { return testenv.OpenPostgres(t) })
}

// TestMigrateKeepsToSchema checks that the tables, goose's version table
// included, land in the search_path's schema, and that migrating again
// (a second replica starting) changes nothing.
func TestMigrateKeepsToSchema(t *testing.T) {
	url := testenv.PostgresURL(t)
	st, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for range 2 {
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var schema string
	var tables []string
	if err := conn.QueryRow(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(t.Context(),
		`SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY tablename`, schema)
	if err != nil {
		t.Fatal(err)
	}
	tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app_consents", "apps", "audit_events", "authorization_codes", "client_tokens", "clients", "credentials", "data_keys", "email_rekey_pending",
		"factors", "goose_db_version", "identities", "jobs", "mail_outbox", "password_history", "password_links", "recovery_codes", "refresh_tokens",
		"sessions", "signing_keys", "tenant_factor_policies", "tenant_policies", "tenants", "users", "webauthn_challenges"}
	if len(tables) != len(want) {
		t.Fatalf("tables in %s = %v, want %v", schema, tables, want)
	}
	for i := range want {
		if tables[i] != want[i] {
			t.Fatalf("tables in %s = %v, want %v", schema, tables, want)
		}
	}
	var tenants int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM tenants`).Scan(&tenants); err != nil {
		t.Fatal(err)
	}
	if tenants != 1 {
		t.Errorf("%d tenants after migrating twice, want 1", tenants)
	}
}

func TestOpenUnreachable(t *testing.T) {
	st, err := postgres.Open(t.Context(), "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2")
	if err == nil {
		st.Close()
		t.Fatal("Open of an unreachable server succeeded")
	}
}

// BenchmarkSessionWithUser measures the per-request revocation check.
func BenchmarkSessionWithUser(b *testing.B) {
	storetest.BenchSessionWithUser(b, testenv.OpenPostgres(b))
}

// BenchmarkClientTokenWithClient measures the per-request check of an API
// client's token.
func BenchmarkClientTokenWithClient(b *testing.B) {
	storetest.BenchClientTokenWithClient(b, testenv.OpenPostgres(b))
}
