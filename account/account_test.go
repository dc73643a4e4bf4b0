package account_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/password"
	"golang.org/x/crypto/bcrypt"
)

func ptr(s string) *string { return &s }

const goodPassword = "correct horse battery staple"

func TestSetFirstPasswordThenLogin(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		_, pair := h.OAuthUser(t, "Ada@Example.com")
		p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "ada@example.com", Password: goodPassword}); !latch.IsCode(err, latch.CodeInvalidCredentials) {
			t.Fatalf("login before a password exists: %v", err)
		}
		if err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: goodPassword, Confirmation: ptr(goodPassword)}); err != nil {
			t.Fatalf("SetOwnPassword: %v", err)
		}
		got, err := h.Accounts.Login(ctx, account.LoginInput{Email: "ADA@example.COM", Password: goodPassword})
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		if got.AccessToken == "" || !strings.HasPrefix(got.RefreshToken, "lrt_") || got.ExpiresIn != time.Hour {
			t.Fatalf("pair = %+v", got)
		}
		// The caller's own session survives its password change.
		if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); err != nil {
			t.Fatalf("the caller's token stopped working: %v", err)
		}
	})
}

func TestSetOwnPasswordValidation(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		_, pair := h.OAuthUser(t, "val@example.com")
		p, _ := h.Accounts.Authenticate(ctx, pair.AccessToken)
		cases := []struct {
			name   string
			in     account.SetOwnPasswordInput
			fields map[string]string // field -> code
		}{
			{"empty", account.SetOwnPasswordInput{}, map[string]string{"password": latch.CodeRequired, "password_confirmation": latch.CodeRequired}},
			{"mismatch", account.SetOwnPasswordInput{Password: goodPassword, Confirmation: ptr(goodPassword + "x")}, map[string]string{"password_confirmation": latch.CodePasswordMismatch}},
			{"short", account.SetOwnPasswordInput{Password: "Ab1!x", Confirmation: ptr("Ab1!x")}, map[string]string{"password": latch.CodePolicyLength}},
			{"common", account.SetOwnPasswordInput{Password: "password1", Confirmation: ptr("password1")}, map[string]string{"password": latch.CodePolicyCommon}},
			{"email", account.SetOwnPasswordInput{Password: "val-is-my-name", Confirmation: ptr("val-is-my-name")}, map[string]string{"password": latch.CodePolicyEmail}},
			{"too long", account.SetOwnPasswordInput{Password: strings.Repeat("x", 257), Confirmation: ptr(strings.Repeat("x", 257))}, map[string]string{"password": latch.CodePolicyLength}},
		}
		for _, c := range cases {
			err := h.Accounts.SetOwnPassword(ctx, p, c.in)
			var le *latch.Error
			if !latch.IsKind(err, latch.KindInvalid) {
				t.Fatalf("%s: err = %v, want invalid", c.name, err)
			}
			le = latch.AsError(err)
			got := map[string]string{}
			for _, d := range le.Details {
				got[d.Field] = d.Code
			}
			for f, code := range c.fields {
				if got[f] != code {
					t.Errorf("%s: field %s = %q, want %q (all: %v)", c.name, f, got[f], code, got)
				}
			}
		}
		if ok, _ := h.Accounts.HasPassword(ctx, p.User.ID); ok {
			t.Fatal("a refused password was stored")
		}
	})
}

