package token

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchid/latch"
)

// oidcTestKeys builds Keys with a native ES256 family and an OpenID family
// of oidcAlg (the same key when oidcAlg is ES256), and returns the OpenID
// private key, to sign tokens SignIDToken and SignAppAccess never make.
func oidcTestKeys(t testing.TB, oidcAlg string, now *time.Time) (*Keys, crypto.Signer) {
	t.Helper()
	native, err := NewSigningKey(ES256, *now)
	if err != nil {
		t.Fatal(err)
	}
	stored := []latch.SigningKey{native}
	oidcKey := native
	if oidcAlg != ES256 {
		if oidcKey, err = NewSigningKey(oidcAlg, *now); err != nil {
			t.Fatal(err)
		}
		stored = append(stored, oidcKey)
	}
	set, err := newKeySet(stored, ES256, oidcAlg, nil, *now)
	if err != nil {
		t.Fatal(err)
	}
	k := keysWith(set, testIssuer, ES256, now)
	k.oidcAlg = oidcAlg
	priv, err := x509.ParsePKCS8PrivateKey(oidcKey.Private)
	if err != nil {
		t.Fatal(err)
	}
	return k, priv.(crypto.Signer)
}

// signOIDCWith signs claims with the OpenID key under a header of typ,
// for tokens with claims the signing methods never write.
func signOIDCWith(t *testing.T, k *Keys, priv crypto.Signer, typ string, claims any) string {
	t.Helper()
	ks := k.set.Load()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader(jose.HeaderKey("kid"), ks.oidc.kid)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(ks.oidc.alg), Key: priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func fixedIDClaims(now time.Time) IDClaims {
	verified := true
	updated := now.Add(-48 * time.Hour)
	return IDClaims{
		Subject: "0190a0f4-0000-7000-8000-000000000001", ClientID: "app-1",
		IssuedAt: now, Expiry: now.Add(time.Hour), AuthTime: now.Add(-5 * time.Minute),
		Nonce: "n-0S6_WzA2Mj", AccessTokenHash: "77QmUPtjPfzWtF2AnpK9RQ", AMR: []string{"pwd"}, ACR: "urn:latchid:acr:pwd",
		Email: "ada@example.com", EmailVerified: &verified, Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace",
		Picture: "https://example.com/ada.png", UpdatedAt: &updated,
	}
}

// TestIDTokenClaims: the ID token's header and claims, byte for byte, with
// a fixed clock (OpenID Connect Core §2, §5.1).
func TestIDTokenClaims(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	k, _ := oidcTestKeys(t, RS256, &now)
	raw, err := k.SignIDToken(fixedIDClaims(now))
	if err != nil {
		t.Fatal(err)
	}
	header := decodeSegment(t, raw, 0)
	if header["alg"] != RS256 || header["typ"] != "JWT" || header["kid"] != k.set.Load().oidc.kid || len(header) != 3 {
		t.Fatalf("header = %v", header)
	}
	const golden = `{"acr":"urn:latchid:acr:pwd","amr":["pwd"],"at_hash":"77QmUPtjPfzWtF2AnpK9RQ","aud":["app-1"],` +
		`"auth_time":1795427700,"azp":"app-1","email":"ada@example.com","email_verified":true,"exp":1795431600,` +
		`"family_name":"Lovelace","given_name":"Ada","iat":1795428000,"iss":"http://latch.test","name":"Ada Lovelace",` +
		`"nonce":"n-0S6_WzA2Mj","picture":"https://example.com/ada.png","sub":"0190a0f4-0000-7000-8000-000000000001",` +
		`"updated_at":1795255200}`
	if got := canonicalJSON(t, decodeSegment(t, raw, 1)); got != golden {
		t.Fatalf("claims\n got %s\nwant %s", got, golden)
	}

	// A refreshed ID token has no nonce (Core §12.2), and claims not
	// granted by scope are left out, not empty.
	minimal := IDClaims{Subject: "u", ClientID: "app-1", IssuedAt: now, Expiry: now.Add(time.Hour), AuthTime: now}
	raw, err = k.SignIDToken(minimal)
	if err != nil {
		t.Fatal(err)
	}
	const goldenMinimal = `{"aud":["app-1"],"auth_time":1795428000,"azp":"app-1","exp":1795431600,"iat":1795428000,"iss":"http://latch.test","sub":"u"}`
	if got := canonicalJSON(t, decodeSegment(t, raw, 1)); got != goldenMinimal {
		t.Fatalf("minimal claims\n got %s\nwant %s", got, goldenMinimal)
	}
	for name, c := range map[string]IDClaims{"no subject": {ClientID: "a", IssuedAt: now, Expiry: now}, "no client": {Subject: "u", IssuedAt: now, Expiry: now}} {
		if _, err := k.SignIDToken(c); err == nil {
			t.Errorf("%s: signed", name)
		}
	}
}

func canonicalJSON(t *testing.T, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m) // maps marshal with sorted keys
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestClaimHash: at_hash of OpenID Connect Core's own example (A.3: the
// access token jHkWEdUX... has at_hash 77QmUPtj...), and the left half of
// SHA-512 for EdDSA.
func TestClaimHash(t *testing.T) {
	for _, alg := range []string{RS256, ES256} {
		if got, err := ClaimHash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", alg); err != nil || got != "77QmUPtjPfzWtF2AnpK9RQ" {
			t.Errorf("%s: %q, %v", alg, got, err)
		}
	}
	if got, _ := ClaimHash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", EdDSA); len(got) != 43 {
		t.Errorf("EdDSA claim hash %q: want 32 bytes", got)
	}
	if _, err := ClaimHash("x", "HS256"); err == nil {
		t.Error("a claim hash for HS256")
	}
}

