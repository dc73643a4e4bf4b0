package native_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/token"
)

func decodeBody(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	return m
}

// TestPasswordGrantAnswers: POST /v1/token with grant_type=password hands
// the form to Login and turns each of its answers into RFC 6749's: the
// token response, a refusal (invalid_request, invalid_grant), a limit
// (slow_down with Retry-After), an outage (temporarily_unavailable with
// Retry-After), a failure that shows nothing, and the administrator's
// required password change (a change-only token).
func TestPasswordGrantAnswers(t *testing.T) {
	cases := []struct {
		name       string
		pair       account.TokenPair
		err        error
		status     int
		body       map[string]any
		retryAfter string
	}{
		{"signed in", account.TokenPair{AccessToken: "at", RefreshToken: "lrt_next", ExpiresIn: time.Hour, Scopes: []string{"openid", "profile"}}, nil,
			200, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600.0, "refresh_token": "lrt_next", "scope": "openid profile"}, ""},
		{"invalid", account.TokenPair{}, latch.FieldError("username", latch.CodeInvalidEmail, "username is not an email address"),
			400, map[string]any{"error": "invalid_request", "error_description": "username is not an email address"}, ""},
		{"unauthenticated", account.TokenPair{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidCredentials, Message: "wrong email or password"},
			400, map[string]any{"error": "invalid_grant", "error_description": "the credentials or the refresh token are invalid"}, ""},
		{"deactivated", account.TokenPair{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeAccountInactive, Message: "this account is deactivated"},
			400, map[string]any{"error": "invalid_grant", "error_description": "this account is deactivated"}, ""},
		{"too many", account.TokenPair{}, &latch.Error{Kind: latch.KindTooMany, Code: latch.CodeRateLimited, Message: "too many attempts; try again later", RetryAfter: 29500 * time.Millisecond},
			429, map[string]any{"error": "slow_down", "error_description": "too many attempts; try again later"}, "30"},
		{"unavailable", account.TokenPair{}, &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "try again shortly", RetryAfter: 2 * time.Second},
			503, map[string]any{"error": "temporarily_unavailable", "error_description": "try again shortly"}, "2"},
		{"internal", account.TokenPair{}, latch.Internal(context.DeadlineExceeded),
			500, map[string]any{"error": "server_error"}, ""},
		{"password change required", account.TokenPair{AccessToken: "change-only", ExpiresIn: 5 * time.Minute},
			&latch.Error{Kind: latch.KindForbidden, Code: latch.CodePasswordChangeRequired, Message: "the password must be changed before signing in"},
			403, map[string]any{"error": "password_change_required", "password_change_token": "change-only", "expires_in": 300.0,
				"error_description": "the password must be changed before signing in: PUT /v1/me/password with password_change_token as Bearer"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got account.LoginInput
			f := &fakeAccounts{t: t, LoginFn: func(_ context.Context, in account.LoginInput) (account.TokenPair, error) {
				got = in
				return c.pair, c.err
			}}
			req := newRequest("POST", "/v1/token", "application/x-www-form-urlencoded",
				url.Values{"grant_type": {"password"}, "username": {"ada@example.com"}, "password": {"correct horse"}}.Encode())
			req.RemoteAddr = "192.0.2.7:4711"
			rec, panicked := serveFake(fakeSurface(f), req)
			if panicked != nil {
				t.Fatalf("panic: %v", panicked)
			}
			if want := (account.LoginInput{Email: "ada@example.com", Password: "correct horse", ClientIP: "192.0.2.7"}); got != want {
				t.Errorf("Login got %+v, want %+v", got, want)
			}
			if rec.Code != c.status {
				t.Errorf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			body := decodeBody(t, rec.Body.String())
			if len(body) != len(c.body) {
				t.Errorf("body %v, want %v", body, c.body)
			}
			for k, v := range c.body {
				if body[k] != v {
					t.Errorf("%s = %v, want %v", k, body[k], v)
				}
			}
			if ra := rec.Header().Get("Retry-After"); ra != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", ra, c.retryAfter)
			}
		})
	}
}

