package account_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// authorizeNow is the fixed arrival time of every request here.
var authorizeNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// authorizeChallenge is RFC 7636 appendix B's S256 challenge.
const authorizeChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGjSuyjE2o"

const authorizeIssuer = "https://id.example/latch"

func authorizeApp() latch.App {
	return latch.App{
		ID:       "app-1",
		TenantID: "tenant-a",
		Name:     "Shop",
		Type:     latch.AppPublic,
		RedirectURIs: []string{
			"https://shop.example/cb",
			"https://shop.example/return?from=latch",
			"http://127.0.0.1:8080/cb",
		},
		Scopes: []string{"openid", "profile", "email"},
	}
}

// goodAuthorizeParams is a request that passes every check; each test
// changes one thing.
func goodAuthorizeParams() url.Values {
	return url.Values{
		"client_id":             {"app-1"},
		"redirect_uri":          {"https://shop.example/cb"},
		"response_type":         {"code"},
		"scope":                 {"openid email"},
		"state":                 {"st-1"},
		"nonce":                 {"n-1"},
		"code_challenge":        {authorizeChallenge},
		"code_challenge_method": {"S256"},
	}
}

// pkceOptionalApp is authorizeApp made confidential and given the one
// PKCE exception (latch.App.PKCEOptional).
func pkceOptionalApp() latch.App {
	a := authorizeApp()
	a.Type, a.SecretHash, a.PKCEOptional = latch.AppConfidential, []byte("secret-hash"), true
	return a
}

func with(params url.Values, change func(url.Values)) url.Values {
	changed := url.Values{}
	for k, v := range params {
		changed[k] = slices.Clone(v)
	}
	change(changed)
	return changed
}

func TestParseAuthorizeRequestAccepts(t *testing.T) {
	params := with(goodAuthorizeParams(), func(p url.Values) {
		p.Set("prompt", "login consent")
		p.Set("max_age", "300")
		p.Set("login_hint", "ana@example.com")
		p.Set("acr_values", "urn:latchid:acr:pwd")
		p.Set("response_mode", "query")
		p.Set("display", "page")     // accepted and ignored (Core §15.1)
		p.Set("ui_locales", "pt-BR") // idem
	})
	req, aerr := account.ParseAuthorizeRequest(params, authorizeApp(), authorizeNow)
	if aerr != nil {
		t.Fatalf("refused: %v", aerr)
	}
	maxAge := 300 * time.Second
	want := account.AuthorizeRequest{
		AppID: "app-1", RedirectURI: "https://shop.example/cb", RedirectURIGiven: true,
		Scopes: []string{"openid", "email"}, State: "st-1", Nonce: "n-1", CodeChallenge: authorizeChallenge,
		Prompt: []string{"login", "consent"}, MaxAge: &maxAge, LoginHint: "ana@example.com",
		ACRValues: "urn:latchid:acr:pwd", ResponseMode: "query", IssuedAt: authorizeNow,
	}
	if req.MaxAge == nil || *req.MaxAge != *want.MaxAge {
		t.Fatalf("max_age: %v", req.MaxAge)
	}
	req.MaxAge, want.MaxAge = nil, nil
	if !equalAuthorizeRequests(req, want) {
		t.Fatalf("got  %+v\nwant %+v", req, want)
	}
}

func equalAuthorizeRequests(a, b account.AuthorizeRequest) bool {
	return a.AppID == b.AppID && a.RedirectURI == b.RedirectURI && a.RedirectURIGiven == b.RedirectURIGiven &&
		slices.Equal(a.Scopes, b.Scopes) && a.State == b.State && a.Nonce == b.Nonce &&
		a.CodeChallenge == b.CodeChallenge && slices.Equal(a.Prompt, b.Prompt) &&
		a.LoginHint == b.LoginHint && a.ACRValues == b.ACRValues && a.ResponseMode == b.ResponseMode &&
		a.IssuedAt.Equal(b.IssuedAt) && (a.MaxAge == nil) == (b.MaxAge == nil)
}

