package native_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

const adminTestPassword = "securePassword123!"

type adminFixture struct {
	h   *testenv.Harness
	srv *httptest.Server
}

func (fx adminFixture) call(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, fx.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %d %q is not a JSON object", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, out
}

// TestAdminScopeMatrix calls every admin endpoint with a client of every
// scope: an endpoint the scope does not grant answers 403
// insufficient_scope, one it grants does its work.
func TestAdminScopeMatrix(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := adminFixture{h: h, srv: h.Server(t)}
		n := 0
		freshUser := func() latch.User {
			n++
			return h.PasswordUser(t, fmt.Sprintf("matrix%d@example.com", n), adminTestPassword, "", false)
		}
		type endpoint struct {
			name    string
			allowed []latch.Scope
			status  int // when allowed
			call    func(token string) (int, map[string]any)
		}
		read := []latch.Scope{latch.ScopeReadUsers, latch.ScopeManageUsers, latch.ScopeReadAll, latch.ScopeManageAll}
		manage := []latch.Scope{latch.ScopeManageUsers, latch.ScopeManageAll}
		readAll := []latch.Scope{latch.ScopeReadAll, latch.ScopeManageAll}
		all := []latch.Scope{latch.ScopeManageAll}
		endpoints := []endpoint{
			{"list users", read, 200, func(tok string) (int, map[string]any) { return fx.call(t, "GET", "/v1/admin/users", tok, "") }},
			{"get user", read, 200, func(tok string) (int, map[string]any) {
				return fx.call(t, "GET", "/v1/admin/users/"+freshUser().ID, tok, "")
			}},
			{"user sessions", read, 200, func(tok string) (int, map[string]any) {
				return fx.call(t, "GET", "/v1/admin/users/"+freshUser().ID+"/sessions", tok, "")
			}},
			{"create user", manage, 201, func(tok string) (int, map[string]any) {
				n++
				return fx.call(t, "POST", "/v1/admin/users", tok, fmt.Sprintf(`{"email":"new%d@example.com"}`, n))
			}},
			{"update user", manage, 200, func(tok string) (int, map[string]any) {
				return fx.call(t, "PATCH", "/v1/admin/users/"+freshUser().ID, tok, `{"first_name":"Ada"}`)
			}},
			{"delete user", manage, 204, func(tok string) (int, map[string]any) {
				return fx.call(t, "DELETE", "/v1/admin/users/"+freshUser().ID, tok, "")
			}},
			{"revoke sessions", manage, 200, func(tok string) (int, map[string]any) {
				return fx.call(t, "DELETE", "/v1/admin/users/"+freshUser().ID+"/sessions", tok, "")
			}},
			{"revoke unknown session", manage, 404, func(tok string) (int, map[string]any) {
				return fx.call(t, "DELETE", "/v1/admin/users/"+freshUser().ID+"/sessions/0190f5e4-0000-7000-8000-000000000000", tok, "")
			}},
			{"set password", all, 204, func(tok string) (int, map[string]any) {
				return fx.call(t, "PUT", "/v1/admin/users/"+freshUser().ID+"/password", tok, `{"password":"Another-passw0rd!","password_confirmation":"Another-passw0rd!"}`)
			}},
			{"get policy", readAll, 200, func(tok string) (int, map[string]any) { return fx.call(t, "GET", "/v1/admin/policy", tok, "") }},
			{"set policy", all, 200, func(tok string) (int, map[string]any) {
				return fx.call(t, "PUT", "/v1/admin/policy", tok, `{"history":2}`)
			}},
			{"audit log", readAll, 200, func(tok string) (int, map[string]any) { return fx.call(t, "GET", "/v1/admin/audit", tok, "") }},
			{"get factor policy", readAll, 200, func(tok string) (int, map[string]any) {
				return fx.call(t, "GET", "/v1/admin/policy/factors", tok, "")
			}},
			{"set factor policy", all, 200, func(tok string) (int, map[string]any) {
				return fx.call(t, "PUT", "/v1/admin/policy/factors", tok, `{"required":false}`)
			}},
			{"reset factors", all, 204, func(tok string) (int, map[string]any) {
				return fx.call(t, "DELETE", "/v1/admin/users/"+freshUser().ID+"/factors", tok, "")
			}},
		}
		for _, sc := range latch.Scopes() {
			_, _, tok := h.APIClient(t, sc, "", true)
			for _, e := range endpoints {
				allowed := false
				for _, a := range e.allowed {
					allowed = allowed || a == sc
				}
				status, body := e.call(tok)
				t.Run(string(sc)+"/"+e.name, func(t *testing.T) {
					switch {
					case allowed && status != e.status:
						t.Fatalf("allowed: got %d %v, want %d", status, body, e.status)
					case !allowed && (status != 403 || body["code"] != latch.CodeInsufficientScope):
						t.Fatalf("not allowed: got %d %v, want 403 insufficient_scope", status, body)
					}
				})
			}
		}
		// A user's token is refused on every admin endpoint.
		_, pair := h.OAuthUser(t, "plain@example.com")
		for _, e := range endpoints {
			if status, body := e.call(pair.AccessToken); status != 403 || body["code"] != latch.CodeNotClientToken {
				t.Errorf("%s with a user token: %d %v", e.name, status, body)
			}
		}
		// No token at all: 401.
		if status, _ := fx.call(t, "GET", "/v1/admin/users", "", ""); status != 401 {
			t.Errorf("no token: %d", status)
		}
	})
}