func TestChangePasswordRevokesOtherSessions(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		_, first := h.OAuthUser(t, "grace@example.com")
		p, _ := h.Accounts.Authenticate(ctx, first.AccessToken)
		if err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: goodPassword, Confirmation: ptr(goodPassword)}); err != nil {
			t.Fatal(err)
		}
		other, err := h.Accounts.Login(ctx, account.LoginInput{Email: "grace@example.com", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		mine, err := h.Accounts.Login(ctx, account.LoginInput{Email: "grace@example.com", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		me, _ := h.Accounts.Authenticate(ctx, mine.AccessToken)

		const next = "a brand new passphrase"
		err = h.Accounts.SetOwnPassword(ctx, me, account.SetOwnPasswordInput{Password: next, Confirmation: ptr(next)})
		if !latch.IsCode(err, latch.CodeCurrentPasswordNeeded) {
			t.Fatalf("change without current_password: %v", err)
		}
		err = h.Accounts.SetOwnPassword(ctx, me, account.SetOwnPasswordInput{Password: next, Confirmation: ptr(next), CurrentPassword: ptr("wrong one")})
		if !latch.IsCode(err, latch.CodeCurrentPasswordWrong) {
			t.Fatalf("change with a wrong current_password: %v", err)
		}
		if err := h.Accounts.SetOwnPassword(ctx, me, account.SetOwnPasswordInput{Password: next, Confirmation: ptr(next), CurrentPassword: ptr(goodPassword)}); err != nil {
			t.Fatalf("change: %v", err)
		}
		for name, tok := range map[string]string{"oauth session": first.AccessToken, "other login": other.AccessToken} {
			if _, err := h.Accounts.Authenticate(ctx, tok); !latch.IsKind(err, latch.KindUnauthenticated) {
				t.Errorf("%s still works after the password change: %v", name, err)
			}
		}
		if _, err := h.Accounts.Refresh(ctx, other.RefreshToken); err == nil {
			t.Error("the other session's refresh token still works")
		}
		if _, err := h.Accounts.Authenticate(ctx, mine.AccessToken); err != nil {
			t.Errorf("the caller's session was revoked: %v", err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "grace@example.com", Password: goodPassword}); !latch.IsCode(err, latch.CodeInvalidCredentials) {
			t.Errorf("old password: %v", err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "grace@example.com", Password: next}); err != nil {
			t.Errorf("new password: %v", err)
		}
	})
}

func TestRefreshRotationAndReuse(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		h.OAuthUser(t, "rot@example.com")
		u, _ := h.Accounts.UserByEmail(ctx, "rot@example.com")
		setPassword(t, h, u, goodPassword)
		first, err := h.Accounts.Login(ctx, account.LoginInput{Email: "rot@example.com", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		h.Clock.Advance(time.Minute)
		second, err := h.Accounts.Refresh(ctx, first.RefreshToken)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken || second.SessionID != first.SessionID {
			t.Fatalf("rotation did not rotate: %+v -> %+v", first, second)
		}
		if _, err := h.Accounts.Authenticate(ctx, second.AccessToken); err != nil {
			t.Fatal(err)
		}
		// Presenting the used token again, past the reuse interval, is a
		// theft signal: the whole session dies, including the tokens the
		// legitimate holder has.
		h.Clock.Advance(account.DefaultRefreshReuseInterval)
		if _, err := h.Accounts.Refresh(ctx, first.RefreshToken); !latch.IsCode(err, latch.CodeRefreshTokenReused) {
			t.Fatalf("reuse: %v", err)
		}
		if _, err := h.Accounts.Authenticate(ctx, second.AccessToken); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Fatalf("access token of a revoked session: %v", err)
		}
		if _, err := h.Accounts.Refresh(ctx, second.RefreshToken); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Fatalf("latest refresh token of a revoked session: %v", err)
		}
		for _, garbage := range []string{"", "lrt_short", "nope", strings.Repeat("a", 47)} {
			if _, err := h.Accounts.Refresh(ctx, garbage); !latch.IsCode(err, latch.CodeInvalidToken) {
				t.Errorf("refresh %q: %v", garbage, err)
			}
		}
	})
}

func TestAccessTokenExpiresAndLogoutRevokes(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		_, pair := h.OAuthUser(t, "exp@example.com")
		h.Clock.Advance(59 * time.Minute)
		p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		h.Clock.Advance(time.Minute)
		if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); !latch.IsCode(err, latch.CodeInvalidToken) {
			t.Fatalf("expired token: %v", err)
		}
		fresh, err := h.Accounts.Refresh(ctx, pair.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		p, _ = h.Accounts.Authenticate(ctx, fresh.AccessToken)
		if err := h.Accounts.Logout(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.Authenticate(ctx, fresh.AccessToken); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Fatalf("token after logout: %v", err)
		}
	})
}

