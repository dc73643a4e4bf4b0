package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/internal/testenv"
)

// TestDatabaseFaults drives the built binary on PostgreSQL through a TCP
// proxy of the test's own, and takes the database away twice: cut (every
// connection reset, new ones refused) and hung (connections held open,
// nothing answered). Clients must see 503 with Retry-After in each
// surface's shape, promptly, /readyz must fail while /healthz holds, and
// Latch must recover by itself when the database is back. The times are
// logged: they are the numbers of the closing note.
func TestDatabaseFaults(t *testing.T) {
	dsn, proxy := testenv.ProxiedPostgresURL(t)
	in := newInstance(t, dsn)
	const bound = 500 * time.Millisecond
	// Every client is 127.0.0.1 here: the per-address limit would answer
	// 429 before the database is asked.
	in.env = append(in.env, "LATCH_DATABASE_TIMEOUT="+bound.String(), "LATCH_LOGIN_LIMIT_IP=100000/1m")
	in.cli(t, "", "migrate")
	const pw = "securePassword123!"
	in.cli(t, pw+"\n", "users", "create", "--email", "ops@example.com", "--password-stdin")
	in.serve(t)
	// Runs before serve's cleanup stops the server: a pool closing on a
	// hung database waits for pgx's cancel requests.
	t.Cleanup(proxy.Pass)

	type answer struct {
		status     int
		retryAfter string
		body       string
		took       time.Duration
	}
	client := &http.Client{Timeout: 30 * time.Second}
	send := func(method, path, contentType, body string) answer {
		req, err := http.NewRequest(method, in.base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return answer{res.StatusCode, res.Header.Get("Retry-After"), string(b), time.Since(start)}
	}
	login := func() answer {
		return send("POST", "/users/login", "application/json", fmt.Sprintf(`{"email":"ops@example.com","password":%q}`, pw))
	}
	grant := func() answer {
		return send("POST", "/v1/token", "application/x-www-form-urlencoded",
			url.Values{"grant_type": {"password"}, "username": {"ops@example.com"}, "password": {pw}}.Encode())
	}
	ready := func() answer { return send("GET", "/readyz", "", "") }
	healthy := func() answer { return send("GET", "/healthz", "", "") }

	if a := login(); a.status != 200 {
		t.Fatalf("login with the database up: %d %s", a.status, a.body)
	}
	if a := ready(); a.status != 200 {
		t.Fatalf("/readyz with the database up: %d %s", a.status, a.body)
	}

	// While down: every answer 503 + Retry-After in its shape, within
	// about the bound, from 20 clients at once.
	whileDown := func(fault string, within time.Duration) {
		t.Helper()
		want := map[string]string{
			"seed 000 login": `{"message":"Service Unavailable"}` + "\n",
			"native token":   `{"error":"temporarily_unavailable","error_description":"the service is temporarily unavailable"}` + "\n",
			"/readyz":        `{"status":"unavailable"}` + "\n",
		}
		// A healthy /readyz stands for up to a second (one ping a second
		// at most, against floods): the load balancer sees the outage
		// within about that, plus the bound for a hung database.
		cut := time.Now()
		for ready().status != 503 {
			if time.Since(cut) > 2*time.Second+within {
				t.Fatalf("%s: /readyz still 200 after %v", fault, time.Since(cut))
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%s: /readyz failed after %v", fault, time.Since(cut))
		calls := map[string]func() answer{"seed 000 login": login, "native token": grant, "/readyz": ready}
		var mu sync.Mutex
		var slowest time.Duration
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for name, call := range calls {
					if i%len(calls) != 0 && name == "/readyz" {
						continue
					}
					a := call()
					mu.Lock()
					slowest = max(slowest, a.took)
					mu.Unlock()
					if a.status != 503 || a.retryAfter == "" || a.body != want[name] {
						t.Errorf("%s, %s: %d Retry-After %q %q; want 503 with Retry-After and %q", fault, name, a.status, a.retryAfter, a.body, want[name])
					}
				}
			}()
		}
		wg.Wait()
		t.Logf("%s: 20 clients saw 503 + Retry-After on every surface; slowest answer %v (bound %v)", fault, slowest, bound)
		if slowest > within {
			t.Errorf("%s: the slowest answer took %v, want at most %v", fault, slowest, within)
		}
		if a := healthy(); a.status != 200 {
			t.Errorf("%s: /healthz %d; it is a liveness check and stays 200", fault, a.status)
		}
	}
	// recovers measures how long after the database is back /readyz and a
	// login succeed again, with clients polling every 10 ms.
	recovers := func(fault string) {
		t.Helper()
		back := time.Now()
		var readyAfter time.Duration
		for {
			if readyAfter == 0 && ready().status == 200 {
				readyAfter = time.Since(back)
			}
			if readyAfter != 0 {
				if a := login(); a.status == 200 {
					t.Logf("%s: recovered by itself: /readyz 200 after %v, a login 200 after %v", fault, readyAfter, time.Since(back))
					return
				}
			}
			if time.Since(back) > 10*time.Second {
				t.Fatalf("%s: Latch did not recover within 10s of the database coming back", fault)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	proxy.Cut()
	whileDown("database cut", bound+time.Second)
	proxy.Pass()
	recovers("database cut")

	proxy.Hang()
	// A request makes at most a few store calls, each bounded; the
	// first to time out ends it.
	whileDown("database hung", 2*bound+time.Second)
	proxy.Pass()
	recovers("database hung")
}