// adminRoutes are the administration API's routes with the permission
// each needs, written out here (the table under test is the use cases').
// A route with a body is sent a broken one: a client without the
// permission must be refused before its body is read.
var adminRoutes = []struct {
	method, path string
	needs        latch.Permission
	hasBody      bool
}{
	{"GET", "/v1/admin/users", latch.PermReadUsers, false},
	{"POST", "/v1/admin/users", latch.PermManageUsers, true},
	{"GET", "/v1/admin/users/7", latch.PermReadUsers, false},
	{"PATCH", "/v1/admin/users/7", latch.PermManageUsers, true},
	{"DELETE", "/v1/admin/users/7", latch.PermManageUsers, false},
	{"PUT", "/v1/admin/users/7/password", latch.PermManageAll, true},
	{"GET", "/v1/admin/users/7/sessions", latch.PermReadUsers, false},
	{"DELETE", "/v1/admin/users/7/sessions", latch.PermManageUsers, false},
	{"DELETE", "/v1/admin/users/7/sessions/s1", latch.PermManageUsers, false},
	{"GET", "/v1/admin/policy", latch.PermReadAll, false},
	{"PUT", "/v1/admin/policy", latch.PermManageAll, true},
	{"GET", "/v1/admin/policy/factors", latch.PermReadAll, false},
	{"PUT", "/v1/admin/policy/factors", latch.PermManageAll, true},
	{"DELETE", "/v1/admin/users/7/factors", latch.PermManageAll, false},
	{"GET", "/v1/admin/audit", latch.PermReadAll, false},
}

// TestAdminRoutesRefuseScopeBeforeBody: every administration route, for a
// client of every scope, either refuses it (403 insufficient_scope, the
// use case never called, the body never read) or goes on to read the body
// and run the use case (here refusing the broken body with 400, or
// answering the use case's NotFound with 404).
func TestAdminRoutesRefuseScopeBeforeBody(t *testing.T) {
	for _, route := range adminRoutes {
		for _, scope := range latch.Scopes() {
			var ran []string
			notFound := latch.Errorf(latch.KindNotFound, latch.CodeNotFound, "no such user")
			run := func(name string) error { ran = append(ran, name); return notFound }
			f := &fakeAccounts{t: t,
				AuthenticateClientFn: func(_ context.Context, tok string) (account.Admin, error) {
					if tok != "client-token" {
						t.Errorf("AuthenticateClient(%q)", tok)
					}
					return account.Admin{Client: &latch.Client{ID: "c1", Scope: scope}, TenantID: latch.DefaultTenantID}, nil
				},
				ListUsersFn: func(context.Context, account.Admin, string, string, int) (account.UserPage, error) {
					return account.UserPage{}, run("ListUsers")
				},
				UserFn: func(context.Context, account.Admin, account.UserRef) (latch.User, error) {
					return latch.User{}, run("User")
				},
				AdminCreateUserFn: func(context.Context, account.Admin, account.AdminCreateUserInput) (latch.User, error) {
					return latch.User{}, run("AdminCreateUser")
				},
				AdminUpdateUserFn: func(context.Context, account.Admin, account.UserRef, account.AdminUserChange) (latch.User, error) {
					return latch.User{}, run("AdminUpdateUser")
				},
				AdminDeleteUserFn: func(context.Context, account.Admin, account.UserRef) error { return run("AdminDeleteUser") },
				AdminSetPasswordFn: func(context.Context, account.Admin, account.AdminSetPasswordInput) error {
					return run("AdminSetPassword")
				},
				UserSessionsFn: func(context.Context, account.Admin, account.UserRef) ([]latch.Session, error) {
					return nil, run("UserSessions")
				},
				RevokeUserSessionsFn: func(context.Context, account.Admin, account.UserRef, string) (int, error) {
					return 0, run("RevokeUserSessions")
				},
				PolicyFn: func(context.Context, account.Admin) (latch.PasswordPolicy, error) {
					return latch.PasswordPolicy{}, run("Policy")
				},
				SetPolicyFn: func(context.Context, account.Admin, account.PolicyChange) (latch.PasswordPolicy, error) {
					return latch.PasswordPolicy{}, run("SetPolicy")
				},
				AuditEventsFn: func(context.Context, account.Admin, latch.AuditQuery) ([]latch.AuditEvent, error) {
					return nil, run("AuditEvents")
				},
				FactorPolicyFn: func(context.Context, account.Admin) (latch.FactorPolicy, error) {
					return latch.FactorPolicy{}, run("FactorPolicy")
				},
				SetFactorPolicyFn: func(context.Context, account.Admin, account.FactorPolicyChange) (latch.FactorPolicy, error) {
					return latch.FactorPolicy{}, run("SetFactorPolicy")
				},
				AdminResetFactorsFn: func(context.Context, account.Admin, account.UserRef) error { return run("AdminResetFactors") },
			}
			body, contentType := "", ""
			if route.hasBody {
				body, contentType = `{"email":`, "application/json"
			}
			req := newRequest(route.method, route.path, contentType, body)
			req.Header.Set("Authorization", "Bearer client-token")
			rec, panicked := serveFake(fakeSurface(f), req)
			name := route.method + " " + route.path + " as " + string(scope)
			if panicked != nil {
				t.Errorf("%s: panic: %v", name, panicked)
				continue
			}
			got := decodeBody(t, rec.Body.String())
			switch {
			case !scope.Grants(route.needs):
				if rec.Code != 403 || got["code"] != latch.CodeInsufficientScope || len(ran) != 0 {
					t.Errorf("%s: %d %v, use cases run %v; want 403 insufficient_scope and none run", name, rec.Code, got, ran)
				}
			case route.hasBody:
				if rec.Code != 400 || got["code"] != "invalid_json" || len(ran) != 0 {
					t.Errorf("%s: %d %v, use cases run %v; want the broken body refused", name, rec.Code, got, ran)
				}
			default:
				if rec.Code != 404 || got["code"] != latch.CodeNotFound || len(ran) != 1 {
					t.Errorf("%s: %d %v, use cases run %v; want the use case's 404", name, rec.Code, got, ran)
				}
			}
		}
	}
}

