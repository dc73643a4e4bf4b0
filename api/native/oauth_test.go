package native_test

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/oidc"
)

const app = "https://app.example/auth/callback"

func deadURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// The flow's failures before the app is known are pages with the right
// status, never a 500; after, they go back to the app as OAuth errors.
func TestOAuthFlowErrors(t *testing.T) {
	cfg := account.DefaultConfig()
	cfg.RedirectAllowlist = []string{"https://app.example/auth"}
	h := testenv.NewHarnessWithConfig(t, testenv.Backends()[0].Open(t), cfg)
	// GitHub builds its authorization URL without the network, so the
	// flow can start; "down" is an OIDC issuer nobody listens on.
	gh := oidc.NewGitHub(oidc.GitHubConfig{ClientID: "c", ClientSecret: "s", RedirectURL: "http://x/cb", AuthURL: "https://github.example/authorize"})
	down := oidc.NewOIDC(oidc.OIDCConfig{Name: "down", Issuer: deadURL(t), ClientID: "c", ClientSecret: "s"})
	srv := h.Server(t, gh, down)

	sum := sha256.Sum256([]byte("verifier"))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	startURL := func(provider, redirect string) string {
		return srv.URL + "/v1/oauth/" + provider + "/start?" + url.Values{"redirect_to": {redirect}, "code_challenge": {challenge}, "state": {"s1"}}.Encode()
	}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (*http.Response, string) {
		res, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	page := func(name, u string, status int, says string) {
		t.Helper()
		res, body := get(u)
		if res.StatusCode != status || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, says) {
			t.Errorf("%s: %d %s %q", name, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	}
	page("unknown provider", startURL("myspace", app), 404, "no sign-in provider")
	page("open redirect", startURL("github", "https://evil.example/steal"), 400, "redirect_to is not an allowed address")
	page("provider down", startURL("down", app), 503, "cannot be reached")
	page("callback without a flow", srv.URL+"/v1/oauth/github/callback?code=x&state=y", 400, "Start again")

	res, _ := get(startURL("github", app))
	if res.StatusCode != 302 || !strings.HasPrefix(res.Header.Get("Location"), "https://github.example/authorize") {
		t.Fatalf("start: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "latch_oauth" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || strings.Contains(cookie.Value, "verifier") {
		t.Fatalf("flow cookie %+v", cookie)
	}
	state, _ := url.Parse(res.Header.Get("Location"))
	page("state mismatch", srv.URL+"/v1/oauth/github/callback?code=x&state=forged", 400, "Start again")

	// The mismatch spent the flow: the right state no longer works either.
	page("after a mismatch", srv.URL+"/v1/oauth/github/callback?code=x&state="+url.QueryEscape(state.Query().Get("state")), 400, "Start again")

	// A refusal at the provider goes back to the app.
	res, _ = get(startURL("github", app))
	state, _ = url.Parse(res.Header.Get("Location"))
	res, _ = get(srv.URL + "/v1/oauth/github/callback?error=access_denied&state=" + url.QueryEscape(state.Query().Get("state")))
	back, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != 302 || !strings.HasPrefix(back.String(), app) || back.Query().Get("error") != "access_denied" || back.Query().Get("state") != "s1" {
		t.Fatalf("provider refusal: %d %s", res.StatusCode, back)
	}
}
