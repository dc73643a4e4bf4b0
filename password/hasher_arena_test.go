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

// TestHasherArenaPool: one arena per slot, each keeping at most the
// Hasher's m; a costlier stored hash verifies on a buffer the arena drops.
func TestHasherArenaPool(t *testing.T) {
	p := Params{MemoryKiB: 64, Time: 1, Threads: 1}
	pool := newArenaPool(3, p)
	if len(pool) != 3 {
		t.Fatalf("%d arenas for 3 slots", len(pool))
	}
	h, err := NewHasher(p, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	costlier, err := Hash("pw", Params{MemoryKiB: 256, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, stored := range []string{h.DummyHash(), costlier} {
		if ok, _, err := h.Verify(ctx, "pw", stored); err != nil || ok != (stored == costlier) {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
	}
	arena := <-h.arenas
	defer func() { h.arenas <- arena }()
	if cap(arena.blocks) != 64 {
		t.Fatalf("the slot's arena keeps %d KiB after a 256 KiB hash, want the Hasher's 64", cap(arena.blocks))
	}
}
