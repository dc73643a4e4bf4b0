package devopness_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TestLoginRefusesAccountsWithFactors: seed 000 has no factor step, so an
// account with a second factor is refused in the seed's 403 shape, byte
// for byte, and never given tokens; removing the factor gives the seed's
// answer back.
func TestLoginRefusesAccountsWithFactors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, fx fixture) {
		ctx := t.Context()
		fx.h.PasswordUser(t, "factor@example.com", newPassword, "", false)
		login := func() response {
			return fx.do(t, request{"POST", "/users/login", jsonHeaders(""), fmt.Sprintf(`{"email":"factor@example.com","password":%q}`, newPassword)})
		}
		res := login()
		if res.status != 200 {
			t.Fatalf("login without a factor: %d %s", res.status, res.body)
		}
		var tokens struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.Unmarshal(res.body, &tokens); err != nil {
			t.Fatal(err)
		}
		p, err := fx.h.Accounts.Authenticate(ctx, tokens.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		e, err := fx.h.Accounts.EnrolTOTP(ctx, p, "Phone")
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCodeCustom(e.Secret, fx.h.Clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err := fx.h.Accounts.ConfirmTOTP(ctx, p, e.FactorID, code); err != nil {
			t.Fatal(err)
		}
		res = login()
		if res.status != 403 || string(res.body) != `{"message":"Forbidden"}`+"\n" || res.header.Get("Content-Type") != "application/json" {
			t.Fatalf("login with a factor: %d %q %v; want 403 {\"message\":\"Forbidden\"}", res.status, res.body, res.header)
		}
		// The factor can still be passed where there is a step for it.
		fx.h.Clock.Advance(time.Minute)
		if err := fx.h.Accounts.RemoveFactor(ctx, p, e.FactorID); err != nil {
			t.Fatal(err)
		}
		if res := login(); res.status != 200 {
			t.Fatalf("login after the factor was removed: %d %s", res.status, res.body)
		}
	})
}
