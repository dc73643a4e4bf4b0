package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// TestPragmas checks that every connection of both pools, not just the
// first, runs with the settings the Store relies on.
func TestPragmas(t *testing.T) {
	ctx := t.Context()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[string]string{
		"journal_mode": "wal",
		"foreign_keys": "1",
		"synchronous":  "1", // NORMAL
		"busy_timeout": "5000",
	}
	for _, pool := range []struct {
		name string
		db   *sql.DB
		n    int
	}{{"writer", st.writer, 1}, {"reader", st.reader, 4}} {
		// Hold n connections at once so that each is a distinct one.
		var conns []*sql.Conn
		for range pool.n {
			c, err := pool.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
		}
		for i, c := range conns {
			for pragma, v := range want {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != v {
					t.Errorf("%s conn %d: %s = %s, want %s", pool.name, i, pragma, got, v)
				}
			}
			c.Close()
		}
	}
	// The reader refuses writes: they must go through the writer's queue.
	if _, err := st.reader.ExecContext(ctx, "CREATE TABLE x (a INTEGER)"); err == nil {
		t.Error("reader accepted a write")
	}
}
