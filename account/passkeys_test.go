package account_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/ratelimit"
	"github.com/latchid/latch/token"
)

// The passkey ceremonies against a software authenticator written here:
// an ECDSA P-256 key, the clientDataJSON a browser builds, authenticator
// data with its RP id hash, flags and counter, "none" attestation, and
// assertion signatures, as WebAuthn Level 3 §6 and §7 describe them.

const passkeyPublicURL = "https://latch.test"

var b64 = base64.RawURLEncoding

// softKey is a software authenticator holding one credential.
type softKey struct {
	key    *ecdsa.PrivateKey
	id     []byte
	handle []byte // the user.id it was created for
	count  uint32
	// What the next ceremony does differently.
	origin string // clientDataJSON origin (default passkeyPublicURL)
	rpID   string // the RP id hashed into authenticator data (default latch.test)
	noUV   bool   // user verification not performed
	// noCounter is an authenticator that keeps no sign count (always 0,
	// as many platform passkeys).
	noCounter bool
}

func newSoftKey(t *testing.T) *softKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softKey{key: k, id: id}
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

func (k *softKey) authData(withCredential bool) []byte {
	rp := k.rpID
	if rp == "" {
		rp = "latch.test"
	}
	h := sha256.Sum256([]byte(rp))
	flags := byte(flagUP | flagUV)
	if k.noUV {
		flags = flagUP
	}
	if withCredential {
		flags |= flagAT
	}
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.count)
	if withCredential {
		out = append(out, make([]byte, 16)...) // AAGUID: none
		out = binary.BigEndian.AppendUint16(out, uint16(len(k.id)))
		out = append(out, k.id...)
		cose, err := cbor.Marshal(map[int]any{
			1: 2, 3: -7, -1: 1,
			-2: k.key.X.FillBytes(make([]byte, 32)), -3: k.key.Y.FillBytes(make([]byte, 32)),
		})
		if err != nil {
			panic(err)
		}
		out = append(out, cose...)
	}
	return out
}

func (k *softKey) clientData(typ, challenge string) []byte {
	origin := k.origin
	if origin == "" {
		origin = passkeyPublicURL
	}
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	return b
}

// options reads the challenge (and, for a creation, the user handle and
// the excluded credentials) out of a Begin call's options.
type options struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
		ExcludeCredentials []struct {
			ID string `json:"id"`
		} `json:"excludeCredentials"`
		AllowCredentials []struct {
			ID string `json:"id"`
		} `json:"allowCredentials"`
		UserVerification       string `json:"userVerification"`
		AuthenticatorSelection struct {
			ResidentKey      string `json:"residentKey"`
			UserVerification string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		RP struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
	} `json:"publicKey"`
}

func parseOptions(t *testing.T, c account.PasskeyChallenge) options {
	t.Helper()
	var o options
	if err := json.Unmarshal(c.Options, &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("options %s: %v", c.Options, err)
	}
	return o
}

// create answers a registration's options as navigator.credentials.create.
func (k *softKey) create(t *testing.T, c account.PasskeyChallenge) []byte {
	t.Helper()
	o := parseOptions(t, c)
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	k.handle = handle
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(true)})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(k.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal", "hybrid"},
		},
	})
	return b
}

// get answers an assertion's options as navigator.credentials.get,
// counting one more use.
func (k *softKey) get(t *testing.T, c account.PasskeyChallenge) []byte {
	t.Helper()
	o := parseOptions(t, c)
	if !k.noCounter {
		k.count++
	}
	ad := k.authData(false)
	cd := k.clientData("webauthn.get", o.PublicKey.Challenge)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(k.handle),
		},
	})
	return b
}

// forEachPasskeyBackend runs f on both stores with LATCH_PUBLIC_URL set.
func forEachPasskeyBackend(t *testing.T, f func(t *testing.T, h *testenv.Harness)) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			cfg := account.DefaultConfig()
			cfg.PublicURL = passkeyPublicURL
			f(t, testenv.NewHarnessWithConfig(t, b.Open(t), cfg))
		})
	}
}

