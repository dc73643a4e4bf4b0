package sqlite_test

import (
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/store/sqlite"
	"github.com/latchid/latch/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) latch.Store { return testenv.OpenSQLite(t) })
}

func TestOpenRefusesNonFilePaths(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?_pragma=foreign_keys(0)"} {
		if st, err := sqlite.Open(t.Context(), path); err == nil {
			st.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestMigrateTwice(t *testing.T) {
	st := testenv.OpenSQLite(t)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
}

func TestReopen(t *testing.T) {
	// Data outlives the Store, and a reopened, migrated store sees it.
	path := testenv.SQLitePath(t)
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(t.Context(), latch.NewUser{User: latch.User{Email: "keep@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UserByID(t.Context(), u.ID); err != nil {
		t.Fatalf("user after reopening: %v", err)
	}
}

// BenchmarkSessionWithUser measures the per-request revocation check.
func BenchmarkSessionWithUser(b *testing.B) {
	storetest.BenchSessionWithUser(b, testenv.OpenSQLite(b))
}

// BenchmarkClientTokenWithClient measures the per-request check of an API
// client's token.
func BenchmarkClientTokenWithClient(b *testing.B) {
	storetest.BenchClientTokenWithClient(b, testenv.OpenSQLite(b))
}