// TestParseAuthorizeRequestNoRedirect: until the client and the redirect
// URI are known good, an error must not go to the redirect URI (RFC 6749
// §4.1.2.1): it would make Latch an open redirector.
func TestParseAuthorizeRequestNoRedirect(t *testing.T) {
	revoked := authorizeApp()
	revokedAt := authorizeNow.Add(-time.Hour)
	revoked.RevokedAt = &revokedAt
	for _, c := range []struct {
		name   string
		app    latch.App
		change func(url.Values)
		code   string
	}{
		{"unknown app", latch.App{}, func(url.Values) {}, "invalid_client"},
		{"revoked app", revoked, func(url.Values) {}, "invalid_client"},
		{"client_id of another app", authorizeApp(), func(p url.Values) { p.Set("client_id", "app-2") }, "invalid_client"},
		{"client_id case", authorizeApp(), func(p url.Values) { p.Set("client_id", "APP-1") }, "invalid_client"},
		{"no client_id", authorizeApp(), func(p url.Values) { p.Del("client_id") }, "invalid_request"},
		{"empty client_id", authorizeApp(), func(p url.Values) { p.Set("client_id", "") }, "invalid_request"},
		{"client_id twice", authorizeApp(), func(p url.Values) { p.Add("client_id", "app-1") }, "invalid_request"},
		{"redirect_uri twice", authorizeApp(), func(p url.Values) { p.Add("redirect_uri", "https://shop.example/cb") }, "invalid_request"},
		{"redirect_uri missing, several registered", authorizeApp(), func(p url.Values) { p.Del("redirect_uri") }, "invalid_request"},
		{"redirect_uri empty, several registered", authorizeApp(), func(p url.Values) { p.Set("redirect_uri", "") }, "invalid_request"},
		// Redirect mismatches: byte for byte, nothing normalised.
		{"trailing slash", authorizeApp(), setRedirect("https://shop.example/cb/"), "invalid_request"},
		{"no path", authorizeApp(), setRedirect("https://shop.example"), "invalid_request"},
		{"prefix", authorizeApp(), setRedirect("https://shop.example/c"), "invalid_request"},
		{"longer path", authorizeApp(), setRedirect("https://shop.example/cb/evil"), "invalid_request"},
		{"host case", authorizeApp(), setRedirect("https://SHOP.example/cb"), "invalid_request"},
		{"path case", authorizeApp(), setRedirect("https://shop.example/CB"), "invalid_request"},
		{"scheme case", authorizeApp(), setRedirect("HTTPS://shop.example/cb"), "invalid_request"},
		{"http instead of https", authorizeApp(), setRedirect("http://shop.example/cb"), "invalid_request"},
		{"default port spelled", authorizeApp(), setRedirect("https://shop.example:443/cb"), "invalid_request"},
		{"other port", authorizeApp(), setRedirect("http://127.0.0.1:8081/cb"), "invalid_request"},
		{"loopback port left out", authorizeApp(), setRedirect("http://127.0.0.1/cb"), "invalid_request"},
		{"localhost for 127.0.0.1", authorizeApp(), setRedirect("http://localhost:8080/cb"), "invalid_request"},
		{"extra query", authorizeApp(), setRedirect("https://shop.example/cb?x=1"), "invalid_request"},
		{"empty query", authorizeApp(), setRedirect("https://shop.example/cb?"), "invalid_request"},
		{"registered query reordered", authorizeApp(), setRedirect("https://shop.example/return?from=latch&a=b"), "invalid_request"},
		{"registered query left out", authorizeApp(), setRedirect("https://shop.example/return"), "invalid_request"},
		{"fragment", authorizeApp(), setRedirect("https://shop.example/cb#x"), "invalid_request"},
		{"empty fragment", authorizeApp(), setRedirect("https://shop.example/cb#"), "invalid_request"},
		{"percent-encoded path", authorizeApp(), setRedirect("https://shop.example/%63b"), "invalid_request"},
		{"percent-encoded query", authorizeApp(), setRedirect("https://shop.example/return?from=%6Catch"), "invalid_request"},
		{"dot segment", authorizeApp(), setRedirect("https://shop.example/x/../cb"), "invalid_request"},
		{"user info", authorizeApp(), setRedirect("https://shop.example@evil.example/cb"), "invalid_request"},
		{"other host", authorizeApp(), setRedirect("https://shop.example.evil.example/cb"), "invalid_request"},
		{"relative", authorizeApp(), setRedirect("/cb"), "invalid_request"},
		// These would be errors after the checks below; the bad client
		// wins and nothing redirects.
		{"unknown app with bad response_type", latch.App{}, func(p url.Values) { p.Set("response_type", "token") }, "invalid_client"},
		{"bad redirect with request object", authorizeApp(), func(p url.Values) {
			p.Set("redirect_uri", "https://evil.example/cb")
			p.Set("request", "eyJ...")
		}, "invalid_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, aerr := account.ParseAuthorizeRequest(with(goodAuthorizeParams(), c.change), c.app, authorizeNow)
			if aerr == nil {
				t.Fatal("accepted")
			}
			if aerr.Code != c.code || aerr.Redirect {
				t.Fatalf("got %s (redirect %v), want %s without redirect", aerr.Code, aerr.Redirect, c.code)
			}
			if u, ok := aerr.RedirectURL(authorizeIssuer); ok || u != "" {
				t.Fatalf("redirects to %q", u)
			}
		})
	}
}

func setRedirect(uri string) func(url.Values) {
	return func(p url.Values) { p.Set("redirect_uri", uri) }
}

