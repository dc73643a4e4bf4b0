package account_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/password"
	"github.com/latchid/latch/ratelimit"
	"github.com/latchid/latch/token"
)

// readCounter counts the reads a sign-in makes before its hash.
type readCounter struct {
	latch.Store
	reads atomic.Int32
}

func (c *readCounter) UserByEmail(ctx context.Context, email string) (latch.User, error) {
	c.reads.Add(1)
	return c.Store.UserByEmail(ctx, email)
}

func (c *readCounter) Credential(ctx context.Context, userID string) (latch.Credential, error) {
	c.reads.Add(1)
	return c.Store.Credential(ctx, userID)
}

// TestOverloadedSignInReadsNothing: while the hasher would refuse the
// hash, a sign-in is refused (Unavailable, overloaded, with Retry-After)
// before it reads the account or its credential, for a known and for an
// unknown email alike: under overload a refusal must be cheap, and must
// not tell which emails have accounts.
func TestOverloadedSignInReadsNothing(t *testing.T) {
	ctx := context.Background()
	store := &readCounter{Store: testenv.Backends()[0].Open(t)}
	clock := testenv.NewClock()
	// One slot and no queue: with the slot taken, every hash is refused.
	// The first call to take the slot blocks in it (the observer hears of
	// the slot taken before the hash runs, in the caller's goroutine).
	holder := &slotHolder{holding: make(chan struct{}), release: make(chan struct{})}
	hasher, err := password.NewHasher(testenv.FastParams, 1, 0, password.WithObserver(holder))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.LoadKeys(ctx, store, token.KeysConfig{Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	accounts := account.New(store, hasher, keys, ratelimit.NewMemory(0, clock.Now), account.DefaultConfig(), clock.Now, slog.New(slog.DiscardHandler))
	if _, err := accounts.CreateUser(ctx, account.CreateUserInput{Email: "ada@example.com", Password: "a long enough passphrase", Verified: true}); err != nil {
		t.Fatal(err)
	}

	holder.armed.Store(true)
	go func() { _, _ = hasher.Hash(ctx, "holds the slot") }()
	<-holder.holding
	defer close(holder.release)

	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		store.reads.Store(0)
		_, err := accounts.Login(ctx, account.LoginInput{Email: email, Password: "a long enough passphrase", ClientIP: "192.0.2.1"})
		le := latch.AsError(err)
		if le == nil || le.Kind != latch.KindUnavailable || le.Code != latch.CodeOverloaded || le.RetryAfter <= 0 {
			t.Fatalf("%s: %v, want Unavailable/overloaded with Retry-After", email, err)
		}
		if n := store.reads.Load(); n != 0 {
			t.Fatalf("%s: %d account reads before the refusal, want none", email, n)
		}
	}
}

// slotHolder, once armed, keeps the first slot taken until release.
type slotHolder struct {
	armed, held      atomic.Bool
	holding, release chan struct{}
}

func (h *slotHolder) SlotWaited(time.Duration) {
	if h.armed.Load() && h.held.CompareAndSwap(false, true) {
		close(h.holding)
		<-h.release
	}
}
func (h *slotHolder) SlotRefused(string)        {}
func (h *slotHolder) Ran(string, time.Duration) {}