func TestAdminTenantIsolation(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := adminFixture{h: h, srv: h.Server(t)}
		ctx := context.Background()
		other, err := h.Accounts.CreateTenant(ctx, account.Operator(""), "acme")
		if err != nil {
			t.Fatal(err)
		}
		mine := h.PasswordUser(t, "mine@example.com", adminTestPassword, "", false)
		theirs := h.PasswordUser(t, "theirs@example.com", adminTestPassword, other.ID, false)
		_, _, tok := h.APIClient(t, latch.ScopeManageAll, "", true)

		status, body := fx.call(t, "GET", "/v1/admin/users?email=theirs@example.com", tok, "")
		if status != 200 || len(body["users"].([]any)) != 0 {
			t.Fatalf("list by another tenant's email: %d %v", status, body)
		}
		status, body = fx.call(t, "GET", "/v1/admin/users", tok, "")
		if status != 200 || len(body["users"].([]any)) != 1 || body["users"].([]any)[0].(map[string]any)["id"] != mine.ID {
			t.Fatalf("list: %d %v", status, body)
		}
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/v1/admin/users/" + theirs.ID, ""},
			{"GET", fmt.Sprintf("/v1/admin/users/%d", theirs.Number), ""},
			{"PATCH", "/v1/admin/users/" + theirs.ID, `{"active":false}`},
			{"DELETE", "/v1/admin/users/" + theirs.ID, ""},
			{"PUT", "/v1/admin/users/" + theirs.ID + "/password", `{"password":"Another-passw0rd!","password_confirmation":"Another-passw0rd!"}`},
			{"GET", "/v1/admin/users/" + theirs.ID + "/sessions", ""},
			{"DELETE", "/v1/admin/users/" + theirs.ID + "/sessions", ""},
			{"DELETE", "/v1/admin/users/" + theirs.ID + "/factors", ""},
		} {
			if status, body := fx.call(t, c.method, c.path, tok, c.body); status != 403 || body["code"] != latch.CodeOtherTenant {
				t.Errorf("%s %s: %d %v", c.method, c.path, status, body)
			}
		}
		// The other tenant's policy and audit log are its own.
		if status, _ := fx.call(t, "PUT", "/v1/admin/policy", tok, `{"min_length":12}`); status != 200 {
			t.Fatal("set policy")
		}
		p, err := h.Accounts.Policy(ctx, account.Operator(other.ID))
		if err != nil || p.MinLength != 8 {
			t.Fatalf("the other tenant's policy changed: %+v %v", p, err)
		}
		_, _, otherTok := h.APIClient(t, latch.ScopeReadAll, other.ID, false)
		_, body = fx.call(t, "GET", "/v1/admin/audit", otherTok, "")
		for _, e := range body["events"].([]any) {
			if e.(map[string]any)["action"] == latch.AuditPolicyUpdate {
				t.Fatalf("another tenant's policy change is in this tenant's audit log: %v", e)
			}
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: theirs.Email, Password: adminTestPassword}); err != nil {
			t.Fatalf("the other tenant's user was touched: %v", err)
		}
	})
}

