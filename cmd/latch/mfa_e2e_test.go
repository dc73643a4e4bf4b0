package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// TestMFANativeAPI is issue 16's factor step over plain HTTP on the built
// binary and both stores: an account enrols TOTP through /v1; then the
// password grant of /v1/token answers mfa_required with an mfa token and
// no tokens; the mfa token opens nothing else (/v1/me, the seed surfaces);
// the mfa grant with a code computed from the secret gives the tokens, a
// wrong code or a spent mfa token gives none, and a code is accepted once.
// The seed surfaces, which have no factor step, answer their documented
// refusals (README, "Second factors") and never tokens: seed 000's login,
// and seed 003's first password from a verification token.
func TestMFANativeAPI(t *testing.T) {
	for name, dsn := range openIDStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testMFANativeAPI(t, dsn(t))
		})
	}
}

func testMFANativeAPI(t *testing.T, dsn string) {
	smtp := testenv.StartSMTP(t)
	in := newInstance(t, dsn)
	in.env = append(in.env, "LATCH_SMTP_URL="+smtp.URL(), "LATCH_MAIL_FROM=Latch <no-reply@example.com>")
	in.cli(t, "", "migrate")
	in.cli(t, mfaPassword+"\n", "users", "create", "--email", mfaEmail, "--password-stdin")
	in.serve(t)
	token := func(v url.Values) (int, map[string]any) {
		t.Helper()
		return in.call(t, "POST", "/v1/token", "", "application/x-www-form-urlencoded", v.Encode())
	}
	passwordGrant := url.Values{"grant_type": {"password"}, "username": {mfaEmail}, "password": {mfaPassword}}
	mfaGrant := func(mfaToken, code string) (int, map[string]any) {
		t.Helper()
		return token(url.Values{"grant_type": {"mfa"}, "mfa_token": {mfaToken}, "totp_code": {code}})
	}
	noTokens := func(what string, body map[string]any) {
		t.Helper()
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if _, ok := body[k]; ok {
				t.Errorf("%s carries %s: %v", what, k, body)
			}
		}
	}

	// Without a factor: tokens, and seed 000's login as ever.
	s, plain := token(passwordGrant)
	access, _ := plain["access_token"].(string)
	if s != 200 || access == "" {
		t.Fatalf("password grant of an account without a factor: %d %v, want 200 with tokens", s, plain)
	}
	if s, body := seedLogin(t, in, mfaPassword); s != 200 || !strings.Contains(body, `"access_token"`) {
		t.Fatalf("seed 000 login of an account without a factor: %d %s, want 200 with tokens", s, body)
	}

	// Enrol TOTP through /v1.
	s, enrolled := in.call(t, "POST", "/v1/me/factors/totp", access, "application/json", `{"name":"Phone"}`)
	factorID, _ := enrolled["factor_id"].(string)
	secret, _ := enrolled["secret"].(string)
	if s != 201 || factorID == "" || secret == "" {
		t.Fatalf("POST /v1/me/factors/totp: %d %v, want 201 with factor_id and secret", s, enrolled)
	}
	app := newTOTPClock(t, secret)
	code, _ := app.next()
	if s, body := in.call(t, "POST", "/v1/me/factors/"+factorID+"/confirm", access, "application/json", fmt.Sprintf(`{"code":%q}`, code)); s != 204 {
		t.Fatalf("confirming the factor with a computed code: %d %v, want 204", s, body)
	}

	// The password grant now answers the factor step.
	s, step := token(passwordGrant)
	mfaToken, _ := step["mfa_token"].(string)
	factors, _ := step["factors"].([]any)
	if s != 403 || step["error"] != "mfa_required" || mfaToken == "" || !slices.Contains(factors, any(account.FactorTOTP)) {
		t.Fatalf("password grant of an account with TOTP: %d %v, want 403 mfa_required with an mfa_token and factors [totp ...]", s, step)
	}
	if got := step["expires_in"]; got != float64(account.MFATokenTTL/time.Second) {
		t.Errorf("the mfa token's expires_in: %v, want %v", got, account.MFATokenTTL.Seconds())
	}
	noTokens("the mfa_required answer", step)
	// A wrong password does not reveal the factor step.
	if s, body := token(url.Values{"grant_type": {"password"}, "username": {mfaEmail}, "password": {"not the password at all"}}); s != 400 || body["error"] != "invalid_grant" || body["mfa_token"] != nil {
		t.Errorf("a wrong password of an account with TOTP: %d %v, want 400 invalid_grant without an mfa_token", s, body)
	}

	// The mfa token opens nothing but the mfa grant.
	if s, body := in.call(t, "GET", "/v1/me", mfaToken, "", ""); s != 403 || body["code"] != "insufficient_scope" || body["email"] != nil {
		t.Errorf("GET /v1/me with the mfa token: %d %v, want 403 insufficient_scope", s, body)
	}
	const otherPassword = "an mfa token must not set this"
	if s, body := rawCall(t, in, "POST", "/users/me/password", mfaToken, fmt.Sprintf(`{"password":%q,"password_confirmation":%q}`, otherPassword, otherPassword)); s != 403 || body != `{"message":"Forbidden"}` {
		t.Errorf("seed 000 POST /users/me/password with the mfa token: %d %s, want 403 {\"message\":\"Forbidden\"}", s, body)
	}
	if s, body := rawCall(t, in, "PUT", "/user/2024-3/user/password", mfaToken, ""); s != 401 || !strings.Contains(body, `"code":"unauthorized"`) {
		t.Errorf("seed 002 PUT /user/2024-3/user/password with the mfa token: %d %s, want its 401 unauthorized", s, body)
	}
	if s, body := in.call(t, "POST", "/v1/me/factors/totp", mfaToken, "application/json", `{"name":"Attacker"}`); s != 403 {
		t.Errorf("enrolling another factor with the mfa token of an account that has one: %d %v, want 403", s, body)
	}

	// Seed 000's login has no factor step: its refusal, never tokens.
	if s, body := seedLogin(t, in, mfaPassword); s != 403 || body != `{"message":"Forbidden"}` {
		t.Errorf("seed 000 login of an account with TOTP: %d %s, want 403 {\"message\":\"Forbidden\"}", s, body)
	}
	if s, body := seedLogin(t, in, "not the password at all"); s != 401 || body != `{"message":"Unauthenticated."}` {
		t.Errorf("seed 000 login with a wrong password of an account with TOTP: %d %s, want 401 {\"message\":\"Unauthenticated.\"}", s, body)
	}

	// A wrong code: no tokens, the mfa token still usable.
	wrong := app.code(app.last + 5)
	s, body := mfaGrant(mfaToken, wrong)
	if s != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("mfa grant with a wrong code: %d %v, want 400 invalid_grant", s, body)
	}
	noTokens("a wrong code's answer", body)
	code, _ = app.next()
	s, done := mfaGrant(mfaToken, code)
	full, _ := done["access_token"].(string)
	if s != 200 || full == "" || done["refresh_token"] == nil || done["token_type"] != "Bearer" {
		t.Fatalf("mfa grant with a computed code: %d %v, want 200 with access and refresh tokens", s, done)
	}
	if s, me := in.call(t, "GET", "/v1/me", full, "", ""); s != 200 || me["email"] != mfaEmail {
		t.Fatalf("GET /v1/me after the factor step: %d %v", s, me)
	}
	if s, refreshed := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {done["refresh_token"].(string)}}); s != 200 || refreshed["access_token"] == nil {
		t.Errorf("refreshing the tokens of the factor step: %d %v, want 200", s, refreshed)
	}

	// The same code in a new sign-in within its window: a replay.
	s, again := token(passwordGrant)
	replayToken, _ := again["mfa_token"].(string)
	if s != 403 || replayToken == "" {
		t.Fatalf("a new password grant: %d %v, want 403 mfa_required", s, again)
	}
	if s, body := mfaGrant(replayToken, code); s != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("the same code again: %d %v, want 400 invalid_grant", s, body)
	}
	// The spent mfa token with a fresh code: refused; the same fresh code
	// with the live one: accepted (so only the spent token was refused).
	fresh, _ := app.next()
	if s, body := mfaGrant(mfaToken, fresh); s == 200 || body["error"] != "invalid_grant" {
		t.Fatalf("the spent mfa token with a fresh code: %d %v, want 400 invalid_grant", s, body)
	}
	if s, body := mfaGrant(replayToken, fresh); s != 200 || body["access_token"] == nil {
		t.Fatalf("the live mfa token with the fresh code: %d %v, want 200 with tokens", s, body)
	}
	// The password the mfa token tried to set was never set.
	if s, body := token(url.Values{"grant_type": {"password"}, "username": {mfaEmail}, "password": {otherPassword}}); s != 400 || body["mfa_token"] != nil {
		t.Errorf("the password the mfa token tried to set: %d %v, want it refused", s, body)
	}

	// Seed 003 signs a person in with their first password and the
	// verification token of their email, which proves the email, not a
	// factor: an account that has one meanwhile gets the seed's 403, no
	// tokens, and no password.
	const newcomer, newcomerPassword = "newcomer@example.com", "securePassword123!"
	if s, body := rawCall(t, in, "POST", "/auth/signup", "", `{"email":"`+newcomer+`","firstName":"Ada","lastName":"Lovelace"}`); s/100 != 2 {
		t.Fatalf("seed 003 sign-up: %d %s", s, body)
	}
	msg := smtp.WaitFor(t, newcomer, 20*time.Second)
	verification := regexp.MustCompile(`/verify\?token=([A-Za-z0-9_\-.]+)`).FindStringSubmatch(msg.Text)
	if verification == nil {
		t.Fatalf("the sign-up email has no verification link:\n%s", msg.Text)
	}
	lines := strings.Split(strings.TrimSpace(in.cli(t, "", "tokens", "issue", "--email", newcomer)), "\n")
	newcomerAccess := lines[len(lines)-1]
	s, enrolled = in.call(t, "POST", "/v1/me/factors/totp", newcomerAccess, "application/json", `{"name":"Phone"}`)
	if s != 201 {
		t.Fatalf("enrolling TOTP for the newcomer: %d %v", s, enrolled)
	}
	code, _ = newTOTPClock(t, enrolled["secret"].(string)).next()
	if s, body := in.call(t, "POST", "/v1/me/factors/"+enrolled["factor_id"].(string)+"/confirm", newcomerAccess, "application/json", fmt.Sprintf(`{"code":%q}`, code)); s != 204 {
		t.Fatalf("confirming the newcomer's TOTP: %d %v", s, body)
	}
	s, set := rawCall(t, in, "POST", "/auth/setpassword", verification[1], `{"password":"`+newcomerPassword+`"}`)
	if s != 403 || !strings.HasPrefix(set, `{"success":false,"error":{"code":"FORBIDDEN"`) || strings.Contains(set, "token") {
		t.Errorf("seed 003 POST /auth/setpassword for an account with TOTP: %d %s, want 403 {\"success\":false,\"error\":{\"code\":\"FORBIDDEN\",...}} without tokens", s, set)
	}
	if s, body := token(url.Values{"grant_type": {"password"}, "username": {newcomer}, "password": {newcomerPassword}}); s != 400 || body["error"] != "invalid_grant" || body["mfa_token"] != nil {
		t.Errorf("the password seed 003 refused to set: %d %v, want 400 invalid_grant (no password written)", s, body)
	}
}

// seedLogin is seed 000's POST /users/login of mfaEmail; it returns the
// status and the body exactly.
func seedLogin(t *testing.T, in *instance, password string) (int, string) {
	t.Helper()
	return rawCall(t, in, "POST", "/users/login", "", fmt.Sprintf(`{"email":%q,"password":%q}`, mfaEmail, password))
}

// rawCall sends a JSON request and returns the status and the body as it
// came, for byte-exact seed shapes.
func rawCall(t *testing.T, in *instance, method, path, bearer, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, in.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var v any
	if len(raw) > 0 && json.Unmarshal(raw, &v) != nil {
		t.Errorf("%s %s answered a body that is not JSON: %q", method, path, raw)
	}
	return res.StatusCode, strings.TrimSpace(string(raw))
}
