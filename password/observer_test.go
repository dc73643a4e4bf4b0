package password_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/password"
)

// recorder is a password.Observer that keeps what it is told.
type recorder struct {
	mu      sync.Mutex
	waited  []time.Duration
	refused []string
	ran     []string
}

func (r *recorder) SlotWaited(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waited = append(r.waited, d)
}

func (r *recorder) SlotRefused(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refused = append(r.refused, reason)
}

func (r *recorder) Ran(op string, d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d <= 0 {
		op += " (no duration)"
	}
	r.ran = append(r.ran, op)
}

func (r *recorder) take() (waited []time.Duration, refused, ran []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	waited, refused, ran = r.waited, r.refused, r.ran
	r.waited, r.refused, r.ran = nil, nil, nil
	return
}

// TestHasherObserver checks what a Hasher tells its observer: each
// operation with its duration, each slot it got and how long it waited,
// each refusal and why; and that Waiting and InUse report the queue and
// the slots as they are.
func TestHasherObserver(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	h, err := password.NewHasher(lowParams, 1, time.Minute, password.WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := h.Hash(ctx, "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.Verify(ctx, "pw", enc); err != nil {
		t.Fatal(err)
	}
	if err := h.VerifyDummy(ctx, "pw"); err != nil {
		t.Fatal(err)
	}
	waited, refused, ran := rec.take()
	if want := []string{password.OpHash, password.OpVerify, password.OpVerify}; !slices.Equal(ran, want) {
		t.Errorf("ran %q, want %q (each with a duration)", ran, want)
	}
	if !slices.Equal(waited, []time.Duration{0, 0, 0}) || len(refused) != 0 {
		t.Errorf("with a free slot: waited %v, refused %q; want three waits of 0 and no refusal", waited, refused)
	}

	// One call queued behind a held slot: counted as waiting until it
	// gets the slot, and its wait reported then.
	release, err := h.HoldSlot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.InUse() != 1 || h.Waiting() != 0 {
		t.Fatalf("slot held: InUse %d, Waiting %d; want 1, 0", h.InUse(), h.Waiting())
	}
	rec.take() // HoldSlot's own
	done := make(chan error, 1)
	go func() { _, err := h.Hash(ctx, "queued"); done <- err }()
	for deadline := time.Now().Add(10 * time.Second); h.Waiting() != 1; {
		if time.Now().After(deadline) {
			t.Fatalf("Waiting = %d, want 1 while a hash waits for the held slot", h.Waiting())
		}
		time.Sleep(time.Millisecond) // polling for a state, not timing anything
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.VerifyDummy(canceled, "pw"); err == nil {
		t.Fatal("VerifyDummy with a canceled context succeeded")
	}
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if h.Waiting() != 0 || h.InUse() != 0 {
		t.Fatalf("after: Waiting %d, InUse %d; want 0, 0", h.Waiting(), h.InUse())
	}
	waited, refused, ran = rec.take()
	if len(waited) != 1 || waited[0] <= 0 || !slices.Equal(ran, []string{password.OpHash}) {
		t.Errorf("the queued hash: waited %v, ran %q; want one wait over 0 and one hash", waited, ran)
	}
	if !slices.Equal(refused, []string{password.RefusedCanceled}) {
		t.Errorf("refused %q, want [%s]", refused, password.RefusedCanceled)
	}

	// No slot and no queue: refused as full, at once.
	full, err := password.NewHasher(lowParams, 1, 0, password.WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	release, err = full.HoldSlot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	rec.take()
	if _, err := full.Hash(ctx, "pw"); err == nil {
		t.Fatal("Hash without a slot succeeded")
	}
	if _, refused, ran := rec.take(); !slices.Equal(refused, []string{password.RefusedQueueFull}) || len(ran) != 0 {
		t.Errorf("full: refused %q, ran %q; want [%s] and nothing run", refused, ran, password.RefusedQueueFull)
	}
}

// TestHasherWithoutObserver: a nil observer is nobody, not a panic.
func TestHasherWithoutObserver(t *testing.T) {
	h, err := password.NewHasher(lowParams, 1, 0, password.WithObserver(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Fatal(err)
	}
}
