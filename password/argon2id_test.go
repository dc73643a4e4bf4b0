package password

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"unsafe"

	"golang.org/x/crypto/argon2"
)

// golang.org/x/crypto/argon2 is the oracle here, and only here: production
// argon2id is ours (argon2id.go).

// TestArgon2idRFC9106Vector is RFC 9106 section 5.3, argon2id with a secret
// and associated data (the production API passes neither; the core takes
// them so the RFC's vector can check it).
func TestArgon2idRFC9106Vector(t *testing.T) {
	password := bytes.Repeat([]byte{0x01}, 32)
	salt := bytes.Repeat([]byte{0x02}, 16)
	secret := bytes.Repeat([]byte{0x03}, 8)
	data := bytes.Repeat([]byte{0x04}, 12)
	want := "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
	var arena argon2Arena
	for run := range 2 { // the second on a used arena
		tag, err := arena.argon2id(password, salt, secret, data, 3, 32, 4, 32)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(tag); got != want {
			t.Fatalf("run %d: tag %s, want %s", run, got, want)
		}
	}
}

// TestArgon2idMatchesXCrypto compares ours with x/crypto's IDKey over a
// table of parameters, one arena reused across all of them (shrinking and
// growing), bit for bit.
func TestArgon2idMatchesXCrypto(t *testing.T) {
	var arena argon2Arena
	keyLens := []uint32{16, 32, 64, 17, 48}
	n := 0
	for p := uint8(1); p <= 4; p++ {
		// 8p is the minimum; 8p+5 and 1001 are not multiples of 4p, so
		// the rounding of m is exercised; 3072 is 3 MiB.
		for _, m := range []uint32{8 * uint32(p), 8*uint32(p) + 5, 129, 1001, 3072} {
			for tc := uint32(1); tc <= 4; tc++ {
				keyLen := keyLens[n%len(keyLens)]
				n++
				pw := []byte(fmt.Sprintf("password %d", n))
				salt := []byte(fmt.Sprintf("salt-%d-%d-%d-%d", p, m, tc, keyLen))
				got, err := arena.idKey(pw, salt, tc, m, p, keyLen)
				if err != nil {
					t.Fatal(err)
				}
				want := argon2.IDKey(pw, salt, tc, m, p, keyLen)
				if !bytes.Equal(got, want) {
					t.Fatalf("m=%d t=%d p=%d keyLen=%d: %x, x/crypto %x", m, tc, p, keyLen, got, want)
				}
			}
		}
	}
}

// TestArgon2idPoisonedArena fills an arena with random bytes before each
// hash and checks the output still matches x/crypto: argon2 writes every
// block before it reads it, which is why the arena is never cleared (if
// the first pass XORed into memory, as later passes do, this would fail).
func TestArgon2idPoisonedArena(t *testing.T) {
	var arena argon2Arena
	arena.memory(4096)
	for i, c := range []struct {
		m, t   uint32
		p      uint8
		keyLen uint32
	}{
		{1024, 1, 1, 32}, {4096, 2, 1, 32}, {64, 3, 2, 64}, {3000, 1, 4, 16}, {19, 2, 2, 32}, {4096, 1, 3, 40},
	} {
		words := unsafe.Slice((*byte)(unsafe.Pointer(&arena.blocks[0])), len(arena.blocks)*argon2BlockWords*8)
		if _, err := rand.Read(words); err != nil {
			t.Fatal(err)
		}
		pw, salt := []byte("poisoned"), []byte(fmt.Sprintf("salt-%d-salt", i))
		got, err := arena.idKey(pw, salt, c.t, c.m, c.p, c.keyLen)
		if err != nil {
			t.Fatal(err)
		}
		if want := argon2.IDKey(pw, salt, c.t, c.m, c.p, c.keyLen); !bytes.Equal(got, want) {
			t.Fatalf("%+v on a poisoned arena: %x, x/crypto %x", c, got, want)
		}
	}
}

// TestArgon2ArenaGrowsWithinRetain checks the arena's size policy: it
// grows to a larger hash up to retainKiB, and a hash beyond that gets a
// buffer the arena does not keep.
func TestArgon2ArenaGrowsWithinRetain(t *testing.T) {
	arena := argon2Arena{retainKiB: 256}
	if got := len(arena.memory(64)); got != 64 || cap(arena.blocks) != 64 {
		t.Fatalf("first use: %d blocks, arena keeps %d; want 64, 64", got, cap(arena.blocks))
	}
	first := &arena.blocks[0]
	if got := arena.memory(32); len(got) != 32 || &got[0] != first {
		t.Fatalf("smaller hash did not reuse the arena")
	}
	if arena.memory(256); cap(arena.blocks) != 256 {
		t.Fatalf("arena keeps %d blocks after a 256 KiB hash, want 256", cap(arena.blocks))
	}
	if got := arena.memory(1024); len(got) != 1024 || cap(arena.blocks) != 256 {
		t.Fatalf("beyond retain: %d blocks, arena keeps %d; want 1024 one-off, 256 kept", len(got), cap(arena.blocks))
	}
	var none *argon2Arena
	if got := none.memory(16); len(got) != 16 {
		t.Fatalf("nil arena gave %d blocks, want 16", len(got))
	}
}