// TestParseAuthorizeRequestRedirectURI: an exactly registered URI (with
// its own query) is used as is; one registered URI may be left out.
func TestParseAuthorizeRequestRedirectURI(t *testing.T) {
	req, aerr := account.ParseAuthorizeRequest(with(goodAuthorizeParams(), setRedirect("https://shop.example/return?from=latch")), authorizeApp(), authorizeNow)
	if aerr != nil || req.RedirectURI != "https://shop.example/return?from=latch" || !req.RedirectURIGiven {
		t.Fatalf("registered query: %+v %v", req, aerr)
	}
	single := authorizeApp()
	single.RedirectURIs = []string{"https://shop.example/only"}
	req, aerr = account.ParseAuthorizeRequest(with(goodAuthorizeParams(), func(p url.Values) { p.Del("redirect_uri") }), single, authorizeNow)
	if aerr != nil || req.RedirectURI != "https://shop.example/only" || req.RedirectURIGiven {
		t.Fatalf("left out with one registered: %+v %v", req, aerr)
	}
	// A registration with a fragment (which registration should refuse)
	// is not used either.
	broken := authorizeApp()
	broken.RedirectURIs = []string{"https://shop.example/cb#frag"}
	_, aerr = account.ParseAuthorizeRequest(with(goodAuthorizeParams(), setRedirect("https://shop.example/cb#frag")), broken, authorizeNow)
	if aerr == nil || aerr.Redirect {
		t.Fatalf("fragment registration: %v", aerr)
	}
}

// TestParseAuthorizeRequestErrorRedirects: once client and redirect URI
// are good, every error goes back to the app with state.
func TestParseAuthorizeRequestErrorRedirects(t *testing.T) {
	long := strings.Repeat("a", account.MaxAuthorizeParamLen+1)
	for _, c := range []struct {
		name   string
		change func(url.Values)
		code   string
		state  string // the state echoed; "st-1" unless state is the problem
	}{
		{"response_type missing", func(p url.Values) { p.Del("response_type") }, "invalid_request", "st-1"},
		{"response_type token", func(p url.Values) { p.Set("response_type", "token") }, "unsupported_response_type", "st-1"},
		{"response_type hybrid", func(p url.Values) { p.Set("response_type", "code id_token") }, "unsupported_response_type", "st-1"},
		{"response_type case", func(p url.Values) { p.Set("response_type", "Code") }, "unsupported_response_type", "st-1"},
		{"response_type twice", func(p url.Values) { p.Add("response_type", "code") }, "invalid_request", "st-1"},
		{"response_mode fragment", func(p url.Values) { p.Set("response_mode", "fragment") }, "invalid_request", "st-1"},
		{"response_mode form_post", func(p url.Values) { p.Set("response_mode", "form_post") }, "invalid_request", "st-1"},
		{"scope twice", func(p url.Values) { p.Add("scope", "openid") }, "invalid_request", "st-1"},
		{"nonce twice", func(p url.Values) { p.Add("nonce", "n-2") }, "invalid_request", "st-1"},
		{"code_challenge twice", func(p url.Values) { p.Add("code_challenge", authorizeChallenge) }, "invalid_request", "st-1"},
		{"prompt twice", func(p url.Values) { p["prompt"] = []string{"login", "consent"} }, "invalid_request", "st-1"},
		{"an unknown parameter twice", func(p url.Values) { p["x-\"odd"] = []string{"1", "2"} }, "invalid_request", "st-1"},
		{"state twice", func(p url.Values) { p.Add("state", "st-2") }, "invalid_request", ""},
		{"state over 1 KiB", func(p url.Values) { p.Set("state", long) }, "invalid_request", ""},
		{"nonce over 1 KiB", func(p url.Values) { p.Set("nonce", long) }, "invalid_request", "st-1"},
		{"login_hint over 1 KiB", func(p url.Values) { p.Set("login_hint", long) }, "invalid_request", "st-1"},
		{"acr_values over 1 KiB", func(p url.Values) { p.Set("acr_values", long) }, "invalid_request", "st-1"},
		{"request object", func(p url.Values) { p.Set("request", "eyJhbGciOiJub25lIn0.e30.") }, "request_not_supported", "st-1"},
		{"request_uri", func(p url.Values) { p.Set("request_uri", "https://shop.example/req") }, "request_uri_not_supported", "st-1"},
		{"registration", func(p url.Values) { p.Set("registration", "{}") }, "registration_not_supported", "st-1"},
		// PKCE: required, S256 only, and well formed, for every app.
		{"no code_challenge", func(p url.Values) { p.Del("code_challenge") }, "invalid_request", "st-1"},
		{"no method (plain)", func(p url.Values) { p.Del("code_challenge_method") }, "invalid_request", "st-1"},
		{"method plain", func(p url.Values) { p.Set("code_challenge_method", "plain") }, "invalid_request", "st-1"},
		{"method lower case", func(p url.Values) { p.Set("code_challenge_method", "s256") }, "invalid_request", "st-1"},
		{"method without challenge", func(p url.Values) { p.Del("code_challenge") }, "invalid_request", "st-1"},
		{"challenge 42 chars", func(p url.Values) { p.Set("code_challenge", authorizeChallenge[:42]) }, "invalid_request", "st-1"},
		{"challenge 44 chars", func(p url.Values) { p.Set("code_challenge", authorizeChallenge+"A") }, "invalid_request", "st-1"},
		{"challenge padded", func(p url.Values) { p.Set("code_challenge", authorizeChallenge+"=") }, "invalid_request", "st-1"},
		{"challenge 128 chars (a verifier)", func(p url.Values) { p.Set("code_challenge", strings.Repeat("a", 128)) }, "invalid_request", "st-1"},
		{"challenge with standard base64", func(p url.Values) { p.Set("code_challenge", "+"+authorizeChallenge[1:]) }, "invalid_request", "st-1"},
		{"challenge with tilde", func(p url.Values) { p.Set("code_challenge", "~"+authorizeChallenge[1:]) }, "invalid_request", "st-1"},
		// prompt
		{"prompt none login", func(p url.Values) { p.Set("prompt", "none login") }, "invalid_request", "st-1"},
		{"prompt none consent", func(p url.Values) { p.Set("prompt", "none consent") }, "invalid_request", "st-1"},
		{"prompt login none", func(p url.Values) { p.Set("prompt", "login none") }, "invalid_request", "st-1"},
		{"prompt none select_account", func(p url.Values) { p.Set("prompt", "none select_account") }, "invalid_request", "st-1"},
		{"prompt unknown", func(p url.Values) { p.Set("prompt", "create") }, "invalid_request", "st-1"},
		{"prompt case", func(p url.Values) { p.Set("prompt", "Login") }, "invalid_request", "st-1"},
		// max_age
		{"max_age negative", func(p url.Values) { p.Set("max_age", "-1") }, "invalid_request", "st-1"},
		{"max_age plus", func(p url.Values) { p.Set("max_age", "+5") }, "invalid_request", "st-1"},
		{"max_age fraction", func(p url.Values) { p.Set("max_age", "1.5") }, "invalid_request", "st-1"},
		{"max_age word", func(p url.Values) { p.Set("max_age", "ten") }, "invalid_request", "st-1"},
		{"max_age space", func(p url.Values) { p.Set("max_age", " 5") }, "invalid_request", "st-1"},
		{"max_age huge", func(p url.Values) { p.Set("max_age", "99999999999999999999") }, "invalid_request", "st-1"},
		// scope
		{"no scope", func(p url.Values) { p.Del("scope") }, "invalid_scope", "st-1"},
		{"scope without openid", func(p url.Values) { p.Set("scope", "profile email") }, "invalid_scope", "st-1"},
		{"scope openid in upper case", func(p url.Values) { p.Set("scope", "OPENID") }, "invalid_scope", "st-1"},
		{"scope beyond the app's", func(p url.Values) { p.Set("scope", "openid offline_access") }, "invalid_scope", "st-1"},
		{"scope with a bad character", func(p url.Values) { p.Set("scope", "openid a\"b") }, "invalid_scope", "st-1"},
		{"scope with a tab", func(p url.Values) { p.Set("scope", "openid\temail") }, "invalid_scope", "st-1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, aerr := account.ParseAuthorizeRequest(with(goodAuthorizeParams(), c.change), authorizeApp(), authorizeNow)
			if aerr == nil {
				t.Fatal("accepted")
			}
			if aerr.Code != c.code || !aerr.Redirect {
				t.Fatalf("got %s (redirect %v: %s), want %s with redirect", aerr.Code, aerr.Redirect, aerr.Description, c.code)
			}
			checkErrorRedirect(t, aerr, "https://shop.example/cb", c.code, c.state)
		})
	}
}