// TestAdminRoutesNeedAClientToken: without a token, or with one that is
// not an API client's, an administration route answers 401 or 403 and
// runs nothing.
func TestAdminRoutesNeedAClientToken(t *testing.T) {
	f := &fakeAccounts{t: t, AuthenticateClientFn: func(context.Context, string) (account.Admin, error) {
		return account.Admin{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeNotClientToken, Message: "this is a user's token, not an API client's"}
	}}
	h := fakeSurface(f)
	rec, _ := serveFake(h, newRequest("GET", "/v1/admin/users", "", ""))
	if got := decodeBody(t, rec.Body.String()); rec.Code != 401 || got["code"] != "missing_token" || rec.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d %v %v", rec.Code, got, rec.Header())
	}
	req := newRequest("GET", "/v1/admin/users", "", "")
	req.Header.Set("Authorization", "Bearer a-user-token")
	rec, _ = serveFake(h, req)
	if got := decodeBody(t, rec.Body.String()); rec.Code != 403 || got["code"] != latch.CodeNotClientToken {
		t.Errorf("a user's token: %d %v", rec.Code, got)
	}
}

// TestProviderFlowOnTheUseCasesClock: the provider sign-in seals the
// deadline the use cases give (FlowDeadline) into its cookie and asks the
// use cases (FlowLive) at the callback: a flow they call dead is the
// "expired" page and goes no further; a live one reaches the provider and
// returns to the app with a code, or with the refusing rule's code.
func TestProviderFlowOnTheUseCasesClock(t *testing.T) {
	deadline := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	challenge := token.S256("a verifier of the app")
	type outcome struct {
		live      bool
		resolve   error
		status    int
		location  url.Values // the app's redirect query, when 302
		pageSays  string
		exchanged bool
	}
	for name, c := range map[string]outcome{
		"expired": {live: false, status: 400, pageSays: "This sign-in expired or was started in another browser."},
		"signed in": {live: true, status: 302, exchanged: true,
			location: url.Values{"code": {"one-time-code"}, "state": {"app-state"}}},
		"refused by a rule": {live: true, status: 302, exchanged: true,
			resolve:  &latch.Error{Kind: latch.KindForbidden, Code: account.CodeEmailNotLinkable, Message: "sign in the way you did before"},
			location: url.Values{"error": {"access_denied"}, "error_code": {account.CodeEmailNotLinkable}, "error_description": {"sign in the way you did before"}, "state": {"app-state"}}},
	} {
		t.Run(name, func(t *testing.T) {
			var liveAsked []time.Time
			exchanged := false
			f := &fakeAccounts{t: t,
				AllowedRedirectFn: func(raw string) (*url.URL, error) { return url.Parse(raw) },
				FlowDeadlineFn:    func() time.Time { return deadline },
				FlowLiveFn: func(d time.Time) bool {
					liveAsked = append(liveAsked, d)
					return c.live
				},
				ResolveIdentityFn: func(_ context.Context, ext latch.ExternalIdentity) (latch.User, error) {
					if ext.Subject != "sub-1" {
						t.Errorf("ResolveIdentity(%+v)", ext)
					}
					return latch.User{ID: "u1"}, c.resolve
				},
				IssueAuthorizationCodeFn: func(_ context.Context, u latch.User, ch, redirect, verified string) (string, error) {
					if u.ID != "u1" || ch != challenge || redirect != "https://app.example/cb" || verified != "" {
						t.Errorf("IssueAuthorizationCode(%v, %q, %q, %q)", u.ID, ch, redirect, verified)
					}
					return "one-time-code", nil
				},
			}
			provider := fakeProvider{name: "acme", exchange: func(code, verifier, nonce string) (latch.ExternalIdentity, error) {
				exchanged = true
				if code != "provider-code" || verifier == "" || nonce == "" {
					t.Errorf("Exchange(%q, %q, %q)", code, verifier, nonce)
				}
				return latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: "https://idp.example", Subject: "sub-1"}, nil
			}}
			h := fakeSurface(f, provider)

			start := url.Values{"redirect_to": {"https://app.example/cb"}, "code_challenge": {challenge}, "state": {"app-state"}}
			rec, _ := serveFake(h, newRequest("GET", "/v1/oauth/acme/start?"+start.Encode(), "", ""))
			if rec.Code != 302 || !strings.HasPrefix(rec.Header().Get("Location"), "https://idp.example/auth?") {
				t.Fatalf("start: %d %v %s", rec.Code, rec.Header(), rec.Body)
			}
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 || cookies[0].Name != "latch_oauth" || cookies[0].MaxAge != 600 {
				t.Fatalf("start cookies %v, want the flow's, for 600 s", cookies)
			}
			atProvider, _ := url.Parse(rec.Header().Get("Location"))

			req := newRequest("GET", "/v1/oauth/acme/callback?"+url.Values{"code": {"provider-code"}, "state": {atProvider.Query().Get("state")}}.Encode(), "", "")
			req.AddCookie(cookies[0])
			rec, panicked := serveFake(h, req)
			if panicked != nil {
				t.Fatalf("callback panic: %v", panicked)
			}
			if len(liveAsked) != 1 || !liveAsked[0].Equal(deadline) {
				t.Errorf("FlowLive asked about %v, want once about the deadline %v", liveAsked, deadline)
			}
			if rec.Code != c.status || exchanged != c.exchanged {
				t.Fatalf("callback: %d (exchanged %v): %s", rec.Code, exchanged, rec.Body)
			}
			if c.pageSays != "" && (!strings.Contains(rec.Body.String(), c.pageSays) || rec.Header().Get("Content-Type") != "text/html; charset=utf-8") {
				t.Errorf("callback page: %v %s", rec.Header(), rec.Body)
			}
			if c.location != nil {
				back, _ := url.Parse(rec.Header().Get("Location"))
				if back.Host != "app.example" || back.Path != "/cb" || back.Query().Encode() != c.location.Encode() {
					t.Errorf("back to the app at %s, want ?%s", back, c.location.Encode())
				}
			}
		})
	}
}
