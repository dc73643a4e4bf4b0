package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// TestAuthorizeErrorsThatMustNotRedirect: until the client and its
// redirect URI check out, a refused request is Latch's own 400 page, in
// words for the app's developer, and the browser goes nowhere.
func TestAuthorizeErrorsThatMustNotRedirect(t *testing.T) {
	for _, c := range []struct {
		name    string
		params  url.Values
		says    string
		lookups int
	}{
		{"no client_id", authorizeParams("client_id", ""), "client_id is missing (invalid_request)", 0},
		{"client_id twice", func() url.Values { q := authorizeParams(); q.Add("client_id", "app-notes"); return q }(), "client_id is given more than once", 0},
		{"unknown client", authorizeParams("client_id", "app-nobody"), "unknown client (invalid_client)", 1},
		{"unregistered redirect_uri", authorizeParams("redirect_uri", "https://evil.example/cb"), "redirect_uri is not registered for this app", 1},
		{"redirect_uri by prefix", authorizeParams("redirect_uri", appCallback+"/more"), "redirect_uri is not registered for this app", 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			fx := newOPFixture(t)
			for _, req := range []*http.Request{pageGet("/oauth2/authorize?" + c.params.Encode()), formPost("/oauth2/authorize", c.params)} {
				rec := fx.serve(req)
				body := html.UnescapeString(rec.Body.String())
				if rec.Code != 400 || rec.Header().Get("Location") != "" || !strings.Contains(body, c.says) {
					t.Errorf("%s: %d Location %q, want 400 saying %q:\n%s", req.Method, rec.Code, rec.Header().Get("Location"), c.says, body)
				}
				checkAccessible(t, rec.Body.String())
			}
			if len(fx.appLookups) != 2*c.lookups {
				t.Errorf("AuthorizeApp asked %v", fx.appLookups)
			}
			if len(fx.codes) != 0 {
				t.Errorf("a code was issued: %v", fx.codes)
			}
		})
	}
}

// TestAuthorizeErrorsRedirect: once the client and redirect URI check
// out, every refusal goes back to the app with error, state and iss.
func TestAuthorizeErrorsRedirect(t *testing.T) {
	for _, c := range []struct {
		name, code string
		params     url.Values
	}{
		{"no PKCE", "invalid_request", authorizeParams("code_challenge", "")},
		{"plain PKCE", "invalid_request", authorizeParams("code_challenge_method", "plain")},
		{"implicit", "unsupported_response_type", authorizeParams("response_type", "token")},
		{"no openid", "invalid_scope", authorizeParams("scope", "email")},
		{"prompt=none, signed out", "login_required", authorizeParams("prompt", "none")},
	} {
		t.Run(c.name, func(t *testing.T) {
			fx := newOPFixture(t)
			rec := fx.serve(pageGet("/oauth2/authorize?" + c.params.Encode()))
			loc, _ := url.Parse(rec.Header().Get("Location"))
			if rec.Code != 303 || loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != appCallback {
				t.Fatalf("%d Location %q, want 303 to %s", rec.Code, rec.Header().Get("Location"), appCallback)
			}
			q := loc.Query()
			if q.Get("error") != c.code || q.Get("state") != "st-1" || q.Get("iss") != fakePublicURL || q.Get("code") != "" {
				t.Errorf("redirect %s: want error %s, state st-1, iss %s", loc, c.code, fakePublicURL)
			}
		})
	}
}