// TestParseAuthorizeRequestPKCEOptional: an app with the PKCE exception
// may leave out both PKCE parameters (the request then has no challenge);
// one that sends either is checked as every app is. Every other app, a
// confidential one included, still needs PKCE.
func TestParseAuthorizeRequestPKCEOptional(t *testing.T) {
	noPKCE := func(p url.Values) { p.Del("code_challenge"); p.Del("code_challenge_method") }
	confidential := authorizeApp()
	confidential.Type, confidential.SecretHash = latch.AppConfidential, []byte("secret-hash")
	// Never stored (the store and checkApp refuse it), but the parser
	// must not be the one place that trusts it.
	publicWithFlag := authorizeApp()
	publicWithFlag.PKCEOptional = true

	for _, c := range []struct {
		name      string
		app       latch.App
		change    func(url.Values)
		code      string // "" when accepted
		challenge string // the accepted request's
	}{
		// The exception: no PKCE at all.
		{"exception, no PKCE", pkceOptionalApp(), noPKCE, "", ""},
		{"exception, empty PKCE parameters", pkceOptionalApp(), func(p url.Values) {
			p.Set("code_challenge", "")
			p.Set("code_challenge_method", "")
		}, "", ""},
		// The exception, PKCE sent: checked exactly as for every app.
		{"exception, S256 sent", pkceOptionalApp(), func(url.Values) {}, "", authorizeChallenge},
		{"exception, method without challenge", pkceOptionalApp(), func(p url.Values) { p.Del("code_challenge") }, "invalid_request", ""},
		{"exception, plain method without challenge", pkceOptionalApp(), func(p url.Values) {
			p.Del("code_challenge")
			p.Set("code_challenge_method", "plain")
		}, "invalid_request", ""},
		{"exception, challenge without method (plain)", pkceOptionalApp(), func(p url.Values) { p.Del("code_challenge_method") }, "invalid_request", ""},
		{"exception, method plain", pkceOptionalApp(), func(p url.Values) { p.Set("code_challenge_method", "plain") }, "invalid_request", ""},
		{"exception, malformed challenge", pkceOptionalApp(), func(p url.Values) { p.Set("code_challenge", authorizeChallenge[:42]) }, "invalid_request", ""},
		{"exception, challenge twice", pkceOptionalApp(), func(p url.Values) { p.Add("code_challenge", authorizeChallenge) }, "invalid_request", ""},
		{"exception, empty challenge twice", pkceOptionalApp(), func(p url.Values) {
			noPKCE(p)
			p["code_challenge"] = []string{"", ""}
		}, "invalid_request", ""},
		// Without the exception nothing changed.
		{"public app, no PKCE", authorizeApp(), noPKCE, "invalid_request", ""},
		{"confidential app, no PKCE", confidential, noPKCE, "invalid_request", ""},
		{"confidential app, S256", confidential, func(url.Values) {}, "", authorizeChallenge},
		{"public app with the flag, no PKCE", publicWithFlag, noPKCE, "invalid_request", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, aerr := account.ParseAuthorizeRequest(with(goodAuthorizeParams(), c.change), c.app, authorizeNow)
			if c.code == "" {
				if aerr != nil {
					t.Fatalf("refused: %v", aerr)
				}
				if req.CodeChallenge != c.challenge || req.AppID != "app-1" || !req.HasScope("openid") || req.State != "st-1" {
					t.Fatalf("accepted %+v, want challenge %q", req, c.challenge)
				}
				return
			}
			if aerr == nil {
				t.Fatalf("accepted %+v", req)
			}
			if aerr.Code != c.code || !aerr.Redirect {
				t.Fatalf("got %s (redirect %v: %s), want %s with redirect", aerr.Code, aerr.Redirect, aerr.Description, c.code)
			}
			checkErrorRedirect(t, aerr, "https://shop.example/cb", c.code, "st-1")
		})
	}
}

