package royalti_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

func call(t *testing.T, h *testenv.MailHarness, method, path, bearer, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, h.Server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
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
			t.Fatalf("%s %s: %d %q", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, out
}

// wantError checks the seed's error shape.
func wantError(t *testing.T, status int, body map[string]any, wantStatus int, code string, details ...string) {
	t.Helper()
	e, _ := body["error"].(map[string]any)
	if status != wantStatus || body["success"] != false || e == nil || e["code"] != code || e["message"] == "" {
		t.Fatalf("got %d %v, want %d %s", status, body, wantStatus, code)
	}
	if details != nil {
		var got []string
		for _, d := range e["details"].([]any) {
			got = append(got, d.(string))
		}
		if !reflect.DeepEqual(got, details) {
			t.Fatalf("details %q, want %q", got, details)
		}
	}
}

// signUp signs up email and returns its verification token from the email.
func signUp(t *testing.T, h *testenv.MailHarness, email string) string {
	t.Helper()
	status, body := call(t, h, "POST", "/auth/signup", "", `{"email":"`+email+`","firstName":"Ada","lastName":"Lovelace"}`)
	if status != 201 || body["success"] != true {
		t.Fatalf("sign-up: %d %v", status, body)
	}
	msg := h.SMTP.WaitFor(t, email, 10*time.Second)
	link := testenv.Link(t, msg)
	if !strings.HasPrefix(link, "/verify?token=") {
		t.Fatalf("verification link %s", link)
	}
	return testenv.Token(link)
}

// TestSignUpVerifySetPasswordLogin is seed 003's journey.
func TestSignUpVerifySetPasswordLogin(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		tok := signUp(t, h, "Ada@Example.com")
		u, err := h.Accounts.UserByEmail(ctx, "ada@example.com")
		if err != nil || u.Verified || u.FirstName != "Ada" {
			t.Fatalf("the new account: %+v %v", u, err)
		}
		// The page for the same token opens.
		req, _ := http.NewRequest("GET", h.Server.URL+"/verify?token="+tok, nil)
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
			t.Fatalf("verify page: %v %v", res, err)
		}

		status, body := call(t, h, "POST", "/auth/setpassword", tok, `{"password":"securePassword123!"}`)
		if status != 200 || body["success"] != true || body["message"] != "Password set successfully" {
			t.Fatalf("setpassword: %d %v", status, body)
		}
		data := body["data"].(map[string]any)
		user := data["user"].(map[string]any)
		for _, k := range []string{"id", "email", "isVerified", "hasPassword", "isActive", "isAdmin", "googleId", "linkedinId", "facebookId", "provider", "providerId", "profilePicture", "createdAt", "updatedAt"} {
			if _, ok := user[k]; !ok {
				t.Errorf("user lacks %s: %v", k, user)
			}
		}
		// The address is stored in its canonical form (latch.CanonicalEmail).
		if user["id"] != u.ID || user["email"] != "ada@example.com" || user["isVerified"] != true || user["hasPassword"] != true ||
			user["isActive"] != true || user["provider"] != "email" || user["googleId"] != nil {
			t.Fatalf("user: %v", user)
		}
		if data["token"] == "" || data["refreshToken"] == "" {
			t.Fatalf("tokens: %v", data)
		}
		if _, err := h.Accounts.Authenticate(ctx, data["token"].(string)); err != nil {
			t.Fatalf("the answered token: %v", err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "ada@example.com", Password: "securePassword123!"}); err != nil {
			t.Fatalf("login with the new password: %v", err)
		}
		h.SMTP.WaitFor(t, "Ada@Example.com", 10*time.Second) // "your password was set"

		// The token again: the password is set.
		status, body = call(t, h, "POST", "/auth/setpassword", tok, `{"password":"another-Passw0rd!"}`)
		wantError(t, status, body, 400, "PASSWORD_ALREADY_SET")
	})
}

