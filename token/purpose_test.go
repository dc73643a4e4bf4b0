package token

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchid/latch"
)

func TestPurposeTokens(t *testing.T) {
	for _, alg := range []string{ES256, EdDSA} {
		t.Run(alg, func(t *testing.T) {
			now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
			k := testKeys(t, alg, &now)
			raw, err := k.SignPurpose("verify", "user-1", now, now.Add(24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			c, err := k.VerifyPurpose(raw, "verify")
			if err != nil || c.Subject != "user-1" || c.Purpose != "verify" || c.ID == "" || !c.Expiry.Equal(now.Add(24*time.Hour)) {
				t.Fatalf("VerifyPurpose: %+v, %v", c, err)
			}
			// Not an access token, nor a token of another purpose.
			if _, err := k.Verify(raw); !latch.IsKind(err, latch.KindUnauthenticated) {
				t.Fatalf("Verify accepted a purpose token: %v", err)
			}
			if _, err := k.VerifyPurpose(raw, "recover"); !latch.IsKind(err, latch.KindUnauthenticated) {
				t.Fatalf("another purpose accepted: %v", err)
			}
			access, err := k.Sign(Claims{Subject: "user-1", SessionID: "s", Kind: latch.KindSession, IssuedAt: now, Expiry: now.Add(time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := k.VerifyPurpose(access, "verify"); !latch.IsKind(err, latch.KindUnauthenticated) {
				t.Fatalf("an access token accepted as a purpose token: %v", err)
			}
			for _, bad := range []string{"", "garbage", raw + "x"} {
				if _, err := k.VerifyPurpose(bad, "verify"); !latch.IsKind(err, latch.KindUnauthenticated) {
					t.Fatalf("%q: %v", bad, err)
				}
			}
			now = now.Add(24 * time.Hour)
			if _, err := k.VerifyPurpose(raw, "verify"); !latch.IsKind(err, latch.KindUnauthenticated) {
				t.Fatalf("expired token accepted: %v", err)
			}
			// A signed token whose typ says verify but whose claim says
			// otherwise is refused too.
			if alg != ES256 {
				return // signWith signs with ES256 keys only
			}
			forged := signWith(t, k, `{"alg":"`+alg+`","kid":"`+k.set.Load().signKID+`","typ":"latch-verify+jwt"}`,
				`{"iss":"`+testIssuer+`","sub":"user-1","purpose":"recover","iat":`+fmt.Sprint(now.Unix())+`,"exp":`+fmt.Sprint(now.Add(time.Hour).Unix())+`}`)
			if _, err := k.VerifyPurpose(forged, "verify"); err == nil {
				t.Fatal("purpose claim not checked")
			}
		})
	}
}
