package web_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchid/latch/internal/testenv"
)

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body)
}

// TestLoginCompleteShowsOnlyKnownMessages: /login/complete is on Latch's
// origin, so whatever it shows reads as Latch speaking. It shows a text
// of its own for each error code Latch sends, a generic one for any
// other, and never the query's words.
func TestLoginCompleteShowsOnlyKnownMessages(t *testing.T) {
	h := testenv.NewHarness(t, testenv.Backends()[0].Open(t))
	srv := h.Server(t)
	const injected = "Your account is locked. Call +1-555-0100 now"
	for _, c := range []struct {
		name   string
		query  url.Values
		status int
		says   string
	}{
		{"refused at the provider", url.Values{"error": {"access_denied"}, "error_description": {injected}}, 403, "cancelled or refused"},
		{"a Latch refusal", url.Values{"error": {"access_denied"}, "error_code": {"account_inactive"}, "error_description": {injected}}, 403, "deactivated"},
		{"an unknown error", url.Values{"error": {injected}, "error_code": {injected}, "error_description": {injected}}, 403, "did not complete"},
		{"markup", url.Values{"error": {"<b>x</b>"}, "error_description": {"<script>alert(1)</script>" + injected}}, 403, "did not complete"},
	} {
		status, body := get(t, srv.URL+"/login/complete?"+c.query.Encode())
		if status != c.status || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s", c.name, status, body)
		}
		for _, words := range []string{"555-0100", "locked", "alert(1)", "&lt;b&gt;"} {
			if strings.Contains(body, words) {
				t.Errorf("%s: the page shows %q from the query", c.name, words)
			}
		}
	}
}
