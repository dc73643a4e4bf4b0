package native_test

import (
	"net/url"
	"testing"
	"time"

	"github.com/latchid/latch/internal/testenv"
)

// TestDatabaseUnavailable: while the database is down, the native API
// answers 503 with Retry-After (problem+json; the token endpoint in RFC
// 6749's shape), /readyz fails where the database cannot be reached,
// /healthz stays 200 (liveness), and all recover once it is back.
func TestDatabaseUnavailable(t *testing.T) {
	const (
		problem = `{"type":"urn:latch:problem:database_unavailable","title":"Service Unavailable","status":503,"detail":"the service is temporarily unavailable","code":"database_unavailable"}` + "\n"
		oauth   = `{"error":"temporarily_unavailable","error_description":"the service is temporarily unavailable"}` + "\n"
		pw      = "correct horse battery staple"
	)
	testenv.ForEachOutage(t, func(t *testing.T, o *testenv.Outage) {
		_, pair := o.OAuthUser(t, "oauth@example.com")
		o.PasswordUser(t, "down@example.com", pw, "", false)
		form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		grant := url.Values{"grant_type": {"password"}, "username": {"down@example.com"}, "password": {pw}}.Encode()
		setOwn := map[string]string{"Authorization": "Bearer " + pair.AccessToken, "Content-Type": "application/json"}
		const setBody = `{"password":"` + pw + `","password_confirmation":"` + pw + `"}`
		if res := o.Do(t, "GET", "/readyz", nil, ""); res.Status != 200 {
			t.Fatalf("/readyz with the database up: %d %s", res.Status, res.Body)
		}

		o.Down()
		testenv.WantUnavailable(t, "password grant", o.Do(t, "POST", "/v1/token", form, grant), "application/json", oauth)
		testenv.WantUnavailable(t, "set own password", o.Do(t, "PUT", "/v1/me/password", setOwn, setBody), "application/problem+json", problem)
		if res := o.Do(t, "GET", "/healthz", nil, ""); res.Status != 200 {
			t.Errorf("/healthz while the database is down: %d (it is a liveness check)", res.Status)
		}
		ready := o.Do(t, "GET", "/readyz", nil, "")
		// A healthy answer stands for up to a second (one ping a second
		// at most, against floods of this public endpoint).
		for deadline := time.Now().Add(2 * time.Second); o.Backend == "postgres" && ready.Status == 200 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
			ready = o.Do(t, "GET", "/readyz", nil, "")
		}
		switch o.Backend {
		case "postgres":
			testenv.WantUnavailable(t, "/readyz", ready, "application/json", `{"status":"unavailable"}`+"\n")
		case "sqlite":
			// Another process's write lock leaves reads working: the
			// replica is up, its writes wait (and end in 503).
			if ready.Status != 200 {
				t.Errorf("/readyz beside a write lock: %d %s", ready.Status, ready.Body)
			}
		}

		o.Up()
		for path, status := range map[string]int{"/readyz": 200} {
			if res := o.Do(t, "GET", path, nil, ""); res.Status != status {
				t.Errorf("%s once the database is back: %d %s", path, res.Status, res.Body)
			}
		}
		if res := o.Do(t, "POST", "/v1/token", form, grant); res.Status != 200 {
			t.Errorf("password grant once the database is back: %d %s", res.Status, res.Body)
		}
	})
}
