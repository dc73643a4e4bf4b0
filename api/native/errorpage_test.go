package native_test

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/native"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/oidc"
)

var backLink = regexp.MustCompile(`<a id="back" href="([^"]*)">([^<]*)</a>`)

// TestProviderErrorPageInPagesLayout: as api.NewHandler wires it, a
// provider flow's error page is one of the pages: their stylesheet, their
// header with the product's name, the request's reference, and a way
// back: the sign-in page of the app the flow belongs to (its parameters
// as the app sent them), or /login when no app is known or Latch's own
// sign-in page started the flow. Statuses and texts stay the flow's.
func TestProviderErrorPageInPagesLayout(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	cfg := account.DefaultConfig()
	cfg.RedirectAllowlist = []string{"https://app.example/auth", base + "/login/complete"}
	cfg.PublicURL = base
	h := testenv.NewHarnessWithConfig(t, testenv.Backends()[0].Open(t), cfg)
	gh := oidc.NewGitHub(oidc.GitHubConfig{ClientID: "c", ClientSecret: "s", RedirectURL: "http://x/cb", AuthURL: "https://github.example/authorize"})
	down := oidc.NewOIDC(oidc.OIDCConfig{Name: "down", Issuer: deadURL(t), ClientID: "c", ClientSecret: "s"})
	srv.Config.Handler = api.NewHandler(h.Accounts, api.Config{JWKS: h.Keys.JWKS, PublicURL: base, Product: "Acme ID",
		OAuth: native.OAuthConfig{Sealer: h.Keys, Providers: []oidc.Provider{gh, down}, SecureCookies: httpx.SecureCookies(base)}},
		slog.New(slog.DiscardHandler))
	srv.Start()
	t.Cleanup(srv.Close)

	sum := sha256.Sum256([]byte("verifier"))
	appSignIn := url.Values{"redirect_to": {app}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "state": {"s1"}}
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		res, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	page := func(name, u string, status int, says, back, label string) {
		t.Helper()
		res, body := get(u)
		if res.StatusCode != status || res.Header.Get("Content-Type") != "text/html; charset=utf-8" || !strings.Contains(html.UnescapeString(body), says) {
			t.Errorf("%s: %d %s, want %d saying %q:\n%s", name, res.StatusCode, res.Header.Get("Content-Type"), status, says, body)
			return
		}
		for _, want := range []string{`<link rel="stylesheet" href="/static/latch.css">`, `<p class="product" id="product">Acme ID</p>`,
			"<title>Sign-in problem · Acme ID</title>", "<h1>Sign-in problem</h1>", `role="alert"`,
			"Reference: <code>" + res.Header.Get("X-Request-Id") + "</code>"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the page lacks %s:\n%s", name, want, body)
			}
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q", name, csp)
		}
		m := backLink.FindStringSubmatch(body)
		if m == nil || html.UnescapeString(m[1]) != back || m[2] != label {
			t.Errorf("%s: way back %q, want %q (%s)", name, m, back, label)
		}
	}
	start := func(provider string, params url.Values) string {
		return srv.URL + "/v1/oauth/" + provider + "/start?" + params.Encode()
	}
	toApp := "/login?" + appSignIn.Encode()

	page("unknown provider", start("myspace", appSignIn), 404, "no sign-in provider", toApp, "Start again")
	page("provider down", start("down", appSignIn), 503, "cannot be reached", toApp, "Start again")
	page("open redirect", start("github", url.Values{"redirect_to": {"https://evil.example/steal"}, "code_challenge": appSignIn["code_challenge"]}),
		400, "redirect_to is not an allowed address", "/login", "Back to sign in")
	page("no code challenge", start("github", url.Values{"redirect_to": {app}}), 400, "code_challenge", "/login", "Back to sign in")
	page("callback without a flow", srv.URL+"/v1/oauth/github/callback?code=x&state=y", 400, "Start again", "/login", "Back to sign in")

	// A flow an app started, whose callback does not check out: back to
	// that app's sign-in.
	res, _ := get(start("github", appSignIn))
	if res.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", res.StatusCode)
	}
	page("an app's flow, state mismatch", srv.URL+"/v1/oauth/github/callback?code=x&state=forged", 400, "Start again", toApp, "Start again")

	// A flow Latch's own sign-in page started: back to /login, which
	// starts a fresh one.
	_, login := get(srv.URL + "/login")
	button := regexp.MustCompile(`id="provider-github" href="([^"]+)"`).FindStringSubmatch(login)
	if button == nil {
		t.Fatalf("no GitHub button on /login:\n%s", login)
	}
	if res, _ := get(srv.URL + html.UnescapeString(button[1])); res.StatusCode != http.StatusFound {
		t.Fatalf("start from /login: %d", res.StatusCode)
	}
	page("Latch's own flow, state mismatch", srv.URL+"/v1/oauth/github/callback?code=x&state=forged", 400, "Start again", "/login", "Back to sign in")

	// The stylesheet the page links is served.
	if res, body := get(srv.URL + "/static/latch.css"); res.StatusCode != 200 || !strings.Contains(body, ".error") {
		t.Errorf("stylesheet: %d", res.StatusCode)
	}
}
