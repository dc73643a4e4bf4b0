package account_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/password"
)

// invisiblePasswords hide a character that nobody sees: each must be
// refused, however strong the rest (the last would pass every other rule).
var invisiblePasswords = []string{"password\u200b", "pass\u00adword", "Str0ng-pass\u2060phrase!"}

// wantInvisibleRefused fails unless err refuses the password for an
// invisible character.
func wantInvisibleRefused(t *testing.T, flow, pw string, err error) {
	t.Helper()
	le := latch.AsError(err)
	if le == nil || le.Kind != latch.KindInvalid {
		t.Errorf("%s with %q: %v, want the password refused", flow, pw, err)
		return
	}
	for _, d := range append([]latch.Error{*le}, le.Details...) {
		if d.Code == latch.CodePolicyInvisible && d.Field == "password" {
			return
		}
	}
	t.Errorf("%s with %q: %v (details %+v), want %s", flow, pw, err, le.Details, latch.CodePolicyInvisible)
}

// TestInvisiblePasswordCharactersRefused: every flow that sets a password
// refuses one with an invisible character, the administrator's included
// when it bypasses the policy, and the common-password check sees through
// the character.
func TestInvisiblePasswordCharactersRefused(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		_, pair := h.OAuthUser(t, "own@example.com")
		own, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		target := h.PasswordUser(t, "target@example.com", goodPassword, "", false)

		// A recovery link and a sign-up's verification token.
		if err := h.Accounts.RequestRecovery(ctx, "target@example.com"); err != nil {
			t.Fatal(err)
		}
		link := testenv.Token(testenv.Link(t, h.SMTP.WaitFor(t, "target@example.com", 10*time.Second)))
		if err := h.Accounts.SignUp(ctx, account.SignUpInput{Email: "new@example.com", FirstName: "N"}); err != nil {
			t.Fatal(err)
		}
		verify := testenv.Token(testenv.Link(t, h.SMTP.WaitFor(t, "new@example.com", 10*time.Second)))

		for i, pw := range invisiblePasswords {
			_, err := h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: "cli" + string(rune('a'+i)) + "@example.com", Password: pw})
			wantInvisibleRefused(t, "CreateUser", pw, err)
			_, err = h.Accounts.AdminCreateUser(ctx, account.Operator(""), account.AdminCreateUserInput{Email: "admin" + string(rune('a'+i)) + "@example.com", Password: pw})
			wantInvisibleRefused(t, "AdminCreateUser", pw, err)
			for _, validate := range []bool{true, false} {
				err = h.Accounts.AdminSetPassword(ctx, account.Operator(""), account.AdminSetPasswordInput{
					User: account.UserRef{ID: target.ID}, Password: ptr(pw), Confirmation: ptr(pw), ValidatePolicy: validate})
				wantInvisibleRefused(t, "AdminSetPassword", pw, err)
			}
			err = h.Accounts.SetOwnPassword(ctx, own, account.SetOwnPasswordInput{Password: pw, Confirmation: ptr(pw)})
			wantInvisibleRefused(t, "SetOwnPassword", pw, err)
			err = h.Accounts.SetPasswordWithLink(ctx, account.SetPasswordWithLinkInput{Token: link, Password: pw, Confirmation: ptr(pw)})
			wantInvisibleRefused(t, "SetPasswordWithLink", pw, err)
			_, err = h.Accounts.SetFirstPassword(ctx, verify, pw)
			wantInvisibleRefused(t, "SetFirstPassword", pw, err)
			err = h.Accounts.VerifyAndSetPassword(ctx, verify, pw)
			wantInvisibleRefused(t, "VerifyAndSetPassword", pw, err)
		}
		// Nothing was set: the target's password is still the old one.
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "target@example.com", Password: goodPassword}); err != nil {
			t.Fatalf("the target's password changed: %v", err)
		}
		if has, err := h.Accounts.HasPassword(ctx, own.User.ID); err != nil || has {
			t.Fatalf("own account has a password: %v %v", has, err)
		}
	})
}

// TestPasswordSetWithInvisibleCharacterStillSignsIn: a hash stored before
// invisible characters were refused was made from the password as NFKC
// leaves it, character included; that password still signs in, and the
// same password without the character does not.
func TestPasswordSetWithInvisibleCharacterStillSignsIn(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		const old = "old pass\u200bphrase 42"
		hash, err := password.Hash(password.Normalize(old), testenv.FastParams)
		if err != nil {
			t.Fatal(err)
		}
		now := h.Clock.Now()
		if _, err := h.Store.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "old@example.com", Active: true, CreatedAt: now, UpdatedAt: now}, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "old@example.com", Password: old}); err != nil {
			t.Fatalf("the password as set: %v", err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "old@example.com", Password: strings.ReplaceAll(old, "\u200b", "")}); !latch.IsCode(err, latch.CodeInvalidCredentials) {
			t.Fatalf("without the invisible character: %v, want invalid_credentials", err)
		}
	})
}