func TestAdminUsersPaginationAndLifecycle(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := adminFixture{h: h, srv: h.Server(t)}
		ctx := context.Background()
		_, _, tok := h.APIClient(t, latch.ScopeManageAll, "", true)
		for i := range 5 {
			h.PasswordUser(t, fmt.Sprintf("page%d@example.com", i), adminTestPassword, "", false)
		}
		var seen []string
		cursor := ""
		for range 10 {
			status, body := fx.call(t, "GET", "/v1/admin/users?limit=2&cursor="+url.QueryEscape(cursor), tok, "")
			if status != 200 {
				t.Fatalf("page: %d %v", status, body)
			}
			for _, u := range body["users"].([]any) {
				seen = append(seen, u.(map[string]any)["email"].(string))
			}
			next, _ := body["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if strings.Join(seen, ",") != "page0@example.com,page1@example.com,page2@example.com,page3@example.com,page4@example.com" {
			t.Fatalf("pages: %v", seen)
		}
		if status, body := fx.call(t, "GET", "/v1/admin/users?cursor=zzz", tok, ""); status != 400 {
			t.Fatalf("bad cursor: %d %v", status, body)
		}

		// Deactivation: login refused, tokens dead at once.
		pair, err := h.Accounts.Login(ctx, account.LoginInput{Email: "page0@example.com", Password: adminTestPassword})
		if err != nil {
			t.Fatal(err)
		}
		status, body := fx.call(t, "PATCH", "/v1/admin/users/1", tok, `{"active":false}`)
		if status != 200 || body["active"] != false {
			t.Fatalf("deactivate: %d %v", status, body)
		}
		if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); err == nil {
			t.Fatal("a deactivated user's token still works")
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "page0@example.com", Password: adminTestPassword}); !latch.IsCode(err, latch.CodeAccountInactive) {
			t.Fatalf("a deactivated user logs in: %v", err)
		}
		// Reactivating does not revive the old session.
		fx.call(t, "PATCH", "/v1/admin/users/1", tok, `{"active":true}`)
		if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); err == nil {
			t.Fatal("reactivation revived an old session")
		}

		// Sessions: list and revoke one.
		pair, err = h.Accounts.Login(ctx, account.LoginInput{Email: "page1@example.com", Password: adminTestPassword})
		if err != nil {
			t.Fatal(err)
		}
		_, body = fx.call(t, "GET", "/v1/admin/users/2/sessions", tok, "")
		sessions := body["sessions"].([]any)
		if len(sessions) != 1 || sessions[0].(map[string]any)["id"] != pair.SessionID {
			t.Fatalf("sessions: %v", body)
		}
		if status, _ := fx.call(t, "DELETE", "/v1/admin/users/2/sessions/"+pair.SessionID, tok, ""); status != 204 {
			t.Fatalf("revoke: %d", status)
		}
		if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); err == nil {
			t.Fatal("a revoked session still works")
		}

		// Delete.
		if status, _ := fx.call(t, "DELETE", "/v1/admin/users/3", tok, ""); status != 204 {
			t.Fatalf("delete: %d", status)
		}
		if status, _ := fx.call(t, "GET", "/v1/admin/users/3", tok, ""); status != 404 {
			t.Fatalf("deleted user: %d", status)
		}
		if status, _ := fx.call(t, "GET", "/v1/admin/users/not-a-uuid", tok, ""); status != 404 {
			t.Fatalf("malformed id: %d", status)
		}
	})
}