// TestAuthorizeLoginPage: a browser without a session gets the sign-in
// form (email, password) carrying the request sealed, the email filled
// from login_hint, provider buttons whose PKCE cookie carries the request
// too, and a CSP that lets the form's redirect reach the app.
func TestAuthorizeLoginPage(t *testing.T) {
	fx := newOPFixture(t)
	rec := fx.serve(pageGet("/oauth2/authorize?" + authorizeParams("login_hint", "ada@example.com").Encode()))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `action="/login"`) || !strings.Contains(body, `name="password"`) ||
		!strings.Contains(body, `name="email" type="email" autocomplete="username webauthn" required value="ada@example.com"`) {
		t.Fatalf("login page: %d\n%s", rec.Code, body)
	}
	checkAccessible(t, body)
	if !allowsFormTo(rec, appOrigin) || !allowsFormTo(rec, "'self'") {
		t.Errorf("form-action %v does not allow the app's origin", formAction(rec))
	}
	flow := openSealed(t, "authorize", sealedRequest(t, rec))
	req := flow["r"].(map[string]any)
	if req["AppID"] != "app-notes" || req["RedirectURI"] != appCallback || req["State"] != "st-1" || req["Nonce"] != "n-1" || req["CodeChallenge"] != appChallenge {
		t.Errorf("sealed request %v", req)
	}
	if e, _ := time.Parse(time.RFC3339Nano, flow["e"].(string)); !e.Equal(fx.now.Add(account.SignInFlowTTL)) {
		t.Errorf("sealed deadline %v, want FlowDeadline %v", flow["e"], fx.now.Add(account.SignInFlowTTL))
	}
	pkce := cookieNamed(rec, "__Host-latch_login")
	if pkce == nil || !strings.Contains(body, `id="provider-acme"`) {
		t.Fatalf("no provider sign-in: cookie %v", pkce)
	}
	ps := openSealed(t, "web-login", pkce.Value)
	if z, ok := ps["z"].(map[string]any); !ok || z["r"].(map[string]any)["AppID"] != "app-notes" {
		t.Errorf("the PKCE cookie does not carry the request: %v", ps)
	}
	if !strings.Contains(body, `<p id="continue-to">to continue to <strong>Notes</strong></p>`) {
		t.Errorf("the sign-in page does not name the app:\n%s", body)
	}
	if !strings.Contains(body, `href="/signup?authorize=`) {
		t.Errorf("the sign-up link drops the request:\n%s", body)
	}
}

// TestAuthorizeSignInResumes: the sign-in form of a request signs in with
// a web session and goes on: a first-party app gets its code for the new
// session (user, auth_time, amr, the session as parent); a third-party
// app without consent gets the consent page. A wrong password shows the
// form again, still carrying the request.
func TestAuthorizeSignInResumes(t *testing.T) {
	fx := newOPFixture(t)
	fx.app.FirstParty = true
	rec := fx.serve(pageGet("/oauth2/authorize?" + authorizeParams("prompt", "login").Encode()))
	sealed := sealedRequest(t, rec)
	fx.now = fx.now.Add(time.Minute)

	rec = fx.serve(formPost("/login", url.Values{"authorize": {sealed}, "email": {"ada@example.com"}, "password": {"wrong"}}))
	if rec.Code != 401 || cookieNamed(rec, "__Host-latch_web") != nil || sealedRequest(t, rec) == "" || !allowsFormTo(rec, appOrigin) {
		t.Fatalf("wrong password: %d %v\n%s", rec.Code, rec.Result().Cookies(), rec.Body)
	}
	rec = fx.serve(formPost("/login", url.Values{"authorize": {sealed}, "email": {"ada@example.com"}, "password": {rightPassword}}))
	if cookieNamed(rec, "__Host-latch_web") == nil {
		t.Fatalf("no web session: %d\n%s", rec.Code, rec.Body)
	}
	wantLocation := appCallback + "?" + url.Values{"code": {"the-code"}, "iss": {fakePublicURL}, "state": {"st-1"}}.Encode()
	if rec.Code != 303 || rec.Header().Get("Location") != wantLocation {
		t.Fatalf("signed in: %d Location %q, want %q\n%s", rec.Code, rec.Header().Get("Location"), wantLocation, rec.Body)
	}
	if len(fx.codes) != 1 {
		t.Fatalf("codes issued: %v", fx.codes)
	}
	got := fx.codes[0]
	if got.UserID != "u-ada" || got.ParentSessionID != "s-new" || !got.AuthTime.Equal(fx.now) || !slices.Equal(got.AMR, []string{"pwd"}) ||
		got.Request.AppID != "app-notes" || got.Request.Nonce != "n-1" || !slices.Equal(got.Request.Scopes, []string{"openid", "email", "offline_access"}) {
		t.Errorf("IssueAppCode got %+v", got)
	}

	// A third-party app: the consent page, for the person just signed in.
	fx.app.FirstParty = false
	fx.codes = nil
	rec = fx.serve(pageGet("/oauth2/authorize?" + authorizeParams().Encode()))
	rec = fx.serve(formPost("/login", url.Values{"authorize": {sealedRequest(t, rec)}, "email": {"ada@example.com"}, "password": {rightPassword}}))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `action="/oauth2/consent"`) || len(fx.codes) != 0 {
		t.Errorf("third-party app after sign-in: %d codes %v\n%s", rec.Code, fx.codes, rec.Body)
	}
}

