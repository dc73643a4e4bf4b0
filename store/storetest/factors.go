package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/latchid/latch"
)

// The conformance tests of latch.FactorStore: second factors and
// recovery codes.

var factorTests = []struct {
	name string
	fn   func(t *testing.T, st latch.Store)
}{
	{"Factor/RoundTrip", testFactorRoundTrip},
	{"Factor/Invalid", testFactorInvalid},
	{"Factor/Confirm", testConfirmFactor},
	{"Factor/Delete", testDeleteFactor},
	{"Factor/Cascade", testFactorCascade},
	{"Factor/TOTPStep", testUseTOTPStep},
	{"Factor/TOTPStepConcurrent", testUseTOTPStepConcurrent},
	{"Recovery/Replace", testReplaceRecoveryCodes},
	{"Recovery/UseOnce", testUseRecoveryCode},
	{"Recovery/UseConcurrent", testUseRecoveryCodeConcurrent},
	{"Passkey/RoundTrip", testPasskeyRoundTrip},
	{"Passkey/Invalid", testPasskeyInvalid},
	{"Passkey/Counter", testUpdatePasskeyUse},
	{"Passkey/CounterConcurrent", testUpdatePasskeyUseConcurrent},
	{"WebAuthnChallenge/ConsumeOnce", testWebAuthnChallenge},
	{"WebAuthnChallenge/ConsumeConcurrent", testWebAuthnChallengeConcurrent},
	{"WebAuthnChallenge/Purge", testPurgeWebAuthnChallenges},
	{"Factor/Reset", testResetFactors},
	{"Tenant/FactorPolicy", testTenantFactorPolicy},
	{"Keys/DataKeys", testDataKeys},
}

func newFactor(t *testing.T, userID string) latch.Factor {
	return latch.Factor{
		ID: newID(t), UserID: userID, Kind: latch.FactorTOTP, Name: "Phone",
		Secret: []byte("sealed\x00secret"), CreatedAt: at(0),
	}
}

func createConfirmedFactor(t *testing.T, st latch.Store, userID string) latch.Factor {
	t.Helper()
	f := newFactor(t, userID)
	if err := st.CreateFactor(t.Context(), f, nil); err != nil {
		t.Fatalf("CreateFactor: %v", err)
	}
	if err := st.ConfirmFactor(t.Context(), f.ID, 10, at(1), nil); err != nil {
		t.Fatalf("ConfirmFactor: %v", err)
	}
	return f
}

func factor(t *testing.T, st latch.Store, id string) latch.Factor {
	t.Helper()
	f, err := st.FactorByID(t.Context(), id)
	if err != nil {
		t.Fatalf("FactorByID(%s): %v", id, err)
	}
	checkTimes(t, "Factor", f)
	return f
}

func testFactorRoundTrip(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "factor@example.com")
	f := newFactor(t, strings.ToUpper(u.ID))
	f.Name = "Phone ✓"
	f.ID = strings.ToUpper(f.ID)
	if err := st.CreateFactor(ctx, f, auditEvent(latch.AuditFactorEnrol, u.ID, 0)); err != nil {
		t.Fatalf("CreateFactor: %v", err)
	}
	want := f
	want.ID, want.UserID, want.CreatedAt = strings.ToLower(f.ID), u.ID, stored(f.CreatedAt)
	equal(t, "FactorByID", factor(t, st, f.ID), want)
	if n := auditCount(t, st, latch.AuditFactorEnrol, u.ID); n != 1 {
		t.Errorf("factor.enrol events = %d, want 1", n)
	}
	// A second factor, and one of another user: FactorsByUser lists the
	// user's, oldest first.
	g := newFactor(t, u.ID)
	g.CreatedAt = at(5)
	if err := st.CreateFactor(ctx, g, nil); err != nil {
		t.Fatalf("CreateFactor(second): %v", err)
	}
	other := createUser(t, st, "other-factor@example.com")
	if err := st.CreateFactor(ctx, newFactor(t, other.ID), nil); err != nil {
		t.Fatalf("CreateFactor(other user): %v", err)
	}
	got, err := st.FactorsByUser(ctx, u.ID)
	if err != nil {
		t.Fatalf("FactorsByUser: %v", err)
	}
	if len(got) != 2 || got[0].ID != want.ID || got[1].ID != g.ID {
		t.Errorf("FactorsByUser = %+v, want %s then %s", got, want.ID, g.ID)
	}
	// The same id again is Conflict, and writes no second audit event.
	wantError(t, st.CreateFactor(ctx, f, auditEvent(latch.AuditFactorEnrol, u.ID, 1)), latch.KindConflict, latch.CodeAlreadyExists)
	if n := auditCount(t, st, latch.AuditFactorEnrol, u.ID); n != 1 {
		t.Errorf("factor.enrol events after a conflict = %d, want 1", n)
	}
	if fs, err := st.FactorsByUser(ctx, newID(t)); err != nil || len(fs) != 0 {
		t.Errorf("FactorsByUser(unknown) = %v, %v; want none", fs, err)
	}
	if fs, err := st.FactorsByUser(ctx, "not-a-uuid"); err != nil || len(fs) != 0 {
		t.Errorf("FactorsByUser(garbage) = %v, %v; want none", fs, err)
	}
	_, err = st.FactorByID(ctx, newID(t))
	wantNotFound(t, err)
	_, err = st.FactorByID(ctx, "not-a-uuid")
	wantNotFound(t, err)
}

