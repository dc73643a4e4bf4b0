package account_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// controlledFeed is a latch.SessionChangeFeed that says what the test tells
// it to: it starts by trusting (ChangesResynced) and then tells nothing
// unless the test sends to it. A feed that never tells leaves the local
// invalidation of the use cases as the only way this replica's cache can
// learn of a change: what these tests are about.
type controlledFeed struct {
	ready chan struct{}
	down  chan bool // true: ChangesDown; false: ChangesResynced
}

func (f *controlledFeed) WatchSessionChanges(ctx context.Context, sink latch.SessionChangeSink) error {
	sink.ChangesResynced()
	close(f.ready)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case down := <-f.down:
			if down {
				sink.ChangesDown(nil)
			} else {
				sink.ChangesResynced()
			}
			f.ready <- struct{}{}
		}
	}
}

// watchSilently makes h's service trust its cache, fed by a feed that tells
// nothing, until t ends.
func watchSilently(t *testing.T, h *testenv.Harness) *controlledFeed {
	t.Helper()
	feed := &controlledFeed{ready: make(chan struct{}), down: make(chan bool)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.Accounts.WatchSessionChanges(ctx, feed)
	}()
	t.Cleanup(func() { cancel(); <-done })
	<-feed.ready
	feed.ready = make(chan struct{}, 1)
	return feed
}

// setFeed tells the service its feed went down or resynced, and waits
// until it has been told.
func (f *controlledFeed) set(down bool) {
	f.down <- down
	<-f.ready
}

// TestCacheServesUntilTold is the control of the tests below: with a feed
// that tells nothing, a session revoked behind the service's back (another
// replica, the CLI) is still served from memory, so a refusal in the tests
// below can only come from the use case's own invalidation. And while the
// feed is down, every request reads the store again.
func TestCacheServesUntilTold(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		feed := watchSilently(t, h)
		_, pair := h.OAuthUser(t, "control@example.com")
		if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.RevokeSession(ctx, pair.SessionID, h.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); err != nil {
			t.Fatalf("a session revoked behind the service's back was read again at once (%v): the cache is not in use, and the tests below prove nothing", err)
		}
		// The feed lost: the store decides.
		feed.set(true)
		if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Fatalf("with the feed down, a revoked session: %v, want Unauthenticated", err)
		}
		// Back, and still refused: the resync flushed what was kept.
		feed.set(false)
		if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Fatalf("after a resync, a revoked session: %v, want Unauthenticated", err)
		}
		// An entry is used at most its maximum age.
		_, other := h.OAuthUser(t, "aged@example.com")
		if _, err := h.Accounts.Authenticate(ctx, other.AccessToken); err != nil {
			t.Fatal(err)
		}
		if err := h.Store.RevokeSession(ctx, other.SessionID, h.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		h.Clock.Advance(31 * time.Second)
		if _, err := h.Accounts.Authenticate(ctx, other.AccessToken); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Fatalf("an entry older than its maximum age was used: %v", err)
		}
	})
}