// TestAuthorizeSession: a signed-in browser goes straight on (code for a
// first-party app), a session older than max_age or a prompt=login
// request asks for a sign-in, and a session of another tenant's account
// gets a 403 page (no code, no redirect) with a way to sign in as someone
// else.
func TestAuthorizeSession(t *testing.T) {
	fx := newOPFixture(t)
	fx.app.FirstParty = true
	rec := fx.serve(pageGet("/oauth2/authorize?"+authorizeParams().Encode(), fx.sessionCookie()))
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), appCallback+"?code=the-code") || len(fx.codes) != 1 ||
		fx.codes[0].ParentSessionID != "s-browser" || !fx.codes[0].AuthTime.Equal(fx.session.AuthTime) {
		t.Fatalf("signed in: %d %q %+v", rec.Code, rec.Header().Get("Location"), fx.codes)
	}

	// A session of before auth_time was recorded authenticated when made.
	fx.codes = nil
	fx.session.AuthTime, fx.session.AMR = time.Time{}, nil
	rec = fx.serve(pageGet("/oauth2/authorize?"+authorizeParams("max_age", "7200").Encode(), fx.sessionCookie()))
	if rec.Code != 303 || len(fx.codes) != 1 || !fx.codes[0].AuthTime.Equal(fx.session.CreatedAt) || fx.codes[0].AMR != nil {
		t.Errorf("old session within max_age: %d %+v", rec.Code, fx.codes)
	}

	for _, change := range [][]string{{"max_age", "60"}, {"prompt", "login"}, {"prompt", "select_account"}} {
		rec = fx.serve(pageGet("/oauth2/authorize?"+authorizeParams(change...).Encode(), fx.sessionCookie()))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="password"`) {
			t.Errorf("%v with an hour-old session: %d, want the sign-in form\n%s", change, rec.Code, rec.Body)
		}
	}

	fx.codes = nil
	fx.user.TenantID = "another-tenant"
	rec = fx.serve(pageGet("/oauth2/authorize?"+authorizeParams().Encode(), fx.sessionCookie()))
	body := rec.Body.String()
	if rec.Code != 403 || rec.Header().Get("Location") != "" || len(fx.codes) != 0 || !strings.Contains(body, "ada@example.com") ||
		!strings.Contains(body, `id="switch-account"`) || sealedRequest(t, rec) == "" {
		t.Errorf("another tenant's account: %d %q codes %v\n%s", rec.Code, rec.Header().Get("Location"), fx.codes, body)
	}
	checkAccessible(t, body)
	// Sign in as someone else: signed out, then the sign-in form for the
	// same request.
	rec = fx.serve(formPost("/logout", url.Values{"authorize": {sealedRequest(t, rec)}}, fx.sessionCookie()))
	loc := rec.Header().Get("Location")
	if rec.Code != 303 || !strings.HasPrefix(loc, "/login?authorize=") || len(fx.ended) != 1 || fx.ended[0].Session.ID != "s-browser" {
		t.Fatalf("switch account: %d %q ended %v", rec.Code, loc, fx.ended)
	}
	if c := cookieNamed(rec, "__Host-latch_web"); c == nil || c.MaxAge >= 0 {
		t.Errorf("the session cookie is not cleared: %v", c)
	}
	rec = fx.serve(pageGet(loc))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="password"`) || sealedRequest(t, rec) == "" {
		t.Errorf("after switching: %d\n%s", rec.Code, rec.Body)
	}
}

