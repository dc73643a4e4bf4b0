package token_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"strings"
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
			replicaA, err := token.LoadKeys(ctx, store, token.KeysConfig{Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now})
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
			replicaB, err := token.LoadKeys(ctx, store, token.KeysConfig{Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now})
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

// With a key encryption key, private keys are stored encrypted; they load
// only with that key, and keys stored before it was set still load.
func TestSigningKeysEncryptedAtRest(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			store := b.Open(t)
			clock := testenv.NewClock()
			kek := bytes.Repeat([]byte{7}, 32)
			cfg := token.KeysConfig{Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now, EncryptionKey: kek}
			keys, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			stored, _ := store.SigningKeys(ctx)
			if len(stored) != 1 || !bytes.HasPrefix(stored[0].Private, []byte("latch-kek-v1:")) {
				t.Fatalf("the private key is not stored encrypted")
			}
			if _, err := x509.ParsePKCS8PrivateKey(stored[0].Private); err == nil {
				t.Fatal("the stored bytes parse as a private key")
			}
			raw, _ := keys.Sign(token.Claims{Subject: "u", SessionID: "s", Kind: latch.KindSession, IssuedAt: clock.Now(), Expiry: clock.Now().Add(time.Hour)})
			again, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := again.Verify(raw); err != nil {
				t.Fatalf("a restart with the same key encryption key: %v", err)
			}
			for name, c := range map[string]token.KeysConfig{
				"no key encryption key":      {Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now},
				"another key encryption key": {Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now, EncryptionKey: bytes.Repeat([]byte{8}, 32)},
			} {
				if _, err := token.LoadKeys(ctx, store, c); err == nil || !strings.Contains(err.Error(), "encrypt") {
					t.Errorf("%s: %v", name, err)
				}
			}
			// A key stored in clear before encryption was configured loads.
			plain := b.Open(t)
			if _, err := token.LoadKeys(ctx, plain, token.KeysConfig{Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now}); err != nil {
				t.Fatal(err)
			}
			if _, err := token.LoadKeys(ctx, plain, cfg); err != nil {
				t.Fatalf("a clear key with encryption configured: %v", err)
			}
		})
	}
}
