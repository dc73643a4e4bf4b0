package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/latchid/latch"
)

// The conformance tests of passkeys (factors of kind webauthn) and of the
// single-use WebAuthn challenges.

func newPasskey(t *testing.T, userID string, credID string) latch.Factor {
	return latch.Factor{
		ID: newID(t), UserID: userID, Kind: latch.FactorWebAuthn, Name: "Laptop",
		CreatedAt: at(0), ConfirmedAt: storedPtr(at(0)),
		CredentialID: []byte(credID), PublicKey: []byte("cose\x00key"), AttestationType: "none",
		AAGUID: bytes.Repeat([]byte{7}, 16), SignCount: 5, Transports: []string{"internal", "hybrid"},
		BackupEligible: true, BackupState: true, UserHandle: bytes.Repeat([]byte{0xab}, 32),
	}
}

func testPasskeyRoundTrip(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "passkey@example.com")
	f := newPasskey(t, u.ID, "cred\x00one")
	if err := st.CreateFactor(ctx, f, nil); err != nil {
		t.Fatalf("CreateFactor(passkey): %v", err)
	}
	want := f
	want.CreatedAt = stored(f.CreatedAt)
	equal(t, "FactorByID", factor(t, st, f.ID), want)
	got, err := st.FactorByCredentialID(ctx, []byte("cred\x00one"))
	if err != nil {
		t.Fatalf("FactorByCredentialID: %v", err)
	}
	equal(t, "FactorByCredentialID", got, want)
	// A TOTP factor beside it has no credential: several such rows do not
	// collide on the unique credential id.
	for range 2 {
		if err := st.CreateFactor(ctx, newFactor(t, u.ID), nil); err != nil {
			t.Fatalf("CreateFactor(totp): %v", err)
		}
	}
	// The same credential id again, even for another user, is Conflict.
	other := createUser(t, st, "passkey-other@example.com")
	wantError(t, st.CreateFactor(ctx, newPasskey(t, other.ID, "cred\x00one"), nil), latch.KindConflict, latch.CodeAlreadyExists)
	if fs, _ := st.FactorsByUser(ctx, other.ID); len(fs) != 0 {
		t.Errorf("a passkey with a taken credential id was stored: %+v", fs)
	}
	for _, id := range [][]byte{nil, []byte("cred"), []byte("cred\x00ONE"), bytes.Repeat([]byte{1}, 2000)} {
		_, err := st.FactorByCredentialID(ctx, id)
		wantNotFound(t, err)
	}
}

func testPasskeyInvalid(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "passkey-invalid@example.com")
	for name, change := range map[string]func(*latch.Factor){
		"no credential id":   func(f *latch.Factor) { f.CredentialID = nil },
		"long credential id": func(f *latch.Factor) { f.CredentialID = bytes.Repeat([]byte{1}, 1024) },
		"no public key":      func(f *latch.Factor) { f.PublicKey = nil },
		"no user handle":     func(f *latch.Factor) { f.UserHandle = nil },
		"long user handle":   func(f *latch.Factor) { f.UserHandle = bytes.Repeat([]byte{1}, 65) },
		"comma in transport": func(f *latch.Factor) { f.Transports = []string{"usb,nfc"} },
		"empty transport":    func(f *latch.Factor) { f.Transports = []string{""} },
	} {
		err := st.CreateFactor(ctx, func() latch.Factor { f := newPasskey(t, u.ID, "c-"+name); change(&f); return f }(), nil)
		wantKind(t, name, err, latch.KindInvalid)
	}
	if fs, _ := st.FactorsByUser(ctx, u.ID); len(fs) != 0 {
		t.Errorf("refused passkeys were stored: %+v", fs)
	}
}

func wantKind(t *testing.T, what string, err error, kind latch.Kind) {
	t.Helper()
	var le *latch.Error
	if !asError(err, &le) || le.Kind != kind {
		t.Errorf("%s: err = %v, want kind %v", what, err, kind)
	}
}

