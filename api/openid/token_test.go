package openid_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

func basic(rawCredentials string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(rawCredentials))
}

// basicFor is client_secret_basic as RFC 6749 §2.3.1 writes it: each part
// form-urlencoded, then base64.
func basicFor(id, secret string) string {
	return basic(url.QueryEscape(id) + ":" + url.QueryEscape(secret))
}

// wantOAuthError checks RFC 6749 §5.2's answer: status, error, a body of
// error and error_description only, no caching, and invalid_client's
// challenge.
func wantOAuthError(t *testing.T, what string, a answer, status int, code string) {
	t.Helper()
	if a.status != status {
		t.Errorf("%s: status %d, want %d: %s", what, a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	m := a.json(t)
	if m["error"] != code {
		t.Errorf("%s: error %v, want %s: %s", what, m["error"], code, a.body)
	}
	for k, v := range m {
		if k != "error" && k != "error_description" {
			t.Errorf("%s: unexpected member %s", what, k)
		}
		if s, ok := v.(string); !ok || strings.ContainsAny(s, "\"\\") || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
			t.Errorf("%s: %s = %#v is not RFC 6749 section 5.2's character set", what, k, v)
		}
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("%s: Cache-Control %q", what, a.header.Get("Cache-Control"))
	}
	if got := a.header.Get("WWW-Authenticate"); (status == 401) != (got != "") || (status == 401 && got != `Basic realm="latch"`) {
		t.Errorf("%s: WWW-Authenticate %q with %d", what, got, status)
	}
}

// TestClientAuthentication: how a client authenticated reaches
// AuthenticateAppClient decoded (client_secret_basic's parts
// form-urlencoded, client_secret_post, none), and the requests that mix
// methods or do not decode are refused before it.
func TestClientAuthentication(t *testing.T) {
	const grant = "grant_type=client_credentials"
	ip := "192.0.2.1"
	for _, c := range []struct {
		name    string
		header  map[string]string
		body    string
		want    account.AppClientAuth
		status  int
		errCode string
	}{
		{name: "basic", header: withHeader("Authorization", basicFor("c0ffee", "las_secret")), body: grant,
			want: account.AppClientAuth{ClientID: "c0ffee", Secret: "las_secret", SecretGiven: true, ClientIP: ip}},
		{name: "basic scheme in lower case", header: withHeader("Authorization", "basic "+base64.StdEncoding.EncodeToString([]byte("c0ffee:s"))), body: grant,
			want: account.AppClientAuth{ClientID: "c0ffee", Secret: "s", SecretGiven: true, ClientIP: ip}},
		{name: "basic with %3A in the secret", header: withHeader("Authorization", basic("c0ffee:sec%3Aret")), body: grant,
			want: account.AppClientAuth{ClientID: "c0ffee", Secret: "sec:ret", SecretGiven: true, ClientIP: ip}},
		{name: "basic with specials in both parts", header: withHeader("Authorization", basicFor("app:1 +", "a:b+c%d é/=")), body: grant,
			want: account.AppClientAuth{ClientID: "app:1 +", Secret: "a:b+c%d é/=", SecretGiven: true, ClientIP: ip}},
		{name: "basic with + for a space", header: withHeader("Authorization", basic("c0ffee:a+b")), body: grant,
			want: account.AppClientAuth{ClientID: "c0ffee", Secret: "a b", SecretGiven: true, ClientIP: ip}},
		{name: "basic with an empty secret", header: withHeader("Authorization", basic("c0ffee:")), body: grant,
			want: account.AppClientAuth{ClientID: "c0ffee", Secret: "", SecretGiven: true, ClientIP: ip}},
		{name: "basic and the same client_id in the body", header: withHeader("Authorization", basicFor("c0ffee", "s")), body: grant + "&client_id=c0ffee",
			want: account.AppClientAuth{ClientID: "c0ffee", Secret: "s", SecretGiven: true, ClientIP: ip}},
		{name: "post", header: formHeader, body: grant + "&client_id=c0ffee&client_secret=las_%2Bsecret",
			want: account.AppClientAuth{ClientID: "c0ffee", Secret: "las_+secret", SecretGiven: true, ClientIP: ip}},
		{name: "none", header: formHeader, body: grant + "&client_id=5pa",
			want: account.AppClientAuth{ClientID: "5pa", ClientIP: ip}},
		{name: "none with an empty client_secret (RFC 6749 section 3.1: as omitted)", header: formHeader, body: grant + "&client_id=5pa&client_secret=",
			want: account.AppClientAuth{ClientID: "5pa", ClientIP: ip}},

		{name: "basic and post", header: withHeader("Authorization", basicFor("c0ffee", "s")), body: grant + "&client_id=c0ffee&client_secret=s", status: 400, errCode: "invalid_request"},
		{name: "basic and a client_secret alone", header: withHeader("Authorization", basicFor("c0ffee", "s")), body: grant + "&client_secret=s", status: 400, errCode: "invalid_request"},
		{name: "two client ids", header: withHeader("Authorization", basicFor("c0ffee", "s")), body: grant + "&client_id=other", status: 400, errCode: "invalid_request"},
		{name: "a secret without a client", header: formHeader, body: grant + "&client_secret=s", status: 400, errCode: "invalid_request"},
		{name: "no client at all", header: formHeader, body: grant, status: 401, errCode: "invalid_client"},
		{name: "malformed base64", header: withHeader("Authorization", "Basic !!not-base64!!"), body: grant, status: 401, errCode: "invalid_client"},
		{name: "base64 without padding", header: withHeader("Authorization", "Basic "+base64.RawStdEncoding.EncodeToString([]byte("c0ffee:s"))), body: grant, status: 401, errCode: "invalid_client"},
		{name: "basic without a colon", header: withHeader("Authorization", basic("c0ffee")), body: grant, status: 401, errCode: "invalid_client"},
		{name: "basic with a bad escape", header: withHeader("Authorization", basic("c0ffee:%zz")), body: grant, status: 401, errCode: "invalid_client"},
		{name: "basic with no client id", header: withHeader("Authorization", basic(":secret")), body: grant, status: 401, errCode: "invalid_client"},
		{name: "basic with nothing after it", header: withHeader("Authorization", "Basic"), body: grant, status: 401, errCode: "invalid_client"},
		{name: "another scheme", header: withHeader("Authorization", "Bearer abc"), body: grant, status: 401, errCode: "invalid_client"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got account.AppClientAuth
			called := false
			fake := &fakeAccounts{t: t}
			if c.status == 0 {
				fake.AuthenticateAppClientFn = func(_ context.Context, auth account.AppClientAuth) (latch.App, error) {
					called, got = true, auth
					return confidentialApp, nil
				}
				fake.AppClientCredentialsFn = func(context.Context, latch.App, []string) (account.AppTokens, error) {
					return account.AppTokens{AccessToken: "at", ExpiresIn: time.Minute}, nil
				}
			}
			a := call(serve(t, fake, testIssuer), "POST", "/oauth2/token", c.header, c.body)
			if c.status != 0 {
				wantOAuthError(t, c.name, a, c.status, c.errCode)
				return
			}
			if a.status != 200 || !called {
				t.Fatalf("status %d, authenticated %v: %s", a.status, called, a.body)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("AuthenticateAppClient got %+v, want %+v", got, c.want)
			}
		})
	}

	t.Run("two Authorization headers", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/oauth2/token", strings.NewReader(grant))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Add("Authorization", basicFor("c0ffee", "s"))
		req.Header.Add("Authorization", basicFor("c0ffee", "s"))
		rec := httptest.NewRecorder()
		serve(t, &fakeAccounts{t: t}, testIssuer).ServeHTTP(rec, req)
		wantOAuthError(t, "two headers", answer{rec.Code, rec.Result().Header, rec.Body.Bytes()}, 400, "invalid_request")
	})

	t.Run("a failed authentication", func(t *testing.T) {
		fake := &fakeAccounts{t: t, AuthenticateAppClientFn: func(context.Context, account.AppClientAuth) (latch.App, error) {
			return latch.App{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: account.TokenInvalidClient, Message: "wrong secret for c0ffee"}
		}}
		for _, header := range []map[string]string{withHeader("Authorization", basicFor("c0ffee", "las_wrong-secret")), formHeader} {
			a := call(serve(t, fake, testIssuer), "POST", "/oauth2/token", header, grant+"&client_id=c0ffee")
			wantOAuthError(t, "wrong secret", a, 401, "invalid_client")
			// Every cause is answered alike, and nothing the client
			// sent (or the use case's own words) is echoed.
			if d := a.json(t)["error_description"]; d != "client authentication failed" || strings.Contains(string(a.body), "las_wrong") {
				t.Errorf("description %v; body %s", d, a.body)
			}
		}
	})
}

