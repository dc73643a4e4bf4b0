package account_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/token"
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

// TestRefreshReuseInterval: two browser tabs refreshing one expired
// session at once both stay signed in. Within the reuse interval the used
// refresh token gets the same successor again (and a fresh access token);
// past it, or once that successor was used, a reuse revokes the session.
func TestRefreshReuseInterval(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		h.OAuthUser(t, "tabs@example.com")
		start := func(t *testing.T) account.TokenPair {
			t.Helper()
			p, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "tabs@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			h.Clock.Advance(time.Hour) // the access token expired: both tabs refresh
			return p
		}
		refresh := func(t *testing.T, rt string) account.TokenPair {
			t.Helper()
			p, err := h.Accounts.Refresh(ctx, rt)
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if _, err := h.Accounts.Authenticate(ctx, p.AccessToken); err != nil {
				t.Fatalf("the refreshed access token: %v", err)
			}
			return p
		}
		reused := func(t *testing.T, rt string, pairs ...account.TokenPair) {
			t.Helper()
			if _, err := h.Accounts.Refresh(ctx, rt); !latch.IsCode(err, latch.CodeRefreshTokenReused) {
				t.Fatalf("reuse: %v, want refresh_token_reused", err)
			}
			for _, p := range pairs {
				if _, err := h.Accounts.Authenticate(ctx, p.AccessToken); !latch.IsKind(err, latch.KindUnauthenticated) {
					t.Errorf("an access token of the revoked session: %v", err)
				}
			}
		}

		t.Run("two tabs", func(t *testing.T) {
			first := start(t)
			tabA := refresh(t, first.RefreshToken)
			h.Clock.Advance(3 * time.Second)
			tabB := refresh(t, first.RefreshToken)
			if tabB.RefreshToken != tabA.RefreshToken || tabB.SessionID != first.SessionID {
				t.Fatalf("tab B got refresh token %q, tab A %q", tabB.RefreshToken, tabA.RefreshToken)
			}
			if tabB.AccessToken == tabA.AccessToken {
				t.Error("no fresh access token for tab B")
			}
			if _, err := h.Accounts.Authenticate(ctx, tabA.AccessToken); err != nil {
				t.Errorf("tab A's access token: %v", err)
			}
			// The shared successor rotates on as usual.
			h.Clock.Advance(time.Hour)
			third := refresh(t, tabB.RefreshToken)
			if third.RefreshToken == tabB.RefreshToken {
				t.Fatal("no rotation")
			}
		})
		t.Run("concurrent", func(t *testing.T) {
			first := start(t)
			const n = 8
			pairs := make([]account.TokenPair, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { pairs[i], errs[i] = h.Accounts.Refresh(ctx, first.RefreshToken) })
			}
			wg.Wait()
			for i := range n {
				if errs[i] != nil || pairs[i].RefreshToken != pairs[0].RefreshToken {
					t.Fatalf("presentation %d: %v, %q (first: %q)", i, errs[i], pairs[i].RefreshToken, pairs[0].RefreshToken)
				}
			}
			refresh(t, pairs[0].RefreshToken)
		})
		t.Run("after the interval", func(t *testing.T) {
			first := start(t)
			tabA := refresh(t, first.RefreshToken)
			h.Clock.Advance(account.DefaultRefreshReuseInterval)
			reused(t, first.RefreshToken, tabA)
		})
		t.Run("successor used", func(t *testing.T) {
			first := start(t)
			second := refresh(t, first.RefreshToken)
			third := refresh(t, second.RefreshToken)
			// The first token is two generations old: a reuse, although
			// within the interval.
			reused(t, first.RefreshToken, third)
		})
		t.Run("session revoked", func(t *testing.T) {
			first := start(t)
			tabA := refresh(t, first.RefreshToken)
			p, err := h.Accounts.Authenticate(ctx, tabA.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Accounts.Logout(ctx, p); err != nil {
				t.Fatal(err)
			}
			if _, err := h.Accounts.Refresh(ctx, first.RefreshToken); !latch.IsCode(err, latch.CodeInvalidToken) {
				t.Fatalf("refresh of a signed-out session: %v", err)
			}
		})
	})
	t.Run("off", func(t *testing.T) {
		cfg := account.DefaultConfig()
		cfg.RefreshReuseInterval = 0
		h := testenv.NewHarnessWithConfig(t, testenv.OpenSQLite(t), cfg)
		ctx := context.Background()
		_, first := h.OAuthUser(t, "off@example.com")
		if _, err := h.Accounts.Refresh(ctx, first.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.Refresh(ctx, first.RefreshToken); !latch.IsCode(err, latch.CodeRefreshTokenReused) {
			t.Fatalf("reuse with the interval off: %v", err)
		}
	})
}