// TestArgon2idRefusesBadParams: out-of-range parameters are errors, not
// panics (the parsers refuse them first; this is the core's own guard).
func TestArgon2idRefusesBadParams(t *testing.T) {
	var arena argon2Arena
	for _, c := range []struct {
		t, m   uint32
		p      uint8
		keyLen uint32
	}{{0, 64, 1, 32}, {1, 64, 0, 32}, {1, 64, 1, 3}} {
		if _, err := arena.idKey([]byte("pw"), []byte("saltsalt"), c.t, c.m, c.p, c.keyLen); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// TestCompressMatchesGeneric holds the G in use (on amd64, x/crypto's SSE
// kernels) to the portable Go one over random blocks, both modes, with out
// apart from and aliasing its first input (as the address generator
// calls it).
func TestCompressMatchesGeneric(t *testing.T) {
	var s1, s2 argon2Scratch
	for i := range 200 {
		var in1, in2, out argon2Block
		for _, blk := range []*argon2Block{&in1, &in2, &out} {
			raw := unsafe.Slice((*byte)(unsafe.Pointer(blk)), argon2BlockWords*8)
			if _, err := rand.Read(raw); err != nil {
				t.Fatal(err)
			}
		}
		xor := i%2 == 1
		got, want := out, out
		compress(&got, &in1, &in2, &s1, xor)
		compressGeneric(&want, &in1, &in2, &s2, xor)
		if got != want {
			t.Fatalf("case %d (xor %v): compress and compressGeneric differ", i, xor)
		}
		alias1, alias2 := in1, in1
		compress(&alias1, &alias1, &in2, &s1, xor)
		compressGeneric(&alias2, &alias2, &in2, &s2, xor)
		if alias1 != alias2 {
			t.Fatalf("case %d (xor %v), out aliasing in1: compress and compressGeneric differ", i, xor)
		}
	}
}

// FuzzArgon2idMatchesXCrypto compares ours with x/crypto's IDKey over
// passwords, salts and small parameters (m up to 8p+512 KiB, t 1..4,
// p 1..4, keys of 4..80 bytes: beyond 64 H' chains), on one arena reused
// across inputs as a slot reuses it.
func FuzzArgon2idMatchesXCrypto(f *testing.F) {
	f.Add([]byte("password"), []byte("somesalt"), uint16(0), uint8(0), uint8(0), uint8(28))
	f.Add([]byte(""), []byte(""), uint16(511), uint8(3), uint8(3), uint8(76))
	f.Add([]byte("pässwörd\x00"), []byte("0123456789abcdef"), uint16(57), uint8(1), uint8(1), uint8(60))
	var arena argon2Arena
	f.Fuzz(func(t *testing.T, pw, salt []byte, mExtra uint16, tSel, pSel, keySel uint8) {
		p := 1 + pSel%4
		tc := 1 + uint32(tSel%4)
		m := 8*uint32(p) + uint32(mExtra%513)
		keyLen := 4 + uint32(keySel%77)
		got, err := arena.idKey(pw, salt, tc, m, p, keyLen)
		if err != nil {
			t.Fatal(err)
		}
		if want := argon2.IDKey(pw, salt, tc, m, p, keyLen); !bytes.Equal(got, want) {
			t.Fatalf("m=%d t=%d p=%d keyLen=%d: %x, x/crypto %x", m, tc, p, keyLen, got, want)
		}
	})
}

// BenchmarkArgon2id is one argon2id at DefaultParams: ours on a reused
// arena (as a Hasher slot runs it) against x/crypto's IDKey.
func BenchmarkArgon2id(b *testing.B) {
	p := DefaultParams()
	pw, salt := []byte("securePassword123!"), []byte("0123456789abcdef")
	b.Run("arena", func(b *testing.B) {
		// Warm, as a slot's arena is after its first hash: what is measured
		// is the steady state.
		var arena argon2Arena
		arena.memory(p.MemoryKiB)
		for b.Loop() {
			if _, err := arena.idKey(pw, salt, p.Time, p.MemoryKiB, p.Threads, keyLen); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("xcrypto", func(b *testing.B) {
		for b.Loop() {
			argon2.IDKey(pw, salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
		}
	})
}