// TestTokenRequestChecks: a request that is malformed is refused with
// invalid_request (unsupported_grant_type, invalid_scope where those
// apply) before any use case runs.
func TestTokenRequestChecks(t *testing.T) {
	auth := "&client_id=5pa"
	for _, c := range []struct {
		name    string
		header  map[string]string
		body    string
		status  int
		errCode string
	}{
		{"JSON", map[string]string{"Content-Type": "application/json"}, `{"grant_type":"client_credentials","client_id":"5pa"}`, 400, "invalid_request"},
		{"no content type", map[string]string{}, "grant_type=client_credentials" + auth, 400, "invalid_request"},
		{"text/plain", map[string]string{"Content-Type": "text/plain"}, "grant_type=client_credentials" + auth, 400, "invalid_request"},
		{"multipart", map[string]string{"Content-Type": "multipart/form-data; boundary=x"}, "grant_type=client_credentials" + auth, 400, "invalid_request"},
		{"grant_type twice", formHeader, "grant_type=client_credentials&grant_type=client_credentials" + auth, 400, "invalid_request"},
		{"client_id twice", formHeader, "grant_type=client_credentials" + auth + auth, 400, "invalid_request"},
		{"code twice, once empty", formHeader, "grant_type=authorization_code&code=a&code=" + auth, 400, "invalid_request"},
		{"malformed form", formHeader, "grant_type=client_credentials&x=%zz" + auth, 400, "invalid_request"},
		{"not UTF-8", formHeader, "grant_type=client_credentials" + auth + "&x=\xff", 400, "invalid_request"},
		{"too large", formHeader, "grant_type=client_credentials" + auth + "&x=" + strings.Repeat("a", httpx.MaxBodyBytes), 413, "invalid_request"},
		{"no grant_type", formHeader, "client_id=5pa", 400, "invalid_request"},
		{"password grant", formHeader, "grant_type=password&username=a&password=b" + auth, 400, "unsupported_grant_type"},
		{"implicit", formHeader, "grant_type=implicit" + auth, 400, "unsupported_grant_type"},
		{"device code", formHeader, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code" + auth, 400, "unsupported_grant_type"},
		{"code without code", formHeader, "grant_type=authorization_code&code_verifier=v" + auth, 400, "invalid_request"},
		{"code empty", formHeader, "grant_type=authorization_code&code=" + auth, 400, "invalid_request"},
		{"refresh without refresh_token", formHeader, "grant_type=refresh_token" + auth, 400, "invalid_request"},
		{"refresh with a scope of a quote", formHeader, "grant_type=refresh_token&refresh_token=r&scope=openid+%22email%22" + auth, 400, "invalid_scope"},
		{"client_credentials with a tab in scope", formHeader, "grant_type=client_credentials&scope=a%09b" + auth, 400, "invalid_scope"},
		{"client_credentials with a non-ASCII scope", formHeader, "grant_type=client_credentials&scope=%C3%A9" + auth, 400, "invalid_scope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := call(serve(t, &fakeAccounts{t: t}, testIssuer), "POST", "/oauth2/token", c.header, c.body)
			wantOAuthError(t, c.name, a, c.status, c.errCode)
		})
	}

	t.Run("parameters in the query are not read", func(t *testing.T) {
		a := call(serve(t, &fakeAccounts{t: t}, testIssuer), "POST", "/oauth2/token?grant_type=client_credentials&client_secret=s", formHeader, "client_id=5pa")
		wantOAuthError(t, "query", a, 400, "invalid_request")
		if d := a.json(t)["error_description"]; d != "grant_type is required" {
			t.Errorf("description %v", d)
		}
	})
	t.Run("a repeated parameter's value is not echoed", func(t *testing.T) {
		a := call(serve(t, &fakeAccounts{t: t}, testIssuer), "POST", "/oauth2/token", formHeader, "grant_type=client_credentials&client_secret=las_one&client_secret=las_two&client_id=x")
		wantOAuthError(t, "repeated secret", a, 400, "invalid_request")
		if strings.Contains(string(a.body), "las_") || !strings.Contains(string(a.body), "client_secret") {
			t.Errorf("body %s", a.body)
		}
		a = call(serve(t, &fakeAccounts{t: t}, testIssuer), "POST", "/oauth2/token", formHeader, "grant_type=client_credentials&client_id=x&las_pasted-secret&las_pasted-secret")
		wantOAuthError(t, "repeated unknown name", a, 400, "invalid_request")
		if strings.Contains(string(a.body), "las_") {
			t.Errorf("an unknown parameter's name is echoed: %s", a.body)
		}
	})
}

