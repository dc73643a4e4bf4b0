package token

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
)

const testIssuer = "http://latch.test"

func testKeys(t testing.TB, alg string, now *time.Time) *Keys {
	t.Helper()
	sk, err := NewSigningKey(alg, *now)
	if err != nil {
		t.Fatal(err)
	}
	set, err := newKeySet([]latch.SigningKey{sk}, alg, "", nil, *now)
	if err != nil {
		t.Fatal(err)
	}
	return keysWith(set, testIssuer, alg, now)
}

func keysWith(set *keySet, issuer, alg string, now *time.Time) *Keys {
	k := &Keys{issuer: issuer, alg: alg, now: func() time.Time { return *now }, cache: newVerifiedCache(1 << 16)}
	k.set.Store(set)
	return k
}

// signWith signs raw header and claims JSON with k's signing key, to build
// tokens Sign would never make.
func signWith(t *testing.T, k *Keys, header, claims string) string {
	t.Helper()
	signingInput := b64(header) + "." + b64(claims)
	sig, err := k.set.Load().rawSign([]byte(signingInput))
	if err != nil {
		t.Fatal(err)
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func testClaims(now time.Time) Claims {
	return Claims{Subject: "0190a0f4-0000-7000-8000-000000000001", SessionID: "0190a0f4-0000-7000-8000-0000000000aa",
		Kind: latch.KindSession, Scopes: latch.SessionScopes(), IssuedAt: now, Expiry: now.Add(time.Hour)}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range []string{ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
			k := testKeys(t, alg, &now)
			raw, err := k.Sign(testClaims(now))
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Verify(raw)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Subject != testClaims(now).Subject || got.SessionID != testClaims(now).SessionID ||
				got.Kind != latch.KindSession || !got.HasScope(latch.ScopeUserUpdate) || !got.Expiry.Equal(now.Add(time.Hour)) || got.Issuer != testIssuer {
				t.Fatalf("claims = %+v", got)
			}
			header := decodeSegment(t, raw, 0)
			if header["alg"] != alg || header["typ"] != "at+jwt" || header["kid"] == "" {
				t.Fatalf("header = %v", header)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	k := testKeys(t, ES256, &now)
	good, err := k.Sign(testClaims(now))
	if err != nil {
		t.Fatal(err)
	}
	other := testKeys(t, ES256, &now)
	foreign, _ := other.Sign(testClaims(now))
	parts := strings.Split(good, ".")

	// A forged HS256 token whose HMAC key is the public JWKS: the classic
	// algorithm-confusion attack.
	hsHeader := b64(`{"alg":"HS256","typ":"JWT","kid":"` + k.set.Load().signKID + `"}`)
	mac := hmac.New(sha256.New, k.JWKS())
	mac.Write([]byte(hsHeader + "." + parts[1]))
	hs256 := hsHeader + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	claims := decodeSegment(t, good, 1)
	claims["sub"] = "someone-else"
	tamperedPayload, _ := json.Marshal(claims)

	// Same key, another issuer: only the issuer check can refuse it.
	wrongIss, _ := keysWith(k.set.Load(), "http://evil.test", ES256, &now).Sign(testClaims(now))

	kid := k.set.Load().signKID
	payload := func(iat, exp time.Time) string {
		return fmt.Sprintf(`{"iss":%q,"sub":"u","sid":"s","kind":"session","iat":%d,"exp":%d}`, testIssuer, iat.Unix(), exp.Unix())
	}
	notAccessToken := signWith(t, k, `{"alg":"ES256","typ":"JWT","kid":"`+kid+`"}`, payload(now, now.Add(time.Hour)))
	noTyp := signWith(t, k, `{"alg":"ES256","kid":"`+kid+`"}`, payload(now, now.Add(time.Hour)))
	farFuture := signWith(t, k, `{"alg":"ES256","typ":"at+jwt","kid":"`+kid+`"}`, payload(now.Add(2*time.Minute), now.Add(time.Hour)))
	atExpiry := signWith(t, k, `{"alg":"ES256","typ":"at+jwt","kid":"`+kid+`"}`, payload(now.Add(-time.Hour), now))
	slightlyAhead := signWith(t, k, `{"alg":"ES256","typ":"at+jwt","kid":"`+kid+`"}`, payload(now.Add(30*time.Second), now.Add(time.Hour)))
	if _, err := k.Verify(slightlyAhead); err != nil {
		t.Errorf("a token issued 30 s ahead (clock skew between replicas) was refused: %v", err)
	}

	expiredClaims := testClaims(now.Add(-2 * time.Hour))
	expired, _ := k.Sign(expiredClaims)

	cases := map[string]string{
		"empty":            "",
		"garbage":          "not-a-jwt",
		"two segments":     parts[0] + "." + parts[1],
		"alg none":         b64(`{"alg":"none","typ":"JWT"}`) + "." + parts[1] + ".",
		"hs256 confusion":  hs256,
		"other key":        foreign,
		"tampered payload": parts[0] + "." + b64(string(tamperedPayload)) + "." + parts[2],
		"bad signature":    parts[0] + "." + parts[1] + "." + b64("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
		"wrong issuer":     wrongIss,
		"expired":          expired,
		"at its expiry":    atExpiry,
		"typ JWT":          notAccessToken,
		"no typ":           noTyp,
		"issued 2m ahead":  farFuture,
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := k.Verify(raw)
			if !latch.IsCode(err, latch.CodeInvalidToken) || !latch.IsKind(err, latch.KindUnauthenticated) {
				t.Fatalf("Verify = %v, want unauthenticated invalid_token", err)
			}
		})
	}
}

// The verification cache must not let a token outlive its expiry.
func TestVerifyCacheHonoursExpiry(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	k := testKeys(t, EdDSA, &now)
	raw, _ := k.Sign(testClaims(now))
	if _, err := k.Verify(raw); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := k.cache.get(raw); !ok {
		t.Fatal("verified token was not cached")
	}
	now = now.Add(time.Hour)
	if _, err := k.Verify(raw); !latch.IsCode(err, latch.CodeInvalidToken) {
		t.Fatalf("expired cached token: err = %v", err)
	}
}

func TestVerifiedCacheBounded(t *testing.T) {
	c := newVerifiedCache(4)
	now := time.Now()
	for i := 0; i < 10; i++ {
		c.put(strings.Repeat("x", i+1), Claims{Expiry: now.Add(time.Hour)}, "kid", now)
		if len(c.entries) > 4 {
			t.Fatalf("cache grew to %d entries", len(c.entries))
		}
	}
}

func TestJWKSPublishesOnlyPublicKeys(t *testing.T) {
	now := time.Now()
	k := testKeys(t, ES256, &now)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(k.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0]["kid"] != k.set.Load().signKID || set.Keys[0]["alg"] != ES256 || set.Keys[0]["use"] != "sig" {
		t.Fatalf("jwks = %s", k.JWKS())
	}
	if _, private := set.Keys[0]["d"]; private {
		t.Fatal("jwks leaks the private key")
	}
}

func TestOpaque(t *testing.T) {
	a, ha := NewOpaque("rt_")
	b, _ := NewOpaque("rt_")
	if a == b || !strings.HasPrefix(a, "rt_") || !LooksOpaque(a, "rt_") || LooksOpaque(a+"x", "rt_") || LooksOpaque(a, "lk_") {
		t.Fatalf("opaque tokens %q %q", a, b)
	}
	if string(HashOpaque(a)) != string(ha) || len(ha) != sha256.Size {
		t.Fatal("hash does not match")
	}
}

func BenchmarkVerifyUncached(b *testing.B) {
	for _, alg := range []string{ES256, EdDSA} {
		b.Run(alg, func(b *testing.B) {
			now := time.Now()
			k := testKeys(b, alg, &now)
			raw, _ := k.Sign(testClaims(now))
			for b.Loop() {
				clear(k.cache.entries)
				if _, err := k.Verify(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	for _, alg := range []string{ES256, EdDSA} {
		b.Run(alg, func(b *testing.B) {
			now := time.Now()
			k := testKeys(b, alg, &now)
			for b.Loop() {
				if _, err := k.Sign(testClaims(now)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeSegment(t *testing.T, raw string, i int) map[string]any {
	t.Helper()
	seg, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(seg, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// rawSign makes the ES256 JWS signature of input (R || S, 32 bytes each)
// with the set's signing key, for tests that need tokens with headers Sign
// never writes.
func (ks *keySet) rawSign(input []byte) ([]byte, error) {
	priv, ok := ks.signKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("rawSign needs an ES256 key")
	}
	digest := sha256.Sum256(input)
	r, sig, err := ecdsa.Sign(rand.Reader, priv, digest[:])
	if err != nil {
		return nil, err
	}
	out := make([]byte, 64)
	r.FillBytes(out[:32])
	sig.FillBytes(out[32:])
	return out, nil
}

func TestSealOpen(t *testing.T) {
	now := time.Now()
	k := testKeys(t, ES256, &now)
	sealed, err := k.Seal("oauth", []byte("state and verifier"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "verifier") {
		t.Fatal("sealed value shows its plaintext")
	}
	got, err := k.Open("oauth", sealed)
	if err != nil || string(got) != "state and verifier" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other := testKeys(t, ES256, &now)
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	raw[len(raw)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"other purpose": func() ([]byte, error) { return k.Open("session", sealed) },
		"other key":     func() ([]byte, error) { return other.Open("oauth", sealed) },
		"tampered":      func() ([]byte, error) { return k.Open("oauth", base64.RawURLEncoding.EncodeToString(raw)) },
		"truncated":     func() ([]byte, error) { return k.Open("oauth", sealed[:10]) },
		"garbage":       func() ([]byte, error) { return k.Open("oauth", "%%%") },
	} {
		if _, err := open(); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}
