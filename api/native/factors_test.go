package native_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/latchid/latch/account"
)

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (fx fixture) do(t *testing.T, method, path, contentType, body, bearer string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, fx.srv.URL+path, bytes.NewReader([]byte(body)))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return send(t, req)
}

const factorPassword = "native factor passphrase"

// nativeFactorUser signs a password account in through /v1/token, enrols
// and confirms a TOTP factor through the API, and returns its secret,
// factor id and recovery codes; the clock is then a minute on.
func nativeFactorUser(t *testing.T, fx fixture, email string) (secret, factorID string, codes []any) {
	t.Helper()
	fx.h.PasswordUser(t, email, factorPassword, "", false)
	s, _, b := fx.post(t, "/v1/token", form, url.Values{"grant_type": {"password"}, "username": {email}, "password": {factorPassword}}.Encode(), "")
	if s != 200 {
		t.Fatalf("password grant before a factor: %d %v", s, b)
	}
	access := b["access_token"].(string)
	s, hdr, b := fx.post(t, "/v1/me/factors/totp", "application/json", `{"name":"Phone"}`, access)
	if s != 201 || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("enrol: %d %v %v", s, hdr, b)
	}
	secret, factorID = b["secret"].(string), b["factor_id"].(string)
	qr, err := base64.StdEncoding.DecodeString(b["qr_png"].(string))
	if err != nil {
		t.Fatalf("qr_png is not base64: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(qr)); err != nil {
		t.Errorf("qr_png is not a PNG: %v", err)
	}
	if u, err := url.Parse(b["otpauth_url"].(string)); err != nil || u.Scheme != "otpauth" {
		t.Errorf("otpauth_url = %v", b["otpauth_url"])
	}
	if s, _, b := fx.post(t, "/v1/me/factors/"+factorID+"/confirm", "application/json", `{"code":"000000x"}`, access); s != 400 || b["code"] != account.CodeInvalidMFACode {
		t.Errorf("confirm with a wrong code: %d %v", s, b)
	}
	if s, _, b := fx.post(t, "/v1/me/factors/"+factorID+"/confirm", "application/json", `{"code":"`+totpCode(t, secret, fx.h.Clock.Now())+`"}`, access); s != 204 {
		t.Fatalf("confirm: %d %v", s, b)
	}
	s, _, b = fx.do(t, "GET", "/v1/me/factors", "", "", access)
	fs, _ := b["factors"].([]any)
	if s != 200 || len(fs) != 1 || fs[0].(map[string]any)["confirmed"] != true || fs[0].(map[string]any)["secret"] != nil {
		t.Errorf("GET /v1/me/factors: %d %v", s, b)
	}
	s, _, b = fx.post(t, "/v1/me/recovery-codes", "", "", access)
	codes, _ = b["recovery_codes"].([]any)
	if s != 201 || len(codes) != 10 {
		t.Fatalf("recovery codes: %d %v", s, b)
	}
	fx.h.Clock.Advance(time.Minute)
	return secret, factorID, codes
}

