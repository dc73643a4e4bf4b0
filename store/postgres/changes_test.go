package postgres_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/store/postgres"
	"github.com/latchid/latch/store/storetest"
)

func TestChangeFeed(t *testing.T) {
	storetest.RunChangeFeed(t, func(t *testing.T) storetest.FeedBackend {
		url := testenv.PostgresURL(t)
		open := func() *postgres.Store {
			st, err := postgres.Open(t.Context(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			if err := st.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			return st
		}
		watched := open()
		return storetest.FeedBackend{
			Watched: watched,
			// Another replica on the same database.
			Other: open(),
			Exec: func(t *testing.T, query string) {
				conn, err := pgx.Connect(t.Context(), url)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close(t.Context())
				if _, err := conn.Exec(t.Context(), query); err != nil {
					t.Fatal(err)
				}
			},
			Break: func(t *testing.T) func() {
				TerminateListener(t, url)
				return nil
			},
		}
	})
}

// TerminateListener ends the backend of the session change listener of
// url's schema, as a failover or an operator would.
func TerminateListener(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var schema string
	if err := conn.QueryRow(t.Context(), `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	// The listener sets its name just after it connects: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := conn.QueryRow(t.Context(), `
			SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1 AND datname = current_database()`, postgres.ListenerName(schema)).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no session change listener to terminate")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
