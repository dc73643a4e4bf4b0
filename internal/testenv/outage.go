package testenv

import (
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/store/postgres"
	"github.com/latchid/latch/store/sqlite"
)

// OutageTimeout is the store bound of an Outage: short, so that a test
// waiting for it costs little.
const OutageTimeout = 300 * time.Millisecond

// Outage is a harness, served over HTTP, whose database a test can take
// away and give back, for the answers of every surface during an outage.
type Outage struct {
	*Harness
	Server *httptest.Server
	// Backend names the store ("sqlite" or "postgres").
	Backend string
	// Down takes the database away. On PostgreSQL a proxy of the test's
	// own cuts every connection and refuses new ones. On SQLite another
	// connection holds the write lock, as another process would: reads
	// go on (WAL), and every write waits until the store's bound ends it.
	Down func()
	// Up gives the database back.
	Up func()
}

// ForEachOutage runs f, in parallel subtests, against an Outage on every
// store backend. The database is up when f starts.
func ForEachOutage(t *testing.T, f func(t *testing.T, o *Outage)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := SQLitePath(t)
		st, err := sqlite.Open(t.Context(), path, sqlite.WithTimeout(OutageTimeout))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		o := &Outage{Harness: NewHarnessWithConfig(t, st, account.DefaultConfig()), Backend: "sqlite"}
		o.Server = o.Harness.Server(t)
		var lock *sql.DB
		o.Down = func() {
			if lock != nil {
				return
			}
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			db.SetMaxOpenConns(1) // BEGIN and ROLLBACK on the same connection
			if _, err := db.Exec(`BEGIN IMMEDIATE`); err != nil {
				db.Close()
				t.Fatal(err)
			}
			lock = db
		}
		o.Up = func() {
			if lock == nil {
				return
			}
			_, _ = lock.Exec(`ROLLBACK`)
			_ = lock.Close()
			lock = nil
		}
		t.Cleanup(o.Up)
		f(t, o)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		url, proxy := ProxiedPostgresURL(t)
		st, err := postgres.Open(t.Context(), url, postgres.WithTimeout(OutageTimeout))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		t.Cleanup(proxy.Pass) // before Close: see Proxy.Pass
		if err := st.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		o := &Outage{Harness: NewHarnessWithConfig(t, st, account.DefaultConfig()), Backend: "postgres", Down: proxy.Cut, Up: proxy.Pass}
		o.Server = o.Harness.Server(t)
		f(t, o)
	})
}

// Response is an HTTP answer as a test sees it.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Took is how long the answer took to come.
	Took time.Duration
}

// Do sends a request to the Outage's server, and does not follow a
// redirect.
func (o *Outage) Do(t testing.TB, method, path string, header map[string]string, body string) Response {
	t.Helper()
	req, err := http.NewRequest(method, o.Server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// Redirects are answers too: not followed.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Header: res.Header, Body: b, Took: time.Since(start)}
}

// WantUnavailable checks an answer given while the database was down: 503
// with a Retry-After of whole seconds, the content type and exact body of
// the surface (the request id, which changes, written REQUEST_ID in want),
// and no longer than a few store bounds.
func WantUnavailable(t testing.TB, what string, res Response, contentType, want string) {
	t.Helper()
	got := string(res.Body)
	if id := res.Header.Get("X-Request-Id"); id != "" {
		got = strings.ReplaceAll(got, id, "REQUEST_ID")
	}
	if res.Status != http.StatusServiceUnavailable || res.Header.Get("Content-Type") != contentType || got != want {
		t.Errorf("%s while the database is down:\n got %d %s %q\nwant 503 %s %q", what, res.Status, res.Header.Get("Content-Type"), got, contentType, want)
	}
	if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("%s while the database is down: Retry-After %q, want whole seconds", what, res.Header.Get("Retry-After"))
	}
	if res.Took > 4*OutageTimeout+time.Second {
		t.Errorf("%s while the database is down took %v; want about the store's bound (%v)", what, res.Took, OutageTimeout)
	}
}
