package devopness_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/password"
)

type fixture struct {
	h   *testenv.Harness
	srv *httptest.Server
}

func forEachBackend(t *testing.T, f func(t *testing.T, fx fixture)) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		f(t, fixture{h: h, srv: h.Server(t)})
	})
}

type request struct {
	method, path string
	headers      map[string]string
	body         string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (fx fixture) do(t *testing.T, r request) response {
	t.Helper()
	req, err := http.NewRequest(r.method, fx.srv.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: body}
}

// sameJSON compares two JSON documents by value.
func sameJSON(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad golden body %s: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

func jsonHeaders(token string) map[string]string {
	h := map[string]string{"Content-Type": "application/json", "Accept": "application/json"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return h
}

func with(h map[string]string, k, v string) map[string]string {
	out := map[string]string{}
	for a, b := range h {
		out[a] = b
	}
	if v == "" {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

const (
	unauthenticated = `{"message":"Unauthenticated."}`
	forbidden       = `{"message":"Forbidden"}`
	newPassword     = "correct horse battery staple"
)

// TestSetPasswordContract checks every documented response of
// POST /users/me/password: status and exact body.
func TestSetPasswordContract(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx fixture) {
		ctx := context.Background()
		_, pair := fx.h.OAuthUser(t, "oauth@example.com")
		tok := pair.AccessToken
		_, _, clientToken := fx.h.APIClient(t, latch.ScopeManageAll, "", true)
		project, err := fx.h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "oauth@example.com", Kind: latch.KindProject, Scopes: []string{"project:deploy"}})
		if err != nil {
			t.Fatal(err)
		}
		readOnly, _ := fx.h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "oauth@example.com", Kind: latch.KindPersonal, Scopes: []string{latch.ScopeUserRead}})
		loggedOut, _ := fx.h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "oauth@example.com"})
		p, _ := fx.h.Accounts.Authenticate(ctx, loggedOut.AccessToken)
		if err := fx.h.Accounts.Logout(ctx, p); err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(tok, ".")
		algNone := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."

		good := fmt.Sprintf(`{"password":%q,"password_confirmation":%q}`, newPassword, newPassword)
		cases := []struct {
			name   string
			req    request
			status int
			body   string
		}{
			{"no Authorization", request{"POST", "/users/me/password", with(jsonHeaders(""), "Authorization", ""), good}, 401, unauthenticated},
			{"not Bearer", request{"POST", "/users/me/password", with(jsonHeaders(""), "Authorization", "Basic dXNlcjpwdw=="), good}, 401, unauthenticated},
			{"Bearer without token", request{"POST", "/users/me/password", with(jsonHeaders(""), "Authorization", "Bearer "), good}, 401, unauthenticated},
			{"garbage token", request{"POST", "/users/me/password", jsonHeaders("eyJ.garbage.x"), good}, 401, unauthenticated},
			{"alg none", request{"POST", "/users/me/password", jsonHeaders(algNone), good}, 401, unauthenticated},
			{"revoked session", request{"POST", "/users/me/password", jsonHeaders(loggedOut.AccessToken), good}, 401, unauthenticated},
			{"project token", request{"POST", "/users/me/password", jsonHeaders(project.AccessToken), good}, 403, forbidden},
			{"no user:update", request{"POST", "/users/me/password", jsonHeaders(readOnly.AccessToken), good}, 403, forbidden},
			{"project token, broken body", request{"POST", "/users/me/password", jsonHeaders(project.AccessToken), `{`}, 403, forbidden},
			{"admin client token", request{"POST", "/users/me/password", jsonHeaders(clientToken), good}, 403, forbidden},
			{"project token, not JSON", request{"POST", "/users/me/password", with(jsonHeaders(project.AccessToken), "Content-Type", "text/plain"), good}, 403, forbidden},
			{"Accept excludes JSON", request{"POST", "/users/me/password", with(jsonHeaders(tok), "Accept", "text/html"), good}, 406, `{"message":"Not Acceptable"}`},
			{"not JSON content type", request{"POST", "/users/me/password", with(jsonHeaders(tok), "Content-Type", "text/plain"), good}, 422,
				`{"message":"Validation failed","errors":{"content_type":["The request body must be sent as application/json."]}}`},
			{"invalid JSON", request{"POST", "/users/me/password", jsonHeaders(tok), `{"password":`}, 422,
				`{"message":"Validation failed","errors":{"body":["The request body is not valid JSON."]}}`},
			{"two JSON values", request{"POST", "/users/me/password", jsonHeaders(tok), good + good}, 422,
				`{"message":"Validation failed","errors":{"body":["The request body holds more than one JSON value."]}}`},
			{"JSON array", request{"POST", "/users/me/password", jsonHeaders(tok), `[1,2]`}, 422,
				`{"message":"Validation failed","errors":{"body":["The request body must be a JSON object."]}}`},
			{"not UTF-8", request{"POST", "/users/me/password", jsonHeaders(tok), "{\"password\":\"\xff\xfe\"}"}, 422,
				`{"message":"Validation failed","errors":{"body":["The request body is not valid UTF-8."]}}`},
			{"wrong type", request{"POST", "/users/me/password", jsonHeaders(tok), `{"password":12345678,"password_confirmation":"x"}`}, 422,
				`{"message":"Validation failed","errors":{"password":["The password field must be a string."]}}`},
			{"missing fields", request{"POST", "/users/me/password", jsonHeaders(tok), `{}`}, 422,
				`{"message":"Validation failed","errors":{"password":["The password field is required."],"password_confirmation":["The password confirmation field is required."]}}`},
			{"mismatch", request{"POST", "/users/me/password", jsonHeaders(tok), `{"password":"correct horse battery staple","password_confirmation":"correct horse battery stapler"}`}, 422,
				`{"message":"Validation failed","errors":{"password":["The password field confirmation does not match."]}}`},
			{"too short", request{"POST", "/users/me/password", jsonHeaders(tok), `{"password":"a1!b","password_confirmation":"a1!b"}`}, 422,
				`{"message":"Validation failed","errors":{"password":["The password must be at least 8 characters."]}}`},
			{"common", request{"POST", "/users/me/password", jsonHeaders(tok), `{"password":"password123","password_confirmation":"password123"}`}, 422,
				`{"message":"Validation failed","errors":{"password":["The password is too common."]}}`},
			{"over the maximum", request{"POST", "/users/me/password", jsonHeaders(tok), fmt.Sprintf(`{"password":%q,"password_confirmation":%q}`, strings.Repeat("x", 300), strings.Repeat("x", 300))}, 422,
				`{"message":"Validation failed","errors":{"password":["The password may not be greater than 256 characters."]}}`},
			{"body over 1 MiB", request{"POST", "/users/me/password", jsonHeaders(tok), `{"password":"` + strings.Repeat("x", 1<<20) + `"}`}, 413, `{"message":"Payload Too Large"}`},
			{"first password", request{"POST", "/users/me/password", jsonHeaders(tok), good}, 204, ""},
			{"change without current_password", request{"POST", "/users/me/password", jsonHeaders(tok), `{"password":"another fine passphrase","password_confirmation":"another fine passphrase"}`}, 422,
				`{"message":"Validation failed","errors":{"current_password":["The current password field is required."]}}`},
			{"change with a wrong current_password", request{"POST", "/users/me/password", jsonHeaders(tok), `{"password":"another fine passphrase","password_confirmation":"another fine passphrase","current_password":"nope nope nope"}`}, 422,
				`{"message":"Validation failed","errors":{"current_password":["The password is incorrect."]}}`},
			{"change", request{"POST", "/users/me/password", jsonHeaders(tok), `{"password":"another fine passphrase","password_confirmation":"another fine passphrase","current_password":"correct horse battery staple"}`}, 204, ""},
		}
		for _, c := range cases {
			res := fx.do(t, c.req)
			if res.status != c.status {
				t.Errorf("%s: status %d, want %d (body %s)", c.name, res.status, c.status, res.body)
				continue
			}
			if c.body == "" {
				if len(res.body) != 0 {
					t.Errorf("%s: body %q, want none", c.name, res.body)
				}
				continue
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s: Content-Type %q", c.name, ct)
			}
			if !sameJSON(t, res.body, c.body) {
				t.Errorf("%s: body\n got %s\nwant %s", c.name, res.body, c.body)
			}
		}
	})
}