// TestIDTokenRS256 has verifiers nobody here wrote judge our ID tokens:
// coreos/go-oidc (signature, issuer, audience, expiry, nonce, at_hash)
// and go-jose against the published JWKS.
func TestIDTokenRS256(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, alg := range []string{RS256, ES256} {
		t.Run(alg, func(t *testing.T) {
			k, _ := oidcTestKeys(t, alg, &now)
			access, err := k.SignAppAccess(AppAccessClaims{Subject: "u", ClientID: "app-1", Audience: []string{"app-1"}, IssuedAt: now, Expiry: now.Add(time.Hour), GrantID: "g"})
			if err != nil {
				t.Fatal(err)
			}
			atHash, err := ClaimHash(access, k.OIDCAlgorithm())
			if err != nil {
				t.Fatal(err)
			}
			c := fixedIDClaims(now)
			c.AccessTokenHash = atHash
			raw, err := k.SignIDToken(c)
			if err != nil {
				t.Fatal(err)
			}

			var set jose.JSONWebKeySet
			if err := json.Unmarshal(k.JWKS(), &set); err != nil {
				t.Fatal(err)
			}
			var keys []crypto.PublicKey
			for _, jwk := range set.Keys {
				keys = append(keys, jwk.Key)
			}
			verifier := oidc.NewVerifier(testIssuer, &oidc.StaticKeySet{PublicKeys: keys}, &oidc.Config{
				ClientID: "app-1", SupportedSigningAlgs: []string{alg}, Now: func() time.Time { return now.Add(time.Minute) },
			})
			idt, err := verifier.Verify(context.Background(), raw)
			if err != nil {
				t.Fatalf("go-oidc refuses our ID token: %v", err)
			}
			if idt.Subject != c.Subject || idt.Nonce != c.Nonce || !idt.IssuedAt.Equal(now) {
				t.Fatalf("go-oidc read %+v", idt)
			}
			if err := idt.VerifyAccessToken(access); err != nil {
				t.Fatalf("go-oidc: at_hash does not match the access token: %v", err)
			}
			if err := idt.VerifyAccessToken(access + "x"); err == nil {
				t.Fatal("go-oidc: at_hash matches another access token")
			}
			var claims struct {
				EmailVerified bool `json:"email_verified"`
				AuthTime      int64
			}
			if err := idt.Claims(&claims); err != nil || !claims.EmailVerified {
				t.Fatalf("claims %+v, %v", claims, err)
			}
			other := oidc.NewVerifier(testIssuer, &oidc.StaticKeySet{PublicKeys: keys}, &oidc.Config{ClientID: "app-2", SupportedSigningAlgs: []string{alg}, Now: func() time.Time { return now }})
			if _, err := other.Verify(context.Background(), raw); err == nil {
				t.Fatal("go-oidc with another client id accepted the token")
			}
			late := oidc.NewVerifier(testIssuer, &oidc.StaticKeySet{PublicKeys: keys}, &oidc.Config{ClientID: "app-1", SupportedSigningAlgs: []string{alg}, Now: func() time.Time { return now.Add(2 * time.Hour) }})
			if _, err := late.Verify(context.Background(), raw); err == nil {
				t.Fatal("go-oidc accepted an expired ID token")
			}

			// go-jose with the JWKS key its kid names.
			jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			byKID := set.Key(jws.Signatures[0].Header.KeyID)
			if len(byKID) != 1 || byKID[0].Algorithm != alg || byKID[0].Use != "sig" {
				t.Fatalf("JWKS entry for the ID token's kid: %+v", byKID)
			}
			if _, err := jws.Verify(byKID[0].Key); err != nil {
				t.Fatalf("go-jose: %v", err)
			}
		})
	}
}

