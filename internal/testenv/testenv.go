// Package testenv gives tests the outside things they run against: a fresh
// SQLite file or Postgres schema per test, and both storage backends opened
// and migrated, so a package's tests can run over each backend and in
// parallel with other packages' tests.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/postgres"
	"github.com/latchid/latch/store/sqlite"
)

// DefaultPostgresURL is used when LATCH_TEST_POSTGRES_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns the URL of a fresh, empty schema of the test
// database (LATCH_TEST_POSTGRES_URL, or DefaultPostgresURL), dropped with
// everything in it when t ends. The schema is selected with search_path in
// the URL, so a store opened on it keeps to it.
//
// Without a reachable Postgres the test is skipped, or fails when CI=true:
// CI must not pass by skipping.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("LATCH_TEST_POSTGRES_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		msg := fmt.Sprintf("Postgres unreachable (set LATCH_TEST_POSTGRES_URL, default %s): %v", DefaultPostgresURL, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer conn.Close(context.Background())

	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	schema := "test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		// t.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return withSearchPath(t, base, schema)
}

// withSearchPath adds search_path=schema to a postgres:// URL or a
// key=value DSN.
func withSearchPath(t testing.TB, base, schema string) string {
	t.Helper()
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		return base + " search_path=" + schema
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("LATCH_TEST_POSTGRES_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// SQLitePath returns the path of a database file, not yet created, in a
// directory removed when t ends.
func SQLitePath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "latch.db")
}

// Backend is a storage backend that tests can run over.
type Backend struct {
	Name string
	// Open returns a fresh, migrated, empty store, closed when t ends.
	Open func(t testing.TB) latch.Store
}

// Backends returns every storage backend, for tests that run over each:
//
//	for _, b := range testenv.Backends() {
//		t.Run(b.Name, func(t *testing.T) { st := b.Open(t); ... })
//	}
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", Open: func(t testing.TB) latch.Store { return OpenSQLite(t) }},
		{Name: "postgres", Open: func(t testing.TB) latch.Store { return OpenPostgres(t) }},
	}
}

// OpenSQLite returns a fresh, migrated SQLite store, closed when t ends.
func OpenSQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), SQLitePath(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

// OpenPostgres returns a fresh, migrated Postgres store on a schema of its
// own, closed (and the schema dropped) when t ends.
func OpenPostgres(t testing.TB) *postgres.Store {
	t.Helper()
	url := PostgresURL(t)
	st, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	// Registered after PostgresURL's cleanup, so it runs first: the schema
	// is dropped once nothing holds a connection to it.
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}