// checkErrorRedirect checks the error response at the redirect URI: the
// error, a description made only of the characters RFC 6749 allows, the
// state, and iss (RFC 9207).
func checkErrorRedirect(t *testing.T, aerr *account.AuthorizeError, base, code, state string) {
	t.Helper()
	raw, ok := aerr.RedirectURL(authorizeIssuer)
	if !ok {
		t.Fatal("no redirect URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if got := u.Scheme + "://" + u.Host + u.Path; got != base || q.Get("error") != code || q.Get("iss") != authorizeIssuer || q.Get("state") != state || q.Has("state") != (state != "") {
		t.Fatalf("redirect %s: want %s error=%s state=%q", raw, base, code, state)
	}
	desc := q.Get("error_description")
	if desc == "" {
		t.Fatalf("no error_description in %s", raw)
	}
	for _, r := range desc {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			t.Fatalf("error_description %q has %q", desc, r)
		}
	}
}

// TestParseAuthorizeRequestScopes: unknown scopes are ignored (Core
// §3.1.2.1), known ones are kept once each.
func TestParseAuthorizeRequestScopes(t *testing.T) {
	for scope, want := range map[string][]string{
		"openid":                          {"openid"},
		"email openid":                    {"email", "openid"},
		"openid openid email":             {"openid", "email"},
		"openid  email ":                  {"openid", "email"},
		"openid https://api.example/read": {"openid"},
		"openid groups address phone":     {"openid"},
		"openid Email":                    {"openid"}, // scopes are case-sensitive (RFC 6749 §3.3): Email is unknown
	} {
		req, aerr := account.ParseAuthorizeRequest(with(goodAuthorizeParams(), func(p url.Values) { p.Set("scope", scope) }), authorizeApp(), authorizeNow)
		if aerr != nil || !slices.Equal(req.Scopes, want) {
			t.Errorf("scope %q: %v %v, want %v", scope, req.Scopes, aerr, want)
		}
	}
}

func TestParseAuthorizeRequestPromptAndMaxAge(t *testing.T) {
	for prompt, want := range map[string][]string{
		"":                             nil,
		"none":                         {"none"},
		"login":                        {"login"},
		"consent":                      {"consent"},
		"select_account":               {"select_account"},
		"login consent":                {"login", "consent"},
		"consent login select_account": {"consent", "login", "select_account"},
		"login login":                  {"login"},
	} {
		req, aerr := account.ParseAuthorizeRequest(with(goodAuthorizeParams(), func(p url.Values) { p.Set("prompt", prompt) }), authorizeApp(), authorizeNow)
		if aerr != nil || !slices.Equal(req.Prompt, want) {
			t.Errorf("prompt %q: %v %v, want %v", prompt, req.Prompt, aerr, want)
		}
	}
	for raw, want := range map[string]time.Duration{"0": 0, "60": time.Minute, "000": 0, "999999999": 999999999 * time.Second} {
		req, aerr := account.ParseAuthorizeRequest(with(goodAuthorizeParams(), func(p url.Values) { p.Set("max_age", raw) }), authorizeApp(), authorizeNow)
		if aerr != nil || req.MaxAge == nil || *req.MaxAge != want {
			t.Errorf("max_age %q: %v %v, want %v", raw, req.MaxAge, aerr, want)
		}
	}
	req, aerr := account.ParseAuthorizeRequest(goodAuthorizeParams(), authorizeApp(), authorizeNow)
	if aerr != nil || req.MaxAge != nil {
		t.Errorf("no max_age: %v %v", req.MaxAge, aerr)
	}
}

