package account_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// TestUnknownEmailCostsAVerification: a sign-in that names no account, or
// an account without a password, runs as many password verifications as a
// wrong password for a real account (failLogin's dummy verification).
// The floor on failed sign-ins evens out their times, so timing cannot
// show this; the hasher's count can, and without the dummy verification
// an unknown email would take no hash slot at all: under load, whether a
// sign-in queues for a slot would tell which emails have accounts.
//
// A password that NFKC normalisation changes costs two verifications on
// the wrong-password path (the normalised form, then the form as typed for
// imported hashes), so every other path must cost two as well.
func TestUnknownEmailCostsAVerification(t *testing.T) {
	h := testenv.NewHarness(t, testenv.Backends()[0].Open(t))
	ctx := context.Background()
	h.PasswordUser(t, "known@example.com", goodPassword, "", false)
	h.OAuthUser(t, "nopassword@example.com")
	ip := 0
	verifications := func(email, pw string) uint64 {
		t.Helper()
		ip++ // each attempt from its own address, far below any limit
		before := h.Hasher.Runs()
		_, err := h.Accounts.Login(ctx, account.LoginInput{Email: email, Password: pw, ClientIP: fmt.Sprintf("192.0.2.%d", ip)})
		if !latch.IsCode(err, latch.CodeInvalidCredentials) {
			t.Fatalf("Login(%q): %v, want invalid_credentials", email, err)
		}
		return h.Hasher.Runs() - before
	}
	for _, pw := range []struct {
		name, typed string
		want        uint64
	}{
		{"plain password", "not the password", 1},
		{"password NFKC changes", "ｎｏｔ the password", 2}, // fullwidth letters
	} {
		t.Run(pw.name, func(t *testing.T) {
			if got := verifications("known@example.com", pw.typed); got != pw.want {
				t.Fatalf("a wrong password ran %d verifications, want %d", got, pw.want)
			}
			for _, email := range []string{
				"nobody@example.com",      // no such account
				"nopassword@example.com",  // an account without a password
				"not\xffutf8@example.com", // no account can have it
			} {
				if got := verifications(email, pw.typed); got != pw.want {
					t.Errorf("%q ran %d verifications, a wrong password %d", email, got, pw.want)
				}
			}
		})
	}
}