// TestJWKSBothFamilies: the native and the OpenID key are both published,
// public parts only, each with use and alg.
func TestJWKSBothFamilies(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	k, _ := oidcTestKeys(t, RS256, &now)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(k.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	byAlg := map[any]map[string]any{}
	for _, key := range set.Keys {
		byAlg[key["alg"]] = key
		if key["use"] != "sig" || key["kid"] == "" {
			t.Errorf("key %v", key)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := key[private]; ok {
				t.Errorf("the JWKS publishes %q of a %v key", private, key["alg"])
			}
		}
	}
	if len(set.Keys) != 2 || byAlg[ES256]["kid"] != k.set.Load().signKID || byAlg[RS256]["kid"] != k.set.Load().oidc.kid || byAlg[RS256]["kty"] != "RSA" {
		t.Fatalf("jwks = %s", k.JWKS())
	}
}

// TestAppAccessTokenProfile: an app's access token in the JWT profile of
// RFC 9068 (§2.1 header, §2.2 claims), and VerifyAppAccess's checks (§4).
func TestAppAccessTokenProfile(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	k, priv := oidcTestKeys(t, RS256, &now)
	c := AppAccessClaims{Subject: "u-1", ClientID: "app-1", Audience: []string{"https://api.example.com", "app-1"}, Scopes: []string{"openid", "email"},
		IssuedAt: now, Expiry: now.Add(15 * time.Minute), AuthTime: now.Add(-time.Minute), GrantID: "grant-1"}
	raw, err := k.SignAppAccess(c)
	if err != nil {
		t.Fatal(err)
	}
	header := decodeSegment(t, raw, 0)
	if header["alg"] != RS256 || header["typ"] != "at+jwt" || header["kid"] != k.set.Load().oidc.kid {
		t.Fatalf("header = %v", header)
	}
	claims := decodeSegment(t, raw, 1)
	jti, _ := claims["jti"].(string)
	if len(jti) != 36 {
		t.Fatalf("jti = %v", claims["jti"])
	}
	delete(claims, "jti")
	const golden = `{"aud":["https://api.example.com","app-1"],"auth_time":1795427940,"client_id":"app-1","exp":1795428900,` +
		`"iat":1795428000,"iss":"http://latch.test","scope":"openid email","sid":"grant-1","sub":"u-1"}`
	if got := canonicalJSON(t, claims); got != golden {
		t.Fatalf("claims\n got %s\nwant %s", got, golden)
	}

	got, err := k.VerifyAppAccess(raw, "https://api.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "u-1" || got.ClientID != "app-1" || got.GrantID != "grant-1" || got.ID != jti || !got.HasScope("email") ||
		!got.AuthTime.Equal(c.AuthTime) || !got.Expiry.Equal(c.Expiry) || got.Issuer != testIssuer {
		t.Fatalf("VerifyAppAccess = %+v", got)
	}
	if _, err := k.VerifyAppAccess(raw, "app-1"); err != nil {
		t.Fatalf("the second audience: %v", err)
	}

	wire := func(edit func(m map[string]any)) map[string]any {
		m := map[string]any{"iss": testIssuer, "sub": "u-1", "aud": []string{"app-1"}, "client_id": "app-1", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "j"}
		edit(m)
		return m
	}
	if _, err := k.VerifyAppAccess(signOIDCWith(t, k, priv, "application/at+jwt", wire(func(map[string]any) {})), "app-1"); err != nil {
		t.Errorf("typ application/at+jwt (RFC 9068 §4): %v", err)
	}
	idToken, _ := k.SignIDToken(fixedIDClaims(now))
	expiring, _ := k.SignAppAccess(AppAccessClaims{Subject: "u", ClientID: "app-1", Audience: []string{"app-1"}, IssuedAt: now.Add(-time.Hour), Expiry: now})
	otherIssuer := keysWith(k.set.Load(), "http://evil.test", ES256, &now)
	otherIssuer.oidcAlg = RS256
	foreignIss, _ := otherIssuer.SignAppAccess(AppAccessClaims{Subject: "u", ClientID: "app-1", Audience: []string{"app-1"}, IssuedAt: now, Expiry: now.Add(time.Hour)})
	stranger, _ := oidcTestKeys(t, RS256, &now)
	foreignKey, _ := stranger.SignAppAccess(AppAccessClaims{Subject: "u", ClientID: "app-1", Audience: []string{"app-1"}, IssuedAt: now, Expiry: now.Add(time.Hour)})
	parts := strings.Split(raw, ".")
	refused := map[string]string{
		"another audience": raw,
		"an ID token":      idToken,
		"at its expiry":    expiring,
		"another issuer":   foreignIss,
		"another key":      foreignKey,
		"tampered":         parts[0] + "." + b64(strings.Replace(string(mustDecode(t, parts[1])), "u-1", "u-2", 1)) + "." + parts[2],
		"typ JWT":          signOIDCWith(t, k, priv, "JWT", wire(func(map[string]any) {})),
		"no client_id":     signOIDCWith(t, k, priv, "at+jwt", wire(func(m map[string]any) { delete(m, "client_id") })),
		"no aud":           signOIDCWith(t, k, priv, "at+jwt", wire(func(m map[string]any) { delete(m, "aud") })),
		"no exp":           signOIDCWith(t, k, priv, "at+jwt", wire(func(m map[string]any) { delete(m, "exp") })),
		"no sub":           signOIDCWith(t, k, priv, "at+jwt", wire(func(m map[string]any) { delete(m, "sub") })),
		"issued 2m ahead":  signOIDCWith(t, k, priv, "at+jwt", wire(func(m map[string]any) { m["iat"] = now.Add(2 * time.Minute).Unix() })),
		"with a kind":      signOIDCWith(t, k, priv, "at+jwt", wire(func(m map[string]any) { m["kind"] = "session" })),
		"with kind null":   signOIDCWith(t, k, priv, "at+jwt", wire(func(m map[string]any) { m["kind"] = nil })),
	}
	for name, tok := range refused {
		t.Run(name, func(t *testing.T) {
			audience := "app-1"
			if name == "another audience" {
				audience = "https://other.example.com"
			}
			if _, err := k.VerifyAppAccess(tok, audience); !latch.IsCode(err, latch.CodeInvalidToken) || !latch.IsKind(err, latch.KindUnauthenticated) {
				t.Fatalf("VerifyAppAccess = %v, want unauthenticated invalid_token", err)
			}
		})
	}
}

func mustDecode(t *testing.T, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTokenFamiliesSeparate: a native access token never passes as an
// app's, and an app's access token or an ID token never acts on /v1 —
// with the OpenID family on RS256 (other algorithm) and on ES256 (the
// very same key as the native tokens: only typ and claims tell them apart).
func TestTokenFamiliesSeparate(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, alg := range []string{RS256, ES256} {
		t.Run(alg, func(t *testing.T) {
			k, _ := oidcTestKeys(t, alg, &now)
			native, err := k.Sign(testClaims(now))
			if err != nil {
				t.Fatal(err)
			}
			app, err := k.SignAppAccess(AppAccessClaims{Subject: testClaims(now).Subject, ClientID: "app-1", Audience: []string{"app-1"},
				Scopes: []string{"openid"}, IssuedAt: now, Expiry: now.Add(time.Hour), GrantID: testClaims(now).SessionID})
			if err != nil {
				t.Fatal(err)
			}
			idToken, err := k.SignIDToken(fixedIDClaims(now))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := k.Verify(native); err != nil {
				t.Fatalf("native token: %v", err)
			}
			if _, err := k.VerifyAppAccess(app, "app-1"); err != nil {
				t.Fatalf("app token: %v", err)
			}
			for name, tok := range map[string]string{"an app's access token": app, "an ID token": idToken} {
				if _, err := k.Verify(tok); !latch.IsCode(err, latch.CodeInvalidToken) {
					t.Errorf("native Verify accepted %s: %v", name, err)
				}
			}
			if _, err := k.VerifyAppAccess(native, "app-1"); !latch.IsCode(err, latch.CodeInvalidToken) {
				t.Errorf("VerifyAppAccess accepted a native token: %v", err)
			}
			if _, err := k.VerifyIDTokenHint(native); err == nil {
				t.Error("a native token passed as an ID token hint")
			}
			if _, err := k.VerifyIDTokenHint(app); err == nil {
				t.Error("an app's access token passed as an ID token hint")
			}
		})
	}
}

// TestVerifyIDTokenHint: an expired ID token is accepted as a logout hint
// (RP-Initiated Logout), one of another issuer or key is not.
func TestVerifyIDTokenHint(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	k, priv := oidcTestKeys(t, RS256, &now)
	raw, err := k.SignIDToken(fixedIDClaims(now))
	if err != nil {
		t.Fatal(err)
	}
	later := now.Add(30 * 24 * time.Hour)
	hint := keysWith(k.set.Load(), testIssuer, ES256, &later)
	hint.oidcAlg = RS256
	got, err := hint.VerifyIDTokenHint(raw)
	if err != nil {
		t.Fatalf("an expired ID token as a hint: %v", err)
	}
	if got.Subject != fixedIDClaims(now).Subject || got.ClientID != "app-1" || !got.Expiry.Equal(now.Add(time.Hour)) || got.Issuer != testIssuer {
		t.Fatalf("hint = %+v", got)
	}
	otherIssuer := keysWith(k.set.Load(), "http://evil.test", ES256, &now)
	otherIssuer.oidcAlg = RS256
	foreignIss, _ := otherIssuer.SignIDToken(fixedIDClaims(now))
	stranger, _ := oidcTestKeys(t, RS256, &now)
	foreignKey, _ := stranger.SignIDToken(fixedIDClaims(now))
	noAud := signOIDCWith(t, k, priv, "JWT", map[string]any{"iss": testIssuer, "sub": "u", "iat": now.Unix(), "exp": now.Unix()})
	for name, tok := range map[string]string{"another issuer": foreignIss, "another key": foreignKey, "no aud": noAud, "garbage": "x.y.z", "empty": ""} {
		if _, err := k.VerifyIDTokenHint(tok); !latch.IsCode(err, latch.CodeInvalidToken) || !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSigningKeyIDAnnounced: which key signs around an announced switch,
// with two replicas' raced first keys (both replaced at the switch): the
// oldest until the switch, not the raced newer one; the announced key
// from the switch on; never a retired one.
func TestSigningKeyIDAnnounced(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	switchAt, retire := t0.Add(10*time.Minute), t0.Add(3*time.Hour)
	stored := []latch.SigningKey{
		{ID: "first", Algorithm: RS256, CreatedAt: t0, RotatedAt: &switchAt, RetireAt: &retire},
		{ID: "raced", Algorithm: RS256, CreatedAt: t0, RotatedAt: &switchAt, RetireAt: &retire},
		{ID: "native", Algorithm: ES256, CreatedAt: t0},
		{ID: "announced", Algorithm: RS256, CreatedAt: t0.Add(time.Minute), ActivatesAt: &switchAt},
	}
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{t0.Add(time.Minute), "first"},
		{switchAt.Add(-time.Nanosecond), "first"},
		{switchAt, "announced"},
		{retire.Add(time.Hour), "announced"},
	} {
		if got := signingKeyID(stored, RS256, c.at); got != c.want {
			t.Errorf("at %s: %q signs, want %q", c.at.Format(time.TimeOnly), got, c.want)
		}
	}
	if got := nextSwitch(stored, t0); !got.Equal(switchAt) {
		t.Errorf("nextSwitch = %v", got)
	}
	if got := nextSwitch(stored, switchAt); !got.IsZero() {
		t.Errorf("nextSwitch after the switch = %v", got)
	}
}