// registerPasskey registers a fresh software passkey for p.
func registerPasskey(t *testing.T, h *testenv.Harness, p account.Principal) (*softKey, latch.Factor) {
	t.Helper()
	k := newSoftKey(t)
	c, err := h.Accounts.BeginPasskeyRegistration(t.Context(), p)
	if err != nil {
		t.Fatalf("BeginPasskeyRegistration: %v", err)
	}
	f, err := h.Accounts.FinishPasskeyRegistration(t.Context(), p, "Laptop", c.Ceremony, k.create(t, c))
	if err != nil {
		t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	return k, f
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	forEachPasskeyBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "passkey@example.com")
		c, err := h.Accounts.BeginPasskeyRegistration(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		o := parseOptions(t, c)
		if o.PublicKey.RP.ID != "latch.test" || o.PublicKey.RP.Name != "Latch" ||
			o.PublicKey.AuthenticatorSelection.ResidentKey != "required" || o.PublicKey.AuthenticatorSelection.UserVerification != "preferred" {
			t.Errorf("creation options = %s; want rp latch.test/Latch, resident key required, UV preferred", c.Options)
		}
		k := newSoftKey(t)
		f, err := h.Accounts.FinishPasskeyRegistration(ctx, p, "", c.Ceremony, k.create(t, c))
		if err != nil {
			t.Fatalf("FinishPasskeyRegistration: %v", err)
		}
		stored, err := h.Store.FactorByCredentialID(ctx, k.id)
		if err != nil {
			t.Fatal(err)
		}
		if stored.ID != f.ID || stored.UserID != p.User.ID || stored.Kind != latch.FactorWebAuthn || stored.Name != "Passkey" ||
			stored.ConfirmedAt == nil || len(stored.UserHandle) != 32 || !bytes.Equal(stored.UserHandle, k.handle) ||
			bytes.Contains(stored.UserHandle, []byte(p.User.ID)) || len(stored.PublicKey) == 0 {
			t.Errorf("stored passkey = %+v", stored)
		}
		if n := auditCount(t, h, latch.AuditFactorEnrol, p.User.ID); n != 1 {
			t.Errorf("factor.enrol events = %d, want 1", n)
		}
		// The owner is told, at the account's address.
		mail, err := h.Store.MailMessages(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		notices := 0
		for _, m := range mail {
			if m.Template == latch.MailPasskeyAdded && m.To == p.User.Email {
				notices++
			}
		}
		if notices != 1 {
			t.Errorf("passkey_added notices = %d of %d messages, want 1", notices, len(mail))
		}
		// The same registration again: its ceremony was used.
		_, err = h.Accounts.FinishPasskeyRegistration(ctx, p, "", c.Ceremony, k.create(t, c))
		wantMFAError(t, "FinishPasskeyRegistration(replay)", err, latch.KindInvalid, account.CodeInvalidPasskey)

		// A second registration excludes the first passkey and keeps the
		// user's handle.
		c2, err := h.Accounts.BeginPasskeyRegistration(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		o2 := parseOptions(t, c2)
		if len(o2.PublicKey.ExcludeCredentials) != 1 || o2.PublicKey.ExcludeCredentials[0].ID != b64.EncodeToString(k.id) ||
			o2.PublicKey.User.ID != b64.EncodeToString(k.handle) {
			t.Errorf("second creation options = %s; want the first passkey excluded, the same user handle", c2.Options)
		}

		// Passwordless sign-in.
		s, err := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		if err != nil {
			t.Fatal(err)
		}
		so := parseOptions(t, s)
		if len(so.PublicKey.AllowCredentials) != 0 || so.PublicKey.UserVerification != "required" {
			t.Errorf("sign-in options = %s; want discoverable, UV required", s.Options)
		}
		resp := k.get(t, s)
		pair, err := h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, resp, "192.0.2.1")
		if err != nil {
			t.Fatalf("FinishPasskeySignIn: %v", err)
		}
		signedIn, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if signedIn.User.ID != p.User.ID || pair.RefreshToken == "" || !equalSet(signedIn.Session.AMR, []string{"hwk", "user", "mfa"}) {
			t.Errorf("signed in as %s, AMR %v, refresh %q; want %s, [hwk user mfa], a refresh token", signedIn.User.ID, signedIn.Session.AMR, pair.RefreshToken, p.User.ID)
		}
		if got, _ := h.Store.FactorByID(ctx, f.ID); got.SignCount != 1 || got.LastUsedAt == nil {
			t.Errorf("after sign-in: count %d, last used %v; want 1, set", got.SignCount, got.LastUsedAt)
		}
		// The same assertion again: refused, its challenge was used.
		_, err = h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, resp, "192.0.2.1")
		wantMFAError(t, "FinishPasskeySignIn(replay)", err, latch.KindUnauthenticated, latch.CodeInvalidCredentials)
		// Garbage ceremony and response.
		_, err = h.Accounts.FinishPasskeySignIn(ctx, "garbage", resp, "192.0.2.1")
		wantMFAError(t, "FinishPasskeySignIn(garbage ceremony)", err, latch.KindUnauthenticated, latch.CodeInvalidCredentials)
		s2, _ := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		_, err = h.Accounts.FinishPasskeySignIn(ctx, s2.Ceremony, []byte(`{"id":`), "192.0.2.1")
		wantMFAError(t, "FinishPasskeySignIn(garbage response)", err, latch.KindUnauthenticated, latch.CodeInvalidCredentials)
	})
}

func equalSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]bool{}
	for _, x := range a {
		m[x] = true
	}
	for _, x := range b {
		if !m[x] {
			return false
		}
	}
	return true
}

// pendingToken starts a pending sign-in session for user (the only scope
// latch.ScopeMFAPending), as the sign-in flow does, and returns its token.
func pendingToken(t *testing.T, h *testenv.Harness, user latch.User) string {
	t.Helper()
	now := h.Clock.Now()
	sess := latch.Session{ID: newUUID(t), UserID: user.ID, Kind: latch.KindSession, Scopes: []string{latch.ScopeMFAPending},
		CreatedAt: now, ExpiresAt: now.Add(account.MFATokenTTL)}
	if err := h.Store.CreateSession(t.Context(), latch.NewSession{Session: sess}); err != nil {
		t.Fatal(err)
	}
	tok, err := h.Keys.Sign(token.Claims{Subject: user.ID, SessionID: sess.ID, Kind: latch.KindSession, Scopes: sess.Scopes, IssuedAt: now, Expiry: sess.ExpiresAt})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func newUUID(t *testing.T) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := []byte("0123456789abcdef")
	var out []byte
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, h[x>>4], h[x&15])
	}
	return string(out)
}

func TestPasskeyAsSecondFactor(t *testing.T) {
	forEachPasskeyBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "passkey-mfa@example.com")
		k, f := registerPasskey(t, h, p)
		other := principal(t, h, "passkey-mfa-other@example.com")
		otherKey, _ := registerPasskey(t, h, other)

		// Only a pending session is an mfa token.
		_, err := h.Accounts.BeginMFAPasskey(ctx, "not-a-token")
		wantMFAError(t, "BeginMFAPasskey(garbage)", err, latch.KindUnauthenticated, latch.CodeInvalidToken)
		_, pair := h.OAuthUser(t, "passkey-mfa-session@example.com")
		_, err = h.Accounts.BeginMFAPasskey(ctx, pair.AccessToken)
		wantMFAError(t, "BeginMFAPasskey(full session)", err, latch.KindUnauthenticated, latch.CodeInvalidToken)

		c, err := h.Accounts.BeginMFAPasskey(ctx, pendingToken(t, h, p.User))
		if err != nil {
			t.Fatalf("BeginMFAPasskey: %v", err)
		}
		o := parseOptions(t, c)
		if len(o.PublicKey.AllowCredentials) != 1 || o.PublicKey.AllowCredentials[0].ID != b64.EncodeToString(k.id) {
			t.Errorf("mfa options = %s; want the user's one passkey allowed", c.Options)
		}
		resp := k.get(t, c)
		got, err := h.Accounts.VerifyPasskeyAssertion(ctx, p.User, c.Ceremony, resp)
		if err != nil || got.ID != f.ID || got.SignCount != 1 {
			t.Fatalf("VerifyPasskeyAssertion = %+v, %v; want the passkey at count 1", got, err)
		}
		// Replayed: the challenge was used.
		_, err = h.Accounts.VerifyPasskeyAssertion(ctx, p.User, c.Ceremony, resp)
		wantMFAError(t, "VerifyPasskeyAssertion(replay)", err, latch.KindInvalid, account.CodeInvalidMFACode)

		// Another user's passkey answering p's ceremony.
		c, err = h.Accounts.BeginStepUpPasskey(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		otherKey.handle = k.handle
		_, err = h.Accounts.VerifyPasskeyAssertion(ctx, p.User, c.Ceremony, otherKey.get(t, c))
		wantMFAError(t, "VerifyPasskeyAssertion(another user's passkey)", err, latch.KindInvalid, account.CodeInvalidMFACode)
		// p's ceremony presented for another user.
		c, _ = h.Accounts.BeginStepUpPasskey(ctx, p)
		_, err = h.Accounts.VerifyPasskeyAssertion(ctx, other.User, c.Ceremony, k.get(t, c))
		wantMFAError(t, "VerifyPasskeyAssertion(ceremony of another user)", err, latch.KindInvalid, account.CodeInvalidMFACode)
		// A sign-in ceremony is not a second-factor one.
		s, _ := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		_, err = h.Accounts.VerifyPasskeyAssertion(ctx, p.User, s.Ceremony, k.get(t, s))
		wantMFAError(t, "VerifyPasskeyAssertion(sign-in ceremony)", err, latch.KindInvalid, account.CodeInvalidMFACode)
		// Without user verification a second factor still passes (UV
		// preferred: the password was the first factor).
		k.noUV = true
		c, _ = h.Accounts.BeginStepUpPasskey(ctx, p)
		if _, err := h.Accounts.VerifyPasskeyAssertion(ctx, p.User, c.Ceremony, k.get(t, c)); err != nil {
			t.Errorf("VerifyPasskeyAssertion(no UV) = %v, want accepted", err)
		}
		// An expired ceremony.
		c, _ = h.Accounts.BeginStepUpPasskey(ctx, p)
		h.Clock.Advance(6 * time.Minute)
		_, err = h.Accounts.VerifyPasskeyAssertion(ctx, p.User, c.Ceremony, k.get(t, c))
		wantMFAError(t, "VerifyPasskeyAssertion(expired)", err, latch.KindInvalid, account.CodeInvalidMFACode)
		if n := auditCount(t, h, latch.AuditMFAFailure, p.User.ID); n < 4 {
			t.Errorf("mfa.failure events = %d, want one per refusal", n)
		}
		// An account without a passkey has nothing to assert.
		_, err = h.Accounts.BeginStepUpPasskey(ctx, principal(t, h, "no-passkey@example.com"))
		wantMFAError(t, "BeginStepUpPasskey(no passkey)", err, latch.KindInvalid, account.CodeNoPasskey)
	})
}

