package account_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// lookalikes are addresses that Unicode case mapping or normalisation
// would fold onto kelvin@example.com or ilya@example.com, or that hide a
// character: each must be refused, never taken for the ASCII account.
var lookalikes = map[string]string{
	"Kelvin sign":               "\u212Aelvin@example.com",
	"Kelvin sign in the domain": "kelvin@example.\u212A",
	"zero-width space":          "kelvin\u200b@example.com",
	"zero-width joiner":         "kel\u200dvin@example.com",
	"byte order mark":           "\ufeffkelvin@example.com",
	"soft hyphen in the domain": "kelvin@exam\u00adple.com",
	"right-to-left mark":        "kelvin@example.com\u200f",
}

// TestEmailLookalikesRefused: every entry point that takes an address
// refuses a look-alike with its invalid-email error, and a login with one
// finds no account, not the ASCII one it folds onto.
func TestEmailLookalikesRefused(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		kelvin := h.PasswordUser(t, "kelvin@example.com", goodPassword, "", false)
		for name, email := range lookalikes {
			if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: email, Password: goodPassword}); !latch.IsCode(err, latch.CodeInvalidCredentials) {
				t.Errorf("%s: Login = %v, want invalid_credentials", name, err)
			}
			if _, _, err := h.Accounts.AuthenticatePassword(ctx, account.LoginInput{Email: email, Password: goodPassword}); !latch.IsCode(err, latch.CodeInvalidCredentials) {
				t.Errorf("%s: AuthenticatePassword = %v, want invalid_credentials", name, err)
			}
			if u, err := h.Accounts.UserByEmail(ctx, email); err == nil {
				t.Errorf("%s: UserByEmail found %s", name, u.Email)
			}
			wantInvalidEmail := func(what string, err error) {
				t.Helper()
				le := latch.AsError(err)
				if le == nil || le.Kind != latch.KindInvalid || le.Code != latch.CodeInvalidEmail || le.Field != "email" {
					t.Errorf("%s: %s = %v, want invalid_email on field email", name, what, err)
				}
			}
			_, err := h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: email, Password: goodPassword})
			wantInvalidEmail("CreateUser", err)
			_, err = h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: email, Provider: latch.ProviderGoogle, Subject: "g-" + name})
			wantInvalidEmail("CreateUser with a provider", err)
			_, err = h.Accounts.AdminCreateUser(ctx, account.Operator(""), account.AdminCreateUserInput{Email: email})
			wantInvalidEmail("AdminCreateUser", err)
			wantInvalidEmail("SignUp", h.Accounts.SignUp(ctx, account.SignUpInput{Email: email, FirstName: "K"}))
			wantInvalidEmail("RequestRecovery", h.Accounts.RequestRecovery(ctx, email))
		}
		h.Accounts.Wait()
		// The real account is untouched, and still the only one.
		if got, err := h.Accounts.UserByEmail(ctx, "KELVIN@example.com"); err != nil || got.ID != kelvin.ID {
			t.Fatalf("the ASCII account: %+v, %v", got, err)
		}
		page, err := h.Accounts.ListUsers(ctx, account.Operator(""), "", "", 100)
		if err != nil || len(page.Users) != 1 {
			t.Fatalf("users after the look-alikes: %+v, %v", page, err)
		}
	})
}