func TestSetPasswordErrors(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		tok := signUp(t, h, "errors@example.com")

		status, body := call(t, h, "POST", "/auth/setpassword", "", `{"password":"securePassword123!"}`)
		wantError(t, status, body, 401, "UNAUTHORIZED")
		status, body = call(t, h, "POST", "/auth/setpassword", "not-a-token", `{"password":"securePassword123!"}`)
		wantError(t, status, body, 400, "INVALID_TOKEN")
		// An access token is not a verification token.
		_, pair := h.OAuthUser(t, "someone@example.com")
		status, body = call(t, h, "POST", "/auth/setpassword", pair.AccessToken, `{"password":"securePassword123!"}`)
		wantError(t, status, body, 400, "INVALID_TOKEN")

		status, body = call(t, h, "POST", "/auth/setpassword", tok, `{"password":"abc"}`)
		wantError(t, status, body, 400, "VALIDATION_ERROR",
			"Password must be at least 8 characters long", "Password must contain at least one number", "Password must contain at least one special character")
		status, body = call(t, h, "POST", "/auth/setpassword", tok, `{"password":"abcdefgh1"}`)
		wantError(t, status, body, 400, "VALIDATION_ERROR", "Password must contain at least one special character")
		status, body = call(t, h, "POST", "/auth/setpassword", tok, `{}`)
		wantError(t, status, body, 400, "VALIDATION_ERROR", "Password is required")
		status, body = call(t, h, "POST", "/auth/setpassword", tok, `{"password":`)
		wantError(t, status, body, 400, "INVALID_REQUEST")
		// The account's policy applies on top: nothing built from the email.
		status, body = call(t, h, "POST", "/auth/setpassword", tok, `{"password":"my-errors-2026!"}`)
		wantError(t, status, body, 400, "VALIDATION_ERROR", "The password must not contain your email address.")

		// Expired: 24 hours.
		h.Clock.Advance(24 * time.Hour)
		status, body = call(t, h, "POST", "/auth/setpassword", tok, `{"password":"securePassword123!"}`)
		wantError(t, status, body, 400, "INVALID_TOKEN")

		// The user gone: 404.
		tok2 := signUp(t, h, "gone@example.com")
		gone, err := h.Accounts.UserByEmail(ctx, "gone@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Accounts.AdminDeleteUser(ctx, account.Operator(""), account.UserRef{ID: gone.ID}); err != nil {
			t.Fatal(err)
		}
		status, body = call(t, h, "POST", "/auth/setpassword", tok2, `{"password":"securePassword123!"}`)
		wantError(t, status, body, 404, "USER_NOT_FOUND")
	})
}

// TestSignUpDoesNotEnumerate: signing up with an email that has an account
// answers exactly as for a new one, and mails its owner a notice.
func TestSignUpDoesNotEnumerate(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		owner := h.PasswordUser(t, "taken@example.com", "securePassword123!", "", false)
		statusNew, bodyNew := call(t, h, "POST", "/auth/signup", "", `{"email":"fresh@example.com","firstName":"A","lastName":"B"}`)
		statusOld, bodyOld := call(t, h, "POST", "/auth/signup", "", `{"email":"fresh@example.com","firstName":"A","lastName":"B"}`)
		_ = bodyOld
		statusTaken, bodyTaken := call(t, h, "POST", "/auth/signup", "", `{"email":"taken@example.com","firstName":"A","lastName":"B"}`)
		delete(bodyNew["data"].(map[string]any), "email")
		delete(bodyTaken["data"].(map[string]any), "email")
		if statusNew != 201 || statusOld != 201 || statusTaken != 201 || !reflect.DeepEqual(bodyNew, bodyTaken) {
			t.Fatalf("new %d %v, taken %d %v", statusNew, bodyNew, statusTaken, bodyTaken)
		}
		notice := h.SMTP.WaitFor(t, "taken@example.com", 10*time.Second)
		if strings.Contains(notice.Text, "/verify?token=") {
			t.Fatal("the owner of an existing account got a verification link")
		}
		h.Accounts.Wait()
		u, err := h.Accounts.UserByEmail(ctx, "taken@example.com")
		if err != nil || u.ID != owner.ID {
			t.Fatalf("the existing account changed: %+v %v", u, err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "taken@example.com", Password: "securePassword123!"}); err != nil {
			t.Fatalf("the existing account's password: %v", err)
		}
		// Bad input is refused before anything happens.
		status, body := call(t, h, "POST", "/auth/signup", "", `{"email":"not an email"}`)
		wantError(t, status, body, 400, "VALIDATION_ERROR")
		// A look-alike (Kelvin sign, zero-width space) is an invalid email,
		// answered exactly as one.
		for _, lookalike := range []string{`\u212Aelvin@example.com`, `kelvin\u200b@example.com`} {
			s2, b2 := call(t, h, "POST", "/auth/signup", "", `{"email":"`+lookalike+`"}`)
			if s2 != status || !reflect.DeepEqual(b2, body) {
				t.Fatalf("sign-up with %s: %d %v, want %d %v", lookalike, s2, b2, status, body)
			}
		}
		status, body = call(t, h, "POST", "/auth/signup", "", `{"email":"x@example.com","firstName":"`+strings.Repeat("a", 300)+`"}`)
		wantError(t, status, body, 400, "VALIDATION_ERROR")
		if _, err := h.Accounts.UserByEmail(ctx, "x@example.com"); !latch.IsKind(err, latch.KindNotFound) {
			t.Fatalf("a refused sign-up made an account: %v", err)
		}
	})
}

