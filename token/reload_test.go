package token_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/token"
)

// Two replicas that raced to create the first key: A loaded its own key,
// B found an older one and signs with it. A must accept B's tokens without
// a restart, and both must end up signing with the same key.
func TestKeysPickUpAnotherReplicasKey(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			store := b.Open(t)
			clock := testenv.NewClock()
			replicaA, err := token.LoadKeys(ctx, store, token.ES256, testenv.TestIssuer, clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			older, err := token.NewSigningKey(token.ES256, clock.Now().Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if err := store.AddSigningKey(ctx, older); err != nil {
				t.Fatal(err)
			}
			replicaB, err := token.LoadKeys(ctx, store, token.ES256, testenv.TestIssuer, clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			claims := token.Claims{Subject: "u", SessionID: "s", Kind: latch.KindSession, IssuedAt: clock.Now(), Expiry: clock.Now().Add(time.Hour)}
			fromB, err := replicaB.Sign(claims)
			if err != nil {
				t.Fatal(err)
			}
			// Within the reload interval A does not go back to the store.
			if _, err := replicaA.Verify(fromB); err == nil {
				t.Fatal("A accepted a token of a key it had not read yet without reloading")
			}
			clock.Advance(10 * time.Second)
			if _, err := replicaA.Verify(fromB); err != nil {
				t.Fatalf("A refuses B's token after the reload interval: %v", err)
			}
			fromA, _ := replicaA.Sign(claims)
			if _, err := replicaB.Verify(fromA); err != nil {
				t.Fatalf("after reloading, A does not sign with the key B knows: %v", err)
			}
		})
	}
}