// TestAuthorizeRedirectURLs: the app's own query is kept byte for byte,
// the added parameters are encoded, and the code response carries iss.
func TestAuthorizeRedirectURLs(t *testing.T) {
	params := with(goodAuthorizeParams(), func(p url.Values) {
		p.Set("redirect_uri", "https://shop.example/return?from=latch")
		p.Set("state", "a b&c=d/é")
		p.Set("response_type", "token")
	})
	_, aerr := account.ParseAuthorizeRequest(params, authorizeApp(), authorizeNow)
	raw, ok := aerr.RedirectURL(authorizeIssuer)
	want := "https://shop.example/return?from=latch&error=unsupported_response_type&error_description=only+response_type%3Dcode+is+supported&iss=https%3A%2F%2Fid.example%2Flatch&state=a+b%26c%3Dd%2F%C3%A9"
	if !ok || raw != want {
		t.Fatalf("error redirect\n got %s\nwant %s", raw, want)
	}

	req, aerr := account.ParseAuthorizeRequest(with(params, func(p url.Values) { p.Set("response_type", "code") }), authorizeApp(), authorizeNow)
	if aerr != nil {
		t.Fatal(aerr)
	}
	if got, want := req.CodeRedirectURL("loc_x+y", authorizeIssuer), "https://shop.example/return?from=latch&code=loc_x%2By&iss=https%3A%2F%2Fid.example%2Flatch&state=a+b%26c%3Dd%2F%C3%A9"; got != want {
		t.Fatalf("code redirect\n got %s\nwant %s", got, want)
	}
	req.State = ""
	if got, want := req.CodeRedirectURL("c", authorizeIssuer), "https://shop.example/return?from=latch&code=c&iss=https%3A%2F%2Fid.example%2Flatch"; got != want {
		t.Fatalf("no state\n got %s\nwant %s", got, want)
	}
	if got, want := account.DenyAuthorize(req).Code, "access_denied"; got != want {
		t.Fatalf("deny: %s", got)
	}
	denied, _ := account.DenyAuthorize(req).RedirectURL(authorizeIssuer)
	if !strings.HasPrefix(denied, "https://shop.example/return?from=latch&error=access_denied&") {
		t.Fatalf("deny redirect %s", denied)
	}
}

