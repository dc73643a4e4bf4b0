package postgres_test

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/store/postgres"
)

// TestRowsWrittenPerSignIn measures, from PostgreSQL's own counters
// (pg_stat_user_tables: rows inserted plus rows updated, per table of the
// test's schema), what one password login and one refresh write: at most
// one row each. A login used to write three (the session, its first
// refresh token, the audit event) and a refresh two.
func TestRowsWrittenPerSignIn(t *testing.T) {
	ctx := t.Context()
	url := testenv.PostgresURL(t)
	// Each step runs on a store of its own, closed when the step ends: a
	// backend that exits reports its counts at once, where an idle one
	// may hold them for seconds.
	step := func(f func(h *testenv.Harness)) {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		f(testenv.NewHarness(t, st))
	}
	const email, pw = "rows@example.com", "correct horse battery"
	step(func(h *testenv.Harness) { h.PasswordUser(t, email, pw, "", false) })

	stats, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer stats.Close(context.Background())

	var pair account.TokenPair
	login := written(t, stats, func() {
		step(func(h *testenv.Harness) {
			pair, err = h.Accounts.Login(ctx, account.LoginInput{Email: email, Password: pw, ClientIP: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
		})
	})
	refresh := written(t, stats, func() {
		step(func(h *testenv.Harness) {
			if _, err := h.Accounts.Refresh(ctx, pair.RefreshToken); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Logf("rows written: login %v, refresh %v", login, refresh)
	if n := total(login); n > 1 {
		t.Errorf("a login wrote %d rows (%v), want at most 1", n, login)
	}
	if n := total(refresh); n > 1 {
		t.Errorf("a refresh wrote %d rows (%v), want at most 1", n, refresh)
	}
	if total(login) == 0 || total(refresh) == 0 {
		t.Errorf("nothing counted (login %v, refresh %v): the measurement is broken", login, refresh)
	}
}

// written runs f and returns the rows it inserted or updated, per table
// of the connection's schema.
func written(t *testing.T, conn *pgx.Conn, f func()) map[string]int64 {
	t.Helper()
	before := settled(t, conn)
	f()
	after := settled(t, conn)
	diff := map[string]int64{}
	for table, n := range after {
		if d := n - before[table]; d != 0 {
			diff[table] = d
		}
	}
	return diff
}

// settled reads the schema's counters once they have stopped moving: a
// backend's report reaches them asynchronously.
func settled(t *testing.T, conn *pgx.Conn) map[string]int64 {
	t.Helper()
	const hold, limit = 1500 * time.Millisecond, 20 * time.Second
	deadline := time.Now().Add(limit)
	last, since := counters(t, conn), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		now := counters(t, conn)
		if !maps.Equal(now, last) {
			last, since = now, time.Now()
			continue
		}
		if time.Since(since) >= hold {
			return last
		}
	}
	t.Fatalf("the statistics did not settle within %v", limit)
	return nil
}

func counters(t *testing.T, conn *pgx.Conn) map[string]int64 {
	t.Helper()
	ctx := t.Context()
	if _, err := conn.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `
		SELECT relname, n_tup_ins + n_tup_upd FROM pg_stat_user_tables WHERE schemaname = current_schema()`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	var name string
	var n int64
	if _, err := pgx.ForEachRow(rows, []any{&name, &n}, func() error { out[name] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func total(m map[string]int64) int64 {
	var n int64
	for _, table := range slices.Sorted(maps.Keys(m)) {
		n += m[table]
	}
	return n
}