// TestEmailCanonicalForm: accounts are stored and found under the
// canonical form: full-width and case are the same address, an IDN domain
// is one account whether typed as Unicode or as its A-label, and a
// dotted capital I is not an "i".
func TestEmailCanonicalForm(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		ada := h.PasswordUser(t, "  ＡＤＡ@Ｅｘａｍｐｌｅ.com ", goodPassword, "", false)
		if ada.Email != "ada@example.com" {
			t.Fatalf("stored email %q, want the canonical ada@example.com", ada.Email)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "Ada@EXAMPLE.com", Password: goodPassword}); err != nil {
			t.Fatalf("login by another spelling: %v", err)
		}
		_, err := h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: "ada@example.com"})
		if !latch.IsCode(err, latch.CodeEmailTaken) {
			t.Fatalf("the same canonical address again: %v, want email_taken", err)
		}

		idn, err := h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: "Bob@Bücher.de", Password: goodPassword})
		if err != nil || idn.Email != "bob@xn--bcher-kva.de" {
			t.Fatalf("IDN account: %+v, %v", idn, err)
		}
		for _, spelling := range []string{"bob@bücher.de", "BOB@XN--BCHER-KVA.DE", "bob@ｂücher.de"} {
			if got, err := h.Accounts.UserByEmail(ctx, spelling); err != nil || got.ID != idn.ID {
				t.Errorf("UserByEmail(%q) = %+v, %v", spelling, got, err)
			}
			if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: spelling, Password: goodPassword}); err != nil {
				t.Errorf("Login(%q): %v", spelling, err)
			}
		}
		if _, err := h.Accounts.AdminCreateUser(ctx, account.Operator(""), account.AdminCreateUserInput{Email: "bob@xn--bcher-kva.de"}); !latch.IsCode(err, latch.CodeEmailTaken) {
			t.Fatalf("the A-label of a taken IDN address: %v, want email_taken", err)
		}

		ilya := h.PasswordUser(t, "ilya@example.com", goodPassword, "", false)
		dotted, err := h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: "\u0130lya@example.com"})
		if err != nil || dotted.ID == ilya.ID || dotted.Email != "i\u0307lya@example.com" {
			t.Fatalf("dotted capital I: %+v, %v; want its own account i\u0307lya@example.com", dotted, err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "\u0130lya@example.com", Password: goodPassword}); !latch.IsCode(err, latch.CodeInvalidCredentials) {
			t.Fatalf("login to ilya@ by the dotted capital I: %v", err)
		}
	})
}

// TestSignUpLookalikeMailGoesToCanonical is the attack end to end: a
// provider account exists for kelvin@example.com; an anonymous sign-up
// with the Kelvin sign is refused, and a sign-up with a full-width
// spelling is the same mailbox, whose verification notice goes to the
// canonical address and nowhere else.
func TestSignUpLookalikeMailGoesToCanonical(t *testing.T) {
	testenv.ForEachMailBackend(t, account.DefaultConfig(), func(t *testing.T, h *testenv.MailHarness) {
		ctx := context.Background()
		h.OAuthUser(t, "kelvin@example.com")
		err := h.Accounts.SignUp(ctx, account.SignUpInput{Email: "\u212Aelvin@example.com", FirstName: "Mallory"})
		if !latch.IsCode(err, latch.CodeInvalidEmail) {
			t.Fatalf("sign-up with the Kelvin sign: %v, want invalid_email", err)
		}
		if err := h.Accounts.SignUp(ctx, account.SignUpInput{Email: "ｋｅｌｖｉｎ@EXAMPLE.com", FirstName: "Mallory"}); err != nil {
			t.Fatal(err)
		}
		h.Accounts.Wait()
		m := h.SMTP.WaitFor(t, "kelvin@example.com", 10*time.Second)
		if len(m.To) != 1 || m.To[0] != "kelvin@example.com" {
			t.Fatalf("recipients %q, want exactly the canonical kelvin@example.com", m.To)
		}
		if strings.Contains(m.Text, "/verify?token=") {
			t.Fatalf("the owner got a verification link, not the notice: %q", m.Subject)
		}

		// A new address: its account and its verification link are for the
		// canonical address.
		if err := h.Accounts.SignUp(ctx, account.SignUpInput{Email: "Ｎｅｗ.Person@Bücher.DE", FirstName: "N"}); err != nil {
			t.Fatal(err)
		}
		h.Accounts.Wait()
		m = h.SMTP.WaitFor(t, "new.person@xn--bcher-kva.de", 10*time.Second)
		if len(m.To) != 1 || m.To[0] != "new.person@xn--bcher-kva.de" {
			t.Fatalf("recipients %q", m.To)
		}
		testenv.Link(t, m)
		u, err := h.Accounts.UserByEmail(ctx, "new.person@bücher.de")
		if err != nil || u.Email != "new.person@xn--bcher-kva.de" {
			t.Fatalf("the new account: %+v, %v", u, err)
		}
		if n := len(h.SMTP.Messages()); n != 2 {
			t.Fatalf("%d messages, want 2", n)
		}
	})
}
