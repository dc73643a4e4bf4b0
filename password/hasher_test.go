package password_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

func newHasher(t *testing.T, slots int, queueTimeout time.Duration) *password.Hasher {
	t.Helper()
	h, err := password.NewHasher(lowParams, slots, queueTimeout)
	if err != nil {
		t.Fatalf("NewHasher: %v", err)
	}
	return h
}

func TestNewHasher(t *testing.T) {
	h := newHasher(t, 3, time.Second)
	if h.Params() != lowParams || h.Slots() != 3 {
		t.Fatalf("Params, Slots = %+v, %d; want %+v, 3", h.Params(), h.Slots(), lowParams)
	}
	if got, want := newHasher(t, 0, time.Second).Slots(), runtime.GOMAXPROCS(0); got != want {
		t.Fatalf("slots 0: Slots() = %d, want GOMAXPROCS %d", got, want)
	}
	if got, want := newHasher(t, -1, time.Second).Slots(), runtime.GOMAXPROCS(0); got != want {
		t.Fatalf("slots -1: Slots() = %d, want GOMAXPROCS %d", got, want)
	}
	if _, err := password.NewHasher(password.Params{MemoryKiB: 1024, Time: 0, Threads: 1}, 1, time.Second); err == nil {
		t.Fatalf("NewHasher accepted t=0")
	}
	if _, err := password.NewHasher(lowParams, 1, -time.Second); err == nil {
		t.Fatalf("NewHasher accepted a negative queue timeout")
	}
}