func TestAdminChangeAtNextLogin(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := adminFixture{h: h, srv: h.Server(t)}
		u := h.PasswordUser(t, "forced@example.com", adminTestPassword, "", false)
		_, _, tok := h.APIClient(t, latch.ScopeManageAll, "", false)
		status, body := fx.call(t, "PUT", "/v1/admin/users/"+u.ID+"/password", tok,
			`{"password":"Temporary-passw0rd!","password_confirmation":"Temporary-passw0rd!","change_at_next_login":true}`)
		if status != 204 {
			t.Fatalf("set: %d %v", status, body)
		}
		login := func(pw string) (int, map[string]any) {
			res, err := http.PostForm(fx.srv.URL+"/v1/token", url.Values{"grant_type": {"password"}, "username": {u.Email}, "password": {pw}})
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(res.Body).Decode(&out)
			return res.StatusCode, out
		}
		status, body = login("Temporary-passw0rd!")
		if status != 403 || body["error"] != "password_change_required" || body["password_change_token"] == nil || body["access_token"] != nil {
			t.Fatalf("login: %d %v", status, body)
		}
		change := body["password_change_token"].(string)
		// The change token does nothing else.
		if status, _ := fx.call(t, "GET", "/v1/me", change, ""); status != 403 {
			t.Fatalf("/v1/me with the change token: %d", status)
		}
		// The same password again is refused.
		if status, body := fx.call(t, "PUT", "/v1/me/password", change, `{"password":"Temporary-passw0rd!","password_confirmation":"Temporary-passw0rd!"}`); status != 400 || body["code"] != latch.CodePolicyHistory {
			t.Fatalf("same password: %d %v", status, body)
		}
		if status, body := fx.call(t, "PUT", "/v1/me/password", change, `{"password":"Chosen-by-me-2026!","password_confirmation":"Chosen-by-me-2026!"}`); status != 204 {
			t.Fatalf("change: %d %v", status, body)
		}
		// The change token is spent; the new password signs in normally.
		if status, _ := fx.call(t, "PUT", "/v1/me/password", change, `{"password":"Another-one-2026!","password_confirmation":"Another-one-2026!"}`); status != 401 {
			t.Fatalf("change token reused: %d", status)
		}
		if status, body := login("Chosen-by-me-2026!"); status != 200 || body["access_token"] == nil {
			t.Fatalf("login after change: %d %v", status, body)
		}
	})
}

func TestAdminImportHash(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := adminFixture{h: h, srv: h.Server(t)}
		ctx := context.Background()
		_, _, tok := h.APIClient(t, latch.ScopeManageAll, "", false)
		hash, err := bcrypt.GenerateFromPassword([]byte("imported-from-legacy"), 4)
		if err != nil {
			t.Fatal(err)
		}
		// Choosing a password is setting it: Manage Users may create users,
		// but not with a password or a hash.
		_, _, manageUsers := h.APIClient(t, latch.ScopeManageUsers, "", false)
		for _, field := range []string{`"password":"Chosen-passw0rd!"`, `"password_hash":"` + string(hash) + `"`} {
			if status, body := fx.call(t, "POST", "/v1/admin/users", manageUsers, `{"email":"sneaky@example.com",`+field+`}`); status != 403 {
				t.Fatalf("Manage Users creating a user with %s: %d %v", field, status, body)
			}
		}
		status, body := fx.call(t, "POST", "/v1/admin/users", tok, `{"email":"legacy@example.com","password_hash":"`+string(hash)+`"}`)
		if status != 201 {
			t.Fatalf("import: %d %v", status, body)
		}
		id := body["id"].(string)
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "legacy@example.com", Password: "imported-from-legacy"}); err != nil {
			t.Fatalf("imported hash does not log in: %v", err)
		}
		cred, err := h.Store.Credential(ctx, id)
		if err != nil || !strings.HasPrefix(cred.Hash, "$argon2id$") {
			t.Fatalf("not rehashed to argon2id: %q %v", cred.Hash, err)
		}
		for _, bad := range []string{
			"plaintext",
			"$2b$31$" + strings.Repeat("a", 53), // bcrypt cost over the cap
			"$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43), // 4 GiB
			"$md5$whatever",
		} {
			status, body := fx.call(t, "POST", "/v1/admin/users", tok, `{"email":"bad@example.com","password_hash":"`+bad+`"}`)
			if status != 400 || body["code"] != latch.CodeInvalidHash {
				t.Errorf("import %q: %d %v", bad, status, body)
			}
		}
		if status, _ := fx.call(t, "POST", "/v1/admin/users", tok, `{"email":"both@example.com","password":"x","password_hash":"`+string(hash)+`"}`); status != 400 {
			t.Errorf("password and hash together: %d", status)
		}
	})
}