// TestClientRefreshReuse: an API client's used refresh token presented
// again revokes the grant it was renewed into (its access tokens stop at
// once), with the same reuse interval as users.
func TestClientRefreshReuse(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		c, secret, _ := h.APIClient(t, latch.ScopeManageAll, "", false)
		first, err := h.Accounts.IssueClientToken(ctx, c.ID, secret)
		if err != nil {
			t.Fatal(err)
		}
		works := func(t *testing.T, p account.ClientTokenPair) bool {
			t.Helper()
			_, err := h.Accounts.AuthenticateClient(ctx, p.AccessToken)
			if err != nil && !latch.IsKind(err, latch.KindUnauthenticated) {
				t.Fatal(err)
			}
			return err == nil
		}
		second, err := h.Accounts.RefreshClientToken(ctx, first.RefreshToken)
		if err != nil {
			t.Fatal(err)
		}
		h.Clock.Advance(3 * time.Second)
		again, err := h.Accounts.RefreshClientToken(ctx, first.RefreshToken)
		if err != nil || again.RefreshToken != second.RefreshToken {
			t.Fatalf("again within the interval: %v, %q, want %q", err, again.RefreshToken, second.RefreshToken)
		}
		if works(t, first) || !works(t, second) || !works(t, again) {
			t.Fatalf("access tokens: first %v, second %v, again %v", works(t, first), works(t, second), works(t, again))
		}
		h.Clock.Advance(account.DefaultRefreshReuseInterval)
		if _, err := h.Accounts.RefreshClientToken(ctx, first.RefreshToken); !latch.IsCode(err, latch.CodeRefreshTokenReused) {
			t.Fatalf("reuse: %v, want refresh_token_reused", err)
		}
		if works(t, second) || works(t, again) {
			t.Error("the renewed grant's access tokens still work after the reuse")
		}
		if _, err := h.Accounts.RefreshClientToken(ctx, second.RefreshToken); !latch.IsCode(err, latch.CodeInvalidToken) {
			t.Errorf("the renewed grant's refresh token: %v", err)
		}
		// The client itself is not revoked: it gets a new grant.
		if _, err := h.Accounts.IssueClientToken(ctx, c.ID, secret); err != nil {
			t.Errorf("a new grant after the reuse: %v", err)
		}
	})
}

// TestRefreshOldTokenOnlyRevokesWhenGenuine: a refresh token names its
// session, and session ids are no secret (every access token carries
// one). A made-up token with a real session id, of any generation, is an
// invalid token and leaves the session alone; an old token the chain
// really handed out is a reuse and revokes it.
func TestRefreshOldTokenOnlyRevokesWhenGenuine(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		h.OAuthUser(t, "forge@example.com")
		first, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "forge@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		sid, gen, ok := token.ParseChained(first.RefreshToken, "lrt_")
		if !ok || sid != first.SessionID || gen != 0 {
			t.Fatalf("first refresh token %q: session %q generation %d, %v; want session %s, generation 0", first.RefreshToken, sid, gen, ok, first.SessionID)
		}
		chain := []string{first.RefreshToken}
		for range 3 {
			h.Clock.Advance(time.Hour) // past the reuse interval
			p, err := h.Accounts.Refresh(ctx, chain[len(chain)-1])
			if err != nil {
				t.Fatal(err)
			}
			chain = append(chain, p.RefreshToken)
		}
		last, err := h.Accounts.Refresh(ctx, chain[3])
		if err != nil {
			t.Fatal(err)
		}
		live := func(t *testing.T, want bool) {
			t.Helper()
			_, err := h.Accounts.Authenticate(ctx, last.AccessToken)
			if (err == nil) != want {
				t.Fatalf("the session's access token: %v, want live %v", err, want)
			}
		}
		tail := strings.Repeat("A", 43)
		for g := range 6 { // older, previous, current and newer generations
			forged := fmt.Sprintf("lrt_%s.%d.%s", sid, g, tail)
			if _, err := h.Accounts.Refresh(ctx, forged); !latch.IsCode(err, latch.CodeInvalidToken) {
				t.Errorf("forged generation %d: %v, want invalid_token", g, err)
			}
		}
		// A genuine tail under another generation is no token either.
		moved := strings.Replace(chain[1], fmt.Sprintf(".%d.", 1), ".0.", 1)
		if _, err := h.Accounts.Refresh(ctx, moved); !latch.IsCode(err, latch.CodeInvalidToken) {
			t.Errorf("generation 1's tail as generation 0: %v, want invalid_token", err)
		}
		live(t, true)

		// Generation 1, three rotations ago: genuine, so a reuse.
		h.Clock.Advance(time.Hour)
		if _, err := h.Accounts.Refresh(ctx, chain[1]); !latch.IsCode(err, latch.CodeRefreshTokenReused) {
			t.Fatalf("an old genuine token: %v, want refresh_token_reused", err)
		}
		live(t, false)
		if _, err := h.Accounts.Refresh(ctx, last.RefreshToken); !latch.IsCode(err, latch.CodeInvalidToken) {
			t.Errorf("the current token of the revoked session: %v, want invalid_token", err)
		}
	})
}