func TestUnknownEmailAndWrongPasswordLookAlike(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		h.OAuthUser(t, "same@example.com") // exists, no password
		u, _ := h.Accounts.UserByEmail(ctx, "same@example.com")
		_, errNoPassword := h.Accounts.Login(ctx, account.LoginInput{Email: "same@example.com", Password: goodPassword})
		setPassword(t, h, u, goodPassword)
		_, errWrong := h.Accounts.Login(ctx, account.LoginInput{Email: "same@example.com", Password: "not the password"})
		_, errUnknown := h.Accounts.Login(ctx, account.LoginInput{Email: "nobody@example.com", Password: "not the password"})
		for name, err := range map[string]error{"no password": errNoPassword, "wrong": errWrong, "unknown": errUnknown} {
			le := latch.AsError(err)
			if le == nil || le.Kind != latch.KindUnauthenticated || le.Code != latch.CodeInvalidCredentials || le.Message != "invalid email or password" {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

func TestTokenKindsAndScopes(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		h.OAuthUser(t, "kinds@example.com")
		in := account.SetOwnPasswordInput{Password: goodPassword, Confirmation: ptr(goodPassword)}
		cases := []struct {
			kind   latch.TokenKind
			scopes []string
			code   string
		}{
			{latch.KindProject, []string{latch.ScopeUserUpdate}, latch.CodeNotUserToken},
			{latch.KindPersonal, []string{latch.ScopeUserRead}, latch.CodeInsufficientScope},
		}
		for _, c := range cases {
			pair, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "kinds@example.com", Kind: c.kind, Scopes: c.scopes})
			if err != nil {
				t.Fatal(err)
			}
			if pair.RefreshToken != "" {
				t.Errorf("%s token came with a refresh token", c.kind)
			}
			p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Accounts.SetOwnPassword(ctx, p, in); !latch.IsKind(err, latch.KindForbidden) || !latch.IsCode(err, c.code) {
				t.Errorf("%s %v: %v, want forbidden %s", c.kind, c.scopes, err, c.code)
			}
		}
		project, _ := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "kinds@example.com", Kind: latch.KindProject, Scopes: []string{latch.ScopeUserRead}})
		pp, _ := h.Accounts.Authenticate(ctx, project.AccessToken)
		if _, err := h.Accounts.Me(pp); !latch.IsCode(err, latch.CodeNotUserToken) {
			t.Errorf("Me with a project token: %v", err)
		}
		pat, _ := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "kinds@example.com", Kind: latch.KindPersonal, Scopes: []string{latch.ScopeUserUpdate}})
		p, _ := h.Accounts.Authenticate(ctx, pat.AccessToken)
		if err := h.Accounts.SetOwnPassword(ctx, p, in); err != nil {
			t.Errorf("personal token with user:update: %v", err)
		}
	})
}

// Tokens without a refresh token live as long as their session: the TTL
// asked for, not the one-hour access-token TTL.
func TestNonRefreshableTokensLiveForTheirTTL(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		h.OAuthUser(t, "pat@example.com")
		cases := []struct {
			kind latch.TokenKind
			ttl  time.Duration
			want time.Duration
		}{
			{latch.KindPersonal, 0, 30 * 24 * time.Hour},
			{latch.KindPersonal, 3 * time.Hour, 3 * time.Hour},
			{latch.KindProject, 48 * time.Hour, 48 * time.Hour},
			{latch.KindSession, 10 * time.Minute, 10 * time.Minute},
			{latch.KindSession, 0, time.Hour},
		}
		var pairs []account.TokenPair
		for _, c := range cases {
			pair, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "pat@example.com", Kind: c.kind, Scopes: []string{"x:y"}, TTL: c.ttl})
			if err != nil {
				t.Fatal(err)
			}
			if pair.ExpiresIn != c.want {
				t.Errorf("%s ttl %v: expires in %v, want %v", c.kind, c.ttl, pair.ExpiresIn, c.want)
			}
			pairs = append(pairs, pair)
		}
		h.Clock.Advance(2*time.Hour + time.Minute)
		if _, err := h.Accounts.Authenticate(ctx, pairs[1].AccessToken); err != nil {
			t.Errorf("3-hour personal token refused after 2 hours: %v", err)
		}
		h.Clock.Advance(time.Hour)
		if _, err := h.Accounts.Authenticate(ctx, pairs[1].AccessToken); err == nil {
			t.Error("3-hour personal token accepted after 3 hours")
		}
	})
}

// storeWithHook runs afterCredential once, right after the first
// Credential read: a deterministic way to slip a write in between a
// login's password check and its session start.
type storeWithHook struct {
	latch.Store
	afterCredential func()
}