func TestPasskeyWrongOriginAndRPID(t *testing.T) {
	forEachPasskeyBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "passkey-origin@example.com")
		// Registration from another origin, or for another RP id.
		for name, k := range map[string]*softKey{
			"origin": {origin: "https://evil.test"}, "rpId": {rpID: "evil.test"},
			"port": {origin: "https://latch.test:8443"},
		} {
			fresh := newSoftKey(t)
			k.key, k.id = fresh.key, fresh.id
			c, err := h.Accounts.BeginPasskeyRegistration(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.Accounts.FinishPasskeyRegistration(ctx, p, "", c.Ceremony, k.create(t, c))
			wantMFAError(t, "FinishPasskeyRegistration(wrong "+name+")", err, latch.KindInvalid, account.CodeInvalidPasskey)
		}
		if fs, _ := h.Accounts.MyFactors(ctx, p); len(fs) != 0 {
			t.Errorf("refused registrations stored %+v", fs)
		}
		k, f := registerPasskey(t, h, p)
		for _, bad := range []struct {
			name   string
			change func()
		}{
			{"origin", func() { k.origin = "https://evil.test" }},
			{"http origin", func() { k.origin = "http://latch.test" }},
			{"rpId", func() { k.rpID = "evil.test" }},
		} {
			k.origin, k.rpID = "", ""
			bad.change()
			s, _ := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
			_, err := h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, k.get(t, s), "192.0.2.2")
			wantMFAError(t, "FinishPasskeySignIn(wrong "+bad.name+")", err, latch.KindUnauthenticated, latch.CodeInvalidCredentials)
			c, _ := h.Accounts.BeginStepUpPasskey(ctx, p)
			_, err = h.Accounts.VerifyPasskeyAssertion(ctx, p.User, c.Ceremony, k.get(t, c))
			wantMFAError(t, "VerifyPasskeyAssertion(wrong "+bad.name+")", err, latch.KindInvalid, account.CodeInvalidMFACode)
		}
		if got, _ := h.Store.FactorByID(ctx, f.ID); got.SignCount != 0 {
			t.Errorf("refused assertions moved the count to %d", got.SignCount)
		}
		// The right origin still works.
		k.origin, k.rpID = "", ""
		s, _ := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		if _, err := h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, k.get(t, s), "192.0.2.2"); err != nil {
			t.Errorf("FinishPasskeySignIn(right origin) = %v", err)
		}
	})
}

