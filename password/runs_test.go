package password_test

import (
	"context"
	"testing"
)

// TestRunsCountsEveryComputation: Runs is what account's tests compare to
// prove two sign-in paths cost the same, so it must count Hash, Verify and
// VerifyDummy alike, one each, and nothing for a call refused a slot.
func TestRunsCountsEveryComputation(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, 1, 0)
	enc, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if n := h.Runs(); n != 1 {
		t.Fatalf("after one Hash, Runs = %d, want 1", n)
	}
	if _, _, err := h.Verify(ctx, "not pw", enc); err != nil {
		t.Fatal(err)
	}
	if err := h.VerifyDummy(ctx, "pw"); err != nil {
		t.Fatal(err)
	}
	if n := h.Runs(); n != 3 {
		t.Fatalf("after Hash, Verify and VerifyDummy, Runs = %d, want 3", n)
	}
	release, err := h.HoldSlot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if err := h.VerifyDummy(ctx, "pw"); err == nil {
		t.Fatal("VerifyDummy ran with the only slot held")
	}
	if n := h.Runs(); n != 3 {
		t.Fatalf("a refused call counted: Runs = %d, want 3", n)
	}
}
