package account_test

import (
	"context"
	"sync"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/password"
)

// Concurrent sign-ins with the right password against a weak stored hash:
// one of them upgrades the hash, and that must not turn the others away
// (issue 11: 7 of 8 answered 401 while the hash was upgraded).
func TestConcurrentLoginsDuringRehash(t *testing.T) {
	const logins = 8
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for kind, weak := range testenv.WeakHashes(t, goodPassword) {
				t.Run(kind, func(t *testing.T) {
					ctx := context.Background()
					st := &testenv.RehashStore{Store: b.Open(t)}
					h := testenv.NewHarness(t, st)
					now := h.Clock.Now()
					u, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "upgrade-" + kind + "@example.com", Active: true, CreatedAt: now, UpdatedAt: now}, PasswordHash: weak})
					if err != nil {
						t.Fatal(err)
					}
					historyBefore, err := st.PasswordHistory(ctx, u.ID, 100)
					if err != nil {
						t.Fatal(err)
					}
					st.Gather(logins)
					pairs := make([]account.TokenPair, logins)
					errs := make([]error, logins)
					var wg sync.WaitGroup
					for i := range logins {
						wg.Go(func() {
							pairs[i], errs[i] = h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: goodPassword})
						})
					}
					wg.Wait()
					failed := 0
					for i, err := range errs {
						if err != nil {
							failed++
							t.Errorf("login %d: %v", i, err)
							continue
						}
						if _, err := h.Accounts.Authenticate(ctx, pairs[i].AccessToken); err != nil {
							t.Errorf("login %d: its token: %v", i, err)
						}
					}
					if failed > 0 {
						t.Errorf("%d of %d correct logins refused while the hash was upgraded", failed, logins)
					}
					if n := st.Rehashes(); n != 1 {
						t.Errorf("%d rehashes stored, want 1", n)
					}
					cred, err := st.Credential(ctx, u.ID)
					if err != nil {
						t.Fatal(err)
					}
					if parsed, err := password.ParseArgon2(cred.Hash); err != nil || parsed.Params != testenv.FastParams {
						t.Errorf("stored hash after the logins = %q (%v), want argon2id at %+v", cred.Hash, err, testenv.FastParams)
					}
					// A rehash is the same password: the history (what a
					// new password is compared with) does not grow.
					historyAfter, err := st.PasswordHistory(ctx, u.ID, 100)
					if err != nil {
						t.Fatal(err)
					}
					if len(historyAfter) != len(historyBefore) {
						t.Errorf("password history grew from %d to %d entries by a rehash", len(historyBefore), len(historyAfter))
					}
					// The upgraded hash signs in, and the password is still
					// the only one that does.
					if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: goodPassword}); err != nil {
						t.Errorf("login after the upgrade: %v", err)
					}
					if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: "not the password"}); !latch.IsCode(err, latch.CodeInvalidCredentials) {
						t.Errorf("wrong password after the upgrade: %v", err)
					}
				})
			}
		})
	}
}

// A one-time code from a password sign-in is conditional on the hash that
// sign-in verified; a rehash by another sign-in in the meantime is the
// same password and must not void it. A real change still does.
func TestPasswordCodeSurvivesRehash(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		weak := testenv.WeakHashes(t, goodPassword)["argon2id"]
		now := h.Clock.Now()
		u, err := h.Store.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "code-rehash@example.com", Active: true, CreatedAt: now, UpdatedAt: now}, PasswordHash: weak})
		if err != nil {
			t.Fatal(err)
		}
		const verifier = "a-pkce-verifier-of-the-app-with-enough-entropy-5678"
		const redirect = "https://app.example/after-sign-in"
		// The code carries the weak hash, as if its sign-in verified it
		// just before another sign-in upgraded it.
		code, err := h.Accounts.IssueAuthorizationCode(ctx, u, challengeOf(verifier), redirect, weak)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: goodPassword}); err != nil {
			t.Fatal(err)
		}
		if cred, _ := h.Store.Credential(ctx, u.ID); cred.Hash == weak {
			t.Fatal("the login did not upgrade the hash")
		}
		if _, err := h.Accounts.RedeemAuthorizationCode(ctx, code, verifier, redirect); err != nil {
			t.Fatalf("a code of the same password, redeemed after its rehash: %v", err)
		}

		// Then the password really changes: a code of the weak hash (or of
		// the upgraded one) is worthless.
		stale, err := h.Accounts.IssueAuthorizationCode(ctx, u, challengeOf(verifier), redirect, weak)
		if err != nil {
			t.Fatal(err)
		}
		setPasswordKnowing(t, h, u, goodPassword, "a wholly different passphrase")
		if _, err := h.Accounts.RedeemAuthorizationCode(ctx, stale, verifier, redirect); !latch.IsCode(err, latch.CodeInvalidToken) {
			t.Fatalf("a code of the password before a change: %v", err)
		}
	})
}

// setPasswordKnowing changes u's password from current to next through
// the use case, as the user would.
func setPasswordKnowing(t *testing.T, h *testenv.Harness, u latch.User, current, next string) {
	t.Helper()
	ctx := context.Background()
	pair, err := h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: current})
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: next, Confirmation: ptr(next), CurrentPassword: ptr(current)}); err != nil {
		t.Fatal(err)
	}
}

// A password change that proved the current password races a sign-in that
// upgrades its hash: the change checked the same password, and goes
// through (it answered "current password wrong" before).
func TestChangePasswordRacingRehash(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			hooked := &storeWithHook{Store: b.Open(t)}
			h := testenv.NewHarness(t, hooked)
			now := h.Clock.Now()
			weak := testenv.WeakHashes(t, goodPassword)["argon2id"]
			u, err := hooked.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "change-rehash@example.com", Active: true, CreatedAt: now, UpdatedAt: now}, PasswordHash: weak})
			if err != nil {
				t.Fatal(err)
			}
			pair, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: u.Email})
			if err != nil {
				t.Fatal(err)
			}
			p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			// Right after the change read the weak hash, a sign-in of the
			// same password upgrades it.
			hooked.afterCredential = func() {
				strong, err := h.Hasher.Hash(ctx, goodPassword)
				if err != nil {
					t.Error(err)
					return
				}
				if err := hooked.Store.ReplacePasswordHash(ctx, u.ID, weak, strong, h.Clock.Now()); err != nil {
					t.Error(err)
				}
			}
			const next = "a wholly different passphrase"
			if err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: next, Confirmation: ptr(next), CurrentPassword: ptr(goodPassword)}); err != nil {
				t.Fatalf("change with the right current password, racing its rehash: %v", err)
			}
			if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: next}); err != nil {
				t.Errorf("the new password: %v", err)
			}
			if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: goodPassword}); !latch.IsCode(err, latch.CodeInvalidCredentials) {
				t.Errorf("the old password after the change: %v", err)
			}
		})
	}
}