func TestClientCredentialsGrant(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := adminFixture{h: h, srv: h.Server(t)}
		c, secret, _ := h.APIClient(t, latch.ScopeReadUsers, "", false)
		post := func(auth string, form url.Values) (int, map[string]any) {
			req, _ := http.NewRequest("POST", fx.srv.URL+"/v1/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(res.Body).Decode(&out)
			return res.StatusCode, out
		}
		basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.ID+":"+secret))
		status, body := post(basic, url.Values{"grant_type": {"client_credentials"}})
		if status != 200 || body["token_type"] != "Bearer" || body["scope"] != "admin:read_users" || body["refresh_token"] != nil {
			t.Fatalf("grant: %d %v", status, body)
		}
		if status, _ := fx.call(t, "GET", "/v1/admin/users", body["access_token"].(string), ""); status != 200 {
			t.Fatalf("token does not work: %d", status)
		}
		if status, _ := post("", url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ID}, "client_secret": {secret}}); status != 200 {
			t.Fatalf("body credentials: %d", status)
		}
		wrong := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.ID+":nope"))
		if status, body := post(wrong, url.Values{"grant_type": {"client_credentials"}}); status != 401 || body["error"] != "invalid_client" {
			t.Fatalf("wrong secret: %d %v", status, body)
		}
		if status, body := post("", url.Values{"grant_type": {"client_credentials"}}); status != 401 || body["error"] != "invalid_client" {
			t.Fatalf("no credentials: %d %v", status, body)
		}
		// Failures are limited per address (10 per 10 minutes by default):
		// one failure so far.
		for i := range 9 {
			if status, _ := post(wrong, url.Values{"grant_type": {"client_credentials"}}); status != 401 {
				t.Fatalf("failure %d: %d", i+2, status)
			}
		}
		if status, body := post(wrong, url.Values{"grant_type": {"client_credentials"}}); status != 429 || body["error"] != "slow_down" {
			t.Fatalf("11th failure: %d %v", status, body)
		}
	})
}

func TestAdminPolicyValidation(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := adminFixture{h: h, srv: h.Server(t)}
		_, _, tok := h.APIClient(t, latch.ScopeManageAll, "", false)
		status, body := fx.call(t, "GET", "/v1/admin/policy", tok, "")
		// The default policy: the baseline, the seed's specials, no rules a
		// NIST-minded default would not have.
		want := map[string]any{"min_length": float64(8), "max_length": float64(256), "require": []any{}, "specials": "!@#€%&.,$+§/()=*;:_-",
			"history": float64(0), "refuse_common": true, "refuse_email": true, "min_score": float64(0)}
		if status != 200 || fmt.Sprint(body) != fmt.Sprint(want) {
			t.Fatalf("default policy: %d %v", status, body)
		}
		status, body = fx.call(t, "PUT", "/v1/admin/policy", tok,
			`{"min_length":0,"max_length":9999,"require":["uppercase"],"specials":"ab","history":99,"min_score":7}`)
		if status != 400 {
			t.Fatalf("invalid policy: %d %v", status, body)
		}
		fields := map[string]bool{}
		for _, e := range body["errors"].([]any) {
			fields[e.(map[string]any)["field"].(string)] = true
		}
		for _, f := range []string{"min_length", "max_length", "require", "specials", "history", "min_score"} {
			if !fields[f] {
				t.Errorf("no error reported for %s: %v", f, body)
			}
		}
		// Nothing was stored.
		if _, after := fx.call(t, "GET", "/v1/admin/policy", tok, ""); fmt.Sprint(after) != fmt.Sprint(want) {
			t.Fatalf("a refused policy changed the stored one: %v", after)
		}
		// A partial update keeps the other fields; the seeds' example
		// password passes the strictest composition.
		status, body = fx.call(t, "PUT", "/v1/admin/policy", tok, `{"require":["upper","lower","digit","special"],"min_length":12}`)
		if status != 200 || body["min_length"] != float64(12) || body["refuse_common"] != true || len(body["require"].([]any)) != 4 {
			t.Fatalf("update: %d %v", status, body)
		}
		u := h.PasswordUser(t, "policy@example.com", "securePassword123!", "", false)
		if status, body := fx.call(t, "PUT", "/v1/admin/users/"+u.ID+"/password", tok, `{"password":"securePassword123!X","password_confirmation":"securePassword123!X"}`); status != 204 {
			t.Fatalf("seed example under the strict policy: %d %v", status, body)
		}
		// Each failed rule is reported on its own.
		status, body = fx.call(t, "PUT", "/v1/admin/users/"+u.ID+"/password", tok, `{"password":"short","password_confirmation":"short"}`)
		codes := map[string]bool{}
		for _, e := range body["errors"].([]any) {
			codes[e.(map[string]any)["code"].(string)] = true
		}
		if status != 400 || !codes[latch.CodePolicyLength] || !codes[latch.CodePolicyUpper] || !codes[latch.CodePolicyDigit] || !codes[latch.CodePolicySpecial] {
			t.Fatalf("failed rules: %d %v", status, body)
		}
	})
}

