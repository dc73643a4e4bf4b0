package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/store/postgres"
	"github.com/latchid/latch/store/storetest"
)

// faultTimeout is the store bound in these tests: short, so that a hung
// database costs the test little.
const faultTimeout = 300 * time.Millisecond

// openProxied returns a migrated store whose connections go through a
// proxy of the test's own, and the proxy.
func openProxied(t *testing.T) (*postgres.Store, *testenv.Proxy) {
	t.Helper()
	url, proxy := testenv.ProxiedPostgresURL(t)
	st, err := postgres.Open(t.Context(), url, postgres.WithTimeout(faultTimeout))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	// Before Close (cleanups run last first): pgx cancels an abandoned
	// query through a new connection, which a hung proxy would hold for
	// pgx's 15 s, and Close waits for it.
	t.Cleanup(proxy.Pass)
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st, proxy
}

// call runs a read and a write against st and returns their errors and the
// time the slower took; it fails t if they take far longer than the bound.
func call(t *testing.T, st *postgres.Store) (read, write error, took time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, read = st.UserByEmail(ctx, "someone@example.com")
		write = st.AddSigningKey(ctx, latch.SigningKey{ID: "k-" + time.Now().Format("150405.000000000"), Algorithm: "ES256", Private: []byte("x"), CreatedAt: time.Now()})
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("store calls against a faulty database did not return within 10s")
	}
	return read, write, time.Since(start)
}

func wantUnavailable(t *testing.T, what string, err error) {
	t.Helper()
	var le *latch.Error
	if !errors.As(err, &le) || le.Kind != latch.KindUnavailable || le.Code != latch.CodeDatabaseUnavailable || le.RetryAfter <= 0 {
		t.Errorf("%s: got %#v, want Unavailable database_unavailable with a RetryAfter", what, err)
		return
	}
	if le.Message == "" || le.Err == nil {
		t.Errorf("%s: %#v: want a client-safe message and the cause kept for the log", what, le)
	}
}

// TestDatabaseCut: with the database unreachable (connections reset,
// new ones refused), store calls fail at once as Unavailable, and the
// store recovers by itself once the database is back.
func TestDatabaseCut(t *testing.T) {
	st, proxy := openProxied(t)
	if _, _, _ = call(t, st); t.Failed() {
		return
	}
	proxy.Cut()
	read, write, took := call(t, st)
	wantUnavailable(t, "read", read)
	wantUnavailable(t, "write", write)
	if took > 2*faultTimeout {
		t.Errorf("calls against a cut database took %v; want a quick failure", took)
	}
	if err := st.Ping(t.Context()); !latch.IsKind(err, latch.KindUnavailable) {
		t.Errorf("Ping of a cut database: %v, want Unavailable", err)
	}

	proxy.Pass()
	back := time.Now()
	for {
		if err := st.Ping(t.Context()); err == nil {
			break
		}
		if time.Since(back) > 5*time.Second {
			t.Fatal("the store did not recover within 5s of the database coming back")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("recovered %v after the database came back", time.Since(back))
	if _, err := st.UserByEmail(t.Context(), "someone@example.com"); !latch.IsKind(err, latch.KindNotFound) {
		t.Errorf("after recovery: %v, want NotFound", err)
	}
}

// TestDatabaseHang: with the database silent (connections held open,
// nothing answered), store calls end as Unavailable after about the
// store's bound instead of waiting as long as the database does.
func TestDatabaseHang(t *testing.T) {
	st, proxy := openProxied(t)
	if _, _, _ = call(t, st); t.Failed() {
		return
	}
	proxy.Hang()
	read, write, took := call(t, st)
	wantUnavailable(t, "read", read)
	wantUnavailable(t, "write", write)
	t.Logf("a read and a write against a hung database took %v (bound %v each)", took, faultTimeout)
	if took > 4*faultTimeout {
		t.Errorf("calls against a hung database took %v; want about the bound (%v each)", took, faultTimeout)
	}
	proxy.Pass()
	back := time.Now()
	for st.Ping(t.Context()) != nil {
		if time.Since(back) > 5*time.Second {
			t.Fatal("the store did not recover within 5s of the database answering again")
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("recovered %v after the database answered again", time.Since(back))
}

// TestCallerGoneIsNotAnOutage: a caller that gives up (a client that went
// away) cancels the call; that is not the database's failure.
func TestCallerGoneIsNotAnOutage(t *testing.T) {
	st, proxy := openProxied(t)
	proxy.Hang()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := st.UserByEmail(ctx, "someone@example.com")
	if took := time.Since(start); took > faultTimeout {
		t.Errorf("a cancelled call took %v; want it to end when its caller went away", took)
	}
	var le *latch.Error
	if !errors.As(err, &le) || le.Kind == latch.KindInternal || le.Code == latch.CodeDatabaseUnavailable || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %#v; want a non-internal error that is not an outage, wrapping context.Canceled", err)
	}
}

// TestEveryCallIsBounded: see storetest.CheckBounded.
func TestEveryCallIsBounded(t *testing.T) { storetest.CheckBounded(t, ".") }