// TestTokenGrants: each grant's parameters reach its use case with the
// authenticated app, and its success is RFC 6749 §5.1's: JSON with
// expires_in an integer, token_type Bearer, the optional tokens left out
// when there are none, and headers that forbid caching.
func TestTokenGrants(t *testing.T) {
	tokens := account.AppTokens{AccessToken: "eyJ.access", ExpiresIn: 10*time.Minute + 900*time.Millisecond, RefreshToken: "lar_refresh", IDToken: "eyJ.id", Scopes: []string{"openid", "email", "offline_access"}}

	t.Run("authorization_code", func(t *testing.T) {
		var got account.AppCodeExchange
		fake := (&fakeAccounts{t: t}).authenticates(confidentialApp, nil)
		fake.ExchangeAppCodeFn = func(_ context.Context, in account.AppCodeExchange) (account.AppTokens, error) {
			got = in
			return tokens, nil
		}
		a := call(serve(t, fake, testIssuer), "POST", "/oauth2/token", withHeader("Authorization", basicFor("c0ffee", "s")),
			"grant_type=authorization_code&code=lac_code&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fa%3D1")
		want := account.AppCodeExchange{App: confidentialApp, Code: "lac_code", CodeVerifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", RedirectURI: "https://app.example/cb?a=1"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ExchangeAppCode got %+v, want %+v", got, want)
		}
		wantTokenResponse(t, a, map[string]any{"access_token": "eyJ.access", "token_type": "Bearer", "expires_in": float64(600),
			"refresh_token": "lar_refresh", "id_token": "eyJ.id", "scope": "openid email offline_access"})
	})

	t.Run("authorization_code without verifier or redirect_uri", func(t *testing.T) {
		var got account.AppCodeExchange
		fake := (&fakeAccounts{t: t}).authenticates(publicApp, nil)
		fake.ExchangeAppCodeFn = func(_ context.Context, in account.AppCodeExchange) (account.AppTokens, error) {
			got = in
			return account.AppTokens{AccessToken: "at", ExpiresIn: time.Minute, IDToken: "id", Scopes: []string{"openid"}}, nil
		}
		a := call(serve(t, fake, testIssuer), "POST", "/oauth2/token", formHeader, "grant_type=authorization_code&code=c&client_id=5pa")
		if !reflect.DeepEqual(got, account.AppCodeExchange{App: publicApp, Code: "c"}) {
			t.Errorf("ExchangeAppCode got %+v", got)
		}
		wantTokenResponse(t, a, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": float64(60), "id_token": "id", "scope": "openid"})
	})

	t.Run("refresh_token", func(t *testing.T) {
		var gotApp latch.App
		var gotToken string
		var gotScopes []string
		fake := (&fakeAccounts{t: t}).authenticates(publicApp, nil)
		fake.RefreshAppGrantFn = func(_ context.Context, app latch.App, refresh string, scopes []string) (account.AppTokens, error) {
			gotApp, gotToken, gotScopes = app, refresh, scopes
			return tokens, nil
		}
		a := call(serve(t, fake, testIssuer), "POST", "/oauth2/token", formHeader, "grant_type=refresh_token&refresh_token=lar_old&scope=openid++email&client_id=5pa")
		if gotApp.ID != publicApp.ID || gotToken != "lar_old" || !reflect.DeepEqual(gotScopes, []string{"openid", "email"}) {
			t.Errorf("RefreshAppGrant got %v %q %q", gotApp.ID, gotToken, gotScopes)
		}
		wantTokenResponse(t, a, map[string]any{"access_token": "eyJ.access", "token_type": "Bearer", "expires_in": float64(600),
			"refresh_token": "lar_refresh", "id_token": "eyJ.id", "scope": "openid email offline_access"})

		// No scope: nil, the grant's own.
		call(serve(t, fake, testIssuer), "POST", "/oauth2/token", formHeader, "grant_type=refresh_token&refresh_token=lar_old&client_id=5pa")
		if gotScopes != nil {
			t.Errorf("no scope parameter gave %q", gotScopes)
		}
	})

	t.Run("client_credentials", func(t *testing.T) {
		var gotScopes []string
		fake := (&fakeAccounts{t: t}).authenticates(confidentialApp, nil)
		fake.AppClientCredentialsFn = func(_ context.Context, app latch.App, scopes []string) (account.AppTokens, error) {
			if app.ID != confidentialApp.ID {
				t.Errorf("app %v", app.ID)
			}
			gotScopes = scopes
			return account.AppTokens{AccessToken: "eyJ.cc", ExpiresIn: 10 * time.Minute, Scopes: []string{"email"}}, nil
		}
		a := call(serve(t, fake, testIssuer), "POST", "/oauth2/token", formHeader, "grant_type=client_credentials&scope=email&client_id=c0ffee&client_secret=s")
		if !reflect.DeepEqual(gotScopes, []string{"email"}) {
			t.Errorf("scopes %q", gotScopes)
		}
		// No refresh token, no ID token: left out, not "".
		wantTokenResponse(t, a, map[string]any{"access_token": "eyJ.cc", "token_type": "Bearer", "expires_in": float64(600), "scope": "email"})
	})
}

func wantTokenResponse(t *testing.T, a answer, want map[string]any) {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	if got := a.json(t); !reflect.DeepEqual(got, want) {
		t.Errorf("body %s, want %v", a.body, want)
	}
	// expires_in is an integer in the JSON text: not 600.9, nor "600".
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(a.body, &raw)
	if n, _ := want["expires_in"].(float64); string(raw["expires_in"]) != strconv.Itoa(int(n)) {
		t.Errorf("expires_in is %s, want the integer %v", raw["expires_in"], n)
	}
	for name, value := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache", "Access-Control-Allow-Origin": "*"} {
		if got := a.header.Get(name); got != value {
			t.Errorf("%s: %q, want %q", name, got, value)
		}
	}
}