func (s *storeWithHook) Credential(ctx context.Context, userID string) (latch.Credential, error) {
	c, err := s.Store.Credential(ctx, userID)
	if hook := s.afterCredential; hook != nil {
		s.afterCredential = nil
		hook()
	}
	return c, err
}

// A login that checked the old password while a change committed must not
// end with a session: the change revoked all others, and this one must not
// outlive it either.
func TestLoginRacingPasswordChange(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			hooked := &storeWithHook{Store: b.Open(t)}
			h := testenv.NewHarness(t, hooked)
			h.OAuthUser(t, "racer@example.com")
			u, _ := h.Accounts.UserByEmail(ctx, "racer@example.com")
			setPassword(t, h, u, goodPassword)
			hooked.afterCredential = func() {
				cred, err := hooked.Store.Credential(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				newHash, _ := h.Hasher.Hash(ctx, "the next passphrase")
				if err := hooked.Store.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: cred.Hash, NewHash: newHash, At: h.Clock.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "racer@example.com", Password: goodPassword}); !latch.IsCode(err, latch.CodeInvalidCredentials) {
				t.Fatalf("login with the password being replaced: err = %v, want invalid credentials", err)
			}
		})
	}
}

// Failed sign-ins are limited per (email, client IP), alike for emails
// with and without an account; other addresses and other emails are not
// affected, and a success costs nothing.
func TestLoginFailureLimit(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		h.OAuthUser(t, "limited@example.com")
		u, _ := h.Accounts.UserByEmail(ctx, "limited@example.com")
		setPassword(t, h, u, goodPassword)
		login := func(email, pw, ip string) error {
			_, err := h.Accounts.Login(ctx, account.LoginInput{Email: email, Password: pw, ClientIP: ip})
			return err
		}
		for i := range 3 {
			if err := login("limited@example.com", goodPassword, "192.0.2.1"); err != nil {
				t.Fatalf("success %d: %v", i, err)
			}
		}
		for _, email := range []string{"limited@example.com", "ghost@example.com"} {
			for i := range 10 {
				if err := login(email, "wrong password", "192.0.2.1"); !latch.IsCode(err, latch.CodeInvalidCredentials) {
					t.Fatalf("%s failure %d: %v", email, i+1, err)
				}
			}
			err := login(email, goodPassword, "192.0.2.1")
			le := latch.AsError(err)
			if le == nil || le.Kind != latch.KindTooMany || le.RetryAfter <= 0 || le.RetryAfter > time.Minute {
				t.Fatalf("%s: 11th attempt: %v", email, err)
			}
		}
		if err := login("limited@example.com", goodPassword, "192.0.2.2"); err != nil {
			t.Fatalf("another address is limited too: %v", err)
		}
		h.Clock.Advance(time.Minute)
		if err := login("limited@example.com", goodPassword, "192.0.2.1"); err != nil {
			t.Fatalf("one failure's interval later: %v", err)
		}
	})
}

func TestLoginPerIPLimit(t *testing.T) {
	h := testenv.NewHarness(t, testenv.Backends()[0].Open(t))
	ctx := context.Background()
	for i := range 60 {
		_, err := h.Accounts.Login(ctx, account.LoginInput{Email: fmt.Sprintf("n%d@example.com", i), Password: "x", ClientIP: "198.51.100.7"})
		if !latch.IsCode(err, latch.CodeInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	_, err := h.Accounts.Login(ctx, account.LoginInput{Email: "n61@example.com", Password: "x", ClientIP: "198.51.100.7"})
	if !latch.IsCode(err, latch.CodeRateLimited) {
		t.Fatalf("61st attempt in a minute from one address: %v", err)
	}
}

// A stolen access token cannot be used to guess the current password.
func TestCurrentPasswordGuessesLimited(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		_, pair := h.OAuthUser(t, "guess@example.com")
		p, _ := h.Accounts.Authenticate(ctx, pair.AccessToken)
		setPassword(t, h, p.User, goodPassword)
		next := "a different passphrase"
		for i := range 10 {
			err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: next, Confirmation: &next, CurrentPassword: ptr(fmt.Sprintf("guess %d", i))})
			if !latch.IsCode(err, latch.CodeCurrentPasswordWrong) {
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: next, Confirmation: &next, CurrentPassword: ptr(goodPassword)})
		if !latch.IsCode(err, latch.CodeRateLimited) {
			t.Fatalf("11th try: %v", err)
		}
	})
}

