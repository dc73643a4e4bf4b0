package account_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// TestWhichSessionsAPasswordWriteEnds is the contract decision of
// shared/seeds/README.md (002): setting a first password (seed 002's link,
// seed 003's verification token, the /verify page, a first password set
// with one's own token) ends no session; replacing one (recovery, change,
// administrator) ends every session but the caller's.
func TestWhichSessionsAPasswordWriteEnds(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		const pw, next = "first chosen passphrase", "second chosen passphrase"
		sessions := func(t *testing.T, email string) (account.TokenPair, account.TokenPair) {
			t.Helper()
			var pairs [2]account.TokenPair
			for i := range pairs {
				p, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: email})
				if err != nil {
					t.Fatal(err)
				}
				pairs[i] = p
			}
			return pairs[0], pairs[1]
		}
		alive := func(t *testing.T, name string, pair account.TokenPair, want bool) {
			t.Helper()
			_, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
			if want && err != nil {
				t.Errorf("%s was ended: %v", name, err)
			}
			if !want && !latch.IsKind(err, latch.KindUnauthenticated) {
				t.Errorf("%s still works: %v", name, err)
			}
		}
		principal := func(t *testing.T, pair account.TokenPair) account.Principal {
			t.Helper()
			p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		signUpToken := func(t *testing.T, email string) string {
			t.Helper()
			if err := h.Accounts.SignUp(ctx, account.SignUpInput{Email: email, FirstName: "Ada"}); err != nil {
				t.Fatal(err)
			}
			return testenv.Token(testenv.Link(t, h.SMTP.WaitFor(t, email, 10*time.Second)))
		}

		t.Run("seed 002 link", func(t *testing.T) {
			u, _ := h.OAuthUser(t, "link@example.com")
			asker, other := sessions(t, u.Email)
			if err := h.Accounts.RequestPasswordLink(ctx, principal(t, asker)); err != nil {
				t.Fatal(err)
			}
			link := testenv.Token(testenv.Link(t, h.SMTP.WaitFor(t, u.Email, 10*time.Second)))
			if err := h.Accounts.SetPasswordWithLink(ctx, account.SetPasswordWithLinkInput{Token: link, Password: pw, Confirmation: ptr(pw)}); err != nil {
				t.Fatal(err)
			}
			alive(t, "the session that asked", asker, true)
			alive(t, "another session", other, true)
			if _, err := h.Accounts.Refresh(ctx, other.RefreshToken); err != nil {
				t.Errorf("refresh after a first password: %v", err)
			}
			if err := h.Accounts.RequestPasswordLink(ctx, principal(t, asker)); !latch.IsCode(err, latch.CodePasswordAlreadySet) {
				t.Errorf("asking again: %v, want password_already_set", err)
			}
		})
		t.Run("seed 003 verification token", func(t *testing.T) {
			tok := signUpToken(t, "verify@example.com")
			a, b := sessions(t, "verify@example.com")
			if _, err := h.Accounts.SetFirstPassword(ctx, tok, "securePassword123!"); err != nil {
				t.Fatal(err)
			}
			alive(t, "a session", a, true)
			alive(t, "another session", b, true)
		})
		t.Run("verify page", func(t *testing.T) {
			tok := signUpToken(t, "page@example.com")
			a, _ := sessions(t, "page@example.com")
			if err := h.Accounts.VerifyAndSetPassword(ctx, tok, "securePassword123!"); err != nil {
				t.Fatal(err)
			}
			alive(t, "a session", a, true)
		})
		t.Run("own first password", func(t *testing.T) {
			u, _ := h.OAuthUser(t, "own-first@example.com")
			caller, other := sessions(t, u.Email)
			if err := h.Accounts.SetOwnPassword(ctx, principal(t, caller), account.SetOwnPasswordInput{Password: pw, Confirmation: ptr(pw)}); err != nil {
				t.Fatal(err)
			}
			alive(t, "the caller's session", caller, true)
			alive(t, "another session", other, true)
		})
		t.Run("own change", func(t *testing.T) {
			h.PasswordUser(t, "change@example.com", pw, "", false)
			caller, other := sessions(t, "change@example.com")
			if err := h.Accounts.SetOwnPassword(ctx, principal(t, caller), account.SetOwnPasswordInput{Password: next, Confirmation: ptr(next), CurrentPassword: ptr(pw)}); err != nil {
				t.Fatal(err)
			}
			alive(t, "the caller's session", caller, true)
			alive(t, "another session", other, false)
		})
		t.Run("recovery", func(t *testing.T) {
			h.PasswordUser(t, "recover@example.com", pw, "", false)
			a, b := sessions(t, "recover@example.com")
			if err := h.Accounts.RequestRecovery(ctx, "recover@example.com"); err != nil {
				t.Fatal(err)
			}
			link := testenv.Token(testenv.Link(t, h.SMTP.WaitFor(t, "recover@example.com", 10*time.Second)))
			if err := h.Accounts.SetPasswordWithLink(ctx, account.SetPasswordWithLinkInput{Token: link, Password: next, Confirmation: ptr(next)}); err != nil {
				t.Fatal(err)
			}
			alive(t, "a session", a, false)
			alive(t, "another session", b, false)
		})
		t.Run("administrator", func(t *testing.T) {
			for _, email := range []string{"admin-set@example.com", "admin-first@example.com"} {
				if email == "admin-set@example.com" {
					h.PasswordUser(t, email, pw, "", false)
				} else {
					h.OAuthUser(t, email)
				}
				u, err := h.Accounts.UserByEmail(ctx, email)
				if err != nil {
					t.Fatal(err)
				}
				a, b := sessions(t, email)
				if err := h.Accounts.AdminSetPassword(ctx, account.Operator(""), account.AdminSetPasswordInput{
					User: account.UserRef{ID: u.ID}, Password: ptr(next), Confirmation: ptr(next),
				}); err != nil {
					t.Fatal(err)
				}
				alive(t, email+": a session", a, false)
				alive(t, email+": another session", b, false)
			}
		})
	})
}