func testUpdatePasskeyUse(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "passkey-count@example.com")
	f := newPasskey(t, u.ID, "count")
	if err := st.CreateFactor(ctx, f, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.UpdatePasskeyUse(ctx, f.ID, 6, false, at(2)); err != nil {
		t.Fatalf("UpdatePasskeyUse(6): %v", err)
	}
	got := factor(t, st, f.ID)
	if got.SignCount != 6 || got.BackupState || got.LastUsedAt == nil || !got.LastUsedAt.Equal(stored(at(2))) {
		t.Errorf("after a use: count %d, backup %v, last used %v; want 6, false, %v", got.SignCount, got.BackupState, got.LastUsedAt, stored(at(2)))
	}
	// The same count again, or a lower one: a clone warning, nothing
	// written.
	for _, n := range []uint32{6, 3, 0} {
		wantError(t, st.UpdatePasskeyUse(ctx, f.ID, n, true, at(3)), latch.KindConflict, latch.CodePasskeyCounter)
	}
	if got := factor(t, st, f.ID); got.SignCount != 6 || got.BackupState || !got.LastUsedAt.Equal(stored(at(2))) {
		t.Errorf("a refused count was written: %+v", got)
	}
	// A count past 2^31 (a uint32 authenticator counter) round-trips.
	if err := st.UpdatePasskeyUse(ctx, f.ID, 1<<32-1, true, at(4)); err != nil {
		t.Fatalf("UpdatePasskeyUse(max): %v", err)
	}
	if got := factor(t, st, f.ID); got.SignCount != 1<<32-1 {
		t.Errorf("count = %d, want %d", got.SignCount, uint32(1<<32-1))
	}
	// An authenticator without a counter (always 0) is used again and again.
	z := newPasskey(t, u.ID, "zero")
	z.SignCount = 0
	if err := st.CreateFactor(ctx, z, nil); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := st.UpdatePasskeyUse(ctx, z.ID, 0, false, at(5)); err != nil {
			t.Errorf("UpdatePasskeyUse(0 on a counterless passkey): %v", err)
		}
	}
	// Unknown, unconfirmed, or not a passkey: NotFound.
	wantNotFound(t, st.UpdatePasskeyUse(ctx, newID(t), 9, false, at(5)))
	wantNotFound(t, st.UpdatePasskeyUse(ctx, "garbage", 9, false, at(5)))
	un := newPasskey(t, u.ID, "unconfirmed")
	un.ConfirmedAt = nil
	if err := st.CreateFactor(ctx, un, nil); err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, st.UpdatePasskeyUse(ctx, un.ID, 9, false, at(5)))
	totp := createConfirmedFactor(t, st, u.ID)
	wantNotFound(t, st.UpdatePasskeyUse(ctx, totp.ID, 9, false, at(5)))
}

func testUpdatePasskeyUseConcurrent(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "passkey-race@example.com")
	f := newPasskey(t, u.ID, "race")
	if err := st.CreateFactor(ctx, f, nil); err != nil {
		t.Fatal(err)
	}
	// Eight replicas accept an assertion with the same count: one wins.
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = st.UpdatePasskeyUse(ctx, f.ID, 9, false, at(1)) }()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !latch.IsCode(err, latch.CodePasskeyCounter) {
			t.Errorf("UpdatePasskeyUse: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent uses with one count succeeded, want 1", ok, n)
	}
}

