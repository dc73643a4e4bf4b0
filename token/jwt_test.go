package token

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
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
	k, err := newKeys([]latch.SigningKey{sk}, alg, testIssuer, func() time.Time { return *now })
	if err != nil {
		t.Fatal(err)
	}
	return k
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
	hsHeader := b64(`{"alg":"HS256","typ":"JWT","kid":"` + k.signKID + `"}`)
	mac := hmac.New(sha256.New, k.jwks)
	mac.Write([]byte(hsHeader + "." + parts[1]))
	hs256 := hsHeader + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	claims := decodeSegment(t, good, 1)
	claims["sub"] = "someone-else"
	tamperedPayload, _ := json.Marshal(claims)

	wrongIssuer := testClaims(now)
	wrongIssuerKeys := testKeys(t, ES256, &now)
	wrongIssuerKeys.issuer = "http://evil.test"
	wrongIss, _ := wrongIssuerKeys.Sign(wrongIssuer)

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
	if _, ok := k.cache.get(raw); !ok {
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
		c.put(strings.Repeat("x", i+1), Claims{Expiry: now.Add(time.Hour)}, now)
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
	if len(set.Keys) != 1 || set.Keys[0]["kid"] != k.signKID || set.Keys[0]["alg"] != ES256 || set.Keys[0]["use"] != "sig" {
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
