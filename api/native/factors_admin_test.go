package native_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// The factor policy over HTTP on a real store: the default, a change, a
// partial change, and refusals in the problem shape with nothing stored.
func TestAdminFactorPolicy(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		fx := adminFixture{h: h, srv: h.Server(t)}
		_, _, tok := h.APIClient(t, latch.ScopeManageAll, "", false)
		status, body := fx.call(t, "GET", "/v1/admin/policy/factors", tok, "")
		if want := "map[allowed:[totp webauthn recovery_code] required:false]"; status != 200 || fmt.Sprint(body) != want {
			t.Fatalf("default factor policy: %d %v, want %s", status, body, want)
		}
		status, body = fx.call(t, "PUT", "/v1/admin/policy/factors", tok, `{"required":true,"allowed":["webauthn","TOTP"]}`)
		if want := "map[allowed:[totp webauthn] required:true]"; status != 200 || fmt.Sprint(body) != want {
			t.Fatalf("set: %d %v, want %s", status, body, want)
		}
		status, body = fx.call(t, "PUT", "/v1/admin/policy/factors", tok, `{"allowed":["totp","recovery_code"]}`)
		if want := "map[allowed:[totp recovery_code] required:true]"; status != 200 || fmt.Sprint(body) != want {
			t.Fatalf("partial set: %d %v, want %s", status, body, want)
		}
		for _, c := range []struct{ body, code, field string }{
			{`{"allowed":["recovery_code"]}`, latch.CodeInvalidRequest, "allowed"},
			{`{"allowed":[]}`, latch.CodeInvalidRequest, "allowed"},
			{`{"allowed":["sms"]}`, latch.CodeInvalidRequest, "allowed"},
			{`{"allowed":"totp"}`, "wrong_type", ""},
			{`{"required":"yes"}`, "wrong_type", ""},
			{`{"allowed":`, "invalid_json", ""},
		} {
			status, body := fx.call(t, "PUT", "/v1/admin/policy/factors", tok, c.body)
			if status != 400 || body["code"] != c.code || !strings.Contains(fmt.Sprint(body), c.field) {
				t.Errorf("PUT %s: %d %v, want 400 %s", c.body, status, body, c.code)
			}
		}
		if _, after := fx.call(t, "GET", "/v1/admin/policy/factors", tok, ""); fmt.Sprint(after) != "map[allowed:[totp recovery_code] required:true]" {
			t.Errorf("refused changes changed the policy: %v", after)
		}
		// Enforced at enrolment: a user of the tenant cannot enrol a
		// passkey-only tenant's TOTP.
		if status, body := fx.call(t, "PUT", "/v1/admin/policy/factors", tok, `{"allowed":["webauthn"]}`); status != 200 {
			t.Fatalf("webauthn only: %d %v", status, body)
		}
		_, pair := h.OAuthUser(t, "enrol@example.com")
		p, err := h.Accounts.Authenticate(t.Context(), pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.EnrolTOTP(t.Context(), p, ""); !latch.IsCode(err, account.CodeFactorNotAllowed) {
			t.Errorf("EnrolTOTP under a webauthn-only policy: %v", err)
		}
	})
}

// DELETE /v1/admin/users/{id}/factors on a real store: the factors and
// codes go, the user is mailed; bad and unknown ids are refused.
func TestAdminResetFactorsRoute(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		fx := adminFixture{h: h, srv: h.Server(t)}
		_, _, tok := h.APIClient(t, latch.ScopeManageAll, "", false)
		u, pair := h.OAuthUser(t, "lost-phone@example.com")
		p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.EnrolTOTP(ctx, p, "Phone"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.RegenerateRecoveryCodes(ctx, p); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			path   string
			status int
		}{
			{"/v1/admin/users/0190f5e4-0000-7000-8000-000000000000/factors", 404},
			{"/v1/admin/users/99999/factors", 404},
			{"/v1/admin/users/0/factors", 400},
			{"/v1/admin/users/not-an-id/factors", 404},
		} {
			if status, body := fx.call(t, "DELETE", c.path, tok, ""); status != c.status || body["code"] == nil {
				t.Errorf("DELETE %s: %d %v, want %d", c.path, status, body, c.status)
			}
		}
		if fs, _ := h.Store.FactorsByUser(ctx, u.ID); len(fs) != 1 {
			t.Fatalf("refused resets touched the factors: %+v", fs)
		}
		if status, body := fx.call(t, "DELETE", fmt.Sprintf("/v1/admin/users/%d/factors", u.Number), tok, ""); status != 204 || body != nil {
			t.Fatalf("reset: %d %v", status, body)
		}
		fs, _ := h.Store.FactorsByUser(ctx, u.ID)
		cs, _ := h.Store.RecoveryCodes(ctx, u.ID)
		if len(fs) != 0 || len(cs) != 0 {
			t.Errorf("after the reset: %d factors, %d codes", len(fs), len(cs))
		}
		mail, _ := h.Store.MailMessages(ctx, 100)
		sent := 0
		for _, m := range mail {
			if m.Template == latch.MailFactorsReset && m.To == "lost-phone@example.com" {
				sent++
			}
		}
		if sent != 1 {
			t.Errorf("%d reset notices, want 1", sent)
		}
	})
}