// TestAuthorizePostReadsTheForm: POST /oauth2/authorize reads its form
// body, never its query. An app's cross-site POST carries no session
// cookie (SameSite=Lax): it goes on through a top-level GET that does.
func TestAuthorizePostReadsTheForm(t *testing.T) {
	fx := newOPFixture(t)
	fx.app.FirstParty = true
	req := formPost("/oauth2/authorize?"+authorizeParams().Encode(), url.Values{})
	if rec := fx.serve(req); rec.Code != 400 || !strings.Contains(rec.Body.String(), "client_id is missing") {
		t.Errorf("POST with the query only: %d\n%s", rec.Code, rec.Body)
	}
	req = formPost("/oauth2/authorize", authorizeParams())
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", appOrigin)
	rec := fx.serve(req)
	loc := rec.Header().Get("Location")
	if rec.Code != 303 || !strings.HasPrefix(loc, "/login?authorize=") {
		t.Fatalf("cross-site POST without the cookie: %d %q\n%s", rec.Code, loc, rec.Body)
	}
	rec = fx.serve(pageGet(loc, fx.sessionCookie()))
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), appCallback+"?code=the-code") {
		t.Errorf("the GET that follows, signed in: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	// With the cookie (a same-site POST), at once.
	fx.codes = nil
	rec = fx.serve(formPost("/oauth2/authorize", authorizeParams(), fx.sessionCookie()))
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), appCallback+"?code=the-code") || len(fx.codes) != 1 {
		t.Errorf("POST with the cookie: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

// TestSealedRequestIsChecked: a sealed request that was changed, sealed
// for another purpose, incomplete, or replayed after its deadline is
// refused on every page that takes one, before anything is done with it.
func TestSealedRequestIsChecked(t *testing.T) {
	fx := newOPFixture(t)
	rec := fx.serve(pageGet("/oauth2/authorize?" + authorizeParams().Encode()))
	good := sealedRequest(t, rec)
	loginCalls := 0
	login := fx.f.LoginFn
	fx.f.LoginFn = func(ctx context.Context, in account.LoginInput) (account.TokenPair, error) {
		loginCalls++
		return login(ctx, in)
	}
	flow := openSealed(t, "authorize", good)
	bad := map[string]string{
		"changed":              tamper(good),
		"another purpose":      seal("web-login", flow),
		"no app":               seal("authorize", map[string]any{"r": map[string]any{}, "e": flow["e"]}),
		"no deadline":          seal("authorize", map[string]any{"r": flow["r"]}),
		"garbage":              "not a sealed value",
		"empty":                "",
		"past (replayed late)": good,
	}
	for name, sealed := range bad {
		if name == "past (replayed late)" {
			fx.now = fx.now.Add(account.SignInFlowTTL + time.Second)
		}
		for _, req := range []*http.Request{
			formPost("/login", url.Values{"authorize": {sealed}, "email": {"ada@example.com"}, "password": {rightPassword}}),
			formPost("/oauth2/consent", url.Values{"authorize": {sealed}, "decision": {"allow"}}, fx.sessionCookie()),
			formPost("/oauth2/consent", url.Values{"authorize": {sealed}, "decision": {"deny"}}, fx.sessionCookie()),
			pageGet("/login?" + url.Values{"authorize": {sealed}}.Encode()),
			pageGet("/signup?" + url.Values{"authorize": {sealed}}.Encode()),
		} {
			rec := fx.serve(req)
			if rec.Code != 400 || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "This sign-in request expired or is not valid.") {
				t.Errorf("%s, %s %s: %d %q\n%s", name, req.Method, req.URL.Path, rec.Code, rec.Header().Get("Location"), rec.Body)
			}
		}
	}
	if loginCalls != 0 || len(fx.codes) != 0 || len(fx.granted) != 0 {
		t.Errorf("a refused request was acted on: %d sign-ins, codes %v, consents %v", loginCalls, fx.codes, fx.granted)
	}
}

// TestConsent: a third-party app without the user's consent gets the
// consent page (the app, the scopes in words, who is signed in, Allow and
// Deny, a way to sign in as someone else); Allow records the consent and
// issues the code; Deny sends access_denied; an Allow from a browser
// where someone else signed in since records nothing.
func TestConsent(t *testing.T) {
	fx := newOPFixture(t)
	rec := fx.serve(pageGet("/oauth2/authorize?"+authorizeParams().Encode(), fx.sessionCookie()))
	body := html.UnescapeString(rec.Body.String())
	for _, want := range []string{"Allow Notes?", "ada@example.com", "know who you are", "see your email address", "stay signed in, and keep access when you are away",
		`action="/oauth2/consent"`, `name="decision" value="allow"`, `name="decision" value="deny"`, `id="switch-account"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the consent page does not say %q", want)
		}
	}
	if rec.Code != 200 || strings.Contains(body, "see your name") {
		t.Errorf("consent page: %d\n%s", rec.Code, body)
	}
	if !allowsFormTo(rec, appOrigin) {
		t.Errorf("form-action %v does not allow the app's origin", formAction(rec))
	}
	checkAccessible(t, rec.Body.String())
	sealed := sealedRequest(t, rec)
	if u := openSealed(t, "authorize", sealed)["u"]; u != "u-ada" {
		t.Errorf("the consent form is not bound to the user it asked: %v", u)
	}

	// Deny: access_denied at the app, nothing recorded.
	rec = fx.serve(formPost("/oauth2/consent", url.Values{"authorize": {sealed}, "decision": {"deny"}}, fx.sessionCookie()))
	want := appCallback + "?" + url.Values{"error": {"access_denied"}, "error_description": {"the user denied the request"}, "iss": {fakePublicURL}, "state": {"st-1"}}.Encode()
	if rec.Code != 303 || rec.Header().Get("Location") != want || len(fx.granted) != 0 || len(fx.codes) != 0 {
		t.Errorf("deny: %d %q, want %q; granted %v codes %v", rec.Code, rec.Header().Get("Location"), want, fx.granted, fx.codes)
	}

	// Neither button: nothing.
	rec = fx.serve(formPost("/oauth2/consent", url.Values{"authorize": {sealed}}, fx.sessionCookie()))
	if rec.Code != 400 || len(fx.granted) != 0 {
		t.Errorf("no decision: %d, granted %v", rec.Code, fx.granted)
	}

	// From another site: refused.
	req := formPost("/oauth2/consent", url.Values{"authorize": {sealed}, "decision": {"allow"}}, fx.sessionCookie())
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	if rec := fx.serve(req); rec.Code != 403 || len(fx.granted) != 0 {
		t.Errorf("cross-site allow: %d, granted %v", rec.Code, fx.granted)
	}

	// Someone else signed in since: asked again, for them.
	ada := fx.user
	fx.user = latch.User{ID: "u-bob", Email: "bob@example.com", TenantID: latch.DefaultTenantID, Active: true}
	rec = fx.serve(formPost("/oauth2/consent", url.Values{"authorize": {sealed}, "decision": {"allow"}}, fx.sessionCookie()))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "bob@example.com") || len(fx.granted) != 0 || len(fx.codes) != 0 {
		t.Errorf("allow after another sign-in: %d granted %v codes %v\n%s", rec.Code, fx.granted, fx.codes, rec.Body)
	}
	fx.user = ada

	// Allow: the consent, then the code.
	rec = fx.serve(formPost("/oauth2/consent", url.Values{"authorize": {sealed}, "decision": {"allow"}}, fx.sessionCookie()))
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), appCallback+"?code=the-code") {
		t.Fatalf("allow: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if len(fx.granted) != 1 || !slices.Equal(fx.granted[0], []string{"u-ada", "app-notes", "openid", "email", "offline_access"}) || len(fx.codes) != 1 || fx.codes[0].UserID != "u-ada" {
		t.Errorf("allow: granted %v, codes %+v", fx.granted, fx.codes)
	}

	// Remembered: the next request goes straight on; prompt=consent asks
	// again.
	rec = fx.serve(pageGet("/oauth2/authorize?"+authorizeParams().Encode(), fx.sessionCookie()))
	if rec.Code != 303 || len(fx.codes) != 2 {
		t.Errorf("with the consent remembered: %d", rec.Code)
	}
	fx.now = fx.now.Add(time.Minute)
	rec = fx.serve(pageGet("/oauth2/authorize?"+authorizeParams("prompt", "consent").Encode(), fx.sessionCookie()))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `action="/oauth2/consent"`) {
		t.Errorf("prompt=consent: %d", rec.Code)
	}
}

// TestConsentRechecksTheApp: an app revoked between the consent page and
// the click gets neither the consent nor a code, and no redirect, for
// Allow and Deny alike.
func TestConsentRechecksTheApp(t *testing.T) {
	fx := newOPFixture(t)
	rec := fx.serve(pageGet("/oauth2/authorize?"+authorizeParams().Encode(), fx.sessionCookie()))
	sealed := sealedRequest(t, rec)
	revoked := fx.now
	fx.app.RevokedAt = &revoked
	for _, decision := range []string{"allow", "deny"} {
		rec = fx.serve(formPost("/oauth2/consent", url.Values{"authorize": {sealed}, "decision": {decision}}, fx.sessionCookie()))
		if rec.Code != 400 || rec.Header().Get("Location") != "" || !strings.Contains(rec.Body.String(), "unknown client") {
			t.Errorf("%s for a revoked app: %d %q\n%s", decision, rec.Code, rec.Header().Get("Location"), rec.Body)
		}
	}
	// A redirect URI unregistered since: no redirect either.
	fx.app.RevokedAt = nil
	fx.app.RedirectURIs = []string{"https://notes.example/new-callback"}
	rec = fx.serve(formPost("/oauth2/consent", url.Values{"authorize": {sealed}, "decision": {"deny"}}, fx.sessionCookie()))
	if rec.Code != 400 || rec.Header().Get("Location") != "" {
		t.Errorf("deny after the redirect URI changed: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if len(fx.granted) != 0 || len(fx.codes) != 0 {
		t.Errorf("granted %v codes %v", fx.granted, fx.codes)
	}
}

// TestAuthorizeProviderSignInResumes: a provider button of the request's
// sign-in page comes back to /login/complete, which signs in and resumes
// the same request.
func TestAuthorizeProviderSignInResumes(t *testing.T) {
	fx := newOPFixture(t)
	fx.app.FirstParty = true
	fx.f.RedeemAuthorizationCodeFn = func(_ context.Context, code, verifier, redirectURI string) (account.TokenPair, error) {
		fx.session = latch.Session{ID: "s-fed", UserID: fx.user.ID, CreatedAt: fx.now, AuthTime: fx.now, AMR: []string{account.AMRFederated}}
		return account.TokenPair{AccessToken: "access", RefreshToken: "lrt_refresh"}, nil
	}
	rec := fx.serve(pageGet("/oauth2/authorize?" + authorizeParams("prompt", "login").Encode()))
	pkce := cookieNamed(rec, "__Host-latch_login")
	m := stateInButton.FindStringSubmatch(rec.Body.String())
	if pkce == nil || m == nil {
		t.Fatalf("no provider sign-in:\n%s", rec.Body)
	}
	fx.now = fx.now.Add(time.Minute)
	rec = fx.serve(pageGet("/login/complete?"+url.Values{"code": {"provider-code"}, "state": {m[1]}}.Encode(), pkce))
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), appCallback+"?code=the-code") || cookieNamed(rec, "__Host-latch_web") == nil {
		t.Fatalf("after the provider: %d %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if len(fx.codes) != 1 || fx.codes[0].ParentSessionID != "s-fed" || !slices.Equal(fx.codes[0].AMR, []string{"fed"}) || fx.codes[0].Request.State != "st-1" {
		t.Errorf("IssueAppCode got %+v", fx.codes)
	}

	// Back after the request's deadline: signed in, but the request is
	// not resumed.
	// The sign-in page shown again late in the request's life: its PKCE
	// cookie outlives the request.
	rec = fx.serve(pageGet("/oauth2/authorize?" + authorizeParams().Encode()))
	fx.now = fx.now.Add(account.SignInFlowTTL - time.Minute)
	rec = fx.serve(pageGet("/login?" + url.Values{"authorize": {sealedRequest(t, rec)}}.Encode()))
	pkce, m = cookieNamed(rec, "__Host-latch_login"), stateInButton.FindStringSubmatch(rec.Body.String())
	fx.now = fx.now.Add(2 * time.Minute)
	rec = fx.serve(pageGet("/login/complete?"+url.Values{"code": {"provider-code"}, "state": {m[1]}}.Encode(), pkce))
	if rec.Code != 400 || rec.Header().Get("Location") != "" || len(fx.codes) != 1 {
		t.Errorf("an expired request after the provider: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

// TestSignUpKeepsTheRequest: the sign-in page's sign-up link carries the
// request; there, the provider buttons resume it and "Sign in" leads back
// to the sign-in form for it.
func TestSignUpKeepsTheRequest(t *testing.T) {
	fx := newOPFixture(t)
	rec := fx.serve(pageGet("/oauth2/authorize?" + authorizeParams().Encode()))
	sealed := sealedRequest(t, rec)
	rec = fx.serve(pageGet("/signup?" + url.Values{"authorize": {sealed}}.Encode()))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `href="/login?authorize=`) || sealedRequest(t, rec) == "" {
		t.Fatalf("sign-up for a request: %d\n%s", rec.Code, body)
	}
	checkAccessible(t, body)
	pkce := cookieNamed(rec, "__Host-latch_login")
	if pkce == nil || openSealed(t, "web-login", pkce.Value)["z"] == nil {
		t.Errorf("the sign-up page's provider sign-in drops the request: %v", pkce)
	}
}

// TestAuthorizeOutages: the database down is a 503 with Retry-After at
// every step, never a redirect to the app with a made-up error; an
// overloaded sign-in reads as the sign-in form says today.
func TestAuthorizeOutages(t *testing.T) {
	dbDown := &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "the database is unavailable", RetryAfter: 2 * time.Second}
	check := func(t *testing.T, fx *opFixture, req *http.Request) {
		t.Helper()
		rec := fx.serve(req)
		if rec.Code != 503 || rec.Header().Get("Retry-After") != "2" || rec.Header().Get("Location") != "" ||
			!strings.Contains(rec.Body.String(), "Latch cannot do this right now.") {
			t.Errorf("%d Retry-After %q Location %q\n%s", rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Location"), rec.Body)
		}
	}
	t.Run("app lookup", func(t *testing.T) {
		fx := newOPFixture(t)
		fx.f.AuthorizeAppFn = func(context.Context, string) (latch.App, error) { return latch.App{}, dbDown }
		check(t, fx, pageGet("/oauth2/authorize?"+authorizeParams("prompt", "none").Encode()))
	})
	t.Run("session", func(t *testing.T) {
		fx := newOPFixture(t)
		fx.f.AuthenticateFn = func(context.Context, string) (account.Principal, error) { return account.Principal{}, dbDown }
		check(t, fx, pageGet("/oauth2/authorize?"+authorizeParams("prompt", "none").Encode(), fx.sessionCookie()))
	})
	t.Run("consent lookup", func(t *testing.T) {
		fx := newOPFixture(t)
		fx.f.ConsentOfFn = func(context.Context, string, string) (*latch.AppConsent, error) { return nil, dbDown }
		check(t, fx, pageGet("/oauth2/authorize?"+authorizeParams("prompt", "none").Encode(), fx.sessionCookie()))
	})
	t.Run("code", func(t *testing.T) {
		fx := newOPFixture(t)
		fx.app.FirstParty = true
		fx.f.IssueAppCodeFn = func(context.Context, account.AppCodeRequest) (string, error) { return "", dbDown }
		check(t, fx, pageGet("/oauth2/authorize?"+authorizeParams().Encode(), fx.sessionCookie()))
	})
	t.Run("consent", func(t *testing.T) {
		fx := newOPFixture(t)
		sealed := sealedRequest(t, fx.serve(pageGet("/oauth2/authorize?"+authorizeParams().Encode(), fx.sessionCookie())))
		fx.f.GrantConsentFn = func(context.Context, string, string, []string) (latch.AppConsent, error) {
			return latch.AppConsent{}, dbDown
		}
		check(t, fx, formPost("/oauth2/consent", url.Values{"authorize": {sealed}, "decision": {"allow"}}, fx.sessionCookie()))
		if len(fx.codes) != 0 {
			t.Errorf("a code without the consent recorded: %v", fx.codes)
		}
	})
	t.Run("overloaded sign-in", func(t *testing.T) {
		fx := newOPFixture(t)
		sealed := sealedRequest(t, fx.serve(pageGet("/oauth2/authorize?"+authorizeParams().Encode())))
		fx.f.LoginFn = func(context.Context, account.LoginInput) (account.TokenPair, error) {
			return account.TokenPair{}, &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeOverloaded, Message: "too busy"}
		}
		rec := fx.serve(formPost("/login", url.Values{"authorize": {sealed}, "email": {"ada@example.com"}, "password": {rightPassword}}))
		if rec.Code != 429 || !strings.Contains(rec.Body.String(), "Too many attempts.") || sealedRequest(t, rec) == "" {
			t.Errorf("overloaded: %d\n%s", rec.Code, rec.Body)
		}
	})
}

