package openid_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// TestRevoke: RFC 7009. Any token is answered 200 with an empty body once
// RevokeAppToken returned (an unknown one too: the use case says nil);
// the hint reaches it as sent, whatever its value (§2.2.1); public apps
// authenticate with client_id alone.
func TestRevoke(t *testing.T) {
	type revoked struct{ app, tok, hint string }
	for _, c := range []struct {
		name   string
		header map[string]string
		body   string
		app    latch.App
		want   revoked
	}{
		{"confidential, basic", withHeader("Authorization", basicFor("c0ffee", "s")), "token=lar_refresh&token_type_hint=refresh_token", confidentialApp, revoked{"c0ffee", "lar_refresh", "refresh_token"}},
		{"confidential, post", formHeader, "token=eyJ.at&token_type_hint=access_token&client_id=c0ffee&client_secret=s", confidentialApp, revoked{"c0ffee", "eyJ.at", "access_token"}},
		{"public", formHeader, "token=unknown-token&client_id=5pa", publicApp, revoked{"5pa", "unknown-token", ""}},
		{"a hint Latch has no type for", formHeader, "token=t&token_type_hint=device_code&client_id=5pa", publicApp, revoked{"5pa", "t", "device_code"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got revoked
			fake := (&fakeAccounts{t: t}).authenticates(c.app, nil)
			fake.RevokeAppTokenFn = func(_ context.Context, app latch.App, tok, hint string) error {
				got = revoked{app.ID, tok, hint}
				return nil
			}
			a := call(serve(t, fake, testIssuer), "POST", "/oauth2/revoke", c.header, c.body)
			if a.status != 200 || len(a.body) != 0 || a.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("%d %q %v", a.status, a.body, a.header)
			}
			if got != c.want {
				t.Errorf("RevokeAppToken got %+v, want %+v", got, c.want)
			}
		})
	}

	for _, c := range []struct {
		name, body string
		header     map[string]string
		status     int
		code       string
	}{
		{"no token", "client_id=5pa", formHeader, 400, "invalid_request"},
		{"token twice", "token=a&token=b&client_id=5pa", formHeader, 400, "invalid_request"},
		{"JSON", `{"token":"a","client_id":"5pa"}`, map[string]string{"Content-Type": "application/json"}, 400, "invalid_request"},
		{"no client", "token=a", formHeader, 401, "invalid_client"},
		{"basic and post", "token=a&client_secret=s", withHeader("Authorization", basicFor("c0ffee", "s")), 400, "invalid_request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantOAuthError(t, c.name, call(serve(t, &fakeAccounts{t: t}, testIssuer), "POST", "/oauth2/revoke", c.header, c.body), c.status, c.code)
		})
	}

	t.Run("errors of the use cases", func(t *testing.T) {
		for _, e := range everyTokenError() {
			fake := &fakeAccounts{t: t, AuthenticateAppClientFn: func(context.Context, account.AppClientAuth) (latch.App, error) { return latch.App{}, e }}
			a := call(serve(t, fake, testIssuer), "POST", "/oauth2/revoke", formHeader, "token=a&client_id=c0ffee&client_secret=las_x")
			status, code := wantOAuth(e)
			wantOAuthError(t, "AuthenticateAppClient "+e.Kind.String()+" "+e.Code, a, status, code)

			fake = (&fakeAccounts{t: t}).authenticates(confidentialApp, nil)
			fake.RevokeAppTokenFn = func(context.Context, latch.App, string, string) error { return e }
			a = call(serve(t, fake, testIssuer), "POST", "/oauth2/revoke", formHeader, "token=a&client_id=c0ffee&client_secret=las_x")
			wantOAuthError(t, "RevokeAppToken "+e.Kind.String()+" "+e.Code, a, status, code)
		}
	})
}