// TestDecideAuthorize is the decision table: login, consent, code, the
// prompt=none errors and the wrong tenant.
func TestDecideAuthorize(t *testing.T) {
	issued := authorizeNow
	later := issued.Add(2 * time.Minute)
	thirdParty := authorizeApp()
	thirdParty.Scopes = append(thirdParty.Scopes, "offline_access")
	firstParty := thirdParty
	firstParty.FirstParty = true
	revoked := thirdParty
	revoked.RevokedAt = &issued

	session := func(authTime time.Time) *account.AuthorizeSession {
		return &account.AuthorizeSession{UserID: "user-1", TenantID: "tenant-a", AuthTime: authTime, AMR: []string{"pwd"}}
	}
	otherTenant := &account.AuthorizeSession{UserID: "user-9", TenantID: "tenant-b", AuthTime: issued.Add(-time.Minute)}
	consent := func(grantedAt time.Time, scopes ...string) *latch.AppConsent {
		return &latch.AppConsent{UserID: "user-1", AppID: "app-1", Scopes: scopes, GrantedAt: grantedAt}
	}
	old := issued.Add(-time.Hour) // an earlier sign-in or consent
	full := consent(old, "openid", "email", "profile")
	request := func(prompt string, maxAge *time.Duration, scopes ...string) account.AuthorizeRequest {
		if len(scopes) == 0 {
			scopes = []string{"openid", "email"}
		}
		var p []string
		if prompt != "" {
			p = strings.Split(prompt, " ")
		}
		return account.AuthorizeRequest{
			AppID: "app-1", RedirectURI: "https://shop.example/cb", RedirectURIGiven: true, Scopes: scopes,
			State: "st-1", CodeChallenge: authorizeChallenge, Prompt: p, MaxAge: maxAge, IssuedAt: issued,
		}
	}
	seconds := func(n int) *time.Duration { d := time.Duration(n) * time.Second; return &d }

	for _, c := range []struct {
		name    string
		req     account.AuthorizeRequest
		app     latch.App
		session *account.AuthorizeSession
		consent *latch.AppConsent
		now     time.Time
		want    account.AuthorizeOutcome
		code    string // the error, for AuthorizeFail
		redir   bool
	}{
		{"no session", request("", nil), thirdParty, nil, full, later, account.AuthorizeLogin, "", false},
		{"no session, prompt=none", request("none", nil), thirdParty, nil, full, later, account.AuthorizeFail, "login_required", true},
		{"session and consent", request("", nil), thirdParty, session(old), full, later, account.AuthorizeIssueCode, "", false},
		{"session and consent, prompt=none", request("none", nil), thirdParty, session(old), full, later, account.AuthorizeIssueCode, "", false},

		// prompt=login and select_account: satisfied only by a sign-in
		// at or after the request's arrival.
		{"prompt=login, old sign-in", request("login", nil), thirdParty, session(old), full, later, account.AuthorizeLogin, "", false},
		{"prompt=login, sign-in just before", request("login", nil), thirdParty, session(issued.Add(-time.Nanosecond)), full, later, account.AuthorizeLogin, "", false},
		{"prompt=login, sign-in at arrival", request("login", nil), thirdParty, session(issued), full, later, account.AuthorizeIssueCode, "", false},
		{"prompt=login, sign-in after", request("login", nil), thirdParty, session(issued.Add(time.Minute)), full, later, account.AuthorizeIssueCode, "", false},
		{"prompt=select_account, old sign-in", request("select_account", nil), thirdParty, session(old), full, later, account.AuthorizeLogin, "", false},
		{"prompt=select_account, fresh", request("select_account", nil), thirdParty, session(later), full, later, account.AuthorizeIssueCode, "", false},

		// max_age
		{"max_age not exceeded", request("", seconds(3600)), thirdParty, session(later.Add(-time.Hour)), full, later, account.AuthorizeIssueCode, "", false},
		{"max_age exceeded", request("", seconds(3600)), thirdParty, session(later.Add(-time.Hour - time.Second)), full, later, account.AuthorizeLogin, "", false},
		{"max_age exceeded, prompt=none", request("none", seconds(3600)), thirdParty, session(later.Add(-time.Hour - time.Second)), full, later, account.AuthorizeFail, "login_required", true},
		{"max_age=0, old sign-in", request("", seconds(0)), thirdParty, session(issued.Add(-time.Second)), full, issued, account.AuthorizeLogin, "", false},
		{"max_age=0, signed in for this request", request("", seconds(0)), thirdParty, session(issued.Add(time.Second)), full, later, account.AuthorizeIssueCode, "", false},
		{"max_age=0, prompt=none", request("none", seconds(0)), thirdParty, session(old), full, later, account.AuthorizeFail, "login_required", true},
		{"max_age exceeded, fresh sign-in", request("", seconds(60)), thirdParty, session(issued), full, later, account.AuthorizeIssueCode, "", false},
		{"max_age without auth time", request("", seconds(60)), thirdParty, session(time.Time{}), full, later, account.AuthorizeLogin, "", false},

		// Tenants: another tenant's user never gets a code.
		{"wrong tenant", request("", nil), thirdParty, otherTenant, nil, later, account.AuthorizeWrongTenant, "", false},
		{"wrong tenant, first party", request("", nil), firstParty, otherTenant, nil, later, account.AuthorizeWrongTenant, "", false},
		{"wrong tenant, with a consent", request("", nil), firstParty, otherTenant, consent(old, "openid", "email"), later, account.AuthorizeWrongTenant, "", false},
		{"wrong tenant, prompt=none", request("none", nil), thirdParty, otherTenant, nil, later, account.AuthorizeFail, "login_required", true},
		{"wrong tenant, prompt=login, old sign-in", request("login", nil), thirdParty, otherTenant, nil, later, account.AuthorizeLogin, "", false},
		{"wrong tenant, prompt=login, fresh sign-in", request("login", nil), thirdParty,
			&account.AuthorizeSession{UserID: "user-9", TenantID: "tenant-b", AuthTime: later}, nil, later, account.AuthorizeWrongTenant, "", false},

		// Consent
		{"third party, no consent", request("", nil), thirdParty, session(old), nil, later, account.AuthorizeConsent, "", false},
		{"third party, no consent, prompt=none", request("none", nil), thirdParty, session(old), nil, later, account.AuthorizeFail, "consent_required", true},
		{"consent a superset", request("", nil, "openid"), thirdParty, session(old), full, later, account.AuthorizeIssueCode, "", false},
		{"consent equal", request("", nil, "openid", "email"), thirdParty, session(old), consent(old, "email", "openid"), later, account.AuthorizeIssueCode, "", false},
		{"consent a subset", request("", nil, "openid", "email", "profile"), thirdParty, session(old), consent(old, "openid", "email"), later, account.AuthorizeConsent, "", false},
		{"consent without offline_access", request("", nil, "openid", "offline_access"), thirdParty, session(old), full, later, account.AuthorizeConsent, "", false},
		{"consent a subset, prompt=none", request("none", nil, "openid", "profile"), thirdParty, session(old), consent(old, "openid"), later, account.AuthorizeFail, "consent_required", true},
		{"consent empty", request("", nil), thirdParty, session(old), consent(old), later, account.AuthorizeConsent, "", false},
		{"consent of another user", request("", nil), thirdParty, session(old), &latch.AppConsent{UserID: "user-2", AppID: "app-1", Scopes: []string{"openid", "email"}, GrantedAt: old}, later, account.AuthorizeConsent, "", false},
		{"consent to another app", request("", nil), thirdParty, session(old), &latch.AppConsent{UserID: "user-1", AppID: "app-2", Scopes: []string{"openid", "email"}, GrantedAt: old}, later, account.AuthorizeConsent, "", false},
		{"prompt=consent, remembered", request("consent", nil), thirdParty, session(old), full, later, account.AuthorizeConsent, "", false},
		{"prompt=consent, given for this request", request("consent", nil), thirdParty, session(old), consent(issued, "openid", "email"), later, account.AuthorizeIssueCode, "", false},
		{"prompt=consent, given for this request but less", request("consent", nil, "openid", "profile"), thirdParty, session(old), consent(later, "openid"), later, account.AuthorizeConsent, "", false},
		{"first party, no consent", request("", nil), firstParty, session(old), nil, later, account.AuthorizeIssueCode, "", false},
		{"first party, no consent, offline_access", request("", nil, "openid", "offline_access"), firstParty, session(old), nil, later, account.AuthorizeIssueCode, "", false},
		{"first party, no consent, prompt=none", request("none", nil), firstParty, session(old), nil, later, account.AuthorizeIssueCode, "", false},
		{"first party, prompt=consent", request("consent", nil), firstParty, session(old), nil, later, account.AuthorizeConsent, "", false},
		{"first party, prompt=consent, remembered", request("consent", nil), firstParty, session(old), full, later, account.AuthorizeConsent, "", false},
		{"prompt=login consent, fresh sign-in, no consent", request("login consent", nil), thirdParty, session(later), nil, later, account.AuthorizeConsent, "", false},
		{"prompt=login consent, old sign-in", request("login consent", nil), thirdParty, session(old), nil, later, account.AuthorizeLogin, "", false},
		{"prompt=login consent, both fresh", request("login consent", nil), thirdParty, session(later), consent(later, "openid", "email"), later, account.AuthorizeIssueCode, "", false},

		// The app changed after the request was checked.
		{"app revoked since", request("", nil), revoked, session(old), full, later, account.AuthorizeFail, "invalid_client", false},
		{"another app", request("", nil), latch.App{ID: "app-2", TenantID: "tenant-a", RedirectURIs: []string{"https://shop.example/cb"}, Scopes: []string{"openid", "email"}}, session(old), full, later, account.AuthorizeFail, "invalid_client", false},
		{"redirect unregistered since", request("", nil), func() latch.App { a := thirdParty; a.RedirectURIs = []string{"https://shop.example/new"}; return a }(), session(old), full, later, account.AuthorizeFail, "invalid_request", false},
		{"scope removed since", request("", nil, "openid", "offline_access"), authorizeApp(), session(old), full, later, account.AuthorizeFail, "invalid_scope", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := account.DecideAuthorize(c.req, c.app, c.session, c.consent, c.now)
			if got.Outcome != c.want {
				t.Fatalf("outcome %s, want %s (error %v)", got.Outcome, c.want, got.Error)
			}
			if c.want != account.AuthorizeFail {
				if got.Error != nil {
					t.Fatalf("error %v with outcome %s", got.Error, got.Outcome)
				}
				return
			}
			if got.Error == nil || got.Error.Code != c.code || got.Error.Redirect != c.redir {
				t.Fatalf("error %+v, want %s redirect=%v", got.Error, c.code, c.redir)
			}
			if c.redir {
				checkErrorRedirect(t, got.Error, "https://shop.example/cb", c.code, "st-1")
			} else if _, ok := got.Error.RedirectURL(authorizeIssuer); ok {
				t.Fatal("redirects")
			}
		})
	}
}