func testWebAuthnChallenge(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "challenge@example.com")
	c := latch.WebAuthnChallenge{Hash: []byte("h1"), Purpose: "mfa", UserID: u.ID, CreatedAt: at(0), ExpiresAt: at(5)}
	if err := st.CreateWebAuthnChallenge(ctx, c); err != nil {
		t.Fatalf("CreateWebAuthnChallenge: %v", err)
	}
	wantError(t, st.CreateWebAuthnChallenge(ctx, c), latch.KindConflict, latch.CodeAlreadyExists)
	// Another purpose does not consume it.
	_, err := st.ConsumeWebAuthnChallenge(ctx, []byte("h1"), "signin", at(1))
	wantNotFound(t, err)
	got, err := st.ConsumeWebAuthnChallenge(ctx, []byte("h1"), "mfa", at(1))
	if err != nil {
		t.Fatalf("ConsumeWebAuthnChallenge: %v", err)
	}
	want := c
	want.CreatedAt, want.ExpiresAt, want.UsedAt = stored(at(0)), stored(at(5)), storedPtr(at(1))
	equal(t, "consumed challenge", got, want)
	_, err = st.ConsumeWebAuthnChallenge(ctx, []byte("h1"), "mfa", at(2))
	wantNotFound(t, err)
	// No user (a passwordless sign-in), and expiry.
	if err := st.CreateWebAuthnChallenge(ctx, latch.WebAuthnChallenge{Hash: []byte("h2"), Purpose: "signin", ExpiresAt: at(5)}); err != nil {
		t.Fatalf("CreateWebAuthnChallenge(no user): %v", err)
	}
	_, err = st.ConsumeWebAuthnChallenge(ctx, []byte("h2"), "signin", at(5))
	wantNotFound(t, err)
	if err := st.CreateWebAuthnChallenge(ctx, latch.WebAuthnChallenge{Hash: []byte("h3"), Purpose: "signin", ExpiresAt: at(5)}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.ConsumeWebAuthnChallenge(ctx, []byte("h3"), "signin", at(4)); err != nil || got.UserID != "" {
		t.Errorf("ConsumeWebAuthnChallenge(no user) = %+v, %v", got, err)
	}
	_, err = st.ConsumeWebAuthnChallenge(ctx, nil, "signin", at(4))
	wantNotFound(t, err)
	// Refused challenges.
	wantKind(t, "no hash", st.CreateWebAuthnChallenge(ctx, latch.WebAuthnChallenge{Purpose: "mfa", ExpiresAt: at(5)}), latch.KindInvalid)
	wantKind(t, "no purpose", st.CreateWebAuthnChallenge(ctx, latch.WebAuthnChallenge{Hash: []byte("x"), ExpiresAt: at(5)}), latch.KindInvalid)
	wantKind(t, "no expiry", st.CreateWebAuthnChallenge(ctx, latch.WebAuthnChallenge{Hash: []byte("x"), Purpose: "mfa"}), latch.KindInvalid)
	wantNotFound(t, st.CreateWebAuthnChallenge(ctx, latch.WebAuthnChallenge{Hash: []byte("x"), Purpose: "mfa", UserID: newID(t), ExpiresAt: at(5)}))
}

func testWebAuthnChallengeConcurrent(t *testing.T, st latch.Store) {
	ctx := t.Context()
	if err := st.CreateWebAuthnChallenge(ctx, latch.WebAuthnChallenge{Hash: []byte("race"), Purpose: "signin", ExpiresAt: at(5)}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.ConsumeWebAuthnChallenge(ctx, []byte("race"), "signin", at(1))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("ConsumeWebAuthnChallenge: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent consumes succeeded, want 1", ok, n)
	}
}

func testPurgeWebAuthnChallenges(t *testing.T, st latch.Store) {
	ctx := t.Context()
	for i := range 5 {
		if err := st.CreateWebAuthnChallenge(ctx, latch.WebAuthnChallenge{Hash: fmt.Appendf(nil, "p%d", i), Purpose: "signin", ExpiresAt: at(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Expired before at(3): p0, p1, p2; at most 2 at a time.
	if n, err := st.PurgeWebAuthnChallenges(ctx, at(3), 2); err != nil || n != 2 {
		t.Errorf("PurgeWebAuthnChallenges(limit 2) = %d, %v; want 2", n, err)
	}
	if n, err := st.PurgeWebAuthnChallenges(ctx, at(3), 100); err != nil || n != 1 {
		t.Errorf("PurgeWebAuthnChallenges = %d, %v; want 1", n, err)
	}
	if _, err := st.ConsumeWebAuthnChallenge(ctx, []byte("p4"), "signin", at(3)); err != nil {
		t.Errorf("an unexpired challenge was purged: %v", err)
	}
	if n, _ := st.PurgeWebAuthnChallenges(ctx, at(3), 0); n != 0 {
		t.Errorf("PurgeWebAuthnChallenges(limit 0) = %d", n)
	}
}
