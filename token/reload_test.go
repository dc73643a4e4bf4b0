package token_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
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
			// Both families' keys: the native ES256 and the OpenID RS256.
			stored, _ := store.SigningKeys(ctx)
			if len(stored) != 2 {
				t.Fatalf("%d keys stored, want the native and the OpenID one", len(stored))
			}
			for _, sk := range stored {
				if !bytes.HasPrefix(sk.Private, []byte("latch-kek-v1:")) {
					t.Fatalf("the %s private key is not stored encrypted", sk.Algorithm)
				}
				if _, err := x509.ParsePKCS8PrivateKey(sk.Private); err == nil {
					t.Fatalf("the stored %s bytes parse as a private key", sk.Algorithm)
				}
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

// TestRotate: a rotation makes a new key sign at once here and, after a
// Refresh, in another replica; the old key keeps verifying, stays in the
// JWKS and still opens what it sealed until its retire time, then does
// none of that. Successors do not change with the rotation.
func TestRotate(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			store := b.Open(t)
			clock := testenv.NewClock()
			// One family (OpenID on ES256 too): the native key's life alone.
			cfg := token.KeysConfig{Algorithm: token.ES256, OIDCAlgorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now, EncryptionKey: bytes.Repeat([]byte{7}, 32)}
			keys, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			other, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			sign := func(k *token.Keys, ttl time.Duration) string {
				t.Helper()
				tok, err := k.Sign(token.Claims{Subject: "u", SessionID: "s", Kind: latch.KindPersonal, IssuedAt: clock.Now(), Expiry: clock.Now().Add(ttl)})
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}
			longLived := sign(keys, 3*time.Hour) // outlives the retire time: only a test would do that
			sealed, err := keys.Seal("cookie", []byte("kept"))
			if err != nil {
				t.Fatal(err)
			}
			successor, _ := keys.Successor("lrt_", "lrt_presented")
			before, _ := keys.List(ctx)
			if len(before) != 1 || before[0].State != token.KeySigning {
				t.Fatalf("before: %+v", before)
			}

			clock.Advance(time.Minute) // keys created at one instant sort by id
			retireAt := clock.Now().Add(2 * time.Hour)
			added, err := keys.Rotate(ctx, token.ES256, time.Time{}, retireAt)
			if err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			if added.ID == before[0].ID || added.Private != nil {
				t.Fatalf("Rotate returned %+v", added)
			}
			list, _ := keys.List(ctx)
			if len(list) != 2 || list[0].State != token.KeyVerifying || list[0].RetireAt == nil || !list[0].RetireAt.Equal(retireAt.Truncate(time.Microsecond)) ||
				list[1].ID != added.ID || list[1].State != token.KeySigning {
				t.Fatalf("after the rotation: %+v", list)
			}
			fresh := sign(keys, time.Hour)
			if kid := keyID(t, fresh); kid != added.ID {
				t.Errorf("a new token names key %s, want the new %s", kid, added.ID)
			}
			for name, tok := range map[string]string{"old key's token": longLived, "new key's token": fresh} {
				if _, err := keys.Verify(tok); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			if jwks := string(keys.JWKS()); !strings.Contains(jwks, before[0].ID) || !strings.Contains(jwks, added.ID) {
				t.Errorf("the JWKS does not publish both keys: %s", jwks)
			}
			if got, err := keys.Open("cookie", sealed); err != nil || string(got) != "kept" {
				t.Errorf("a value sealed before the rotation: %q, %v", got, err)
			}
			if again, _ := keys.Successor("lrt_", "lrt_presented"); again != successor {
				t.Error("the rotation changed a refresh token's successor")
			}
			// The other replica signs with the old key until it reads
			// the keys again.
			if kid := keyID(t, sign(other, time.Hour)); kid != before[0].ID {
				t.Fatalf("the other replica signs with %s before its refresh", kid)
			}
			if err := other.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if kid := keyID(t, sign(other, time.Hour)); kid != added.ID {
				t.Errorf("the other replica signs with %s after its refresh, want %s", kid, added.ID)
			}

			// At the retire time the old key verifies nothing, even before a
			// refresh; after it, it leaves the JWKS and opens nothing.
			clock.Advance(2 * time.Hour)
			if _, err := keys.Verify(longLived); err == nil || !strings.Contains(errCause(err), "retired") {
				t.Errorf("the old key's token after its retire time: %v", err)
			}
			if err := keys.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(keys.JWKS()), before[0].ID) {
				t.Error("a retired key is still published")
			}
			if _, err := keys.Open("cookie", sealed); err == nil {
				t.Error("a retired key still opens what it sealed")
			}
			if list, _ := keys.List(ctx); list[0].State != token.KeyRetired {
				t.Errorf("after the retire time: %+v", list)
			}
			if n, err := store.DeleteRetiredSigningKeys(ctx, clock.Now()); err != nil || n != 1 {
				t.Errorf("DeleteRetiredSigningKeys: %d, %v", n, err)
			}
			if _, err := keys.Verify(sign(keys, time.Hour)); err != nil {
				t.Errorf("the new key after the old one's deletion: %v", err)
			}
		})
	}
}