func testFactorInvalid(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "factor-invalid@example.com")
	for name, change := range map[string]func(*latch.Factor){
		"no secret":    func(f *latch.Factor) { f.Secret = nil },
		"no name":      func(f *latch.Factor) { f.Name = "" },
		"long name":    func(f *latch.Factor) { f.Name = strings.Repeat("n", 101) },
		"NUL in name":  func(f *latch.Factor) { f.Name = "a\x00b" },
		"unknown kind": func(f *latch.Factor) { f.Kind = "sms" },
		"bad id":       func(f *latch.Factor) { f.ID = "x" },
	} {
		f := newFactor(t, u.ID)
		change(&f)
		err := st.CreateFactor(ctx, f, nil)
		var le *latch.Error
		if !errors.As(err, &le) || le.Kind != latch.KindInvalid {
			t.Errorf("CreateFactor(%s) = %v, want Invalid", name, err)
		}
	}
	wantNotFound(t, st.CreateFactor(ctx, newFactor(t, newID(t)), nil))
	if fs, _ := st.FactorsByUser(ctx, u.ID); len(fs) != 0 {
		t.Errorf("refused factors were stored: %+v", fs)
	}
}

func testConfirmFactor(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "factor-confirm@example.com")
	f := newFactor(t, u.ID)
	if err := st.CreateFactor(ctx, f, nil); err != nil {
		t.Fatal(err)
	}
	// Unconfirmed: no step is accepted.
	wantError(t, st.UseTOTPStep(ctx, f.ID, 5, at(1)), latch.KindConflict, latch.CodeFactorStepUsed)
	if err := st.ConfirmFactor(ctx, f.ID, 7, at(2), auditEvent(latch.AuditFactorConfirm, u.ID, 2)); err != nil {
		t.Fatalf("ConfirmFactor: %v", err)
	}
	got := factor(t, st, f.ID)
	if got.ConfirmedAt == nil || !got.ConfirmedAt.Equal(stored(at(2))) || got.LastStep != 7 {
		t.Errorf("confirmed factor = %+v, want ConfirmedAt %v and LastStep 7", got, stored(at(2)))
	}
	// The confirming code's step is used.
	wantError(t, st.UseTOTPStep(ctx, f.ID, 7, at(3)), latch.KindConflict, latch.CodeFactorStepUsed)
	wantError(t, st.ConfirmFactor(ctx, f.ID, 9, at(3), auditEvent(latch.AuditFactorConfirm, u.ID, 3)),
		latch.KindConflict, latch.CodeFactorConfirmed)
	if n := auditCount(t, st, latch.AuditFactorConfirm, u.ID); n != 1 {
		t.Errorf("factor.confirm events = %d, want 1", n)
	}
	wantNotFound(t, st.ConfirmFactor(ctx, newID(t), 1, at(3), nil))
}

