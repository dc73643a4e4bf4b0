package onelogin_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

const (
	oldPassword = "securePassword123!"
	newPassword = "Brand-new-passw0rd!"
)

type fixture struct {
	h   *testenv.Harness
	srv *httptest.Server
	// manageAll is a Manage All client's token in the default tenant.
	manageAll string
	user      latch.User
}

func setup(t *testing.T, h *testenv.Harness) fixture {
	_, _, tok := h.APIClient(t, latch.ScopeManageAll, "", false)
	u := h.PasswordUser(t, "target@example.com", oldPassword, "", false)
	return fixture{h: h, srv: h.Server(t), manageAll: tok, user: u}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (fx fixture) put(t *testing.T, path string, headers map[string]string, body string) response {
	t.Helper()
	return fx.do(t, http.MethodPut, path, headers, body)
}

func (fx fixture) do(t *testing.T, method, path string, headers map[string]string, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, fx.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func seedHeaders(token string) map[string]string {
	return map[string]string{"Authorization": "bearer:" + token, "Content-Type": "application/json"}
}

func setPath(n int64) string {
	return "/api/1/users/set_password_clear_text/" + itoa(n)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func body(pw, confirmation string, validate *bool) string {
	m := map[string]any{"password": pw, "password_confirmation": confirmation}
	if validate != nil {
		m["validate_policy"] = *validate
	}
	b, _ := json.Marshal(m)
	return string(b)
}

var yes, no = true, false

// golden compares a response with testdata/<name>.json byte for byte and
// checks the status code the envelope names.
func golden(t *testing.T, res response, wantStatus int, name string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if res.status != wantStatus || !bytes.Equal(res.body, want) {
		t.Fatalf("got %d %s\nwant %d %s", res.status, res.body, wantStatus, want)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

// loginWorks reports whether pw signs the user in.
func (fx fixture) loginWorks(t *testing.T, email, pw string) bool {
	t.Helper()
	_, err := fx.h.Accounts.Login(context.Background(), account.LoginInput{Email: email, Password: pw, ClientIP: "192.0.2.1"})
	if err != nil && !latch.IsCode(err, latch.CodeInvalidCredentials) {
		t.Fatalf("login: %v", err)
	}
	return err == nil
}

func TestSetPasswordContract(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := setup(t, h)
		path := setPath(fx.user.Number)
		ok := body(newPassword, newPassword, nil)

		cases := []struct {
			name    string
			path    string
			headers map[string]string
			body    string
			status  int
			golden  string
		}{
			{"id not a number", "/api/1/users/set_password_clear_text/abc", seedHeaders(fx.manageAll), ok, 400, "bad_id"},
			{"id zero", "/api/1/users/set_password_clear_text/0", seedHeaders(fx.manageAll), ok, 400, "bad_id"},
			{"id negative", "/api/1/users/set_password_clear_text/-4", seedHeaders(fx.manageAll), ok, 400, "bad_id"},
			{"id empty", "/api/1/users/set_password_clear_text/", seedHeaders(fx.manageAll), ok, 400, "bad_id"},
			{"id too large", "/api/1/users/set_password_clear_text/99999999999999999999", seedHeaders(fx.manageAll), ok, 400, "bad_id"},
			{"id with a path", "/api/1/users/set_password_clear_text/1/2", seedHeaders(fx.manageAll), ok, 400, "bad_id"},
			{"no Authorization", path, map[string]string{"Content-Type": "application/json"}, ok, 400, "bad_authorization"},
			{"Authorization without scheme", path, map[string]string{"Authorization": fx.manageAll, "Content-Type": "application/json"}, ok, 400, "bad_authorization"},
			{"empty bearer:", path, map[string]string{"Authorization": "bearer:", "Content-Type": "application/json"}, ok, 400, "bad_authorization"},
			{"Basic scheme", path, map[string]string{"Authorization": "Basic abc", "Content-Type": "application/json"}, ok, 400, "bad_authorization"},
			{"garbage token", path, seedHeaders("garbage"), ok, 401, "auth_failure"},
			{"no Content-Type", path, map[string]string{"Authorization": "bearer:" + fx.manageAll}, ok, 400, "content_type"},
			{"text/plain", path, map[string]string{"Authorization": "bearer:" + fx.manageAll, "Content-Type": "text/plain"}, ok, 400, "content_type"},
			{"not JSON", path, seedHeaders(fx.manageAll), "{password:", 400, "invalid_json"},
			{"empty body", path, seedHeaders(fx.manageAll), "", 400, "invalid_json"},
			{"two JSON values", path, seedHeaders(fx.manageAll), ok + ok, 400, "invalid_json"},
			{"password a number", path, seedHeaders(fx.manageAll), `{"password":12345678,"password_confirmation":"x"}`, 400, "invalid_json"},
			{"validate_policy a string", path, seedHeaders(fx.manageAll), `{"password":"a","password_confirmation":"a","validate_policy":"yes"}`, 400, "invalid_json"},
			{"array body", path, seedHeaders(fx.manageAll), `[]`, 400, "invalid_json"},
			{"no confirmation", path, seedHeaders(fx.manageAll), `{"password":"` + newPassword + `"}`, 400, "missing"},
			{"no password", path, seedHeaders(fx.manageAll), `{"password_confirmation":"` + newPassword + `"}`, 400, "missing"},
			{"empty object", path, seedHeaders(fx.manageAll), `{}`, 400, "missing"},
			{"empty password", path, seedHeaders(fx.manageAll), body("", "", nil), 400, "missing"},
			{"mismatch", path, seedHeaders(fx.manageAll), body(newPassword, newPassword+"x", nil), 400, "mismatch"},
			{"policy: too short", path, seedHeaders(fx.manageAll), body("abc", "abc", &yes), 400, "policy"},
			{"policy: common", path, seedHeaders(fx.manageAll), body("password", "password", &yes), 400, "policy"},
			{"hard limit: too long, policy bypassed", path, seedHeaders(fx.manageAll), body(strings.Repeat("a", 300), strings.Repeat("a", 300), &no), 400, "policy"},
			{"unknown user", "/api/1/users/set_password_clear_text/9999999999999999", seedHeaders(fx.manageAll), ok, 404, "not_found"},
		}
		for _, c := range cases {
			res := fx.put(t, c.path, c.headers, c.body)
			t.Run(c.name, func(t *testing.T) { golden(t, res, c.status, c.golden) })
		}
		if !fx.loginWorks(t, fx.user.Email, oldPassword) {
			t.Fatal("a refused request changed the password")
		}

		// The standard scheme works too, and the password logs in at once.
		res := fx.put(t, path, map[string]string{"Authorization": "Bearer " + fx.manageAll, "Content-Type": "application/json; charset=utf-8"}, ok)
		golden(t, res, 200, "success")
		if !fx.loginWorks(t, fx.user.Email, newPassword) || fx.loginWorks(t, fx.user.Email, oldPassword) {
			t.Fatal("the new password does not log in, or the old one still does")
		}
	})
}

func TestSetPasswordPolicyBypass(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := setup(t, h)
		path := setPath(fx.user.Number)
		// Without validate_policy (default false), only hard limits apply:
		// a short, common password is accepted, as OneLogin's admin UI does.
		golden(t, fx.put(t, path, seedHeaders(fx.manageAll), body("abc", "abc", nil)), 200, "success")
		if !fx.loginWorks(t, fx.user.Email, "abc") {
			t.Fatal("bypassed password does not log in")
		}
		// The same with validate_policy true is refused.
		golden(t, fx.put(t, path, seedHeaders(fx.manageAll), body("abd", "abd", &yes)), 400, "policy")

		// A tenant policy with composition rules and history 3.
		ctx := context.Background()
		minLen, hist := 10, 3
		req := []string{"upper", "lower", "digit", "special"}
		if _, err := h.Accounts.SetPolicy(ctx, account.Operator(""), account.PolicyChange{MinLength: &minLen, Require: &req, History: &hist}); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{
			"alllowercase1!", // no upper
			"NoDigitsHere!!", // no digit
			"NoSpecial1234",  // no special
			"Bad^Special12",  // ^ is not one of the seed's specials
			"Sh0rt!",         // too short
		} {
			golden(t, fx.put(t, path, seedHeaders(fx.manageAll), body(bad, bad, &yes)), 400, "policy")
		}
		// Every one of the seed's specials counts.
		for i, sp := range []rune("!@#€%&.,$+§/()=*;:_-") {
			pw := "Valid" + string(sp) + "Passw0rd" + itoa(int64(i))
			golden(t, fx.put(t, path, seedHeaders(fx.manageAll), body(pw, pw, &yes)), 200, "success")
		}
		// The bypass ignores the composition rules and the history.
		golden(t, fx.put(t, path, seedHeaders(fx.manageAll), body("simple", "simple", &no)), 200, "success")
	})
}

// TestHistoryDepthThree: with depth 3 the last three passwords are refused
// and the fourth-oldest is accepted.
func TestHistoryDepthThree(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := setup(t, h)
		path := setPath(fx.user.Number)
		hist := 3
		if _, err := h.Accounts.SetPolicy(context.Background(), account.Operator(""), account.PolicyChange{History: &hist}); err != nil {
			t.Fatal(err)
		}
		pws := []string{"First-passw0rd!", "Second-passw0rd!", "Third-passw0rd!", "Fourth-passw0rd!"}
		for _, pw := range pws {
			golden(t, fx.put(t, path, seedHeaders(fx.manageAll), body(pw, pw, &yes)), 200, "success")
		}
		// The last three passwords, newest first, are Fourth (the current
		// one), Third and Second; First is the fourth-newest.
		for _, reused := range pws[1:] {
			golden(t, fx.put(t, path, seedHeaders(fx.manageAll), body(reused, reused, &yes)), 400, "policy")
		}
		golden(t, fx.put(t, path, seedHeaders(fx.manageAll), body(pws[0], pws[0], &yes)), 200, "success")
		if !fx.loginWorks(t, fx.user.Email, pws[0]) {
			t.Fatal("the accepted old password does not log in")
		}
	})
}