func TestPurgeEndedSessions(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		_, old := h.OAuthUser(t, "janitor@example.com")
		p, _ := h.Accounts.Authenticate(ctx, old.AccessToken)
		if err := h.Accounts.Logout(ctx, p); err != nil {
			t.Fatal(err)
		}
		h.Clock.Advance(8 * 24 * time.Hour)
		current, _ := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "janitor@example.com"})
		n, err := h.Accounts.PurgeEndedSessions(ctx, 7*24*time.Hour)
		if err != nil || n != 1 {
			t.Fatalf("purged %d, %v; want the session logged out 8 days ago", n, err)
		}
		if _, err := h.Accounts.Authenticate(ctx, current.AccessToken); err != nil {
			t.Fatalf("a live session was purged: %v", err)
		}
	})
}

func TestLoginUpgradesWeakHash(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		weak, err := password.Hash(goodPassword, password.Params{MemoryKiB: 64, Time: 1, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		now := h.Clock.Now()
		u, err := h.Store.CreateUser(ctx, latch.NewUser{User: latch.User{ID: "0190a0f4-0000-7000-8000-00000000beef", Email: "old@example.com", Active: true, CreatedAt: now, UpdatedAt: now}, PasswordHash: weak})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "old@example.com", Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
		cred, err := h.Store.Credential(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := password.ParseArgon2(cred.Hash)
		if err != nil || parsed.Params != testenv.FastParams {
			t.Fatalf("stored hash after login = %q (%v), want params %+v", cred.Hash, err, testenv.FastParams)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "old@example.com", Password: goodPassword}); err != nil {
			t.Fatalf("login with the upgraded hash: %v", err)
		}
	})
}

func TestCreateUserRefusesBadInput(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		for _, email := range []string{"", "not-an-email", "Ada <ada@example.com>", strings.Repeat("a", 250) + "@x.io"} {
			if _, err := h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: email}); !latch.IsKind(err, latch.KindInvalid) {
				t.Errorf("email %q: %v", email, err)
			}
		}
		if _, err := h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: "dup@example.com"}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: "DUP@example.com"}); !latch.IsCode(err, latch.CodeEmailTaken) {
			t.Errorf("duplicate email: %v", err)
		}
	})
}

// setPassword gives u a password through the use case, as the user would.
func setPassword(t *testing.T, h *testenv.Harness, u latch.User, pw string) {
	t.Helper()
	ctx := context.Background()
	pair, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: u.Email})
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: pw, Confirmation: ptr(pw)}); err != nil {
		t.Fatal(err)
	}
}

// The hosts of one IPv6 /64 are one client for the limits: an attacker
// with a /64 has 2^64 addresses, not 2^64 budgets. Another /64 is another
// client.
func TestLoginLimitsCountIPv6PerPrefix(t *testing.T) {
	h := testenv.NewHarness(t, testenv.Backends()[0].Open(t))
	ctx := context.Background()
	for i := range 60 {
		ip := fmt.Sprintf("2001:db8:aa:bb:%x::%x", i, i+1)
		_, err := h.Accounts.Login(ctx, account.LoginInput{Email: fmt.Sprintf("v6-%d@example.com", i), Password: "x", ClientIP: ip})
		if !latch.IsCode(err, latch.CodeInvalidCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	_, err := h.Accounts.Login(ctx, account.LoginInput{Email: "v6-last@example.com", Password: "x", ClientIP: "2001:db8:aa:bb:ffff:1:2:3"})
	if !latch.IsCode(err, latch.CodeRateLimited) {
		t.Fatalf("61st attempt in a minute from one /64: %v", err)
	}
	_, err = h.Accounts.Login(ctx, account.LoginInput{Email: "v6-last@example.com", Password: "x", ClientIP: "2001:db8:aa:bc::1"})
	if !latch.IsCode(err, latch.CodeInvalidCredentials) {
		t.Fatalf("another /64 is limited too: %v", err)
	}

	// The prefix length is the operator's.
	cfg := account.DefaultConfig()
	cfg.IPv6Prefix = 48
	h = testenv.NewHarnessWithConfig(t, testenv.Backends()[0].Open(t), cfg)
	for i := range 10 {
		ip := fmt.Sprintf("2001:db8:aa:%x::1", i)
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "one@example.com", Password: "wrong", ClientIP: ip}); !latch.IsCode(err, latch.CodeInvalidCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "one@example.com", Password: "wrong", ClientIP: "2001:db8:aa:ffff::9"}); !latch.IsCode(err, latch.CodeRateLimited) {
		t.Fatalf("11th failure for one email from one /48: %v", err)
	}
}

