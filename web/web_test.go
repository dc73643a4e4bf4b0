package web_test

import (
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
		{"a provider of another tenant", url.Values{"error": {"access_denied"}, "error_code": {"provider_wrong_tenant"}, "error_description": {injected}}, 403, "cannot sign in to this account"},
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

// pagesServer serves every surface with LATCH_PUBLIC_URL set to its own
// loopback address, as `latch serve` does.
func pagesServer(t *testing.T) (*testenv.Harness, *httptest.Server) {
	t.Helper()
	h := testenv.NewHarness(t, testenv.Backends()[0].Open(t))
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	srv.Config.Handler = api.NewHandler(h.Accounts, api.Config{JWKS: h.Keys.JWKS, PublicURL: base,
		OAuth: native.OAuthConfig{Sealer: h.Keys, SecureCookies: httpx.SecureCookies(base)}}, slog.New(slog.DiscardHandler))
	srv.Start()
	t.Cleanup(srv.Close)
	return h, srv
}

// TestPagesRefuseCrossOriginPosts: every state-changing page refuses a
// POST a browser marks as coming from another site, or from an opaque
// ("null") origin such as a sandboxed frame or a cross-site redirect,
// even when the form carries whatever a CSRF token the attacker could
// plant; a same-origin POST and a client that sends neither header (no
// JavaScript, no fetch metadata) go through.
func TestPagesRefuseCrossOriginPosts(t *testing.T) {
	_, srv := pagesServer(t)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Whatever token and cookie the page hands out are sent along: the
	// refusal must not depend on the attacker lacking them.
	res, err := client.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// Under "no-referrer" a browser's same-origin form POST carries
	// "Origin: null" and would be refused (TestBrowserJourney sees it);
	// under "same-origin" the page's URL, a link's token with it, would
	// be the Referer of its own requests (and in a proxy's log).
	if rp := res.Header.Get("Referrer-Policy"); rp != "strict-origin" {
		t.Errorf("Referrer-Policy %q", rp)
	}
	token := ""
	if m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page); m != nil {
		token = string(m[1])
	}
	post := func(path string, headers map[string]string) (int, string) {
		t.Helper()
		form := url.Values{"csrf": {token}, "email": {"nobody@example.com"}, "password": {"not the password"}, "token": {"x"}}
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	routes := []string{"/login", "/account/password", "/logout", "/set-password", "/verify", "/recover", "/signup", "/oauth2/consent", "/account/apps/revoke",
		// Second factors, and the passkey ceremonies' options (JSON).
		"/login/factor", "/login/enrol", "/login/enrol/confirm", "/login/enrol/passkey", "/login/enrol/passkey/options", "/login/passkey", "/account/totp", "/account/totp/confirm", "/account/passkeys",
		"/account/factors/remove", "/account/recovery-codes", "/account/step-up",
		"/login/passkey/options", "/login/factor/passkey/options", "/account/passkeys/options", "/account/step-up/passkey/options"}
	for _, hostile := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		{"Sec-Fetch-Site": "same-site", "Origin": "https://sub." + srv.Listener.Addr().String()},
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"}, // a browser without fetch metadata
		{"Origin": "null"},
		{"Sec-Fetch-Site": "cross-site", "Origin": "null"},
		{"Sec-Fetch-Site": "same-origin", "Origin": "null"},
	} {
		for _, path := range routes {
			status, body := post(path, hostile)
			if status != http.StatusForbidden || !strings.Contains(body, "sent from another site") {
				t.Errorf("POST %s with %v: %d %s", path, hostile, status, body)
			}
		}
	}
	// The same forms from Latch's own page work, with or without the
	// headers browsers add.
	for _, friendly := range []map[string]string{
		{"Sec-Fetch-Site": "same-origin", "Origin": srv.URL},
		{"Origin": srv.URL},
		{},
	} {
		if status, body := post("/login", friendly); status != http.StatusUnauthorized || !strings.Contains(body, "do not match") {
			t.Errorf("POST /login with %v: %d %s", friendly, status, body)
		}
		if status, _ := post("/logout", friendly); status != http.StatusSeeOther {
			t.Errorf("POST /logout with %v: %d", friendly, status)
		}
	}
}

// TestPagesCookiesAreHostPrefixed: Latch's browser cookies are __Host-
// (Secure, Path=/, no Domain), so a sibling subdomain or a plain-http
// page cannot plant or overwrite them. On a loopback LATCH_PUBLIC_URL
// browsers treat http as a secure context, so the rule holds there too.
func TestPagesCookiesAreHostPrefixed(t *testing.T) {
	h, srv := pagesServer(t)
	u, pair := h.OAuthUser(t, "cookies@example.com")
	pr, err := h.Accounts.Authenticate(t.Context(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	pw := "a password for the cookie test"
	if err := h.Accounts.SetOwnPassword(t.Context(), pr, account.SetOwnPasswordInput{Password: pw, Confirmation: &pw}); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var cookies []*http.Cookie
	res, err := client.Get(srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cookies = append(cookies, res.Cookies()...)
	res, err = client.PostForm(srv.URL+"/login", url.Values{"email": {u.Email}, "password": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/account" {
		t.Fatalf("sign-in: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	cookies = append(cookies, res.Cookies()...)
	names := map[string]bool{}
	for _, c := range cookies {
		names[c.Name] = true
		if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || c.Path != "/" || c.Domain != "" || !c.HttpOnly || c.SameSite == http.SameSiteNoneMode {
			t.Errorf("cookie %s: %+v", c.Name, c)
		}
	}
	if !names["__Host-latch_login"] || !names["__Host-latch_web"] {
		t.Errorf("cookies set: %v", names)
	}
}