// FuzzParseAuthorizeRequest: no query makes it panic, and an accepted
// request always has openid, a registered redirect and an S256 challenge,
// unless the app has the PKCE exception and the query named no PKCE at
// all.
func FuzzParseAuthorizeRequest(f *testing.F) {
	f.Add(goodAuthorizeParams().Encode(), false)
	f.Add("client_id=app-1&prompt=none+login&max_age=-1&scope=openid", false)
	f.Add(with(goodAuthorizeParams(), func(p url.Values) { p.Del("code_challenge"); p.Del("code_challenge_method") }).Encode(), true)
	f.Add(with(goodAuthorizeParams(), func(p url.Values) { p.Del("code_challenge") }).Encode(), true)
	f.Fuzz(func(t *testing.T, query string, pkceOptional bool) {
		params, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		app := authorizeApp()
		if pkceOptional {
			app = pkceOptionalApp()
		}
		req, aerr := account.ParseAuthorizeRequest(params, app, authorizeNow)
		if aerr != nil {
			if aerr.Redirect && !slices.Contains(app.RedirectURIs, aerr.RedirectURI) {
				t.Fatalf("error redirects to %q", aerr.RedirectURI)
			}
			return
		}
		if !req.HasScope("openid") || !slices.Contains(app.RedirectURIs, req.RedirectURI) {
			t.Fatalf("accepted %+v", req)
		}
		withoutPKCE := pkceOptional && params.Get("code_challenge") == "" && params.Get("code_challenge_method") == ""
		if len(req.CodeChallenge) != 43 && !(withoutPKCE && req.CodeChallenge == "") {
			t.Fatalf("accepted challenge %q (exception %v)", req.CodeChallenge, pkceOptional)
		}
	})
}