// TestLoginContract checks every documented response of POST /users/login.
func TestLoginContract(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx fixture) {
		_, pair := fx.h.OAuthUser(t, "login@example.com")
		res := fx.do(t, request{"POST", "/users/me/password", jsonHeaders(pair.AccessToken), fmt.Sprintf(`{"password":%q,"password_confirmation":%q}`, newPassword, newPassword)})
		if res.status != 204 {
			t.Fatalf("set password: %d %s", res.status, res.body)
		}
		res = fx.do(t, request{"POST", "/users/login", jsonHeaders(""), fmt.Sprintf(`{"email":"LOGIN@example.com","password":%q}`, newPassword)})
		if res.status != 200 {
			t.Fatalf("login: %d %s", res.status, res.body)
		}
		var ok map[string]any
		if err := json.Unmarshal(res.body, &ok); err != nil {
			t.Fatal(err)
		}
		if len(ok) != 4 || ok["token_type"] != "Bearer" || ok["expires_in"] != float64(3600) ||
			!strings.HasPrefix(ok["access_token"].(string), "eyJ") || ok["refresh_token"] == "" {
			t.Fatalf("login body = %s", res.body)
		}
		// The token from a login works on the other surfaces.
		if me := fx.do(t, request{"GET", "/v1/me", map[string]string{"Authorization": "Bearer " + ok["access_token"].(string)}, ""}); me.status != 200 {
			t.Fatalf("/v1/me with the login token: %d %s", me.status, me.body)
		}

		cases := []struct {
			name   string
			req    request
			status int
			body   string
		}{
			{"wrong password", request{"POST", "/users/login", jsonHeaders(""), `{"email":"login@example.com","password":"not the password"}`}, 401, unauthenticated},
			{"unknown email", request{"POST", "/users/login", jsonHeaders(""), `{"email":"nobody@example.com","password":"not the password"}`}, 401, unauthenticated},
			{"password over the maximum", request{"POST", "/users/login", jsonHeaders(""), `{"email":"login@example.com","password":"` + strings.Repeat("y", 5000) + `"}`}, 401, unauthenticated},
			{"missing fields", request{"POST", "/users/login", jsonHeaders(""), `{}`}, 422,
				`{"message":"Validation failed","errors":{"email":["The email field is required."],"password":["The password field is required."]}}`},
			{"wrong type", request{"POST", "/users/login", jsonHeaders(""), `{"email":["a"],"password":"x"}`}, 422,
				`{"message":"Validation failed","errors":{"email":["The email field must be a string."]}}`},
			{"no content type", request{"POST", "/users/login", with(jsonHeaders(""), "Content-Type", ""), `{"email":"login@example.com","password":"x"}`}, 422,
				`{"message":"Validation failed","errors":{"content_type":["The request body must be sent as application/json."]}}`},
			{"Accept XML", request{"POST", "/users/login", with(jsonHeaders(""), "Accept", "application/xml"), `{}`}, 406, `{"message":"Not Acceptable"}`},
			{"Accept any", request{"POST", "/users/login", with(jsonHeaders(""), "Accept", "*/*"), `{"email":"nobody@example.com","password":"x"}`}, 401, unauthenticated},
			{"GET", request{"GET", "/users/login", nil, ""}, 405, ""},
		}
		for range 10 {
			fx.do(t, request{"POST", "/users/login", jsonHeaders(""), `{"email":"throttled@example.com","password":"nope"}`})
		}
		cases = append(cases, struct {
			name   string
			req    request
			status int
			body   string
		}{"too many failures", request{"POST", "/users/login", jsonHeaders(""), `{"email":"throttled@example.com","password":"nope"}`}, 429, `{"message":"Too Many Attempts."}`})
		for _, c := range cases {
			res := fx.do(t, c.req)
			if res.status != c.status {
				t.Errorf("%s: status %d, want %d (body %s)", c.name, res.status, c.status, res.body)
				continue
			}
			if c.body != "" && !sameJSON(t, res.body, c.body) {
				t.Errorf("%s: body\n got %s\nwant %s", c.name, res.body, c.body)
			}
			if c.status == 429 && res.header.Get("Retry-After") == "" {
				t.Errorf("%s: no Retry-After", c.name)
			}
		}
	})
}