// TestAuthorizeTooLongForACookie: a request whose sealed form would not
// fit in the PKCE cookie (browsers drop cookies over 4 KiB) gets the
// password form only, still carrying it, instead of provider buttons
// whose sign-in could never resume it.
func TestAuthorizeTooLongForACookie(t *testing.T) {
	fx := newOPFixture(t)
	long := strings.Repeat("x", account.MaxAuthorizeParamLen)
	rec := fx.serve(pageGet("/oauth2/authorize?" + authorizeParams("state", long, "nonce", long, "login_hint", long, "acr_values", long).Encode()))
	body := rec.Body.String()
	if rec.Code != 200 || sealedRequest(t, rec) == "" || strings.Contains(body, `id="provider-acme"`) || cookieNamed(rec, "__Host-latch_login") != nil {
		t.Errorf("%d cookie %v\n%s", rec.Code, cookieNamed(rec, "__Host-latch_login"), body)
	}
	// A request of ordinary size keeps them.
	rec = fx.serve(pageGet("/oauth2/authorize?" + authorizeParams("state", strings.Repeat("s", 64), "nonce", strings.Repeat("n", 64)).Encode()))
	if c := cookieNamed(rec, "__Host-latch_login"); c == nil || len(c.Name)+len(c.Value) > 4000 || !strings.Contains(rec.Body.String(), `id="provider-acme"`) {
		t.Errorf("an ordinary request: cookie %v", c)
	}
}