// TestVerifyDummyMatchesParams checks that VerifyDummy does the work of a
// real Verify: its hash is an argon2id hash at the Hasher's own params,
// whatever those are.
func TestVerifyDummyMatchesParams(t *testing.T) {
	for _, p := range []password.Params{lowParams, {MemoryKiB: 2048, Time: 3, Threads: 2}} {
		h, err := password.NewHasher(p, 1, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		d, err := password.ParseArgon2(h.DummyHash())
		if err != nil {
			t.Fatalf("dummy hash does not parse: %v", err)
		}
		if d.Variant != "argon2id" || d.Params != p || len(d.Key) != 32 || len(d.Salt) != 16 {
			t.Fatalf("dummy hash %+v, want argon2id at %+v like Hash", d, p)
		}
		if err := h.VerifyDummy(context.Background(), "anything"); err != nil {
			t.Fatalf("VerifyDummy: %v", err)
		}
		// Each Hasher picks its own secret.
		h2, _ := password.NewHasher(p, 1, time.Second)
		if h2.DummyHash() == h.DummyHash() {
			t.Fatalf("two Hashers share a dummy hash")
		}
	}
}

func TestHasherRoundTrip(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, 1, time.Second)
	enc, err := h.Hash(ctx, "securePassword123!")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !phc.MatchString(enc) {
		t.Fatalf("Hash = %q, not argon2id PHC", enc)
	}
	if ok, rehash, err := h.Verify(ctx, "securePassword123!", enc); err != nil || !ok || rehash {
		t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	if ok, _, err := h.Verify(ctx, "wrong", enc); err != nil || ok {
		t.Fatalf("Verify(wrong) = %v, %v; want false, nil", ok, err)
	}
	// Verify judges against the Hasher's params: a weaker stored hash
	// needs a rehash.
	strong, err := password.NewHasher(password.Params{MemoryKiB: 2048, Time: 2, Threads: 1}, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := strong.Verify(ctx, "securePassword123!", enc); err != nil || !ok || !rehash {
		t.Fatalf("stronger Hasher: Verify = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
	// Malformed hashes are errors, not latch errors: they are our fault.
	_, _, err = h.Verify(ctx, "x", "not a hash")
	var le *latch.Error
	if err == nil || errors.As(err, &le) {
		t.Fatalf("Verify(malformed) err = %v, want a plain error", err)
	}
}

// TestHasherOverloaded fills the only slot and checks that every operation
// gives up after the queue timeout with a retryable Unavailable error.
func TestHasherOverloaded(t *testing.T) {
	ctx := context.Background()
	enc := mustHash(t, "pw", lowParams)
	ops := map[string]func(h *password.Hasher) error{
		"Hash": func(h *password.Hasher) error { _, err := h.Hash(ctx, "pw"); return err },
		"Verify": func(h *password.Hasher) error {
			ok, _, err := h.Verify(ctx, "pw", enc)
			if ok && err != nil {
				t.Errorf("Verify reported ok alongside %v", err)
			}
			return err
		},
		"VerifyDummy": func(h *password.Hasher) error { return h.VerifyDummy(ctx, "pw") },
	}
	for _, timeout := range []time.Duration{50 * time.Millisecond, 0} {
		h := newHasher(t, 1, timeout)
		var hashes atomic.Int32
		h.OnHashing(func(delta int) {
			if delta > 0 {
				hashes.Add(1)
			}
		})
		release, err := h.HoldSlot(ctx)
		if err != nil {
			t.Fatalf("HoldSlot: %v", err)
		}
		for name, op := range ops {
			err := op(h)
			var le *latch.Error
			if !errors.As(err, &le) || le.Kind != latch.KindUnavailable || le.Code != latch.CodeOverloaded || le.RetryAfter <= 0 {
				t.Fatalf("timeout %v: %s with no free slot = %#v, want Unavailable/overloaded with RetryAfter", timeout, name, err)
			}
			if le.Message != "too many password checks at once; try again shortly" {
				t.Fatalf("%s: message %q", name, le.Message)
			}
		}
		if n := hashes.Load(); n != 0 {
			t.Fatalf("%d hashes ran without a slot", n)
		}
		release()
		for name, op := range ops {
			if err := op(h); err != nil {
				t.Fatalf("timeout %v: %s after release: %v", timeout, name, err)
			}
		}
	}
}

func TestHasherCanceled(t *testing.T) {
	h := newHasher(t, 1, time.Minute)
	var hashes atomic.Int32
	h.OnHashing(func(delta int) {
		if delta > 0 {
			hashes.Add(1)
		}
	})
	check := func(name string, err error) {
		t.Helper()
		var le *latch.Error
		if !errors.As(err, &le) || le.Kind != latch.KindUnavailable || !errors.Is(err, context.Canceled) {
			t.Fatalf("%s: err = %#v, want Unavailable wrapping context.Canceled", name, err)
		}
	}

	// Already canceled: no work even though a slot is free.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.Hash(done, "pw")
	check("Hash, canceled, slot free", err)
	check("VerifyDummy, canceled, slot free", h.VerifyDummy(done, "pw"))
	if n := hashes.Load(); n != 0 {
		t.Fatalf("%d hashes ran for a canceled context", n)
	}

	// Canceled while queued behind a held slot: returns without waiting
	// for the (one minute) queue timeout.
	release, err := h.HoldSlot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := h.Hash(ctx, "pw"); errc <- err }()
	cancel()
	check("Hash, canceled while queued", <-errc)
}

// TestHasherReleasesSlots runs every kind of call, including failing ones,
// through a one-slot Hasher that does not wait: a leaked slot would make
// the next call fail as overloaded.
func TestHasherReleasesSlots(t *testing.T) {
	ctx := context.Background()
	h := newHasher(t, 1, 0)
	enc := mustHash(t, "pw", lowParams)
	for i := range 3 {
		if _, err := h.Hash(ctx, "pw"); err != nil {
			t.Fatalf("round %d: Hash: %v", i, err)
		}
		if _, _, err := h.Verify(ctx, "pw", enc); err != nil {
			t.Fatalf("round %d: Verify: %v", i, err)
		}
		if _, _, err := h.Verify(ctx, "pw", "$argon2id$garbage"); err == nil || latch.IsKind(err, latch.KindUnavailable) {
			t.Fatalf("round %d: Verify(malformed) = %v, want a parse error", i, err)
		}
		if err := h.VerifyDummy(ctx, "pw"); err != nil {
			t.Fatalf("round %d: VerifyDummy: %v", i, err)
		}
	}
}

// TestHasherBoundsConcurrency sends many goroutines through a two-slot
// Hasher and records how many hashes were ever in flight together.
func TestHasherBoundsConcurrency(t *testing.T) {
	const slots, workers, rounds = 2, 16, 4
	ctx := context.Background()
	h := newHasher(t, slots, time.Minute)
	var inFlight, peak, total atomic.Int32
	h.OnHashing(func(delta int) {
		n := inFlight.Add(int32(delta))
		if delta > 0 {
			total.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			// Give other goroutines every chance to pile in.
			runtime.Gosched()
		}
	})
	enc := mustHash(t, "pw", lowParams)

	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds)
	for w := range workers {
		wg.Go(func() {
			for range rounds {
				var err error
				switch w % 3 {
				case 0:
					_, err = h.Hash(ctx, "pw")
				case 1:
					_, _, err = h.Verify(ctx, "pw", enc)
				default:
					err = h.VerifyDummy(ctx, "pw")
				}
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("call failed: %v", err)
	}
	if p := peak.Load(); p > slots || p < 1 {
		t.Fatalf("peak concurrent hashes = %d, want 1..%d", p, slots)
	}
	if n := total.Load(); n != workers*rounds {
		t.Fatalf("%d hashes ran, want %d", n, workers*rounds)
	}
	if n := inFlight.Load(); n != 0 {
		t.Fatalf("%d hashes still in flight", n)
	}
}