func TestPasskeyCounterBackwards(t *testing.T) {
	forEachPasskeyBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "passkey-clone@example.com")
		k, f := registerPasskey(t, h, p)
		k.count = 4
		s, _ := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		if _, err := h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, k.get(t, s), "192.0.2.3"); err != nil {
			t.Fatal(err)
		}
		// A clone, behind the original: count 3 after 5.
		k.count = 2
		s, _ = h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		_, err := h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, k.get(t, s), "192.0.2.3")
		wantMFAError(t, "FinishPasskeySignIn(counter backwards)", err, latch.KindUnauthenticated, latch.CodeInvalidCredentials)
		// The same count as stored, as a second factor.
		k.count = 4
		c, _ := h.Accounts.BeginStepUpPasskey(ctx, p)
		_, err = h.Accounts.VerifyPasskeyAssertion(ctx, p.User, c.Ceremony, k.get(t, c))
		wantMFAError(t, "VerifyPasskeyAssertion(counter not increased)", err, latch.KindInvalid, account.CodeInvalidMFACode)
		if n := auditCount(t, h, latch.AuditPasskeyClone, p.User.ID); n != 2 {
			t.Errorf("passkey.clone_warning events = %d, want 2", n)
		}
		// The passkey is kept, its count where it was.
		got, err := h.Store.FactorByID(ctx, f.ID)
		if err != nil || got.SignCount != 5 {
			t.Errorf("passkey after clone warnings = %+v, %v; want kept at count 5", got, err)
		}
		// The original, ahead, still signs in.
		k.count = 9
		s, _ = h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		if _, err := h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, k.get(t, s), "192.0.2.3"); err != nil {
			t.Errorf("FinishPasskeySignIn(count ahead) = %v", err)
		}
	})
}

func TestPasskeySignInNeedsUserVerification(t *testing.T) {
	forEachPasskeyBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "passkey-uv@example.com")
		k, _ := registerPasskey(t, h, p)
		k.noUV = true
		s, _ := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		_, err := h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, k.get(t, s), "192.0.2.4")
		wantMFAError(t, "FinishPasskeySignIn(no UV)", err, latch.KindUnauthenticated, latch.CodeInvalidCredentials)
		// A user handle that is not the credential's.
		k.noUV = false
		k.handle = bytes.Repeat([]byte{1}, 32)
		s, _ = h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		_, err = h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, k.get(t, s), "192.0.2.4")
		wantMFAError(t, "FinishPasskeySignIn(wrong user handle)", err, latch.KindUnauthenticated, latch.CodeInvalidCredentials)
		// An unknown credential.
		stranger := newSoftKey(t)
		stranger.handle = k.handle
		s, _ = h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		_, err = h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, stranger.get(t, s), "192.0.2.4")
		wantMFAError(t, "FinishPasskeySignIn(unknown credential)", err, latch.KindUnauthenticated, latch.CodeInvalidCredentials)
		evs, err := h.Store.AuditEvents(ctx, latch.AuditQuery{Action: latch.AuditLoginFailure})
		if err != nil || len(evs) != 3 {
			t.Errorf("login.failure events = %d, %v; want 3", len(evs), err)
		}
	})
}

