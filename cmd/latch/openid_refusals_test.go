package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestOpenIDRefusals: what Latch's OpenID Provider refuses, on the built
// binary and both stores, over plain HTTP: a redirect URI that is not
// registered or a client that does not exist (Latch's own error page, no
// redirect), a missing PKCE challenge, a wrong or missing verifier, a
// replayed code (which also revokes what the first redemption got), the
// nonce echoed, prompt=none without a session, a public client asking for
// client_credentials, a user of another tenant than the app's, and a
// logout to an unregistered URI. (An expired code is the use cases' unit
// tests', with a clock.)
func TestOpenIDRefusals(t *testing.T) {
	for name, dsn := range openIDStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testOpenIDRefusals(t, dsn(t))
		})
	}
}

func testOpenIDRefusals(t *testing.T, dsn string) {
	in, userID := openIDInstance(t, dsn)
	appRoot := "http://" + freeLoopback(t) + "/"
	cb := appRoot + "callback" // nothing listens: the agent stops there
	conf := createApp(t, in, "--name", "Refusals", "--type", "confidential", "--first-party",
		"--redirect-uri", cb, "--post-logout-redirect-uri", appRoot, "--scope", "openid,email,profile,offline_access")
	pub := createApp(t, in, "--name", "Refusals public", "--type", "public", "--first-party",
		"--redirect-uri", cb, "--scope", "openid,email,offline_access")
	var other struct{ ID string }
	decode(t, in.cli(t, "", "tenants", "create", "--name", "other-tenant"), &other)
	foreignCB := appRoot + "foreign"
	foreign := createApp(t, in, "--name", "Other tenant's app", "--type", "confidential", "--first-party",
		"--redirect-uri", foreignCB, "--scope", "openid,email,profile,offline_access", "--tenant", other.ID)
	in.serve(t)

	authorize := func(params url.Values) string { return in.base + "/oauth2/authorize?" + params.Encode() }
	p := newPKCE("refusals-pkce")
	params := func(app registeredApp, redirectURI, state string) url.Values {
		return authorizeParams(app, redirectURI, p, state, "nonce-"+state)
	}
	// refusedOnPage: Latch's own error page, and no redirect anywhere.
	refusedOnPage := func(t *testing.T, what string, res page) {
		t.Helper()
		if res.status != 400 || res.header.Get("Location") != "" || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d, Location %q, %s; want Latch's HTML error page, 400, and no redirect",
				what, res.status, res.header.Get("Location"), res.header.Get("Content-Type"))
		}
	}
	// refusedToApp: a redirect to the app's URI with error, state and iss,
	// and no code.
	refusedToApp := func(t *testing.T, what string, res page, redirectURI, wantError, state string) {
		t.Helper()
		loc, err := url.Parse(res.header.Get("Location"))
		if res.status/100 != 3 || err != nil || !strings.HasPrefix(loc.String(), redirectURI+"?") {
			t.Errorf("%s: %d to %q; want a redirect to %s with error=%s", what, res.status, res.header.Get("Location"), redirectURI, wantError)
			return
		}
		q := loc.Query()
		if q.Get("error") != wantError || q.Get("state") != state || q.Get("iss") != in.base || q.Has("code") {
			t.Errorf("%s: redirected with %v; want error=%s, state=%s, iss=%s and no code", what, q, wantError, state, in.base)
		}
	}

	t.Run("redirect URI not registered", func(t *testing.T) {
		for _, bad := range []string{appRoot + "other", cb + "/", strings.Replace(cb, "callback", "Callback", 1), "https://evil.example/callback", cb + "?x=1"} {
			refusedOnPage(t, "an authorization request to redirect_uri "+bad, noFollow(t, authorize(params(conf, bad, "s1"))))
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		unknown := conf
		unknown.ClientID = strings.Repeat("0", len(conf.ClientID))
		refusedOnPage(t, "an authorization request of an unknown client_id", noFollow(t, authorize(params(unknown, cb, "s2"))))
		missing := params(conf, cb, "s2")
		missing.Del("client_id")
		refusedOnPage(t, "an authorization request without client_id", noFollow(t, authorize(missing)))
	})
	t.Run("missing code_challenge", func(t *testing.T) {
		noPKCE := params(conf, cb, "s3")
		noPKCE.Del("code_challenge")
		noPKCE.Del("code_challenge_method")
		refusedToApp(t, "an authorization request without code_challenge", noFollow(t, authorize(noPKCE)), cb, "invalid_request", "s3")
		plain := params(conf, cb, "s3")
		plain.Set("code_challenge_method", "plain")
		refusedToApp(t, "an authorization request with code_challenge_method=plain", noFollow(t, authorize(plain)), cb, "invalid_request", "s3")
	})
	t.Run("prompt=none without a session", func(t *testing.T) {
		silent := params(conf, cb, "s4")
		silent.Set("prompt", "none")
		refusedToApp(t, "prompt=none in a browser nobody signed in to", noFollow(t, authorize(silent)), cb, "login_required", "s4")
	})
	t.Run("public client asking for client_credentials", func(t *testing.T) {
		s, body := tokenRequest(t, in, "/oauth2/token", pub, url.Values{"grant_type": {"client_credentials"}})
		if s != 400 || body["error"] != "unauthorized_client" {
			t.Errorf("client_credentials for a public app: %d %v; want 400 unauthorized_client", s, body)
		}
	})

	// A person signed in once; each code after that comes at once.
	ag := newAgent(cb)
	code := func(t *testing.T, state string) string {
		t.Helper()
		ag.landed = nil
		res := ag.get(t, authorize(params(conf, cb, state)))
		if ag.landed == nil {
			login := res.form(t, "/login")
			ag.post(t, res.resolve(login.action), login.with(url.Values{"email": {opEmail}, "password": {opPassword}}))
		}
		if ag.landed == nil || ag.landed.Query().Get("code") == "" || ag.landed.Query().Get("state") != state || ag.landed.Query().Get("iss") != in.base {
			t.Fatalf("signing in for a code: landed on %v; want %s with a code, state=%s and iss=%s", ag.landed, cb, state, in.base)
		}
		return ag.landed.Query().Get("code")
	}
	exchange := func(t *testing.T, code, verifier string) (int, map[string]any) {
		t.Helper()
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {cb}}
		if verifier != "" {
			form.Set("code_verifier", verifier)
		}
		return tokenRequest(t, in, "/oauth2/token", conf, form)
	}
	refresh := func(t *testing.T, refreshToken string) (int, map[string]any) {
		t.Helper()
		return tokenRequest(t, in, "/oauth2/token", conf, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
	}

	t.Run("wrong and missing code_verifier", func(t *testing.T) {
		c := code(t, "s5")
		if s, body := exchange(t, c, newPKCE("another-verifier").verifier); s != 400 || body["error"] != "invalid_grant" {
			t.Errorf("a code with the wrong code_verifier: %d %v; want 400 invalid_grant", s, body)
		}
		if s, body := exchange(t, c, p.verifier); s != 400 || body["error"] != "invalid_grant" {
			t.Errorf("the code after a wrong verifier, now with the right one: %d %v; want 400 invalid_grant (a failed redemption spends the code)", s, body)
		}
		if s, body := exchange(t, code(t, "s6"), ""); s != 400 || body["error"] != "invalid_grant" {
			t.Errorf("a code without code_verifier: %d %v; want 400 invalid_grant", s, body)
		}
	})

	var hint string // an ID token of the signed-in person, for the logout below
	t.Run("replayed code, and the nonce", func(t *testing.T) {
		c := code(t, "s7")
		s, tokens := exchange(t, c, p.verifier)
		if s != 200 {
			t.Fatalf("redeeming a fresh code with its verifier: %d %v; want 200 and tokens", s, tokens)
		}
		access, _ := tokens["access_token"].(string)
		refreshToken, _ := tokens["refresh_token"].(string)
		hint, _ = tokens["id_token"].(string)
		if access == "" || refreshToken == "" || hint == "" || tokens["token_type"] != "Bearer" {
			t.Fatalf("the token response for openid offline_access: %v; want access_token, refresh_token, id_token, token_type Bearer", tokens)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		provider, err := oidc.NewProvider(ctx, in.base)
		if err != nil {
			t.Fatalf("discovery at %s: %v", in.base, err)
		}
		idt, err := provider.Verifier(&oidc.Config{ClientID: conf.ClientID}).Verify(ctx, hint)
		if err != nil {
			t.Fatalf("the ID token does not verify with the client id as audience: %v", err)
		}
		if idt.Nonce != "nonce-s7" || idt.Subject != userID {
			t.Errorf("the ID token has nonce %q and sub %q; want the request's nonce-s7 and the user's id %s", idt.Nonce, idt.Subject, userID)
		}
		if s, info := userinfo(t, in, access); s != 200 || info["email"] != opEmail {
			t.Fatalf("userinfo with the first redemption's access token: %d %v; want 200 with %s", s, info, opEmail)
		}

		if s, body := exchange(t, c, p.verifier); s != 400 || body["error"] != "invalid_grant" {
			t.Errorf("the same code again: %d %v; want 400 invalid_grant", s, body)
		}
		if s, info := userinfo(t, in, access); s != 401 {
			t.Errorf("userinfo with the first redemption's access token after the replay: %d %v; want 401 (the grant is revoked)", s, info)
		}
		if s, body := refresh(t, refreshToken); s != 400 || body["error"] != "invalid_grant" {
			t.Errorf("the first redemption's refresh token after the replay: %d %v; want 400 invalid_grant", s, body)
		}
	})

	t.Run("a user of another tenant", func(t *testing.T) {
		stranger := newAgent(foreignCB)
		res := stranger.get(t, authorize(params(foreign, foreignCB, "s8")))
		login := res.form(t, "/login")
		res = stranger.post(t, res.resolve(login.action), login.with(url.Values{"email": {opEmail}, "password": {opPassword}}))
		if stranger.landed != nil {
			t.Errorf("a default-tenant user signing in to another tenant's app was sent back to it: %s; want Latch's wrong-tenant page", stranger.landed)
		}
		for _, hop := range stranger.hops {
			if strings.Contains(hop, "code=") {
				t.Errorf("a redirect carried a code for the other tenant's app: %s", hop)
			}
		}
		if res.status < 400 || res.status >= 500 || !strings.HasPrefix(res.url.String(), in.base) {
			t.Errorf("the other tenant's app, signed in as a default-tenant user: %d at %s; want Latch's wrong-tenant page (4xx)", res.status, res.url)
		}
	})

	t.Run("logout to an unregistered post_logout_redirect_uri", func(t *testing.T) {
		if hint == "" {
			t.Skip("needs the ID token of the replay case")
		}
		endSession := func(postLogout string) string {
			return in.base + "/oauth2/logout?" + url.Values{"id_token_hint": {hint}, "client_id": {conf.ClientID},
				"post_logout_redirect_uri": {postLogout}, "state": {"bye"}}.Encode()
		}
		ag.stopAt, ag.within = appRoot, in.base+"/"
		for _, bad := range []string{"https://evil.example/", appRoot + "other", appRoot + "?x"} {
			ag.landed = nil
			res := ag.get(t, endSession(bad))
			if ag.landed != nil || res.status != 400 || !strings.HasPrefix(res.url.String(), in.base) {
				t.Errorf("end_session with post_logout_redirect_uri %s: %d at %s, landed %v; want Latch's error page (400) and no redirect", bad, res.status, res.url, ag.landed)
			}
		}
		// A grant this browser's sign-in gave, live until the logout.
		ag.stopAt, ag.within, ag.landed = cb, "", nil
		s, live := exchange(t, code(t, "s8b"), p.verifier)
		if s != 200 {
			t.Fatalf("a fresh code before the logout: %d %v; want tokens", s, live)
		}
		// The same request with the registered URI signs the person out
		// and goes back with state.
		ag.stopAt, ag.within, ag.landed = appRoot, in.base+"/", nil
		ag.get(t, endSession(appRoot))
		if ag.landed == nil || ag.landed.Query().Get("state") != "bye" || !strings.HasPrefix(ag.landed.String(), appRoot+"?") {
			t.Errorf("end_session with the registered post_logout_redirect_uri landed on %v; want %s?state=bye", ag.landed, appRoot)
		}
		liveRefresh, _ := live["refresh_token"].(string)
		liveAccess, _ := live["access_token"].(string)
		if s, body := refresh(t, liveRefresh); s != 400 || body["error"] != "invalid_grant" {
			t.Errorf("the refresh token of a grant the browser's sign-in gave, after its logout: %d %v; want 400 invalid_grant", s, body)
		}
		if s, _ := userinfo(t, in, liveAccess); s != 401 {
			t.Errorf("userinfo with an access token of a grant the browser's sign-in gave, after its logout: %d; want 401", s)
		}
		ag.stopAt, ag.within, ag.landed = cb, "", nil
		res := ag.get(t, authorize(params(conf, cb, "s9")))
		if ag.landed != nil {
			t.Errorf("after the logout an authorization request went back to the app without a sign-in: %s", ag.landed)
		} else if login := res.form(t, "/login"); login.fields.Get("authorize") == "" {
			t.Errorf("after the logout an authorization request shows a login form without the request")
		}
	})
}