// TestLocalChangesRefusedAtOnce: every use case that ends a session or
// changes its user makes this replica refuse (or see the change) at once,
// without waiting for its feed, which here never tells.
func TestLocalChangesRefusedAtOnce(t *testing.T) {
	const pw, next = "correct horse battery", "another good passphrase"
	op := account.Operator("")
	cases := []struct {
		name string
		// change acts on user u, whose sessions are mine (the caller's)
		// and other; it returns the token that must now be refused.
		change func(t *testing.T, h *testenv.Harness, u latch.User, mine, other account.TokenPair) (refused string)
	}{
		{"Logout", func(t *testing.T, h *testenv.Harness, u latch.User, mine, other account.TokenPair) string {
			p, err := h.Accounts.Authenticate(t.Context(), mine.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Accounts.Logout(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			return mine.AccessToken
		}},
		{"RevokeUserSessions/one", func(t *testing.T, h *testenv.Harness, u latch.User, mine, other account.TokenPair) string {
			if _, err := h.Accounts.RevokeUserSessions(t.Context(), op, account.UserRef{ID: u.ID}, other.SessionID); err != nil {
				t.Fatal(err)
			}
			return other.AccessToken
		}},
		{"RevokeUserSessions/all", func(t *testing.T, h *testenv.Harness, u latch.User, mine, other account.TokenPair) string {
			if _, err := h.Accounts.RevokeUserSessions(t.Context(), op, account.UserRef{ID: u.ID}, ""); err != nil {
				t.Fatal(err)
			}
			return mine.AccessToken
		}},
		{"AdminUpdateUser/deactivate", func(t *testing.T, h *testenv.Harness, u latch.User, mine, other account.TokenPair) string {
			no := false
			if _, err := h.Accounts.AdminUpdateUser(t.Context(), op, account.UserRef{ID: u.ID}, account.AdminUserChange{Active: &no}); err != nil {
				t.Fatal(err)
			}
			return mine.AccessToken
		}},
		{"AdminDeleteUser", func(t *testing.T, h *testenv.Harness, u latch.User, mine, other account.TokenPair) string {
			if err := h.Accounts.AdminDeleteUser(t.Context(), op, account.UserRef{ID: u.ID}); err != nil {
				t.Fatal(err)
			}
			return mine.AccessToken
		}},
		{"SetOwnPassword", func(t *testing.T, h *testenv.Harness, u latch.User, mine, other account.TokenPair) string {
			p, err := h.Accounts.Authenticate(t.Context(), mine.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Accounts.SetOwnPassword(t.Context(), p, account.SetOwnPasswordInput{Password: next, Confirmation: ptr(next), CurrentPassword: ptr(pw)}); err != nil {
				t.Fatal(err)
			}
			return other.AccessToken
		}},
		{"AdminSetPassword", func(t *testing.T, h *testenv.Harness, u latch.User, mine, other account.TokenPair) string {
			if err := h.Accounts.AdminSetPassword(t.Context(), op, account.AdminSetPasswordInput{User: account.UserRef{ID: u.ID}, Password: ptr(next), Confirmation: ptr(next)}); err != nil {
				t.Fatal(err)
			}
			return mine.AccessToken
		}},
		{"Refresh/reuse", func(t *testing.T, h *testenv.Harness, u latch.User, mine, other account.TokenPair) string {
			if _, err := h.Accounts.Refresh(t.Context(), other.RefreshToken); err != nil {
				t.Fatal(err)
			}
			h.Clock.Advance(account.DefaultRefreshReuseInterval)
			if _, err := h.Accounts.Refresh(t.Context(), other.RefreshToken); !latch.IsCode(err, latch.CodeRefreshTokenReused) {
				t.Fatalf("reuse: %v", err)
			}
			return other.AccessToken
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
				ctx := t.Context()
				watchSilently(t, h)
				u := h.PasswordUser(t, "local@example.com", pw, "", false)
				var pairs [2]account.TokenPair
				for i := range pairs {
					p, err := h.Accounts.Login(ctx, account.LoginInput{Email: u.Email, Password: pw})
					if err != nil {
						t.Fatal(err)
					}
					// Kept in memory by this first use.
					if _, err := h.Accounts.Authenticate(ctx, p.AccessToken); err != nil {
						t.Fatal(err)
					}
					pairs[i] = p
				}
				refused := c.change(t, h, u, pairs[0], pairs[1])
				if _, err := h.Accounts.Authenticate(ctx, refused); !latch.IsKind(err, latch.KindUnauthenticated) {
					t.Errorf("after %s, the session's token: %v, want Unauthenticated at once", c.name, err)
				}
			})
		})
	}
}

// TestLocalUserChangeSeenAtOnce: a change of the user (not ending its
// sessions) shows in the Principal at once.
func TestLocalUserChangeSeenAtOnce(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		watchSilently(t, h)
		u, pair := h.OAuthUser(t, "renamed@example.com")
		if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); err != nil {
			t.Fatal(err)
		}
		name, admin := "Renamed", true
		if _, err := h.Accounts.AdminUpdateUser(ctx, account.Operator(""), account.UserRef{ID: u.ID}, account.AdminUserChange{FirstName: &name, Admin: &admin}); err != nil {
			t.Fatal(err)
		}
		p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if p.User.FirstName != name || !p.User.Admin {
			t.Errorf("Principal after the change: %+v, want first name %q and admin", p.User, name)
		}
	})
}

// TestLocalClaimRefusedAtOnce: a provider's verified owner claiming an
// unfinished sign-up ends the squatter's sessions on this replica at once.
func TestLocalClaimRefusedAtOnce(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		watchSilently(t, h)
		if err := h.Accounts.SignUp(ctx, account.SignUpInput{Email: "claimed@example.com", FirstName: "Squatter"}); err != nil {
			t.Fatal(err)
		}
		h.Accounts.Wait()
		squatter, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "claimed@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.Authenticate(ctx, squatter.AccessToken); err != nil {
			t.Fatal(err)
		}
		owner := latch.ExternalIdentity{Provider: latch.ProviderOIDC, Issuer: issuerCorp, Subject: "claimer", Email: "claimed@example.com", EmailVerified: true, FirstName: "Real"}
		if _, _, err := h.Accounts.SignInWithIdentity(ctx, owner); err != nil {
			t.Fatalf("the owner's claim: %v", err)
		}
		if _, err := h.Accounts.Authenticate(ctx, squatter.AccessToken); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Errorf("the squatter's token after the claim: %v, want Unauthenticated at once", err)
		}
	})
}