// TestUnfinishedSignUpCanSignUpAgain: an account made by a sign-up that
// was never finished (its email lost, or the sign-up somebody else's)
// does not lock the address: signing up again sends a fresh verification
// link, not the "you have an account" notice.
func TestUnfinishedSignUpCanSignUpAgain(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		first := signUp(t, h, "again@example.com")
		h.Clock.Advance(25 * time.Hour) // the first link expired
		second := signUp(t, h, "again@example.com")
		if first == second {
			t.Fatal("the same token twice")
		}
		status, body := call(t, h, "POST", "/auth/setpassword", first, `{"password":"securePassword123!"}`)
		wantError(t, status, body, 400, "INVALID_TOKEN")
		status, body = call(t, h, "POST", "/auth/setpassword", second, `{"password":"securePassword123!"}`)
		if status != 200 {
			t.Fatalf("the second link: %d %v", status, body)
		}
	})
}

// TestVerifyPage: the /verify page does what POST /auth/setpassword does,
// without signing in: a form with CSRF protection, then /login.
func TestVerifyPage(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		tok := signUp(t, h, "page@example.com")
		jar, _ := cookiejar.New(nil)
		client := &http.Client{Jar: jar}
		res, err := client.Get(h.Server.URL + "/verify?token=" + tok)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(page), "a number and a special character") {
			t.Fatalf("page: %d %s", res.StatusCode, page)
		}
		post := func(form url.Values, headers ...string) (int, string) {
			req, _ := http.NewRequest("POST", h.Server.URL+"/verify", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for i := 0; i+1 < len(headers); i += 2 {
				req.Header.Set(headers[i], headers[i+1])
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		form := url.Values{"token": {tok}, "password": {"no-digits-here!"}, "password_confirmation": {"no-digits-here!"}}
		if status, body := post(form, "Sec-Fetch-Site", "same-origin", "Origin", h.Server.URL); status != 422 || !strings.Contains(body, "Password must contain at least one number") {
			t.Fatalf("weak password: %d %s", status, body)
		}
		good := url.Values{"token": {tok}, "password": {"securePassword123!"}, "password_confirmation": {"securePassword123!"}}
		if status, _ := post(good, "Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); status != 403 {
			t.Fatalf("cross-site POST: %d", status)
		}
		form.Set("password", "securePassword123!")
		form.Set("password_confirmation", "securePassword123!")
		if status, body := post(form); status != 200 || !strings.Contains(body, "Email verified") {
			t.Fatalf("set: %d %s", status, body)
		}
		u, err := h.Accounts.UserByEmail(ctx, "page@example.com")
		if err != nil || !u.Verified {
			t.Fatalf("not verified: %+v %v", u, err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "page@example.com", Password: "securePassword123!"}); err != nil {
			t.Fatal(err)
		}
		// The page signed nobody in: the only sign-in is the one above.
		events, err := h.Accounts.AuditEvents(ctx, account.Operator(""), latch.AuditQuery{Action: latch.AuditLoginSuccess, TargetID: u.ID})
		if err != nil || len(events) != 1 {
			t.Fatalf("sign-ins: %d %v", len(events), err)
		}
	})
}
