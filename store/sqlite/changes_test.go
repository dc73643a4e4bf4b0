package sqlite_test

import (
	"database/sql"
	"testing"

	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/store/sqlite"
	"github.com/latchid/latch/store/storetest"
)

func TestChangeFeed(t *testing.T) {
	storetest.RunChangeFeed(t, func(t *testing.T) storetest.FeedBackend {
		path := testenv.SQLitePath(t)
		open := func() *sqlite.Store {
			st, err := sqlite.Open(t.Context(), path)
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
			// Another process on the same file: the operator CLI.
			Other: open(),
			Exec: func(t *testing.T, query string) {
				if err := execOn(t, path, query); err != nil {
					t.Fatal(err)
				}
			},
			// The poll fails while its table is away: a connection of the
			// test's own renames it, and back (SQLite renames the
			// triggers' references with it).
			Break: func(t *testing.T) func() {
				db, err := sql.Open("sqlite", path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = db.Close() })
				if _, err := db.ExecContext(t.Context(), `ALTER TABLE session_changes RENAME TO session_changes_away`); err != nil {
					t.Fatal(err)
				}
				return func() {
					if _, err := db.ExecContext(t.Context(), `ALTER TABLE session_changes_away RENAME TO session_changes`); err != nil {
						t.Fatal(err)
					}
				}
			},
		}
	})
}

// execOn runs query on the database at path, on a connection of its own.
func execOn(t *testing.T, path, query string) error {
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(t.Context(), query)
	return err
}