// TestIntrospect: RFC 7662 for confidential apps. The answer is
// {"active":false} and nothing else for a token that is not active, and
// every member of §2.2 with its JSON type for one that is.
func TestIntrospect(t *testing.T) {
	iat := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	live := account.Introspection{
		Active: true, Scopes: []string{"openid", "email"}, ClientID: "c0ffee", Subject: "0199-user", TokenType: "Bearer",
		IssuedAt: iat, ExpiresAt: iat.Add(10 * time.Minute), NotBefore: iat, Audience: []string{"c0ffee"},
		Issuer: testIssuer, JWTID: "0199-jti", GrantID: "0199-grant", Username: "ada@example.com",
	}
	for _, c := range []struct {
		name string
		in   account.Introspection
		want string
	}{
		{"active", live, `{"active":true,"scope":"openid email","client_id":"c0ffee","username":"ada@example.com","token_type":"Bearer",` +
			`"exp":1795428600,"iat":1795428000,"nbf":1795428000,"sub":"0199-user","aud":"c0ffee","iss":"https://id.example","jti":"0199-jti","sid":"0199-grant"}`},
		{"inactive", account.Introspection{}, `{"active":false}`},
		// The use case's other fields are never shown for an inactive
		// token, whatever it filled in.
		{"inactive with fields", account.Introspection{Active: false, ClientID: "other", Subject: "someone", Scopes: []string{"openid"}}, `{"active":false}`},
		{"two audiences", account.Introspection{Active: true, ClientID: "c0ffee", Audience: []string{"c0ffee", "https://api.example"}, TokenType: "refresh_token"},
			`{"active":true,"client_id":"c0ffee","token_type":"refresh_token","aud":["c0ffee","https://api.example"]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var gotAuth account.AppClientAuth
			var got [3]string
			fake := (&fakeAccounts{t: t}).authenticates(confidentialApp, &gotAuth)
			fake.IntrospectAppTokenFn = func(_ context.Context, app latch.App, tok, hint string) (account.Introspection, error) {
				got = [3]string{app.ID, tok, hint}
				return c.in, nil
			}
			a := call(serve(t, fake, testIssuer), "POST", "/oauth2/introspect", withHeader("Authorization", basicFor("c0ffee", "las_s")), "token=eyJ.at&token_type_hint=access_token")
			if a.status != 200 || strings.TrimSpace(string(a.body)) != c.want {
				t.Errorf("%d %s\nwant %s", a.status, a.body, c.want)
			}
			if got != [3]string{"c0ffee", "eyJ.at", "access_token"} || gotAuth.Secret != "las_s" {
				t.Errorf("IntrospectAppToken got %q, auth %+v", got, gotAuth)
			}
			for name, value := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Access-Control-Allow-Origin": ""} {
				if a.header.Get(name) != value {
					t.Errorf("%s: %q, want %q", name, a.header.Get(name), value)
				}
			}
		})
	}

	// §2.1: the endpoint is protected. A public app's client_id alone,
	// and no client at all, are 401 before any lookup (the fake has no
	// AuthenticateAppClient: calling it fails the test).
	for _, body := range []string{"token=eyJ.at&client_id=5pa", "token=eyJ.at", "token=eyJ.at&client_id=c0ffee&client_secret="} {
		wantOAuthError(t, "without a secret: "+body, call(serve(t, &fakeAccounts{t: t}, testIssuer), "POST", "/oauth2/introspect", formHeader, body), 401, "invalid_client")
	}
	// A use case that refuses the app (a public one with a secret slipped
	// past) is answered alike.
	fake := (&fakeAccounts{t: t}).authenticates(publicApp, nil)
	fake.IntrospectAppTokenFn = func(context.Context, latch.App, string, string) (account.Introspection, error) {
		return account.Introspection{}, &latch.Error{Kind: latch.KindForbidden, Code: account.TokenUnauthorizedClient, Message: "public apps may not introspect"}
	}
	wantOAuthError(t, "unauthorized_client", call(serve(t, fake, testIssuer), "POST", "/oauth2/introspect", withHeader("Authorization", basicFor("5pa", "x")), "token=t"), 401, "invalid_client")
	wantOAuthError(t, "no token", call(serve(t, &fakeAccounts{t: t}, testIssuer), "POST", "/oauth2/introspect", withHeader("Authorization", basicFor("c0ffee", "x")), ""), 400, "invalid_request")

	for _, e := range everyTokenError() {
		fake := (&fakeAccounts{t: t}).authenticates(confidentialApp, nil)
		fake.IntrospectAppTokenFn = func(context.Context, latch.App, string, string) (account.Introspection, error) {
			return account.Introspection{}, e
		}
		status, code := wantOAuth(e)
		if e.Code == account.TokenUnauthorizedClient && status == 400 {
			status, code = 401, "invalid_client"
		}
		a := call(serve(t, fake, testIssuer), "POST", "/oauth2/introspect", withHeader("Authorization", basicFor("c0ffee", "x")), "token=t")
		wantOAuthError(t, "IntrospectAppToken "+e.Kind.String()+" "+e.Code, a, status, code)
		if a.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("introspection answers browsers")
		}
	}
}
