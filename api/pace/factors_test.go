package pace_test

import (
	"testing"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// TestMFATokenRefused: seed 002 has no sign-in of its own; the one way an
// account with a factor could reach it without passing the factor is the
// mfa token of its pending sign-in, which is refused in the seed's 401
// shape, and no link is sent.
func TestMFATokenRefused(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := t.Context()
		email := "pace-factor@example.com"
		_, pair := h.OAuthUser(t, email)
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
		ext := latch.ExternalIdentity{Provider: latch.ProviderGoogle, Issuer: latch.WellKnownIssuer(latch.ProviderGoogle), Subject: "google-" + email, Email: email, EmailVerified: true}
		_, pending, err := h.Accounts.SignInWithIdentity(ctx, ext)
		if !latch.IsCode(err, latch.CodeMFARequired) {
			t.Fatalf("provider sign-in with a factor = %v, want mfa_required", err)
		}
		for _, path := range []string{"/user/password", "/user/2024-3/user/password"} {
			res := do(t, h, "PUT", path, pending.AccessToken, "", "")
			jsonAPIError(t, res, 401, "unauthorized")
		}
	})
}
