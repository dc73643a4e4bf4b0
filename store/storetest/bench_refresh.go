package storetest

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// BenchRotateRefreshToken measures RotateRefreshToken, the write behind
// every refresh of a session (mark the token used, store its successor, in
// one transaction), from parallel goroutines as a server calls it. st must
// be a fresh, migrated store; each backend's BenchmarkRotateRefreshToken
// calls this so the numbers compare like with like.
//
// Each goroutine walks its own refresh-token chain forward, one rotation
// per iteration, as one client refreshing its session does: a rotation is
// never a reuse, so what is timed is the normal path, not reuse detection.
// Chains of separate sessions rotate concurrently, so on SQLite (one
// writer) the parallel number includes waiting for the write lock.
func BenchRotateRefreshToken(b *testing.B, st latch.Store) {
	ctx := b.Context()
	now := time.Now()
	// Other users' sessions and tokens, so that lookups walk real B-trees
	// rather than one page, as in BenchSessionWithUser.
	const users = 1000
	var chains []string // session id per chain, one chain per goroutine
	for i := range users {
		u, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{
			Email: fmt.Sprintf("rotate%d@example.com", i), FirstName: "Bench", Active: true, CreatedAt: now,
		}})
		if err != nil {
			b.Fatal(err)
		}
		s := latch.Session{
			ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, Kind: latch.KindSession,
			Scopes: latch.SessionScopes(), CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		}
		if err := st.CreateSession(ctx, latch.NewSession{Session: s, RefreshHash: chainHash(s.ID, 0)}); err != nil {
			b.Fatal(err)
		}
		chains = append(chains, s.ID)
	}
	// RunParallel starts GOMAXPROCS goroutines (parallelism 1); each takes
	// a chain of its own, so that no two rotate the same token.
	if n := runtime.GOMAXPROCS(0); n > len(chains) {
		b.Fatalf("GOMAXPROCS %d exceeds the %d chains prepared", n, len(chains))
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		id := chains[next.Add(1)-1]
		step := 0
		for pb.Next() {
			got, err := st.RotateRefreshToken(ctx, latch.RefreshRotation{
				SessionID: id, Generation: int64(step), Hash: chainHash(id, step), NextHash: chainHash(id, step+1), At: now,
			})
			if err != nil {
				b.Error(err)
				return
			}
			if got.ID != id {
				b.Errorf("rotated a token of session %s, answered session %s", id, got.ID)
				return
			}
			step++
		}
	})
}

// chainHash is the stored hash of the step-th refresh token of a session's
// chain: 32 bytes, as token.HashOpaque makes them.
func chainHash(sessionID string, step int) []byte {
	h := sha256.Sum256(fmt.Appendf(nil, "%s/%d", sessionID, step))
	return h[:]
}
