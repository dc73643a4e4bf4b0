package pace_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

const newPassword = "securePassword123!"

type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, h *testenv.MailHarness, method, path, bearer, contentType, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, h.Server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// jsonAPIError checks a JSON:API error document and returns its one error.
func jsonAPIError(t *testing.T, res response, status int, code string) map[string]any {
	t.Helper()
	if res.status != status || res.header.Get("Content-Type") != "application/vnd.api+json" {
		t.Fatalf("got %d %s %s, want %d JSON:API", res.status, res.header.Get("Content-Type"), res.body, status)
	}
	var doc struct {
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(res.body, &doc); err != nil || len(doc.Errors) != 1 {
		t.Fatalf("not one JSON:API error: %s", res.body)
	}
	e := doc.Errors[0]
	if e["code"] != code || e["status"] != itoa(status) || e["id"] == "" || e["title"] == "" {
		t.Fatalf("error object %v, want code %s status %d", e, code, status)
	}
	return e
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

const requestPath = "/user/2024-3/user/password"

// setWithLink completes a link over the API.
func setWithLink(t *testing.T, h *testenv.MailHarness, link, pw string) response {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"token": testenv.Token(link), "password": pw, "password_confirmation": pw})
	return do(t, h, "POST", "/v1/password/set", "", "application/json", string(body))
}

func loginWorks(t *testing.T, h *testenv.MailHarness, email, pw string) bool {
	t.Helper()
	_, err := h.Accounts.Login(context.Background(), account.LoginInput{Email: email, Password: pw, ClientIP: "192.0.2.7"})
	return err == nil
}

// TestRequestLinkSetLogin is seed 002's whole journey: a Google user asks
// for the email, follows its link, sets a password and logs in with it.
func TestRequestLinkSetLogin(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		u, pair := h.OAuthUser(t, "oauth@example.com")
		res := do(t, h, "PUT", requestPath, pair.AccessToken, "", "")
		if res.status != http.StatusAccepted || len(res.body) != 0 {
			t.Fatalf("request: %d %s", res.status, res.body)
		}
		msg := h.SMTP.WaitFor(t, u.Email, 10*time.Second)
		if !strings.Contains(msg.Subject, "password") {
			t.Fatalf("subject %q", msg.Subject)
		}
		link := testenv.Link(t, msg)
		if !strings.HasPrefix(link, "/set-password?token=") {
			t.Fatalf("link %s", link)
		}
		// The page opens with the policy shown before typing.
		page := do(t, h, "GET", link, "", "", "")
		if page.status != 200 || !strings.Contains(string(page.body), "8 to 256 characters") || !strings.Contains(string(page.body), u.Email) {
			t.Fatalf("page: %d %s", page.status, page.body)
		}
		// A policy failure is reported per field and uses nothing up.
		if res := setWithLink(t, h, link, "short"); res.status != 400 || !strings.Contains(string(res.body), latch.CodePolicyLength) {
			t.Fatalf("short password: %d %s", res.status, res.body)
		}
		if res := setWithLink(t, h, link, newPassword); res.status != 204 {
			t.Fatalf("set: %d %s", res.status, res.body)
		}
		if !loginWorks(t, h, u.Email, newPassword) {
			t.Fatal("the password set with the link does not log in")
		}
		// Single use.
		if res := setWithLink(t, h, link, "another-Passw0rd!"); res.status != 400 || !strings.Contains(string(res.body), latch.CodeInvalidLink) {
			t.Fatalf("second use: %d %s", res.status, res.body)
		}
		if page := do(t, h, "GET", link, "", "", ""); page.status != 400 {
			t.Fatalf("page after use: %d", page.status)
		}
		// The "password set" notice went out.
		notice := h.SMTP.WaitFor(t, u.Email, 10*time.Second)
		if !strings.Contains(strings.ToLower(notice.Text), "password") || strings.Contains(notice.Text, "token=") {
			t.Fatalf("notice: %q %s", notice.Subject, notice.Text)
		}
		// A first password ends no session (shared/seeds/README.md, 002):
		// the same bearer token that asked for the link asks again and is
		// told the password is set, 409, not 401.
		jsonAPIError(t, do(t, h, "PUT", "/user/password", pair.AccessToken, "", ""), 409, "password-already-set")
		jsonAPIError(t, do(t, h, "PUT", requestPath, pair.AccessToken, "", ""), 409, "password-already-set")
		// Nothing secret in the outbox: data sealed, erased once sent.
		msgs, err := h.Store.MailMessages(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.Status() == "sent" && m.Data != nil {
				t.Fatalf("a sent message keeps its data: %+v", m)
			}
			if strings.Contains(string(m.Data), testenv.Token(link)) {
				t.Fatal("the outbox holds a link token in clear")
			}
		}
	})
}

