package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// BenchSessionWithUser measures SessionWithUser, the per-request
// revocation check, from parallel goroutines as a server calls it. st must
// be a fresh, migrated store; each backend's BenchmarkSessionWithUser calls
// this so the numbers compare like with like.
func BenchSessionWithUser(b *testing.B, st latch.Store) {
	ctx := b.Context()
	now := time.Now()
	// Enough rows that lookups walk real B-trees rather than one page.
	const users = 1000
	var ids []string
	for i := range users {
		u, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{
			Email: fmt.Sprintf("bench%d@example.com", i), FirstName: "Bench", Active: true, CreatedAt: now,
		}})
		if err != nil {
			b.Fatal(err)
		}
		s := latch.Session{
			ID: uuid.Must(uuid.NewV7()).String(), UserID: u.ID, Kind: latch.KindSession,
			Scopes: latch.SessionScopes(), CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		}
		if err := st.CreateSession(ctx, latch.NewSession{Session: s}); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			ids = append(ids, s.ID)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, _, err := st.SessionWithUser(ctx, ids[i%len(ids)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchClientTokenWithClient measures ClientTokenWithClient, the
// per-request check of an API client's token, as BenchSessionWithUser does
// for users.
func BenchClientTokenWithClient(b *testing.B, st latch.Store) {
	ctx := b.Context()
	now := time.Now()
	const clients = 1000
	var ids []string
	for i := range clients {
		c := latch.Client{
			ID: fmt.Sprintf("cli_bench_%d", i), TenantID: latch.DefaultTenantID, Name: "bench",
			Scope: latch.ScopeReadUsers, SecretHash: []byte("secret-hash"), CreatedAt: now,
		}
		if err := st.CreateClient(ctx, c, nil); err != nil {
			b.Fatal(err)
		}
		tok := latch.ClientToken{
			ID: uuid.Must(uuid.NewV7()).String(), ClientID: c.ID, RefreshHash: fmt.Appendf(nil, "bench-refresh-%d", i),
			CreatedAt: now, ExpiresAt: now.Add(time.Hour),
		}
		if err := st.CreateClientToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
		if i%10 == 0 {
			ids = append(ids, tok.ID)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, _, err := st.ClientTokenWithClient(ctx, ids[i%len(ids)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
