package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/latchid/latch/internal/testenv"
)

// TestDatabaseUnavailable: while the database is down, the sign-in page
// answers 503 with Retry-After, as an HTML page saying to try again (not
// "too many attempts", not a 500), and signs in once it is back.
func TestDatabaseUnavailable(t *testing.T) {
	const pw = "correct horse battery staple"
	testenv.ForEachOutage(t, func(t *testing.T, o *testenv.Outage) {
		o.PasswordUser(t, "down@example.com", pw, "", false)
		headers := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": o.Server.URL}
		form := url.Values{"email": {"down@example.com"}, "password": {pw}}.Encode()

		o.Down()
		res := o.Do(t, "POST", "/login", headers, form)
		if res.Status != 503 || res.Header.Get("Retry-After") == "" || res.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.Contains(string(res.Body), "Latch cannot do this right now. Nothing was changed: try again in a minute.") ||
			!strings.Contains(string(res.Body), `value="down@example.com"`) {
			t.Errorf("sign-in while the database is down: %d %v\n%s", res.Status, res.Header, res.Body)
		}

		o.Up()
		if res := o.Do(t, "POST", "/login", headers, form); res.Status != 303 {
			t.Errorf("sign-in once the database is back: %d %s", res.Status, res.Body)
		}
	})
}

// TestSignUpWhileDatabaseUnavailable: while the database is down, the
// sign-up form answers 503 with Retry-After and says to try again, with
// what was typed kept; once it is back, the same form is recorded.
func TestSignUpWhileDatabaseUnavailable(t *testing.T) {
	testenv.ForEachOutage(t, func(t *testing.T, o *testenv.Outage) {
		headers := map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": o.Server.URL}
		form := url.Values{"email": {"later@example.com"}, "first_name": {"Grace"}}.Encode()

		o.Down()
		res := o.Do(t, "POST", "/signup", headers, form)
		if res.Status != 503 || res.Header.Get("Retry-After") == "" || res.Header.Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.Contains(string(res.Body), "Latch cannot do this right now. Nothing was changed: try again in a minute.") ||
			!strings.Contains(string(res.Body), `value="later@example.com"`) || !strings.Contains(string(res.Body), `value="Grace"`) {
			t.Errorf("sign-up while the database is down: %d %v\n%s", res.Status, res.Header, res.Body)
		}

		o.Up()
		if res := o.Do(t, "POST", "/signup", headers, form); res.Status != 200 || !strings.Contains(string(res.Body), "Check your email") {
			t.Errorf("sign-up once the database is back: %d %s", res.Status, res.Body)
		}
	})
}