// TestConcurrentFirstPassword: 50 first-time set-password calls race on
// one account. Exactly one wins; every other answers 422 asking for
// current_password; the stored hash is the winner's.
func TestConcurrentFirstPassword(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx fixture) {
		_, pair := fx.h.OAuthUser(t, "race@example.com")
		const n = 50
		statuses := make([]int, n)
		bodies := make([][]byte, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pw := fmt.Sprintf("racing passphrase %02d", i)
				req, _ := http.NewRequest("POST", fx.srv.URL+"/users/me/password", bytes.NewBufferString(fmt.Sprintf(`{"password":%q,"password_confirmation":%q}`, pw, pw)))
				for k, v := range jsonHeaders(pair.AccessToken) {
					req.Header.Set(k, v)
				}
				<-start
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				defer res.Body.Close()
				statuses[i] = res.StatusCode
				bodies[i], _ = io.ReadAll(res.Body)
			}()
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, s := range statuses {
			switch s {
			case 204:
				if winner >= 0 {
					t.Fatalf("two winners: %d and %d", winner, i)
				}
				winner = i
			case 422:
				if !sameJSON(t, bodies[i], `{"message":"Validation failed","errors":{"current_password":["The current password field is required."]}}`) {
					t.Errorf("loser %d: %s", i, bodies[i])
				}
			default:
				t.Errorf("call %d: status %d %s", i, s, bodies[i])
			}
		}
		if winner < 0 {
			t.Fatal("no call succeeded")
		}
		// The stored hash is the winner's and no one else's.
		u, _ := fx.h.Accounts.UserByEmail(context.Background(), "race@example.com")
		cred, err := fx.h.Store.Credential(context.Background(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			ok, _, err := password.Verify(fmt.Sprintf("racing passphrase %02d", i), cred.Hash, testenv.FastParams)
			if err != nil || ok != (i == winner) {
				t.Errorf("stored hash vs password %d: %v %v (winner %d)", i, ok, err, winner)
			}
		}
		res := fx.do(t, request{"POST", "/users/login", jsonHeaders(""), fmt.Sprintf(`{"email":"race@example.com","password":"racing passphrase %02d"}`, winner)})
		if res.status != 200 {
			t.Errorf("login with the winning password: %d %s", res.status, res.body)
		}
	})
}

