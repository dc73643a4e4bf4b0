package openid_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// userInfoFake answers every token with info, recording the token.
func userInfoFake(t *testing.T, info account.UserInfo, got *string) *fakeAccounts {
	return &fakeAccounts{t: t, AppUserInfoFn: func(_ context.Context, tok string) (account.UserInfo, error) {
		*got = tok
		return info, nil
	}}
}

// TestUserinfoClaims: the claims are Core §5.3.2's JSON, empty ones left
// out, updated_at a number of seconds, email_verified false when it is
// false (not left out).
func TestUserinfoClaims(t *testing.T) {
	verified, unverified := true, false
	updated := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		info account.UserInfo
		want string
	}{
		{account.UserInfo{Subject: "0199-user", Email: "ada@example.com", EmailVerified: &verified, Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace", UpdatedAt: &updated},
			`{"sub":"0199-user","email":"ada@example.com","email_verified":true,"name":"Ada Lovelace","given_name":"Ada","family_name":"Lovelace","updated_at":1795428000}`},
		{account.UserInfo{Subject: "0199-user", Email: "ada@example.com", EmailVerified: &unverified},
			`{"sub":"0199-user","email":"ada@example.com","email_verified":false}`},
		{account.UserInfo{Subject: "0199-user"}, `{"sub":"0199-user"}`},
		{account.UserInfo{Subject: "0199-user", UpdatedAt: &time.Time{}}, `{"sub":"0199-user"}`},
	} {
		var tok string
		a := call(serve(t, userInfoFake(t, c.info, &tok), testIssuer), "GET", "/oauth2/userinfo", map[string]string{"Authorization": "Bearer eyJ.at"}, "")
		if a.status != 200 || strings.TrimSpace(string(a.body)) != c.want {
			t.Errorf("%d %s, want %s", a.status, a.body, c.want)
		}
		if tok != "eyJ.at" || a.header.Get("Content-Type") != "application/json" || a.header.Get("Cache-Control") != "no-store" || a.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("token %q, headers %v", tok, a.header)
		}
	}
}