func keyID(t *testing.T, tok string) string {
	t.Helper()
	header, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.KID
}

// errCause is the reason a verification failed, which the client is not
// told but the service logs.
func errCause(err error) string {
	var le *latch.Error
	if errors.As(err, &le) && le.Err != nil {
		return le.Err.Error()
	}
	return ""
}

// TestRotateOpenIDFamily: `keys rotate --alg RS256` across two replicas on
// one store. The new RSA key signs ID tokens at once here and after a
// Refresh there; the native key is untouched; the old RSA key's ID tokens
// still pass as logout hints, and its access tokens verify, until its
// retire time, then not.
func TestRotateOpenIDFamily(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			store := b.Open(t)
			clock := testenv.NewClock()
			cfg := token.KeysConfig{Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now, EncryptionKey: bytes.Repeat([]byte{7}, 32)}
			keys, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			other, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if keys.OIDCAlgorithm() != token.RS256 {
				t.Fatalf("default OpenID algorithm %q", keys.OIDCAlgorithm())
			}
			idToken := func(k *token.Keys) string {
				t.Helper()
				raw, err := k.SignIDToken(token.IDClaims{Subject: "u", ClientID: "app-1", IssuedAt: clock.Now(), Expiry: clock.Now().Add(time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				return raw
			}
			appAccess := func(k *token.Keys) string {
				t.Helper()
				raw, err := k.SignAppAccess(token.AppAccessClaims{Subject: "u", ClientID: "app-1", Audience: []string{"app-1"}, IssuedAt: clock.Now(), Expiry: clock.Now().Add(3 * time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				return raw
			}
			nativeBefore := keyID(t, sign(t, keys, clock))
			oldID, oldAccess := idToken(keys), appAccess(keys)
			oldKID := keyID(t, oldID)
			if oldKID == nativeBefore || keyID(t, idToken(other)) != oldKID {
				t.Fatalf("the replicas do not share one RSA key apart from the native one")
			}

			clock.Advance(time.Minute)
			retireAt := clock.Now().Add(2 * time.Hour)
			if _, err := keys.Rotate(ctx, token.EdDSA, time.Time{}, retireAt); !latch.IsKind(err, latch.KindInvalid) {
				t.Fatalf("rotating an algorithm no family has: %v", err)
			}
			added, err := keys.Rotate(ctx, token.RS256, time.Time{}, retireAt)
			if err != nil || added.Algorithm != token.RS256 {
				t.Fatalf("Rotate: %+v, %v", added, err)
			}
			if kid := keyID(t, idToken(keys)); kid != added.ID {
				t.Errorf("ID tokens after the rotation name %s, want %s", kid, added.ID)
			}
			if kid := keyID(t, sign(t, keys, clock)); kid != nativeBefore {
				t.Errorf("an RS256 rotation changed the native signing key to %s", kid)
			}
			if kid := keyID(t, idToken(other)); kid != oldKID {
				t.Errorf("the other replica signs with %s before its refresh", kid)
			}
			// The other replica verifies the new key's tokens at once: an
			// unknown kid sends it to the store (after the reload interval).
			clock.Advance(10 * time.Second)
			if _, err := other.VerifyIDTokenHint(idToken(keys)); err != nil {
				t.Errorf("the other replica, a token of the new key: %v", err)
			}
			if err := other.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if kid := keyID(t, idToken(other)); kid != added.ID {
				t.Errorf("the other replica signs with %s after its refresh, want %s", kid, added.ID)
			}
			jwks := string(keys.JWKS())
			if !strings.Contains(jwks, oldKID) || !strings.Contains(jwks, added.ID) || !strings.Contains(jwks, nativeBefore) {
				t.Errorf("the JWKS does not publish the three keys: %s", jwks)
			}
			list, _ := keys.List(ctx)
			states := map[string]token.KeyState{}
			for _, info := range list {
				states[info.ID] = info.State
			}
			if len(list) != 3 || states[oldKID] != token.KeyVerifying || states[added.ID] != token.KeySigning || states[nativeBefore] != token.KeySigning {
				t.Errorf("keys after the rotation: %+v", list)
			}
			for _, k := range []*token.Keys{keys, other} {
				if _, err := k.VerifyIDTokenHint(oldID); err != nil {
					t.Errorf("the old key's ID token before its retire time: %v", err)
				}
				if _, err := k.VerifyAppAccess(oldAccess, "app-1"); err != nil {
					t.Errorf("the old key's access token before its retire time: %v", err)
				}
			}

			clock.Advance(2 * time.Hour)
			for _, k := range []*token.Keys{keys, other} {
				if _, err := k.VerifyIDTokenHint(oldID); err == nil || !strings.Contains(errCause(err), "retired") {
					t.Errorf("the retired key's ID token as a hint: %v", err)
				}
				if _, err := k.VerifyAppAccess(oldAccess, "app-1"); err == nil || !strings.Contains(errCause(err), "retired") {
					t.Errorf("the retired key's access token: %v", err)
				}
			}
			if err := keys.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(keys.JWKS()), oldKID) {
				t.Error("the retired RSA key is still published")
			}
		})
	}
}

func sign(t *testing.T, k *token.Keys, clock *testenv.Clock) string {
	t.Helper()
	raw, err := k.Sign(token.Claims{Subject: "u", SessionID: "s", Kind: latch.KindSession, IssuedAt: clock.Now(), Expiry: clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestKeysAnnounced: a rotation announced ahead publishes the new key at
// once, on every replica that reads the keys, while the old key signs;
// at activates_at every replica switches without reading the store again;
// the old key verifies until its retire time.
func TestKeysAnnounced(t *testing.T) {
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
			other, err := token.LoadKeys(ctx, store, cfg)
			if err != nil {
				t.Fatal(err)
			}
			idToken := func(k *token.Keys) string {
				t.Helper()
				raw, err := k.SignIDToken(token.IDClaims{Subject: "u", ClientID: "app-1", IssuedAt: clock.Now(), Expiry: clock.Now().Add(time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				return raw
			}
			oldID := idToken(keys)
			oldKID := keyID(t, oldID)

			activates := clock.Now().Add(10 * time.Minute)
			added, err := keys.Rotate(ctx, token.RS256, activates, activates.Add(2*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if err := other.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			for name, k := range map[string]*token.Keys{"this replica": keys, "the other": other} {
				if !strings.Contains(string(k.JWKS()), added.ID) || !strings.Contains(string(k.JWKS()), oldKID) {
					t.Errorf("%s: the announced key is not published next to the old one", name)
				}
				if kid := keyID(t, idToken(k)); kid != oldKID {
					t.Errorf("%s: an announced key signs (%s) before its time", name, kid)
				}
			}
			list, _ := keys.List(ctx)
			for _, info := range list {
				if info.ID == added.ID && (info.State != token.KeyAnnounced || info.ActivatesAt == nil || !info.ActivatesAt.Equal(activates.Truncate(time.Microsecond))) {
					t.Errorf("the announced key is listed as %+v", info)
				}
				if info.ID == oldKID && info.State != token.KeySigning {
					t.Errorf("the old key before the switch is listed as %+v", info)
				}
			}

			clock.Advance(10*time.Minute - time.Second)
			if kid := keyID(t, idToken(other)); kid != oldKID {
				t.Errorf("the new key signs a second before its time")
			}
			clock.Advance(time.Second)
			for name, k := range map[string]*token.Keys{"this replica": keys, "the other": other} {
				fresh := idToken(k)
				if kid := keyID(t, fresh); kid != added.ID {
					t.Errorf("%s: at activates_at, ID tokens name %s, want %s (no store read needed)", name, kid, added.ID)
				}
				if _, err := k.VerifyIDTokenHint(oldID); err != nil {
					t.Errorf("%s: the old key's token after the switch: %v", name, err)
				}
			}
			if _, err := keys.VerifyIDTokenHint(idToken(other)); err != nil {
				t.Errorf("a token of the new key from the other replica: %v", err)
			}
			list, _ = keys.List(ctx)
			for _, info := range list {
				if (info.ID == added.ID && info.State != token.KeySigning) || (info.ID == oldKID && info.State != token.KeyVerifying) {
					t.Errorf("after the switch: %+v", info)
				}
			}
			clock.Advance(2 * time.Hour)
			if _, err := keys.VerifyIDTokenHint(oldID); err == nil {
				t.Error("the old key verifies after its retire time")
			}
		})
	}
}
