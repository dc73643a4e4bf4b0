package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"
)

// TestAuthenticatorAppOnTheAccountPage: with the real use cases and
// store, a person signed in on the pages adds an authenticator app: the
// page shows its QR code and secret, a wrong first code is refused under
// its input, the code computed from the secret confirms it, and the
// account page then lists it.
func TestAuthenticatorAppOnTheAccountPage(t *testing.T) {
	h, srv := pagesServer(t)
	const pw = "a password for the factor test"
	h.PasswordUser(t, "factors@example.com", pw, "", false)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path string, form url.Values) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(form.Encode()))
		if method == "POST" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", srv.URL)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body), res.Header
	}
	if status, _, hd := do("POST", "/login", url.Values{"email": {"factors@example.com"}, "password": {pw}}); status != 303 || hd.Get("Location") != "/account" {
		t.Fatalf("sign-in: %d %v", status, hd)
	}
	if status, body, _ := do("GET", "/account", nil); status != 200 || !regexp.MustCompile(`<ul id="factors"><li>None</li>`).MatchString(body) {
		t.Fatalf("account page before: %d\n%s", status, body)
	}
	status, body, hd := do("POST", "/account/totp", url.Values{"totp_name": {"My phone"}})
	secret := regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(body)
	factorID := regexp.MustCompile(`name="factor_id" value="([^"]+)"`).FindStringSubmatch(body)
	if status != 200 || secret == nil || factorID == nil || !strings.Contains(body, `src="data:image/png;base64,iVBORw0KGgo`) ||
		!strings.Contains(hd.Get("Content-Security-Policy"), "img-src 'self' data:") {
		t.Fatalf("enrolment: %d %v\n%s", status, hd, body)
	}
	checkAccessible(t, body)
	code, err := totp.GenerateCode(secret[1], h.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	status, body, _ = do("POST", "/account/totp/confirm", url.Values{"factor_id": {factorID[1]}, "code": {wrong}})
	if a := checkAccessible(t, body); status != 401 || a.FieldErrors["code"] == "" {
		t.Fatalf("wrong first code: %d %v\n%s", status, a, body)
	}
	if status, _, hd := do("POST", "/account/totp/confirm", url.Values{"factor_id": {factorID[1]}, "code": {code}}); status != 303 || hd.Get("Location") != "/account?factor=added" {
		t.Fatalf("confirm: %d %v", status, hd)
	}
	status, body, _ = do("GET", "/account?factor=added", nil)
	if status != 200 || !strings.Contains(body, "<strong>My phone</strong> (authenticator app). Added") || !strings.Contains(body, "Second factor added.") {
		t.Errorf("account page after: %d\n%s", status, body)
	}
}