// TestTokenErrorMapping: every error a use case can return (each code
// with each kind, and the OAuth codes of account.Token*) is answered in
// RFC 6749 §5.2's shape with its status: never a 500 but for Internal,
// Retry-After with 429 and 503, nothing of an internal error shown.
func TestTokenErrorMapping(t *testing.T) {
	errs := everyTokenError()
	for _, e := range errs {
		fake := (&fakeAccounts{t: t}).authenticates(confidentialApp, nil)
		fake.ExchangeAppCodeFn = func(context.Context, account.AppCodeExchange) (account.AppTokens, error) {
			return account.AppTokens{}, e
		}
		e.RetryAfter = 0
		if e.Kind == latch.KindTooMany {
			e.RetryAfter = 2500 * time.Millisecond
		}
		a := call(serve(t, fake, testIssuer), "POST", "/oauth2/token", formHeader, "grant_type=authorization_code&code=c&client_id=c0ffee&client_secret=las_do-not-echo")
		what := e.Kind.String() + " " + e.Code
		status, code := wantOAuth(e)
		wantOAuthError(t, what, a, status, code)
		if strings.Contains(string(a.body), "las_do-not-echo") {
			t.Errorf("%s: the secret is echoed: %s", what, a.body)
		}
		switch status {
		case 500:
			if _, ok := a.json(t)["error_description"]; ok {
				t.Errorf("%s: an internal error is described: %s", what, a.body)
			}
		case 429:
			if a.header.Get("Retry-After") != "3" {
				t.Errorf("%s: Retry-After %q, want 3 (2.5 s rounded up)", what, a.header.Get("Retry-After"))
			}
		case 503:
			if a.header.Get("Retry-After") == "" {
				t.Errorf("%s: no Retry-After", what)
			}
			if strings.Contains(string(a.body), "database") || strings.Contains(string(a.body), "Words of the service") {
				t.Errorf("%s: the answer tells why: %s", what, a.body)
			}
		}
		if a.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: a browser app cannot read the error", what)
		}
	}
	t.Logf("%d errors, each in RFC 6749 section 5.2's shape", len(errs))
}

// wantOAuth is the documented answer (oauthAnswer's comment) to e,
// written again from the table rather than from the code.
func wantOAuth(e *latch.Error) (int, string) {
	switch e.Kind {
	case latch.KindInternal:
		return 500, "server_error"
	case latch.KindUnavailable:
		return 503, "temporarily_unavailable"
	case latch.KindTooMany:
		return 429, "temporarily_unavailable"
	}
	switch e.Code {
	case httpx.CodeBodyTooLarge:
		return 413, "invalid_request"
	case "invalid_client":
		return 401, "invalid_client"
	case "invalid_request", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "unsupported_token_type":
		return 400, e.Code
	}
	if e.Kind == latch.KindInvalid {
		return 400, "invalid_request"
	}
	return 400, "invalid_grant"
}