func TestPasskeySignInFailuresLimitedPerAddress(t *testing.T) {
	forEachPasskeyBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "passkey-limit@example.com")
		k, _ := registerPasskey(t, h, p)
		// LoginFailures is 10 per 10 minutes: ten failures, then the
		// address is refused even with the right passkey.
		for range 10 {
			_, err := h.Accounts.FinishPasskeySignIn(ctx, "garbage", nil, "198.51.100.7")
			wantMFAError(t, "FinishPasskeySignIn(garbage)", err, latch.KindUnauthenticated, latch.CodeInvalidCredentials)
		}
		s, _ := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		_, err := h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, k.get(t, s), "198.51.100.7")
		if !latch.IsKind(err, latch.KindTooMany) {
			t.Errorf("FinishPasskeySignIn after 10 failures = %v, want TooMany", err)
		}
		// Another address is not held back.
		s, _ = h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		if _, err := h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, k.get(t, s), "198.51.100.8"); err != nil {
			t.Errorf("FinishPasskeySignIn(other address) = %v", err)
		}
	})
}

// TestPasskeyReplayWithoutCounter: an authenticator whose count stays 0
// gives no clone signal; the single-use challenge alone refuses a replay.
func TestPasskeyReplayWithoutCounter(t *testing.T) {
	forEachPasskeyBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "passkey-zero@example.com")
		k, f := registerPasskey(t, h, p)
		k.noCounter = true
		s, _ := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
		resp := k.get(t, s)
		if _, err := h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, resp, "192.0.2.5"); err != nil {
			t.Fatalf("FinishPasskeySignIn: %v", err)
		}
		_, err := h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, resp, "192.0.2.5")
		wantMFAError(t, "FinishPasskeySignIn(replay, count 0)", err, latch.KindUnauthenticated, latch.CodeInvalidCredentials)
		c, _ := h.Accounts.BeginStepUpPasskey(ctx, p)
		resp = k.get(t, c)
		if _, err := h.Accounts.VerifyPasskeyAssertion(ctx, p.User, c.Ceremony, resp); err != nil {
			t.Fatalf("VerifyPasskeyAssertion: %v", err)
		}
		_, err = h.Accounts.VerifyPasskeyAssertion(ctx, p.User, c.Ceremony, resp)
		wantMFAError(t, "VerifyPasskeyAssertion(replay, count 0)", err, latch.KindInvalid, account.CodeInvalidMFACode)
		// Count 0 throughout is not a clone warning.
		if n := auditCount(t, h, latch.AuditPasskeyClone, p.User.ID); n != 0 {
			t.Errorf("passkey.clone_warning events = %d, want 0", n)
		}
		if got, _ := h.Store.FactorByID(ctx, f.ID); got.SignCount != 0 || got.LastUsedAt == nil {
			t.Errorf("passkey = %+v; want count 0, used", got)
		}
	})
}

// TestPasskeyChallengesPurged: the janitor deletes expired ceremonies'
// challenges with the other one-time codes.
func TestPasskeyChallengesPurged(t *testing.T) {
	forEachPasskeyBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		for range 3 {
			if _, err := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1"); err != nil {
				t.Fatal(err)
			}
		}
		h.Clock.Advance(6 * time.Minute)
		if _, err := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.PurgeEndedSessions(ctx, 7*24*time.Hour); err != nil {
			t.Fatal(err)
		}
		if n, err := h.Store.PurgeWebAuthnChallenges(ctx, h.Clock.Now(), 100); err != nil || n != 0 {
			t.Errorf("expired challenges left after the janitor: %d, %v", n, err)
		}
		// The live one was kept.
		if n, err := h.Store.PurgeWebAuthnChallenges(ctx, h.Clock.Now().Add(10*time.Minute), 100); err != nil || n != 1 {
			t.Errorf("live challenges purged: %d left, %v; want 1", n, err)
		}
	})
}

