package password

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// TestHasherReusesArenas checks that the Hasher's argon2id work (Hash,
// Verify, VerifyDummy) runs on its slots' arenas: once each slot has
// hashed, further calls allocate nowhere near m (1 MiB here) each.
func TestHasherReusesArenas(t *testing.T) {
	p := Params{MemoryKiB: 1024, Time: 1, Threads: 1}
	h, err := NewHasher(p, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stored, err := h.Hash(ctx, "correct horse") // warms the one slot's arena
	if err != nil {
		t.Fatal(err)
	}
	const calls = 10
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range calls {
		if _, err := h.Hash(ctx, "correct horse"); err != nil {
			t.Fatal(err)
		}
		if ok, _, err := h.Verify(ctx, "correct horse", stored); err != nil || !ok {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
		if err := h.VerifyDummy(ctx, "wrong"); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	perCall := (after.TotalAlloc - before.TotalAlloc) / (3 * calls)
	// x/crypto allocated 1 MiB per call here; ours allocates about 0.5 KiB
	// (the key and one BLAKE2b state). 64 KiB leaves room for the PHC
	// strings and the test's own noise while failing at any fresh m.
	if perCall > 64<<10 {
		t.Fatalf("%d bytes allocated per call at m=1 MiB: the arena is not reused", perCall)
	}
	t.Logf("%d bytes allocated per call at m=%d KiB", perCall, p.MemoryKiB)
}

// TestHasherArenaPool: one arena per slot, each keeping up to the larger of
// the Hasher's m and the import cap.
func TestHasherArenaPool(t *testing.T) {
	p := Params{MemoryKiB: 128 << 10, Time: 1, Threads: 1}
	pool := newArenaPool(3, p)
	if len(pool) != 3 {
		t.Fatalf("%d arenas for 3 slots", len(pool))
	}
	if a := <-pool; a.retainKiB != 128<<10 {
		t.Fatalf("retain %d KiB at m=128 MiB, want %d", a.retainKiB, 128<<10)
	}
	if a := <-newArenaPool(1, Params{MemoryKiB: 1024, Time: 1, Threads: 1}); a.retainKiB != importMaxArgon2MemoryKiB {
		t.Fatalf("retain %d KiB at m=1 MiB, want the import cap %d", a.retainKiB, importMaxArgon2MemoryKiB)
	}
}
