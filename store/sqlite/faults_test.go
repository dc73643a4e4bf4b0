package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/store/sqlite"
	"github.com/latchid/latch/store/storetest"
)

const faultTimeout = 300 * time.Millisecond

// TestLockedDatabase: while another process holds the write lock (a
// `latch migrate` or a sqlite3 shell beside the server), a write ends as
// Unavailable after about the store's bound, not as Internal after
// busy_timeout; reads go on (WAL), and writes work again once the lock is
// released.
func TestLockedDatabase(t *testing.T) {
	path := testenv.SQLitePath(t)
	st, err := sqlite.Open(t.Context(), path, sqlite.WithTimeout(faultTimeout))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}

	// Another connection of its own (SQLite locks the file, not a pool)
	// takes the write lock and keeps it.
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}

	key := func() latch.SigningKey {
		return latch.SigningKey{ID: "k-" + time.Now().Format("150405.000000000"), Algorithm: "ES256", Private: []byte("x"), CreatedAt: time.Now()}
	}
	start := time.Now()
	err = st.AddSigningKey(t.Context(), key())
	took := time.Since(start)
	var le *latch.Error
	if !errors.As(err, &le) || le.Kind != latch.KindUnavailable || le.Code != latch.CodeDatabaseUnavailable || le.RetryAfter <= 0 {
		t.Errorf("write to a locked database: %#v, want Unavailable database_unavailable with a RetryAfter", err)
	}
	t.Logf("a write to a locked database answered after %v (bound %v)", took, faultTimeout)
	if took > 3*faultTimeout {
		t.Errorf("a write to a locked database took %v; want about the bound %v", took, faultTimeout)
	}
	if _, err := st.UserByEmail(t.Context(), "someone@example.com"); !latch.IsKind(err, latch.KindNotFound) {
		t.Errorf("read beside a held write lock: %v, want NotFound", err)
	}
	if err := st.Ping(t.Context()); err != nil {
		t.Errorf("Ping beside a held write lock: %v (reads still work)", err)
	}

	if _, err := conn.ExecContext(t.Context(), `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if err := st.AddSigningKey(t.Context(), key()); err != nil {
		t.Errorf("write after the lock was released: %v", err)
	}
}

// TestCallerGoneIsNotAnOutage: a call whose caller gave up is not an
// outage of the database, and not Internal.
func TestCallerGoneIsNotAnOutage(t *testing.T) {
	st := testenv.OpenSQLite(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := st.UserByEmail(ctx, "someone@example.com")
	var le *latch.Error
	if !errors.As(err, &le) || le.Kind == latch.KindInternal || le.Code == latch.CodeDatabaseUnavailable {
		t.Errorf("cancelled call: %#v; want a non-internal error that is not an outage", err)
	}
}

// TestEveryCallIsBounded: see storetest.CheckBounded.
func TestEveryCallIsBounded(t *testing.T) { storetest.CheckBounded(t, ".") }