// A wrong password for an account with a slow imported hash (bcrypt cost
// 12) and an unknown email take the same time: every failed sign-in
// answers no sooner than the floor, which covers the slowest hash. Before
// the floor, the bcrypt account answered several times slower than the
// unknown email, so such accounts could be found by timing alone.
func TestFailedSignInTakesTheFloorWhateverTheHash(t *testing.T) {
	if testing.Short() {
		t.Skip("times real hashing")
	}
	ctx := context.Background()
	imported, err := bcrypt.GenerateFromPassword([]byte("the legacy password"), 12)
	if err != nil {
		t.Fatal(err)
	}
	// The floor the test decides: well above one bcrypt-12 verification
	// here, as the service's floor is above the slowest hash it accepts.
	slow := time.Duration(1 << 62)
	for range 2 {
		start := time.Now()
		if _, _, err := password.Verify("not it", string(imported), password.DefaultParams()); err != nil {
			t.Fatal(err)
		}
		slow = min(slow, time.Since(start))
	}
	// The costs the service measures at start, as this machine runs them
	// now: bcrypt at the import cap (14) is four bcrypt-12s; the test
	// makes them twice that, for the noise of a shared machine.
	cfg := account.DefaultConfig()
	cfg.VerifyCosts = &password.VerifyCosts{Own: time.Millisecond, Argon2: time.Millisecond, Scrypt: time.Millisecond, PBKDF2: time.Millisecond, Bcrypt: 2 * 4 * slow}
	h := testenv.NewHarnessWithConfig(t, testenv.Backends()[0].Open(t), cfg)
	if f := h.Accounts.FailureFloor(); f > 5*time.Millisecond {
		t.Fatalf("a service holding only its own hashes has a floor of %v", f)
	}
	// Importing the slow hash raises the floor before it is stored.
	if _, err := h.Accounts.AdminCreateUser(ctx, account.Operator(""), account.AdminCreateUserInput{Email: "legacy@example.com", PasswordHash: string(imported)}); err != nil {
		t.Fatal(err)
	}
	floor := h.Accounts.FailureFloor()
	if want := 5 * 2 * slow / 4; floor < want*99/100 || floor > want*101/100 {
		t.Fatalf("floor after importing a bcrypt-12 hash = %v, want %v", floor, want)
	}
	// A replica that started with that hash in the store has the same
	// floor from its start, before anyone signs in.
	fresh := account.New(h.Store, h.Hasher, h.Keys, nil, cfg, nil, nil)
	if err := fresh.LoadFailureFloor(ctx); err != nil {
		t.Fatal(err)
	}
	if f := fresh.FailureFloor(); f != floor {
		t.Fatalf("a fresh start's floor %v, want %v (the stored bcrypt-12's)", f, floor)
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	var known, unknown []time.Duration
	for i := range 5 {
		for email, into := range map[string]*[]time.Duration{"legacy@example.com": &known, "nobody@example.com": &unknown} {
			start := time.Now()
			_, err := h.Accounts.Login(ctx, account.LoginInput{Email: email, Password: fmt.Sprintf("wrong %d", i), ClientIP: fmt.Sprintf("192.0.2.%d", i)})
			*into = append(*into, time.Since(start))
			if !latch.IsCode(err, latch.CodeInvalidCredentials) {
				t.Fatalf("%s: %v", email, err)
			}
		}
	}
	k, u := median(known), median(unknown)
	t.Logf("floor %v; median wrong password (bcrypt 12) %v, unknown email %v", floor, k, u)
	if diff := (k - u).Abs(); diff > max(k, u)/20 {
		t.Fatalf("wrong password for a bcrypt-12 account %v, unknown email %v: %v apart (over 5%%)", k, u, diff)
	}
	if u < floor {
		t.Fatalf("an unknown email answered in %v, before the floor %v", u, floor)
	}
}
