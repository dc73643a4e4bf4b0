package token_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/token"
)

func dataKeys(t *testing.T, store latch.KeyStore) []latch.DataKey {
	t.Helper()
	stored, err := store.DataKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return stored
}

// A value sealed with the data key outlives every signing key: two
// rotations of both families, with the replaced keys retired and deleted,
// and a restart, and it still opens; the keyed hash does not change. The
// data key is never published, listed or rotated.
func TestDataKeySurvivesRotations(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			store := b.Open(t)
			clock := testenv.NewClock()
			cfg := token.KeysConfig{Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now}
			keys, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			sealed, err := keys.SealData("totp-secret", []byte("JBSWY3DPEHPK3PXP"))
			if err != nil {
				t.Fatal(err)
			}
			mac, err := keys.DataMAC("recovery-code", []byte("user\x00code"))
			if err != nil {
				t.Fatal(err)
			}
			dks := dataKeys(t, store)
			if len(dks) != 1 {
				t.Fatalf("%d data keys stored, want 1", len(dks))
			}
			if !strings.Contains(sealed, dks[0].ID) {
				t.Errorf("the sealed value %q does not name its data key %s", sealed, dks[0].ID)
			}
			for range 2 {
				for _, alg := range []string{token.ES256, token.RS256} {
					if _, err := keys.Rotate(ctx, alg, time.Time{}, clock.Now().Add(time.Minute)); err != nil {
						t.Fatal(err)
					}
				}
				clock.Advance(2 * time.Minute)
				if n, err := store.DeleteRetiredSigningKeys(ctx, clock.Now()); err != nil || n != 2 {
					t.Fatalf("DeleteRetiredSigningKeys: %d, %v", n, err)
				}
			}
			if got := dataKeys(t, store); len(got) != 1 || got[0].ID != dks[0].ID {
				t.Fatalf("the data key after rotations: %+v", got)
			}
			again, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for name, k := range map[string]*token.Keys{"the rotating replica": keys, "a restarted one": again} {
				out, err := k.OpenData("totp-secret", sealed)
				if err != nil || string(out) != "JBSWY3DPEHPK3PXP" {
					t.Errorf("%s opens %q, %v", name, out, err)
				}
				if m, _ := k.DataMAC("recovery-code", []byte("user\x00code")); !bytes.Equal(m, mac) {
					t.Errorf("%s: the keyed hash changed with the signing keys", name)
				}
				if strings.Contains(string(k.JWKS()), dks[0].ID) {
					t.Errorf("%s publishes the data key", name)
				}
				list, err := k.List(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for _, info := range list {
					if info.ID == dks[0].ID {
						t.Errorf("%s lists the data key: %+v", name, info)
					}
				}
			}
			if len(dataKeys(t, store)) != 1 {
				t.Error("a restart made another data key")
			}
			// Purposes, tampering and other kinds of sealed values.
			if _, err := again.OpenData("other", sealed); err == nil {
				t.Error("a value sealed for one purpose opened as another")
			}
			flipped := []byte(sealed)
			flipped[len(flipped)-2] ^= 1
			cookie, _ := again.Seal("totp-secret", []byte("x"))
			for _, bad := range []string{string(flipped), "", "d1.", "d1." + dks[0].ID, "d1.nokey.AAAA", cookie, sealed[:len(sealed)-10]} {
				if _, err := again.OpenData("totp-secret", bad); err == nil {
					t.Errorf("OpenData(%q) opened", bad)
				}
			}
			if m, _ := again.DataMAC("other", []byte("user\x00code")); bytes.Equal(m, mac) {
				t.Error("two purposes share a keyed hash")
			}
		})
	}
}

// With a key encryption key the data key is stored wrapped, and loads
// only with that key.
func TestDataKeyEncryptedAtRest(t *testing.T) {
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
			sealed, _ := keys.SealData("totp-secret", []byte("s"))
			dks := dataKeys(t, store)
			if len(dks) != 1 || !bytes.HasPrefix(dks[0].Key, []byte("latch-kek-v1:")) || len(dks[0].Key) <= 32 {
				t.Fatalf("the data key at rest: %+v", dks)
			}
			if _, err := token.LoadKeys(ctx, store, token.KeysConfig{Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now}); err == nil {
				t.Error("an encrypted data key loaded without the key encryption key")
			}
			again, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if out, err := again.OpenData("totp-secret", sealed); err != nil || string(out) != "s" {
				t.Errorf("after a restart with the key encryption key: %q, %v", out, err)
			}
		})
	}
}

// Replicas that raced to create the data key settle on the oldest; a
// value sealed by either opens in the other.
func TestDataKeyRacingReplicas(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			store := b.Open(t)
			clock := testenv.NewClock()
			cfg := token.KeysConfig{Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now}
			replicaA, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			fromA, _ := replicaA.SealData("p", []byte("a"))
			// Another replica's data key, created first: it wins.
			older := latch.DataKey{ID: "00000000-0000-7000-8000-000000000001", Key: bytes.Repeat([]byte{1}, 32), CreatedAt: clock.Now().Add(-time.Hour)}
			if err := store.AddDataKey(ctx, older); err != nil {
				t.Fatal(err)
			}
			replicaB, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			fromB, _ := replicaB.SealData("p", []byte("b"))
			if !strings.Contains(fromB, older.ID) {
				t.Errorf("B seals with %q, not with the oldest data key", fromB)
			}
			if out, err := replicaB.OpenData("p", fromA); err != nil || string(out) != "a" {
				t.Errorf("B opens A's value: %q, %v", out, err)
			}
			clock.Advance(10 * time.Second) // past the reload interval
			if out, err := replicaA.OpenData("p", fromB); err != nil || string(out) != "b" {
				t.Errorf("A opens B's value: %q, %v", out, err)
			}
		})
	}
}