// TestUserinfoToken: where the access token may travel (RFC 6750 §2):
// the Authorization header, or a POST's form body; never the query.
func TestUserinfoToken(t *testing.T) {
	info := account.UserInfo{Subject: "0199-user"}
	for _, c := range []struct {
		name      string
		method    string
		target    string
		header    map[string]string
		body      string
		wantToken string
		status    int
		challenge string
	}{
		{name: "header, GET", method: "GET", target: "/oauth2/userinfo", header: map[string]string{"Authorization": "Bearer eyJ.a-b_c~d+e/f="}, wantToken: "eyJ.a-b_c~d+e/f=", status: 200},
		{name: "header, scheme in lower case", method: "GET", target: "/oauth2/userinfo", header: map[string]string{"Authorization": "bearer eyJ.at"}, wantToken: "eyJ.at", status: 200},
		{name: "header, POST without a body", method: "POST", target: "/oauth2/userinfo", header: map[string]string{"Authorization": "Bearer eyJ.at"}, wantToken: "eyJ.at", status: 200},
		{name: "header, POST with a JSON body (not read)", method: "POST", target: "/oauth2/userinfo", header: map[string]string{"Authorization": "Bearer eyJ.at", "Content-Type": "application/json"}, body: `{"access_token":"x"}`, wantToken: "eyJ.at", status: 200},
		{name: "form body", method: "POST", target: "/oauth2/userinfo", header: formHeader, body: "access_token=eyJ.body", wantToken: "eyJ.body", status: 200},
		{name: "form body with a charset", method: "POST", target: "/oauth2/userinfo", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=UTF-8"}, body: "access_token=eyJ.body&other=1", wantToken: "eyJ.body", status: 200},

		{name: "no token", method: "GET", target: "/oauth2/userinfo", status: 401, challenge: `Bearer realm="latch"`},
		{name: "no token, POST with an empty form", method: "POST", target: "/oauth2/userinfo", header: formHeader, body: "", status: 401, challenge: `Bearer realm="latch"`},
		{name: "another scheme", method: "GET", target: "/oauth2/userinfo", header: map[string]string{"Authorization": "Basic YTpi"}, status: 401, challenge: `Bearer realm="latch"`},
		{name: "a GET's form body is not read", method: "GET", target: "/oauth2/userinfo", header: formHeader, body: "access_token=eyJ.body", status: 401, challenge: `Bearer realm="latch"`},
		{name: "query", method: "GET", target: "/oauth2/userinfo?access_token=eyJ.q", status: 400, challenge: `Bearer realm="latch", error="invalid_request"`},
		{name: "query and header", method: "GET", target: "/oauth2/userinfo?access_token=eyJ.q", header: map[string]string{"Authorization": "Bearer eyJ.at"}, status: 400, challenge: `Bearer realm="latch", error="invalid_request"`},
		{name: "header and form body", method: "POST", target: "/oauth2/userinfo", header: withHeader("Authorization", "Bearer eyJ.at"), body: "access_token=eyJ.body", status: 400, challenge: `Bearer realm="latch", error="invalid_request"`},
		{name: "form body twice", method: "POST", target: "/oauth2/userinfo", header: formHeader, body: "access_token=a&access_token=b", status: 400, challenge: `Bearer realm="latch", error="invalid_request"`},
		{name: "Bearer without a token", method: "GET", target: "/oauth2/userinfo", header: map[string]string{"Authorization": "Bearer "}, status: 400, challenge: `Bearer realm="latch", error="invalid_request"`},
		{name: "Bearer with two words", method: "GET", target: "/oauth2/userinfo", header: map[string]string{"Authorization": "Bearer a b"}, status: 400, challenge: `Bearer realm="latch", error="invalid_request"`},
		{name: "form body too large", method: "POST", target: "/oauth2/userinfo", header: formHeader, body: "access_token=" + strings.Repeat("a", httpx.MaxBodyBytes), status: 413, challenge: `Bearer realm="latch", error="invalid_request"`},
		{name: "form body not UTF-8", method: "POST", target: "/oauth2/userinfo", header: formHeader, body: "access_token=\xff", status: 400, challenge: `Bearer realm="latch", error="invalid_request"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got string
			fake := &fakeAccounts{t: t}
			if c.status == 200 {
				fake = userInfoFake(t, info, &got)
			}
			a := call(serve(t, fake, testIssuer), c.method, c.target, c.header, c.body)
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.body)
			}
			if c.status == 200 {
				if got != c.wantToken {
					t.Errorf("token %q, want %q", got, c.wantToken)
				}
				return
			}
			wantChallenge(t, a, c.challenge)
			if c.status == 401 && (len(a.body) != 0 || a.header.Get("WWW-Authenticate") != c.challenge) {
				// RFC 6750 §3.1: no error code for a request that
				// carried no token.
				t.Errorf("a request without a token: %q %s", a.header.Get("WWW-Authenticate"), a.body)
			}
			if c.status != 401 {
				if m := a.json(t); m["error"] != "invalid_request" {
					t.Errorf("body %s", a.body)
				}
			}
		})
	}

	t.Run("two Authorization headers", func(t *testing.T) {
		req := httptest.NewRequest("GET", "/oauth2/userinfo", nil)
		req.Header.Add("Authorization", "Bearer a")
		req.Header.Add("Authorization", "Bearer b")
		rec := httptest.NewRecorder()
		serve(t, &fakeAccounts{t: t}, testIssuer).ServeHTTP(rec, req)
		if rec.Code != 400 || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Bearer realm="latch", error="invalid_request"`) {
			t.Errorf("%d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	})
}

// wantChallenge checks that WWW-Authenticate begins with prefix and that
// its error_description, if any, is a quoted string of RFC 6750 §3's
// characters.
func wantChallenge(t *testing.T, a answer, prefix string) {
	t.Helper()
	got := a.header.Values("WWW-Authenticate")
	if len(got) != 1 || !strings.HasPrefix(got[0], prefix) {
		t.Errorf("WWW-Authenticate %q, want %s...", got, prefix)
		return
	}
	if _, desc, ok := strings.Cut(got[0], `error_description="`); ok {
		desc, rest, closed := strings.Cut(desc, `"`)
		if !closed || strings.ContainsAny(desc, `\`) || strings.IndexFunc(desc, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 ||
			(rest != "" && !strings.HasPrefix(rest, ", ")) {
			t.Errorf("WWW-Authenticate %q: error_description is not one quoted string", got[0])
		}
	}
}

// TestUserinfoErrorMapping: every error of AppUserInfo is answered as RFC
// 6750 §3 says: 401 invalid_token for a token that is not good, 403
// insufficient_scope naming openid, 400 invalid_request, and the server's
// state as at the token endpoint (no challenge then).
func TestUserinfoErrorMapping(t *testing.T) {
	errs := everyTokenError()
	for _, e := range errs {
		fake := &fakeAccounts{t: t, AppUserInfoFn: func(context.Context, string) (account.UserInfo, error) { return account.UserInfo{}, e }}
		a := call(serve(t, fake, testIssuer), "GET", "/oauth2/userinfo", map[string]string{"Authorization": "Bearer eyJ.secret-token"}, "")
		what := e.Kind.String() + " " + e.Code
		var status int
		var code, challenge string
		switch {
		case e.Kind == latch.KindInternal:
			status, code = 500, "server_error"
		case e.Kind == latch.KindUnavailable:
			status, code = 503, "temporarily_unavailable"
		case e.Kind == latch.KindTooMany:
			status, code = 429, "temporarily_unavailable"
		case e.Kind == latch.KindForbidden:
			status, code, challenge = 403, "insufficient_scope", `Bearer realm="latch", error="insufficient_scope"`
		case e.Kind == latch.KindInvalid && e.Code == httpx.CodeBodyTooLarge:
			status, code, challenge = 413, "invalid_request", `Bearer realm="latch", error="invalid_request"`
		case e.Kind == latch.KindInvalid:
			status, code, challenge = 400, "invalid_request", `Bearer realm="latch", error="invalid_request"`
		case e.Code == httpx.CodeMissingToken:
			status, challenge = 401, `Bearer realm="latch"`
		default:
			status, code, challenge = 401, "invalid_token", `Bearer realm="latch", error="invalid_token"`
		}
		if a.status != status {
			t.Errorf("%s: status %d, want %d", what, a.status, status)
			continue
		}
		if challenge == "" {
			if v := a.header.Get("WWW-Authenticate"); v != "" {
				t.Errorf("%s: WWW-Authenticate %q", what, v)
			}
		} else {
			wantChallenge(t, a, challenge)
		}
		if status == 403 && !strings.HasSuffix(a.header.Get("WWW-Authenticate"), `, scope="openid"`) {
			t.Errorf("%s: the challenge names no scope: %q", what, a.header.Get("WWW-Authenticate"))
		}
		if code != "" {
			if m := a.json(t); m["error"] != code {
				t.Errorf("%s: body %s, want error %s", what, a.body, code)
			}
		}
		if (status == 429 || status == 503) && a.header.Get("Retry-After") == "" {
			t.Errorf("%s: no Retry-After", what)
		}
		if strings.Contains(string(a.body)+strings.Join(a.header.Values("WWW-Authenticate"), ""), "secret-token") {
			t.Errorf("%s: the token is echoed", what)
		}
		if a.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: a browser app cannot read the error", what)
		}
	}
	t.Logf("%d errors, each in RFC 6750 section 3's shape", len(errs))
}