func TestSetPasswordAuthorization(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := setup(t, h)
		ctx := context.Background()
		ok := body(newPassword, newPassword, nil)
		path := setPath(fx.user.Number)

		// Every scope but Manage All: 401 Insufficient Permission, before
		// the body is even read.
		for _, sc := range []latch.Scope{latch.ScopeAuthenticationOnly, latch.ScopeReadUsers, latch.ScopeManageUsers, latch.ScopeReadAll} {
			_, _, tok := h.APIClient(t, sc, "", true)
			golden(t, fx.put(t, path, seedHeaders(tok), ok), 401, "insufficient")
			golden(t, fx.put(t, path, seedHeaders(tok), "not json"), 401, "insufficient")
		}

		// A user's own session token is not an API credential.
		_, pair := h.OAuthUser(t, "someone@example.com")
		golden(t, fx.put(t, path, seedHeaders(pair.AccessToken), ok), 401, "auth_failure")

		// A user of another tenant: 403.
		other, err := h.Accounts.CreateTenant(ctx, account.Operator(""), "other")
		if err != nil {
			t.Fatal(err)
		}
		stranger := h.PasswordUser(t, "stranger@example.com", oldPassword, other.ID, false)
		golden(t, fx.put(t, setPath(stranger.Number), seedHeaders(fx.manageAll), ok), 403, "forbidden")
		// ...and the other tenant's own client may.
		_, _, otherTok := h.APIClient(t, latch.ScopeManageAll, other.ID, false)
		golden(t, fx.put(t, setPath(stranger.Number), seedHeaders(otherTok), ok), 200, "success")
		golden(t, fx.put(t, path, seedHeaders(otherTok), ok), 403, "forbidden")

		// An administrator: only a super client may.
		boss := h.PasswordUser(t, "boss@example.com", oldPassword, "", true)
		golden(t, fx.put(t, setPath(boss.Number), seedHeaders(fx.manageAll), ok), 403, "forbidden")
		_, _, superTok := h.APIClient(t, latch.ScopeManageAll, "", true)
		golden(t, fx.put(t, setPath(boss.Number), seedHeaders(superTok), ok), 200, "success")

		// A revoked client's token stops at once.
		c, _, tok := h.APIClient(t, latch.ScopeManageAll, "", false)
		if err := h.Accounts.RevokeClient(ctx, account.Operator(""), c.ID); err != nil {
			t.Fatal(err)
		}
		golden(t, fx.put(t, path, seedHeaders(tok), ok), 401, "auth_failure")
		// An expired one too.
		h.Clock.Advance(2 * time.Hour)
		golden(t, fx.put(t, path, seedHeaders(fx.manageAll), ok), 401, "auth_failure")
	})
}