func testDeleteFactor(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "factor-delete@example.com")
	other := createUser(t, st, "factor-delete-other@example.com")
	f := createConfirmedFactor(t, st, u.ID)
	// Another user cannot delete it.
	wantNotFound(t, st.DeleteFactor(ctx, other.ID, f.ID, auditEvent(latch.AuditFactorRemove, other.ID, 1)))
	factor(t, st, f.ID)
	if err := st.DeleteFactor(ctx, u.ID, f.ID, auditEvent(latch.AuditFactorRemove, u.ID, 1)); err != nil {
		t.Fatalf("DeleteFactor: %v", err)
	}
	_, err := st.FactorByID(ctx, f.ID)
	wantNotFound(t, err)
	wantNotFound(t, st.DeleteFactor(ctx, u.ID, f.ID, auditEvent(latch.AuditFactorRemove, u.ID, 2)))
	if n := auditCount(t, st, latch.AuditFactorRemove, u.ID) + auditCount(t, st, latch.AuditFactorRemove, other.ID); n != 1 {
		t.Errorf("factor.remove events = %d, want 1", n)
	}
}

func testFactorCascade(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "factor-cascade@example.com")
	f := createConfirmedFactor(t, st, u.ID)
	if err := st.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{[]byte("h1")}, at(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteUser(ctx, u.ID, nil); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err := st.FactorByID(ctx, f.ID)
	wantNotFound(t, err)
	if cs, err := st.RecoveryCodes(ctx, u.ID); err != nil || len(cs) != 0 {
		t.Errorf("RecoveryCodes after DeleteUser = %v, %v; want none", cs, err)
	}
}

func testUseTOTPStep(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "factor-step@example.com")
	f := createConfirmedFactor(t, st, u.ID) // LastStep 10
	for _, step := range []int64{9, 10} {
		wantError(t, st.UseTOTPStep(ctx, f.ID, step, at(2)), latch.KindConflict, latch.CodeFactorStepUsed)
	}
	if err := st.UseTOTPStep(ctx, f.ID, 11, at(2)); err != nil {
		t.Fatalf("UseTOTPStep(11): %v", err)
	}
	got := factor(t, st, f.ID)
	if got.LastStep != 11 || got.LastUsedAt == nil || !got.LastUsedAt.Equal(stored(at(2))) {
		t.Errorf("after UseTOTPStep(11): %+v", got)
	}
	wantError(t, st.UseTOTPStep(ctx, f.ID, 11, at(3)), latch.KindConflict, latch.CodeFactorStepUsed)
	// An earlier step after a later one (skew) is a replay too.
	if err := st.UseTOTPStep(ctx, f.ID, 13, at(3)); err != nil {
		t.Fatal(err)
	}
	wantError(t, st.UseTOTPStep(ctx, f.ID, 12, at(3)), latch.KindConflict, latch.CodeFactorStepUsed)
	wantNotFound(t, st.UseTOTPStep(ctx, newID(t), 100, at(3)))
	wantNotFound(t, st.UseTOTPStep(ctx, "x", 100, at(3)))
}

// testUseTOTPStepConcurrent: one step offered by many replicas at once is
// accepted exactly once.
func testUseTOTPStepConcurrent(t *testing.T, st latch.Store) {
	u := createUser(t, st, "factor-race@example.com")
	f := createConfirmedFactor(t, st, u.ID)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = st.UseTOTPStep(t.Context(), f.ID, 50, at(2)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantError(t, err, latch.KindConflict, latch.CodeFactorStepUsed)
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent UseTOTPStep succeeded, want exactly 1", won, n)
	}
}

func recoveryHashes(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, "%s-%d", prefix, i)
	}
	return out
}

