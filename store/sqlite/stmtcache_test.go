package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// oneConn opens a cached database on one connection, with a table t(a).
func oneConn(t testing.TB) *sql.DB {
	t.Helper()
	db := openCached(filepath.Join(t.TempDir(), "c.db"))
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (a INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := db.Exec(`INSERT INTO t (a) VALUES (?)`, i); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// cachedTexts is the SQL the connection holds prepared.
func cachedTexts(t *testing.T, db *sql.DB) map[string]bool {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	texts := map[string]bool{}
	if err := conn.Raw(func(dc any) error {
		for q := range dc.(*cachingConn).stmts {
			texts[q] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return texts
}

func TestStatementCacheKeepsAndReusesStatements(t *testing.T) {
	db := oneConn(t)
	if !cachedTexts(t, db)[`INSERT INTO t (a) VALUES (?)`] {
		t.Fatal("the insert run three times was not kept prepared")
	}
	var sum int
	for range 3 {
		if err := db.QueryRow(`SELECT sum(a) FROM t WHERE a >= ?`, 1).Scan(&sum); err != nil || sum != 3 {
			t.Fatalf("sum %d, %v", sum, err)
		}
	}
}

// The same text queried again while its first Rows is still open (one
// transaction: one connection) gets a statement of its own, and both
// read their own rows.
func TestStatementCacheSameQueryWhileOpen(t *testing.T) {
	db := oneConn(t)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT a FROM t WHERE a >= ? ORDER BY a`
	outer, err := tx.Query(q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var a int
		if err := outer.Scan(&a); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.Query(q, a)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%d:%d", a, n))
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if fmt.Sprint(got) != "[0:3 1:2 2:1]" {
		t.Fatalf("got %v", got)
	}
	// And the statement is reusable afterwards.
	var a int
	if err := tx.QueryRow(q, 2).Scan(&a); err != nil || a != 2 {
		t.Fatalf("a %d, %v", a, err)
	}
}

// A statement kept across a schema change sees the new schema (SQLite
// prepares it again by itself).
func TestStatementCacheFollowsTheSchema(t *testing.T) {
	db := oneConn(t)
	const q = `SELECT * FROM t LIMIT 1`
	cols := func() int {
		rows, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		c, _ := rows.Columns()
		return len(c)
	}
	if n := cols(); n != 1 {
		t.Fatalf("%d columns", n)
	}
	if _, err := db.Exec(`ALTER TABLE t ADD COLUMN b TEXT`); err != nil {
		t.Fatal(err)
	}
	if n := cols(); n != 2 {
		t.Fatalf("after ALTER TABLE: %d columns, want 2", n)
	}
}

// Past the bound, statements run uncached and still right.
func TestStatementCacheIsBounded(t *testing.T) {
	db := oneConn(t)
	for i := range maxCachedStatements + 20 {
		var v int
		if err := db.QueryRow(fmt.Sprintf(`SELECT %d`, i)).Scan(&v); err != nil || v != i {
			t.Fatalf("SELECT %d: %d, %v", i, v, err)
		}
	}
	if n := len(cachedTexts(t, db)); n != maxCachedStatements {
		t.Fatalf("%d statements kept, want the bound %d", n, maxCachedStatements)
	}
	// An error still reads as the driver's.
	if _, err := db.Exec(`INSERT INTO nowhere VALUES (1)`); err == nil {
		t.Fatal("an insert into a missing table succeeded")
	}
}

// BenchmarkPointQuery: the same short query, parsed each time (the
// driver alone) and kept prepared (the cache).
func BenchmarkPointQuery(b *testing.B) {
	for _, c := range []struct {
		name string
		open func(string) *sql.DB
	}{
		{"parsed-each-time", func(dsn string) *sql.DB { db, _ := sql.Open("sqlite", dsn); return db }},
		{"cached", openCached},
	} {
		b.Run(c.name, func(b *testing.B) {
			db := c.open(filepath.Join(b.TempDir(), "b.db"))
			defer db.Close()
			db.SetMaxOpenConns(1)
			if _, err := db.Exec(`CREATE TABLE s (id TEXT PRIMARY KEY, user_id TEXT, kind TEXT, scopes TEXT, created_at INTEGER, expires_at INTEGER, revoked_at INTEGER)`); err != nil {
				b.Fatal(err)
			}
			if _, err := db.Exec(`INSERT INTO s VALUES ('x', 'u', 'session', 'a b', 1, 2, NULL)`); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				var id, user, kind, scopes string
				var created, expires int64
				var revoked sql.NullInt64
				if err := db.QueryRow(`SELECT id, user_id, kind, scopes, created_at, expires_at, revoked_at FROM s WHERE id = ?`, "x").
					Scan(&id, &user, &kind, &scopes, &created, &expires, &revoked); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
