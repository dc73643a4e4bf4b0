package native_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

func mailCall(t *testing.T, h *testenv.MailHarness, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, h.Server.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
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
	return res.StatusCode, string(raw)
}

func setWithLink(t *testing.T, h *testenv.MailHarness, link, pw string) (int, string) {
	body, _ := json.Marshal(map[string]string{"token": testenv.Token(link), "password": pw, "password_confirmation": pw})
	return mailCall(t, h, "POST", "/v1/password/set", string(body))
}

// TestRecovery: a forgotten password, over HTTP: request, the email's
// link, a new password, sign-in; old sessions end.
func TestRecovery(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		u := h.PasswordUser(t, "forgetful@example.com", adminTestPassword, "", false)
		old, err := h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: adminTestPassword})
		if err != nil {
			t.Fatal(err)
		}
		if status, body := mailCall(t, h, "POST", "/v1/recover", `{"email":"FORGETFUL@example.com"}`); status != 202 || body != "" {
			t.Fatalf("recover: %d %s", status, body)
		}
		link := testenv.Link(t, h.SMTP.WaitFor(t, u.Email, 10*time.Second))
		if status, page := mailCall(t, h, "GET", link, ""); status != 200 || !strings.Contains(page, "Set your password") {
			t.Fatalf("page: %d %s", status, page)
		}
		// The same password again is allowed unless a history policy says
		// otherwise; a mismatch is reported on its field.
		body, _ := json.Marshal(map[string]string{"token": testenv.Token(link), "password": "Recovered-passw0rd!", "password_confirmation": "nope"})
		if status, out := mailCall(t, h, "POST", "/v1/password/set", string(body)); status != 400 || !strings.Contains(out, `"field":"password_confirmation"`) {
			t.Fatalf("mismatch: %d %s", status, out)
		}
		if status, out := setWithLink(t, h, link, "Recovered-passw0rd!"); status != 204 {
			t.Fatalf("set: %d %s", status, out)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: "Recovered-passw0rd!"}); err != nil {
			t.Fatalf("new password: %v", err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: adminTestPassword}); err == nil {
			t.Fatal("the old password still works")
		}
		if _, err := h.Accounts.Authenticate(ctx, old.AccessToken); err == nil {
			t.Fatal("a session from before the recovery still works")
		}
		events, err := h.Accounts.AuditEvents(ctx, account.Operator(""), latch.AuditQuery{Action: latch.AuditPasswordReset, TargetID: u.ID})
		if err != nil || len(events) != 1 || events[0].ActorType != latch.ActorUser || events[0].Details["via"] != "link" {
			t.Fatalf("audit: %+v %v", events, err)
		}
	})
}

// TestRecoveryDoesNotEnumerate: an unknown email, an account without a
// password and a real one all answer 202 alike; only the real one is
// mailed.
func TestRecoveryDoesNotEnumerate(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		h.PasswordUser(t, "real@example.com", adminTestPassword, "", false)
		h.OAuthUser(t, "oauth-only@example.com")
		for _, email := range []string{"nobody@example.com", "oauth-only@example.com", "real@example.com"} {
			if status, body := mailCall(t, h, "POST", "/v1/recover", `{"email":"`+email+`"}`); status != 202 || body != "" {
				t.Fatalf("%s: %d %s", email, status, body)
			}
		}
		h.SMTP.WaitFor(t, "real@example.com", 10*time.Second)
		h.Accounts.Wait()
		msgs, err := h.Store.MailMessages(ctx, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) != 1 || msgs[0].To != "real@example.com" {
			t.Fatalf("outbox: %+v", msgs)
		}
		status, want := mailCall(t, h, "POST", "/v1/recover", `{"email":"not an email"}`)
		if status != 400 {
			t.Fatalf("malformed email: %d", status)
		}
		// A look-alike is answered exactly as a malformed email.
		for _, lookalike := range []string{`\u212Aelvin@example.com`, `real\u200b@example.com`} {
			if s, body := mailCall(t, h, "POST", "/v1/recover", `{"email":"`+lookalike+`"}`); s != 400 || body != want {
				t.Fatalf("recover %s: %d %s, want 400 %s", lookalike, s, body, want)
			}
		}
	})
}

// TestMailSurvivesSMTPOutage: with the SMTP server down, mail waits in the
// outbox, and is delivered once (exactly once) when it is back.
func TestMailSurvivesSMTPOutage(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		h.PasswordUser(t, "patient@example.com", adminTestPassword, "", false)
		h.SMTP.Stop()
		if status, body := mailCall(t, h, "POST", "/v1/recover", `{"email":"patient@example.com"}`); status != 202 {
			t.Fatalf("recover while SMTP is down: %d %s", status, body)
		}
		// The worker tries, fails, and schedules a retry.
		deadline := time.Now().Add(10 * time.Second)
		var pending latch.MailMessage
		for time.Now().Before(deadline) {
			msgs, err := h.Store.MailMessages(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(msgs) == 1 && msgs[0].Attempts >= 1 && msgs[0].LastError != "" {
				pending = msgs[0]
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if pending.Status() != "pending" || pending.Data == nil || !pending.NextAttemptAt.After(h.Clock.Now()) {
			t.Fatalf("after a failed attempt: %+v", pending)
		}
		h.SMTP.Start()
		h.Clock.Advance(2 * time.Hour)
		h.Worker.Notify()
		msg := h.SMTP.WaitFor(t, "patient@example.com", 10*time.Second)
		link := testenv.Link(t, msg)
		// The server has the message before the worker records it sent:
		// wait for that record, or the clock moved past the lease below
		// would hand the same message out again (delivery is at least
		// once, and this test is about the outage, not a crash).
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			msgs, err := h.Store.MailMessages(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(msgs, func(m latch.MailMessage) bool { return m.ID == pending.ID && m.Status() == "sent" }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the delivered message is not recorded as sent: %+v", msgs)
			}
		}
		if status, out := setWithLink(t, h, link, "After-the-outage-1!"); status != 204 {
			t.Fatalf("set: %d %s", status, out)
		}
		// Exactly once: with the clock past any retry, passes of the
		// worker until one finds nothing due (the "password set" notice
		// may still be on its way) deliver no second recovery email.
		h.Clock.Advance(24 * time.Hour)
		for range 5 {
			n, err := h.Worker.RunOnce(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		recovery := 0
		for _, m := range h.SMTP.Messages() {
			if strings.Contains(m.Text, "/set-password?token=") {
				recovery++
			}
		}
		if recovery != 1 {
			t.Fatalf("%d recovery emails delivered, want 1", recovery)
		}
	})
}