func testReplaceRecoveryCodes(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "recovery-replace@example.com")
	old := recoveryHashes("old", 10)
	if err := st.ReplaceRecoveryCodes(ctx, u.ID, old, at(1), auditEvent(latch.AuditRecoveryRegenerate, u.ID, 1)); err != nil {
		t.Fatalf("ReplaceRecoveryCodes: %v", err)
	}
	if err := st.UseRecoveryCode(ctx, u.ID, old[0], at(2), nil, nil); err != nil {
		t.Fatalf("UseRecoveryCode: %v", err)
	}
	fresh := recoveryHashes("new", 10)
	if err := st.ReplaceRecoveryCodes(ctx, u.ID, fresh, at(3), auditEvent(latch.AuditRecoveryRegenerate, u.ID, 3)); err != nil {
		t.Fatalf("ReplaceRecoveryCodes(again): %v", err)
	}
	codes, err := st.RecoveryCodes(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 10 {
		t.Fatalf("RecoveryCodes = %d codes, want 10", len(codes))
	}
	for _, c := range codes {
		checkTimes(t, "RecoveryCode", c)
		if c.UsedAt != nil || !bytes.HasPrefix(c.Hash, []byte("new-")) || !c.CreatedAt.Equal(stored(at(3))) {
			t.Errorf("code after regeneration = %+v", c)
		}
	}
	// The old set is gone, used or not.
	for _, h := range old[:2] {
		wantNotFound(t, st.UseRecoveryCode(ctx, u.ID, h, at(4), nil, nil))
	}
	if n := auditCount(t, st, latch.AuditRecoveryRegenerate, u.ID); n != 2 {
		t.Errorf("recovery.regenerate events = %d, want 2", n)
	}
	// Refusals write nothing.
	wantError(t, st.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{[]byte("a"), []byte("a")}, at(5), nil), latch.KindInvalid, latch.CodeInvalidRequest)
	wantError(t, st.ReplaceRecoveryCodes(ctx, u.ID, [][]byte{{}}, at(5), nil), latch.KindInvalid, latch.CodeInvalidRequest)
	wantNotFound(t, st.ReplaceRecoveryCodes(ctx, newID(t), fresh, at(5), nil))
	if codes, _ := st.RecoveryCodes(ctx, u.ID); len(codes) != 10 {
		t.Errorf("a refused replacement changed the set: %d codes", len(codes))
	}
}

func testUseRecoveryCode(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "recovery-use@example.com")
	other := createUser(t, st, "recovery-other@example.com")
	hashes := recoveryHashes("code", 3)
	if err := st.ReplaceRecoveryCodes(ctx, u.ID, hashes, at(1), nil); err != nil {
		t.Fatal(err)
	}
	// Another user's code is not this user's.
	refusedNotice := newMail(t, "other@example.com", 2)
	wantNotFound(t, st.UseRecoveryCode(ctx, other.ID, hashes[0], at(2), auditEvent(latch.AuditRecoveryUse, other.ID, 2), &refusedNotice))
	notice := newMail(t, "recovery-use@example.com", 2)
	if err := st.UseRecoveryCode(ctx, u.ID, hashes[0], at(2), auditEvent(latch.AuditRecoveryUse, u.ID, 2), &notice); err != nil {
		t.Fatalf("UseRecoveryCode: %v", err)
	}
	replayNotice := newMail(t, "recovery-use@example.com", 3)
	wantNotFound(t, st.UseRecoveryCode(ctx, u.ID, hashes[0], at(3), auditEvent(latch.AuditRecoveryUse, u.ID, 3), &replayNotice))
	// The notice of the use is queued with it; those of refusals are not.
	queued, err := st.MailMessages(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 1 || queued[0].ID != notice.ID {
		t.Errorf("outbox after one use and two refusals = %+v, want only %s", queued, notice.ID)
	}
	wantNotFound(t, st.UseRecoveryCode(ctx, u.ID, []byte("unknown"), at(3), nil, nil))
	if n := auditCount(t, st, latch.AuditRecoveryUse, u.ID) + auditCount(t, st, latch.AuditRecoveryUse, other.ID); n != 1 {
		t.Errorf("recovery.use events = %d, want 1", n)
	}
	if err := st.UseRecoveryCode(ctx, u.ID, hashes[1], at(4), nil, nil); err != nil {
		t.Fatalf("UseRecoveryCode(second code): %v", err)
	}
	used := 0
	codes, _ := st.RecoveryCodes(ctx, u.ID)
	for _, c := range codes {
		if c.UsedAt != nil {
			used++
		}
	}
	if used != 2 || len(codes) != 3 {
		t.Errorf("%d of %d codes used, want 2 of 3", used, len(codes))
	}
}