// TestHistoryIsNoOracle: whether a password is in the history is told only
// to a caller who proved the current password, within the per-account
// limit; a stolen token alone learns nothing.
func TestHistoryIsNoOracle(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := adminFixture{h: h, srv: h.Server(t)}
		ctx := context.Background()
		hist := 3
		if _, err := h.Accounts.SetPolicy(ctx, account.Operator(""), account.PolicyChange{History: &hist}); err != nil {
			t.Fatal(err)
		}
		u := h.PasswordUser(t, "oracle@example.com", adminTestPassword, "", false)
		pair, err := h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: adminTestPassword})
		if err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{
			`{"password":"` + adminTestPassword + `"}`,
			`{"password":"` + adminTestPassword + `","password_confirmation":"` + adminTestPassword + `"}`,
			`{"password":"` + adminTestPassword + `","password_confirmation":"` + adminTestPassword + `","current_password":"wrong-guess-123"}`,
		} {
			status, out := fx.call(t, "PUT", "/v1/me/password", pair.AccessToken, body)
			for _, e := range out["errors"].([]any) {
				if e.(map[string]any)["code"] == latch.CodePolicyHistory {
					t.Fatalf("%s told the history: %d %v", body, status, out)
				}
			}
			if status != 400 {
				t.Fatalf("%s: %d %v", body, status, out)
			}
		}
		// With the right current password, reuse is refused as history.
		status, out := fx.call(t, "PUT", "/v1/me/password", pair.AccessToken,
			`{"password":"`+adminTestPassword+`","password_confirmation":"`+adminTestPassword+`","current_password":"`+adminTestPassword+`"}`)
		if status != 400 || out["code"] != latch.CodePolicyHistory {
			t.Fatalf("reuse with the current password: %d %v", status, out)
		}
	})
}

// TestImportedHashOfUnnormalizedPassword: another system hashed the
// password as typed; Latch compares NFKC forms, and still lets it in.
func TestImportedHashOfUnnormalizedPassword(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := adminFixture{h: h, srv: h.Server(t)}
		ctx := context.Background()
		_, _, tok := h.APIClient(t, latch.ScopeManageAll, "", false)
		typed := "ｐａｓｓｗｏｒｄ１２３ｃａｆｅ\u0301" // full-width, and a combining accent
		hash, err := bcrypt.GenerateFromPassword([]byte(typed), 4)
		if err != nil {
			t.Fatal(err)
		}
		if status, body := fx.call(t, "POST", "/v1/admin/users", tok, `{"email":"wide@example.com","password_hash":"`+string(hash)+`"}`); status != 201 {
			t.Fatalf("import: %d %v", status, body)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "wide@example.com", Password: typed}); err != nil {
			t.Fatalf("the imported password as typed: %v", err)
		}
		// Rehashed in the normalized form: the typed form still works.
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "wide@example.com", Password: typed}); err != nil {
			t.Fatalf("after the rehash: %v", err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "wide@example.com", Password: "password123café"}); err != nil {
			t.Fatalf("the normalized form after the rehash: %v", err)
		}
	})
}