func TestNativeMFASignIn(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx fixture) {
		email := "native-mfa@example.com"
		secret, factorID, codes := nativeFactorUser(t, fx, email)
		signIn := func() string {
			t.Helper()
			s, hdr, b := fx.post(t, "/v1/token", form, url.Values{"grant_type": {"password"}, "username": {email}, "password": {factorPassword}}.Encode(), "")
			fs, _ := b["factors"].([]any)
			if s != 403 || b["error"] != "mfa_required" || b["expires_in"] != float64(300) || b["access_token"] != nil || b["refresh_token"] != nil ||
				!slices.Equal(fs, []any{"totp", "recovery_code"}) || hdr.Get("Cache-Control") != "no-store" {
				t.Fatalf("password grant with a factor: %d %v %v", s, hdr, b)
			}
			return b["mfa_token"].(string)
		}
		mfa := signIn()

		// The mfa token opens nothing but the mfa grant.
		for _, r := range []struct{ method, path, body string }{
			{"GET", "/v1/me", ""}, {"GET", "/v1/me/identities", ""}, {"GET", "/v1/me/factors", ""},
			{"PUT", "/v1/me/password", `{"password":"x new passphrase","password_confirmation":"x new passphrase","current_password":"` + factorPassword + `"}`},
			{"POST", "/v1/me/recovery-codes", ""}, {"POST", "/v1/me/factors/totp", `{}`}, {"DELETE", "/v1/me/factors/" + factorID, ""},
			{"POST", "/v1/me/step-up", `{"totp_code":"123456"}`},
		} {
			ct := ""
			if r.body != "" {
				ct = "application/json"
			}
			if s, _, b := fx.do(t, r.method, r.path, ct, r.body, mfa); s != 403 || b["code"] != "insufficient_scope" {
				t.Errorf("%s %s with the mfa token: %d %v; want 403 insufficient_scope", r.method, r.path, s, b)
			}
		}

		// Refusals in the token endpoint's shape.
		if s, _, b := fx.post(t, "/v1/token", form, "grant_type=mfa&totp_code=123456", ""); s != 400 || b["error"] != "invalid_request" {
			t.Errorf("mfa grant without mfa_token: %d %v", s, b)
		}
		right := totpCode(t, secret, fx.h.Clock.Now())
		wrong := "000000"
		if wrong == right {
			wrong = "111111"
		}
		if s, _, b := fx.post(t, "/v1/token", form, url.Values{"grant_type": {"mfa"}, "mfa_token": {mfa}, "totp_code": {wrong}}.Encode(), ""); s != 400 || b["error"] != "invalid_grant" {
			t.Errorf("mfa grant with a wrong code: %d %v", s, b)
		}
		if s, _, b := fx.post(t, "/v1/token", form, url.Values{"grant_type": {"mfa"}, "mfa_token": {mfa}, "totp_code": {right}, "recovery_code": {"aaaa-aaaa-aa"}}.Encode(), ""); s != 400 || b["error"] != "invalid_request" {
			t.Errorf("mfa grant with two proofs: %d %v", s, b)
		}
		s, _, b := fx.post(t, "/v1/token", form, url.Values{"grant_type": {"mfa"}, "mfa_token": {mfa}, "totp_code": {right}}.Encode(), "")
		if s != 200 || b["token_type"] != "Bearer" || b["refresh_token"] == nil || b["scope"] != "user:read user:update" {
			t.Fatalf("mfa grant: %d %v", s, b)
		}
		access := b["access_token"].(string)
		if s, _, b := fx.do(t, "GET", "/v1/me", "", "", access); s != 200 || b["email"] != email {
			t.Errorf("GET /v1/me after the factor: %d %v", s, b)
		}
		// The used mfa token is gone.
		if s, _, b := fx.post(t, "/v1/token", form, url.Values{"grant_type": {"mfa"}, "mfa_token": {mfa}, "totp_code": {right}}.Encode(), ""); s != 400 || b["error"] != "invalid_grant" {
			t.Errorf("mfa grant with a used token: %d %v", s, b)
		}

		// A recovery code, in a JSON body.
		mfa = signIn()
		code := codes[0].(string)
		if s, _, b := fx.post(t, "/v1/token", "application/json", `{"grant_type":"mfa","mfa_token":"`+mfa+`","recovery_code":"`+code+`"}`, ""); s != 200 || b["access_token"] == nil {
			t.Errorf("mfa grant with a recovery code: %d %v", s, b)
		}
		mfa = signIn()
		if s, _, b := fx.post(t, "/v1/token", "application/json", `{"grant_type":"mfa","mfa_token":"`+mfa+`","recovery_code":"`+code+`"}`, ""); s != 400 || b["error"] != "invalid_grant" {
			t.Errorf("mfa grant with a used recovery code: %d %v", s, b)
		}
		if s, _, b := fx.post(t, "/v1/token", "application/json", `{"grant_type":"mfa","mfa_token":"`+mfa+`","passkey_ceremony":"c","passkey_credential":[1]}`, ""); s != 400 || b["error"] != "invalid_request" {
			t.Errorf("mfa grant with a credential that is no object: %d %v", s, b)
		}

		// Step-up: past the window, removing the factor needs a fresh check.
		fx.h.Clock.Advance(account.StepUpWindow + time.Minute)
		if s, _, b := fx.do(t, "DELETE", "/v1/me/factors/"+factorID, "", "", access); s != 403 || b["code"] != "step_up_required" {
			t.Errorf("DELETE factor, stale: %d %v", s, b)
		}
		if s, _, b := fx.post(t, "/v1/me/step-up", "application/json", `{"totp_code":"`+wrong+`"}`, access); s != 401 || b["code"] != account.CodeInvalidMFACode {
			t.Errorf("step-up with a wrong code: %d %v", s, b)
		}
		s, _, b = fx.post(t, "/v1/me/step-up", "application/json", `{"totp_code":"`+totpCode(t, secret, fx.h.Clock.Now())+`"}`, access)
		if s != 200 || b["access_token"] == nil || b["refresh_token"] == nil {
			t.Fatalf("step-up: %d %v", s, b)
		}
		fresh := b["access_token"].(string)
		if s, _, _ := fx.do(t, "GET", "/v1/me", "", "", access); s != 401 {
			t.Errorf("the replaced token: %d, want 401", s)
		}
		if s, _, b := fx.do(t, "DELETE", "/v1/me/factors/"+factorID, "", "", fresh); s != 204 {
			t.Errorf("DELETE factor after step-up: %d %v", s, b)
		}
		// Without a factor, the password grant gives tokens again.
		if s, _, b := fx.post(t, "/v1/token", form, url.Values{"grant_type": {"password"}, "username": {email}, "password": {factorPassword}}.Encode(), ""); s != 200 {
			t.Errorf("password grant without a factor: %d %v", s, b)
		}
	})
}
