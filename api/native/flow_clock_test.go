package native_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/token"
)

// TestProviderFlowExpiresOnTheServiceClock: with the real use cases, a
// provider sign-in that comes back within 10 minutes of its start on the
// service's (injected) clock is still live (here: the provider's refusal
// goes back to the app), and one that comes back a second later is the
// "expired" page. No wall-clock time passes.
func TestProviderFlowExpiresOnTheServiceClock(t *testing.T) {
	const app = "https://app.example/cb"
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			cfg := account.DefaultConfig()
			cfg.RedirectAllowlist = []string{app}
			h := testenv.NewHarnessWithConfig(t, b.Open(t), cfg)
			srv := h.Server(t, fakeProvider{name: "acme"})
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for _, c := range []struct {
				after time.Duration
				live  bool
			}{{10 * time.Minute, true}, {10*time.Minute + time.Second, false}} {
				start := url.Values{"redirect_to": {app}, "code_challenge": {token.S256("verifier")}}
				res, err := client.Get(srv.URL + "/v1/oauth/acme/start?" + start.Encode())
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				cookies := res.Cookies()
				atProvider, _ := url.Parse(res.Header.Get("Location"))
				if res.StatusCode != 302 || len(cookies) != 1 {
					t.Fatalf("start: %d %v", res.StatusCode, cookies)
				}
				h.Clock.Advance(c.after)
				req, _ := http.NewRequest("GET", srv.URL+"/v1/oauth/acme/callback?"+url.Values{"error": {"access_denied"}, "state": {atProvider.Query().Get("state")}}.Encode(), nil)
				req.AddCookie(cookies[0])
				res, err = client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				backToApp := res.StatusCode == 302 && strings.HasPrefix(res.Header.Get("Location"), app+"?")
				if c.live && !backToApp {
					t.Errorf("%v after its start: %d %s, want the flow still live", c.after, res.StatusCode, res.Header.Get("Location"))
				}
				if !c.live && res.StatusCode != 400 {
					t.Errorf("%v after its start: %d %s, want the expired page", c.after, res.StatusCode, res.Header.Get("Location"))
				}
			}
		})
	}
}