// TestLoginPasswordChangeRequired: beyond the seed, an administrator may
// require a new password; the login then answers 403 with a token that can
// only set it, through the seed's own endpoint.
func TestLoginPasswordChangeRequired(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx fixture) {
		ctx := context.Background()
		u := fx.h.PasswordUser(t, "forced@example.com", newPassword, "", false)
		temp := "Temporary-Passw0rd!"
		if err := fx.h.Accounts.AdminSetPassword(ctx, account.Operator(""), account.AdminSetPasswordInput{
			User: account.UserRef{ID: u.ID}, Password: &temp, Confirmation: &temp, ChangeAtNextLogin: true,
		}); err != nil {
			t.Fatal(err)
		}
		login := func(pw string) response {
			return fx.do(t, request{"POST", "/users/login", jsonHeaders(""), fmt.Sprintf(`{"email":"forced@example.com","password":%q}`, pw)})
		}
		res := login(temp)
		var body map[string]any
		if err := json.Unmarshal(res.body, &body); err != nil || res.status != 403 || body["message"] != "Password change required." {
			t.Fatalf("login: %d %s", res.status, res.body)
		}
		change := body["password_change_token"].(string)
		if res := fx.do(t, request{"POST", "/users/me/password", jsonHeaders(change), `{"password":"Mine-from-now-on-1!","password_confirmation":"Mine-from-now-on-1!"}`}); res.status != 204 {
			t.Fatalf("change: %d %s", res.status, res.body)
		}
		if res := login("Mine-from-now-on-1!"); res.status != 200 {
			t.Fatalf("login after the change: %d %s", res.status, res.body)
		}
	})
}

// A browser's cross-site POST /users/login is refused (403, Laravel's
// shape) before any limit is counted, so a page elsewhere cannot use up a
// visitor's sign-in attempts; servers are answered as the seed says.
func TestLoginRefusesCrossSiteRequests(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx fixture) {
		fx.h.PasswordUser(t, "site@example.com", "a long enough passphrase", "", false)
		wrong := `{"email":"site@example.com","password":"attacker guess"}`
		for _, hdr := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
			{"Origin": "https://evil.example"},
		} {
			for range 12 {
				h := jsonHeaders("")
				for k, v := range hdr {
					h[k] = v
				}
				res := fx.do(t, request{"POST", "/users/login", h, wrong})
				if res.status != 403 || !sameJSON(t, res.body, `{"message":"Forbidden"}`) {
					t.Fatalf("%v: %d %s", hdr, res.status, res.body)
				}
			}
		}
		res := fx.do(t, request{"POST", "/users/login", jsonHeaders(""), `{"email":"site@example.com","password":"a long enough passphrase"}`})
		if res.status != 200 {
			t.Fatalf("a server's sign-in after the refused ones: %d %s", res.status, res.body)
		}
	})
}
