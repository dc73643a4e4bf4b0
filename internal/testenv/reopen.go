package testenv

import (
	"context"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/postgres"
	"github.com/latchid/latch/store/sqlite"
)

// ReopenableBackend is a storage backend whose database can be opened
// again, as a restarted or another replica would: for tests of what
// outlives a store.
type ReopenableBackend struct {
	Name string
	// New returns the address of a fresh, empty database (a file path, a
	// Postgres URL with its own schema), removed when t ends.
	New func(t testing.TB) string
	// Open opens and migrates the database at addr; the store is closed
	// when t ends (closing it sooner is fine).
	Open func(t testing.TB, addr string) latch.Store
}

// ReopenableBackends returns every storage backend as a ReopenableBackend.
func ReopenableBackends() []ReopenableBackend {
	return []ReopenableBackend{
		{Name: "sqlite", New: SQLitePath, Open: func(t testing.TB, path string) latch.Store {
			t.Helper()
			st, err := sqlite.Open(t.Context(), path)
			if err != nil {
				t.Fatal(err)
			}
			return migrated(t, st)
		}},
		{Name: "postgres", New: PostgresURL, Open: func(t testing.TB, url string) latch.Store {
			t.Helper()
			st, err := postgres.Open(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			return migrated(t, st)
		}},
	}
}

// migrated registers st's closing with t and migrates it.
func migrated(t testing.TB, st interface {
	latch.Store
	Migrate(ctx context.Context) error
}) latch.Store {
	t.Helper()
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}
