package native_test

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api"
	"github.com/latchid/latch/api/native"
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
	if _, body := get(startURL("Call-555-0100", app)); strings.Contains(body, "555-0100") {
		t.Errorf("the error page repeats the path: %s", body)
	}
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

// TestAuthorizationCodeGrantNeedsRedirectURI: RFC 6749 §4.1.3: the
// redirect_uri the code was sent to is required at redemption and must
// be the same string, so a code that leaked from another address is
// worthless. A missing one is invalid_request and spends nothing.
func TestAuthorizationCodeGrantNeedsRedirectURI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx fixture) {
		u, _ := fx.h.OAuthUser(t, "code-grant@example.com")
		const verifier = "the-app-s-pkce-verifier-0123456789-abcdefghijklmnop"
		sum := sha256.Sum256([]byte(verifier))
		code, err := fx.h.Accounts.IssueAuthorizationCode(t.Context(), u, base64.RawURLEncoding.EncodeToString(sum[:]), app, "")
		if err != nil {
			t.Fatal(err)
		}
		redeem := func(params url.Values) (int, map[string]any) {
			params.Set("grant_type", "authorization_code")
			params.Set("code", code)
			params.Set("code_verifier", verifier)
			status, _, body := fx.post(t, "/v1/token", form, params.Encode(), "")
			return status, body
		}
		if status, body := redeem(url.Values{}); status != 400 || body["error"] != "invalid_request" || !strings.Contains(body["error_description"].(string), "redirect_uri") {
			t.Fatalf("without redirect_uri: %d %v", status, body)
		}
		if status, body := redeem(url.Values{"redirect_uri": {""}}); status != 400 || body["error"] != "invalid_request" {
			t.Fatalf("empty redirect_uri: %d %v", status, body)
		}
		// The refusals above spent nothing: the code still works.
		if status, body := redeem(url.Values{"redirect_uri": {app}}); status != 200 || body["access_token"] == nil {
			t.Fatalf("with its redirect_uri: %d %v", status, body)
		}
		for _, other := range []string{app + "/", "https://app.example/auth/callback/../callback", "https://APP.example/auth/callback", "https://app.example/auth/other"} {
			code, err = fx.h.Accounts.IssueAuthorizationCode(t.Context(), u, base64.RawURLEncoding.EncodeToString(sum[:]), app, "")
			if err != nil {
				t.Fatal(err)
			}
			if status, body := redeem(url.Values{"redirect_uri": {other}}); status != 400 || body["error"] != "invalid_grant" {
				t.Errorf("redirect_uri %q: %d %v", other, status, body)
			}
		}
	})
}

// TestOAuthFlowCookieIsHostPrefixed: with Secure cookies possible, the
// flow cookie is __Host- (Secure, Path=/, no Domain), so a sibling
// subdomain cannot plant a flow of its choosing, and the callback reads it.
func TestOAuthFlowCookieIsHostPrefixed(t *testing.T) {
	cfg := account.DefaultConfig()
	cfg.RedirectAllowlist = []string{"https://app.example/auth"}
	h := testenv.NewHarnessWithConfig(t, testenv.Backends()[0].Open(t), cfg)
	gh := oidc.NewGitHub(oidc.GitHubConfig{ClientID: "c", ClientSecret: "s", RedirectURL: "http://x/cb", AuthURL: "https://github.example/authorize"})
	srv := httptest.NewServer(api.NewHandler(h.Accounts, api.Config{JWKS: h.Keys.JWKS,
		OAuth: native.OAuthConfig{Sealer: h.Keys, Providers: []oidc.Provider{gh}, SecureCookies: true}}, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	sum := sha256.Sum256([]byte("verifier"))
	start := srv.URL + "/v1/oauth/github/start?" + url.Values{"redirect_to": {app}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}}.Encode()
	jar, _ := cookiejar.New(nil) // treats a loopback host as a secure context, as browsers do
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var flow *http.Cookie
	for _, c := range res.Cookies() {
		flow = c
	}
	if res.StatusCode != 302 || flow == nil || flow.Name != "__Host-latch_oauth" || !flow.Secure || flow.Path != "/" || flow.Domain != "" || !flow.HttpOnly {
		t.Fatalf("start: %d, cookie %+v", res.StatusCode, flow)
	}
	// The callback finds the flow under that name: a provider refusal
	// goes back to the app rather than to the "expired" page.
	loc, _ := url.Parse(res.Header.Get("Location"))
	res, err = client.Get(srv.URL + "/v1/oauth/github/callback?error=access_denied&state=" + url.QueryEscape(loc.Query().Get("state")))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if back := res.Header.Get("Location"); res.StatusCode != 302 || !strings.HasPrefix(back, app+"?") {
		t.Fatalf("callback: %d %s", res.StatusCode, back)
	}
}