func TestSetPasswordRevokesSessions(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := setup(t, h)
		ctx := context.Background()
		pair, err := h.Accounts.Login(ctx, account.LoginInput{Email: fx.user.Email, Password: oldPassword, ClientIP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		golden(t, fx.put(t, setPath(fx.user.Number), seedHeaders(fx.manageAll), body(newPassword, newPassword, nil)), 200, "success")
		if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Fatalf("a session from before the reset still works: %v", err)
		}
		if _, err := h.Accounts.Refresh(ctx, pair.RefreshToken); err == nil {
			t.Fatal("a refresh token from before the reset still works")
		}
		events, err := h.Accounts.AuditEvents(ctx, account.Operator(""), latch.AuditQuery{Action: latch.AuditPasswordReset})
		if err != nil || len(events) != 1 || events[0].TargetID != fx.user.ID || events[0].ActorType != latch.ActorClient {
			t.Fatalf("audit: %+v, %v", events, err)
		}
	})
}

func TestTokenContract(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := setup(t, h)
		c, secret, _ := h.APIClient(t, latch.ScopeManageAll, "", false)
		seedAuth := "client_id:" + c.ID + ", client_secret:" + secret
		jsonCT := map[string]string{"Authorization": seedAuth, "Content-Type": "application/json"}
		res := fx.do(t, http.MethodPost, "/auth/oauth2/v2/token", jsonCT, `{"grant_type":"client_credentials"}`)
		if res.status != 200 {
			t.Fatalf("token: %d %s", res.status, res.body)
		}
		var tok map[string]any
		if err := json.Unmarshal(res.body, &tok); err != nil {
			t.Fatal(err)
		}
		keys := []string{"access_token", "created_at", "expires_in", "refresh_token", "token_type", "account_id"}
		if len(tok) != len(keys) {
			t.Fatalf("fields: %v", tok)
		}
		for _, k := range keys {
			if _, ok := tok[k]; !ok {
				t.Fatalf("missing %s in %s", k, res.body)
			}
		}
		if tok["token_type"] != "bearer" || tok["account_id"] != float64(1) || tok["expires_in"] != float64(3600) {
			t.Fatalf("token: %s", res.body)
		}
		access := tok["access_token"].(string)
		golden(t, fx.put(t, setPath(fx.user.Number), seedHeaders(access), body(newPassword, newPassword, nil)), 200, "success")

		// HTTP Basic is accepted too.
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.ID+":"+secret))
		if res := fx.do(t, http.MethodPost, "/auth/oauth2/v2/token", map[string]string{"Authorization": basic, "Content-Type": "application/json"}, `{"grant_type":"client_credentials"}`); res.status != 200 {
			t.Fatalf("basic: %d %s", res.status, res.body)
		}

		// The refresh grant renews, and the old access token stops.
		res = fx.do(t, http.MethodPost, "/auth/oauth2/v2/token", map[string]string{"Content-Type": "application/json"},
			`{"grant_type":"refresh_token","access_token":"`+access+`","refresh_token":"`+tok["refresh_token"].(string)+`"}`)
		if res.status != 200 {
			t.Fatalf("refresh: %d %s", res.status, res.body)
		}
		golden(t, fx.put(t, setPath(fx.user.Number), seedHeaders(access), body(newPassword, newPassword, nil)), 401, "auth_failure")
		var renewed map[string]any
		if err := json.Unmarshal(res.body, &renewed); err != nil {
			t.Fatal(err)
		}
		// Within the reuse interval, the used refresh token gets the same
		// grant again (two requests of one client at once).
		h.Clock.Advance(2 * time.Second)
		res = fx.do(t, http.MethodPost, "/auth/oauth2/v2/token", map[string]string{"Content-Type": "application/json"},
			`{"grant_type":"refresh_token","refresh_token":"`+tok["refresh_token"].(string)+`"}`)
		var again map[string]any
		if res.status != 200 || json.Unmarshal(res.body, &again) != nil || again["refresh_token"] != renewed["refresh_token"] {
			t.Fatalf("refresh again within the reuse interval: %d %s, want refresh_token %v", res.status, res.body, renewed["refresh_token"])
		}
		for _, tok := range []any{renewed["access_token"], again["access_token"]} {
			golden(t, fx.put(t, setPath(fx.user.Number), seedHeaders(tok.(string)), body(newPassword, newPassword, nil)), 200, "success")
		}
		// Past it, a used refresh token is refused, and its reuse revokes
		// the grant it was renewed into: that grant's access tokens stop.
		h.Clock.Advance(account.DefaultRefreshReuseInterval)
		golden(t, fx.do(t, http.MethodPost, "/auth/oauth2/v2/token", map[string]string{"Content-Type": "application/json"},
			`{"grant_type":"refresh_token","refresh_token":"`+tok["refresh_token"].(string)+`"}`), 401, "auth_failure")
		for _, tok := range []any{renewed["access_token"], again["access_token"]} {
			golden(t, fx.put(t, setPath(fx.user.Number), seedHeaders(tok.(string)), body(newPassword, newPassword, nil)), 401, "auth_failure")
		}
		golden(t, fx.do(t, http.MethodPost, "/auth/oauth2/v2/token", map[string]string{"Content-Type": "application/json"},
			`{"grant_type":"refresh_token","refresh_token":"`+renewed["refresh_token"].(string)+`"}`), 401, "auth_failure")

		cases := []struct {
			name    string
			headers map[string]string
			body    string
			status  int
			golden  string
		}{
			{"wrong secret", map[string]string{"Authorization": "client_id:" + c.ID + ", client_secret:lcs_" + strings.Repeat("A", 43), "Content-Type": "application/json"}, `{"grant_type":"client_credentials"}`, 401, "auth_failure"},
			{"unknown client", map[string]string{"Authorization": "client_id:nobody, client_secret:" + secret, "Content-Type": "application/json"}, `{"grant_type":"client_credentials"}`, 401, "auth_failure"},
			{"no Authorization", map[string]string{"Content-Type": "application/json"}, `{"grant_type":"client_credentials"}`, 400, "bad_authorization"},
			{"malformed Authorization", map[string]string{"Authorization": "client_id=" + c.ID, "Content-Type": "application/json"}, `{"grant_type":"client_credentials"}`, 400, "bad_authorization"},
			{"no grant_type", jsonCT, `{}`, 400, "grant_type"},
			{"password grant", jsonCT, `{"grant_type":"password"}`, 400, "grant_type"},
			{"form body", map[string]string{"Authorization": seedAuth, "Content-Type": "application/x-www-form-urlencoded"}, `grant_type=client_credentials`, 400, "content_type"},
			{"bad JSON", jsonCT, `{"grant_type":`, 400, "invalid_json"},
		}
		for _, c := range cases {
			res := fx.do(t, http.MethodPost, "/auth/oauth2/v2/token", c.headers, c.body)
			t.Run(c.name, func(t *testing.T) { golden(t, res, c.status, c.golden) })
		}
		// A revoked client gets no token.
		if err := h.Accounts.RevokeClient(context.Background(), account.Operator(""), c.ID); err != nil {
			t.Fatal(err)
		}
		golden(t, fx.do(t, http.MethodPost, "/auth/oauth2/v2/token", jsonCT, `{"grant_type":"client_credentials"}`), 401, "auth_failure")
	})
}
