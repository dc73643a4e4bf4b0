package account_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

func challengeOf(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func TestAuthorizationCodes(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		u, _ := h.OAuthUser(t, "code-user@example.com")
		const verifier = "a-pkce-verifier-of-the-app-with-enough-entropy-1234"
		const redirect = "https://app.example/after-sign-in"
		issue := func() string {
			code, err := h.Accounts.IssueAuthorizationCode(ctx, u, challengeOf(verifier), redirect, "")
			if err != nil {
				t.Fatal(err)
			}
			return code
		}
		code := issue()
		pair, err := h.Accounts.RedeemAuthorizationCode(ctx, code, verifier, redirect)
		if err != nil || pair.RefreshToken == "" {
			t.Fatalf("redeem: %+v %v", pair.SessionID, err)
		}
		if p, err := h.Accounts.Authenticate(ctx, pair.AccessToken); err != nil || p.User.ID != u.ID {
			t.Fatalf("the code's token: %v", err)
		}
		invalid := func(name, code, verifier, redirect string) {
			t.Helper()
			if _, err := h.Accounts.RedeemAuthorizationCode(ctx, code, verifier, redirect); !latch.IsCode(err, latch.CodeInvalidToken) {
				t.Errorf("%s: %v", name, err)
			}
		}
		invalid("second redemption", code, verifier, redirect)
		wrongVerifier := issue()
		invalid("wrong verifier", wrongVerifier, "another-verifier", redirect)
		invalid("right verifier after a wrong one (the code is spent)", wrongVerifier, verifier, redirect)
		invalid("other redirect URI", issue(), verifier, "https://evil.example/")
		invalid("the redirect URI spelled otherwise", issue(), verifier, redirect+"/")
		// RFC 6749 §4.1.3: the redirect URI is required, not checked only
		// when sent; a request without it is malformed and spends nothing.
		unspent := issue()
		if _, err := h.Accounts.RedeemAuthorizationCode(ctx, unspent, verifier, ""); !latch.IsKind(err, latch.KindInvalid) || !latch.IsCode(err, latch.CodeInvalidRequest) {
			t.Errorf("no redirect URI: %v", err)
		}
		if _, err := h.Accounts.RedeemAuthorizationCode(ctx, unspent, verifier, redirect); err != nil {
			t.Errorf("the code after a request without redirect URI: %v", err)
		}
		if _, err := h.Accounts.IssueAuthorizationCode(ctx, u, challengeOf(verifier), "", ""); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("a code bound to no redirect URI: %v", err)
		}
		expired := issue()
		h.Clock.Advance(2 * time.Minute)
		invalid("expired", expired, verifier, redirect)
		invalid("garbage", "lac_nope", verifier, redirect)
		if _, err := h.Accounts.IssueAuthorizationCode(ctx, u, "plain-challenge", redirect, ""); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("a challenge that is not S256: %v", err)
		}

		// A code from a password sign-in dies with that password.
		setPassword(t, h, u, goodPassword)
		user, verified, err := h.Accounts.AuthenticatePassword(ctx, account.LoginInput{Email: u.Email, Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		fromPassword, err := h.Accounts.IssueAuthorizationCode(ctx, user, challengeOf(verifier), redirect, verified)
		if err != nil {
			t.Fatal(err)
		}
		pair, _ = h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: u.Email})
		p, _ := h.Accounts.Authenticate(ctx, pair.AccessToken)
		next := "the next passphrase here"
		if err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: next, Confirmation: &next, CurrentPassword: ptr(goodPassword)}); err != nil {
			t.Fatal(err)
		}
		invalid("code from a password changed since", fromPassword, verifier, redirect)
	})
}
