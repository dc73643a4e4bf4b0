package royalti_test

import (
	"testing"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// TestSetPasswordRefusesAccountsWithFactors: the verification token
// proves the email, not the second factor, and seed 003 has no factor
// step: an account with a factor gets the seed's error shape (403
// FORBIDDEN), no token, and nothing is written.
func TestSetPasswordRefusesAccountsWithFactors(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := t.Context()
		tok := signUp(t, h, "factor@example.com")
		pair, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "factor@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		e, err := h.Accounts.EnrolTOTP(ctx, p, "Phone")
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCodeCustom(e.Secret, h.Clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err := h.Accounts.ConfirmTOTP(ctx, p, e.FactorID, code); err != nil {
			t.Fatal(err)
		}
		status, body := call(t, h, "POST", "/auth/setpassword", tok, `{"password":"securePassword123!"}`)
		wantError(t, status, body, 403, "FORBIDDEN")
		if body["data"] != nil {
			t.Fatalf("tokens given: %v", body)
		}
		if has, err := h.Accounts.HasPassword(ctx, p.User.ID); err != nil || has {
			t.Fatalf("HasPassword after the refusal = %v, %v; want nothing written", has, err)
		}
	})
}
