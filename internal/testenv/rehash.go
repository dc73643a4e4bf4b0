package testenv

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

// RehashStore is a store that counts the password rehashes it stored and,
// after Gather(n), holds each password read (Credential) until n of them
// have happened: n concurrent sign-ins then all verify the same stored
// hash before any of them can upgrade it. This is the race that load
// brings about by chance (issue 11), made certain.
type RehashStore struct {
	latch.Store
	rehashes atomic.Int32
	gate     atomic.Pointer[gate]
}

// Gather makes the next n Credential reads wait for each other (at most
// ten seconds, so that a read that never comes fails a test rather than
// hanging it).
func (s *RehashStore) Gather(n int) { s.gate.Store(&gate{n: n, open: make(chan struct{})}) }

// Rehashes is how many ReplacePasswordHash calls succeeded.
func (s *RehashStore) Rehashes() int { return int(s.rehashes.Load()) }

// Credential implements latch.Store.
func (s *RehashStore) Credential(ctx context.Context, userID string) (latch.Credential, error) {
	c, err := s.Store.Credential(ctx, userID)
	if g := s.gate.Load(); g != nil {
		g.wait()
	}
	return c, err
}

// ReplacePasswordHash implements latch.Store.
func (s *RehashStore) ReplacePasswordHash(ctx context.Context, userID, oldHash, newHash string, at time.Time) error {
	err := s.Store.ReplacePasswordHash(ctx, userID, oldHash, newHash, at)
	if err == nil {
		s.rehashes.Add(1)
	}
	return err
}

type gate struct {
	mu      sync.Mutex
	n       int
	arrived int
	open    chan struct{}
}

func (g *gate) wait() {
	g.mu.Lock()
	g.arrived++
	if g.arrived == g.n {
		close(g.open)
	}
	g.mu.Unlock()
	t := time.NewTimer(10 * time.Second)
	defer t.Stop()
	select {
	case <-g.open:
	case <-t.C:
	}
}

// WeakHashes returns stored hashes of pw that a sign-in must upgrade to
// FastParams: an argon2id hash with less memory, and an imported bcrypt.
func WeakHashes(t testing.TB, pw string) map[string]string {
	t.Helper()
	weak, err := password.Hash(pw, password.Params{MemoryKiB: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"argon2id": weak, "bcrypt": string(b)}
}