// testUseRecoveryCodeConcurrent: one code offered many times at once is
// accepted exactly once.
func testUseRecoveryCodeConcurrent(t *testing.T, st latch.Store) {
	u := createUser(t, st, "recovery-race@example.com")
	hashes := recoveryHashes("race", 2)
	if err := st.ReplaceRecoveryCodes(t.Context(), u.ID, hashes, at(1), nil); err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = st.UseRecoveryCode(t.Context(), u.ID, hashes[0], at(2), auditEvent(latch.AuditRecoveryUse, u.ID, 2), nil)
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantNotFound(t, err)
	}
	if won != 1 {
		t.Errorf("%d of %d concurrent UseRecoveryCode succeeded, want exactly 1", won, n)
	}
	if n := auditCount(t, st, latch.AuditRecoveryUse, u.ID); n != 1 {
		t.Errorf("recovery.use events = %d, want 1", n)
	}
}

// testResetFactors: every factor and recovery code of one user goes in
// one write, with its event and notice; other users keep theirs; an
// unknown user or an invalid notice writes nothing.
func testResetFactors(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "reset@example.com")
	other := createUser(t, st, "reset-other@example.com")
	createConfirmedFactor(t, st, u.ID)
	if err := st.CreateFactor(ctx, newFactor(t, u.ID), nil); err != nil { // unconfirmed
		t.Fatal(err)
	}
	kept := createConfirmedFactor(t, st, other.ID)
	if err := st.ReplaceRecoveryCodes(ctx, u.ID, recoveryHashes("reset", 3), at(1), nil); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceRecoveryCodes(ctx, other.ID, recoveryHashes("reset", 3), at(1), nil); err != nil {
		t.Fatal(err)
	}
	countOf := func(userID string) (int, int) {
		fs, err := st.FactorsByUser(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := st.RecoveryCodes(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		return len(fs), len(cs)
	}
	// An invalid notice is refused before anything is written.
	bad := newMail(t, "reset@example.com", 2)
	bad.To = ""
	if _, err := st.ResetFactors(ctx, u.ID, auditEvent(latch.AuditFactorsReset, u.ID, 2), &bad); err == nil {
		t.Error("ResetFactors with a notice without an address succeeded")
	}
	if f, c := countOf(u.ID); f != 2 || c != 3 {
		t.Fatalf("after a refused reset: %d factors, %d codes; want 2 and 3", f, c)
	}
	n, err := st.ResetFactors(ctx, newID(t), auditEvent(latch.AuditFactorsReset, u.ID, 2), nil)
	wantNotFound(t, err)
	if n != 0 {
		t.Errorf("ResetFactors(unknown user) = %d", n)
	}
	notice := newMail(t, "reset@example.com", 2)
	n, err = st.ResetFactors(ctx, u.ID, auditEvent(latch.AuditFactorsReset, u.ID, 2), &notice)
	if err != nil || n != 2 {
		t.Fatalf("ResetFactors = %d, %v; want 2 factors", n, err)
	}
	if f, c := countOf(u.ID); f != 0 || c != 0 {
		t.Errorf("after the reset: %d factors, %d codes; want none", f, c)
	}
	if f, c := countOf(other.ID); f != 1 || c != 3 {
		t.Errorf("another user after the reset: %d factors, %d codes; want 1 and 3", f, c)
	}
	if got := factor(t, st, kept.ID); got.UserID != other.ID {
		t.Errorf("another user's factor: %+v", got)
	}
	queued, err := st.MailMessages(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 1 || queued[0].ID != notice.ID {
		t.Errorf("outbox after one reset and two refusals = %+v, want only %s", queued, notice.ID)
	}
	if got := auditCount(t, st, latch.AuditFactorsReset, u.ID); got != 1 {
		t.Errorf("factors.reset events = %d, want 1", got)
	}
	// Nothing left to delete: still the administrator's act, recorded.
	if n, err := st.ResetFactors(ctx, u.ID, auditEvent(latch.AuditFactorsReset, u.ID, 3), nil); err != nil || n != 0 {
		t.Errorf("a second ResetFactors = %d, %v; want 0", n, err)
	}
	if got := auditCount(t, st, latch.AuditFactorsReset, u.ID); got != 2 {
		t.Errorf("factors.reset events = %d, want 2", got)
	}
}