func TestNewerLinkInvalidatesOlder(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		u, pair := h.OAuthUser(t, "twice@example.com")
		for range 2 {
			if res := do(t, h, "PUT", requestPath, pair.AccessToken, "", ""); res.status != 202 {
				t.Fatalf("request: %d %s", res.status, res.body)
			}
		}
		first := testenv.Link(t, h.SMTP.WaitFor(t, u.Email, 10*time.Second))
		second := testenv.Link(t, h.SMTP.WaitFor(t, u.Email, 10*time.Second))
		if first == second {
			t.Fatal("the same link twice")
		}
		// Delivery order is not request order: exactly one is live.
		a, b := setWithLink(t, h, first, newPassword), setWithLink(t, h, second, newPassword)
		if (a.status == 204) == (b.status == 204) {
			t.Fatalf("first link %d, second %d: want exactly one to work", a.status, b.status)
		}
	})
}

func TestLinkExpires(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		u, pair := h.OAuthUser(t, "late@example.com")
		do(t, h, "PUT", requestPath, pair.AccessToken, "", "")
		link := testenv.Link(t, h.SMTP.WaitFor(t, u.Email, 10*time.Second))
		h.Clock.Advance(24*time.Hour - time.Second)
		if page := do(t, h, "GET", link, "", "", ""); page.status != 200 {
			t.Fatalf("a second before expiry: %d", page.status)
		}
		h.Clock.Advance(time.Second)
		if page := do(t, h, "GET", link, "", "", ""); page.status != 400 {
			t.Fatalf("at expiry: %d", page.status)
		}
		if res := setWithLink(t, h, link, newPassword); res.status != 400 {
			t.Fatalf("set at expiry: %d %s", res.status, res.body)
		}
	})
}

func TestRequestErrors(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		jsonAPIError(t, do(t, h, "PUT", requestPath, "", "", ""), 401, "unauthorized")
		jsonAPIError(t, do(t, h, "PUT", requestPath, "garbage", "", ""), 401, "unauthorized")

		// An account with neither identity nor password: the seed's
		// missing-linked-identity, word for word.
		if _, err := h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: "bare@example.com"}); err != nil {
			t.Fatal(err)
		}
		bare, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "bare@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		e := jsonAPIError(t, do(t, h, "PUT", requestPath, bare.AccessToken, "", ""), 401, "missing-linked-identity")
		if e["title"] != "Missing linked identity for authorized access" ||
			e["detail"] != "Linked identity is needed to access this resource, please check why the user does not have a linked identity" {
			t.Fatalf("missing-linked-identity: %v", e)
		}

		// The per-account resend limit (5 an hour): the 6th is 429.
		_, pair := h.OAuthUser(t, "eager@example.com")
		for i := range 5 {
			if res := do(t, h, "PUT", requestPath, pair.AccessToken, "", ""); res.status != 202 {
				t.Fatalf("request %d: %d", i+1, res.status)
			}
		}
		res := do(t, h, "PUT", requestPath, pair.AccessToken, "", "")
		jsonAPIError(t, res, 429, "too-many-requests")
		if res.header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	})
}

func TestMailOffIs501(t *testing.T) {
	cfg := account.DefaultConfig()
	cfg.MailOff = true
	testenv.ForEachMailBackend(t, cfg, func(t *testing.T, h *testenv.MailHarness) {
		_, pair := h.OAuthUser(t, "nomail@example.com")
		jsonAPIError(t, do(t, h, "PUT", requestPath, pair.AccessToken, "", ""), 501, "email-not-configured")
	})
}

// TestLinkEndsWithAnyPasswordChange: a link does not outlive the password
// being set another way, and a set-password link never replaces a
// password.
func TestLinkEndsWithAnyPasswordChange(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		u, pair := h.OAuthUser(t, "both@example.com")
		if res := do(t, h, "PUT", requestPath, pair.AccessToken, "", ""); res.status != 202 {
			t.Fatalf("request: %d", res.status)
		}
		link := testenv.Link(t, h.SMTP.WaitFor(t, u.Email, 10*time.Second))
		p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		mine := "Set-on-my-own-1!"
		if err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: mine, Confirmation: &mine}); err != nil {
			t.Fatal(err)
		}
		if res := setWithLink(t, h, link, newPassword); res.status != 400 || !strings.Contains(string(res.body), latch.CodeInvalidLink) {
			t.Fatalf("the link after the password was set otherwise: %d %s", res.status, res.body)
		}
		if !loginWorks(t, h, u.Email, mine) || loginWorks(t, h, u.Email, newPassword) {
			t.Fatal("the link replaced the password")
		}
		// A password-only account asking for a link: 409 (the password is
		// what counts), not missing-linked-identity.
		h.PasswordUser(t, "pw-only@example.com", newPassword, "", false)
		tok, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "pw-only@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		jsonAPIError(t, do(t, h, "PUT", requestPath, tok.AccessToken, "", ""), 409, "password-already-set")
		// A token that cannot act for a user is an invalid token here.
		project, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "pw-only@example.com", Kind: latch.KindProject, Scopes: []string{"x"}})
		if err != nil {
			t.Fatal(err)
		}
		jsonAPIError(t, do(t, h, "PUT", requestPath, project.AccessToken, "", ""), 401, "unauthorized")
	})
}