// TestPasskeySignInBeginLimited: asking for passwordless options costs a
// stored challenge, so an address may ask only as often as it may sign in;
// another address is unaffected.
func TestPasskeySignInBeginLimited(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			cfg := account.DefaultConfig()
			cfg.PublicURL = passkeyPublicURL
			cfg.LoginPerIP = ratelimit.Rule{Limit: 3, Per: time.Hour}
			h := testenv.NewHarnessWithConfig(t, b.Open(t), cfg)
			ctx := t.Context()
			for i := range 3 {
				if _, err := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.7"); err != nil {
					t.Fatalf("request %d: %v", i+1, err)
				}
			}
			if _, err := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.7"); !latch.IsKind(err, latch.KindTooMany) {
				t.Fatalf("a fourth request from the address: %v, want too many", err)
			}
			if _, err := h.Accounts.BeginPasskeySignIn(ctx, "198.51.100.9"); err != nil {
				t.Fatalf("another address: %v", err)
			}
		})
	}
}

// TestPasswordlessSignInRules: a passkey that signs in alone is held to
// the rules of every other sign-in: an administrator's
// change_at_next_login gives only the password-change token, and a
// tenant that no longer allows passkeys refuses them.
func TestPasswordlessSignInRules(t *testing.T) {
	forEachPasskeyBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "passkey-rules@example.com")
		k, _ := registerPasskey(t, h, p)
		signIn := func() (account.TokenPair, error) {
			s, err := h.Accounts.BeginPasskeySignIn(ctx, "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			return h.Accounts.FinishPasskeySignIn(ctx, s.Ceremony, k.get(t, s), "192.0.2.1")
		}

		pw := "a new password for the admin to set"
		if err := h.Accounts.AdminSetPassword(ctx, account.Operator(""), account.AdminSetPasswordInput{
			User: account.UserRef{ID: p.User.ID}, Password: &pw, Confirmation: &pw, ChangeAtNextLogin: true,
		}); err != nil {
			t.Fatal(err)
		}
		pair, err := signIn()
		wantMFAError(t, "FinishPasskeySignIn(password must change)", err, latch.KindForbidden, latch.CodePasswordChangeRequired)
		if !slices.Equal(pair.Scopes, []string{latch.ScopePasswordChange}) || pair.RefreshToken != "" {
			t.Errorf("passkey sign-in of an account whose password must change: %+v; want only the password:change token", pair)
		}

		if err := h.Accounts.AdminSetPassword(ctx, account.Operator(""), account.AdminSetPasswordInput{
			User: account.UserRef{ID: p.User.ID}, Password: &pw, Confirmation: &pw,
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := signIn(); err != nil {
			t.Fatalf("passkey sign-in once the password may stay: %v", err)
		}
		totpOnly := []string{"totp", "recovery_code"}
		if _, err := h.Accounts.SetFactorPolicy(ctx, account.Operator(""), account.FactorPolicyChange{Allowed: &totpOnly}); err != nil {
			t.Fatal(err)
		}
		_, err = signIn()
		wantMFAError(t, "FinishPasskeySignIn(passkeys not allowed)", err, latch.KindUnauthenticated, latch.CodeInvalidCredentials)
	})
}

// TestRecoveryCodeHonoursPolicy: a tenant that does not allow recovery
// codes neither offers nor accepts them at the factor step.
func TestRecoveryCodeHonoursPolicy(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		email := "recovery-policy@example.com"
		p, _ := mfaUser(t, h, email)
		codes, err := h.Accounts.RegenerateRecoveryCodes(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		totpOnly := []string{"totp"}
		if _, err := h.Accounts.SetFactorPolicy(ctx, account.Operator(""), account.FactorPolicyChange{Allowed: &totpOnly}); err != nil {
			t.Fatal(err)
		}
		pending := pendingLogin(t, h, email)
		if c, err := h.Accounts.MFAChallengeOf(ctx, pending.AccessToken); err != nil || slices.Contains(c.Factors, account.FactorRecoveryCode) {
			t.Errorf("MFAChallengeOf = %+v, %v; want no recovery_code under a policy without it", c, err)
		}
		_, err = h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{RecoveryCode: codes[0]}, "")
		wantMFAError(t, "CompleteMFA(recovery code, not allowed)", err, latch.KindUnauthenticated, account.CodeInvalidMFACode)
	})
}
