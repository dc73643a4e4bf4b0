package token

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

const testSession = "01890a5d-ac96-774b-bcce-b302099a8057"

func TestParseChained(t *testing.T) {
	raw, hash := NewChained("lrt_", testSession)
	if !bytes.Equal(hash, HashOpaque(raw)) {
		t.Fatal("NewChained's hash is not HashOpaque of its token")
	}
	sid, gen, ok := ParseChained(raw, "lrt_")
	if !ok || sid != testSession || gen != 0 {
		t.Fatalf("ParseChained(%q) = %q, %d, %v", raw, sid, gen, ok)
	}
	if LooksOpaque(raw, "lrt_") {
		t.Error("a chained token passes for an unchained one")
	}
	tail := strings.Repeat("A", 43)
	for _, tc := range []struct {
		raw  string
		ok   bool
		gen  int64
		name string
	}{
		{"lrt_" + testSession + ".7." + tail, true, 7, "generation 7"},
		{"lrt_" + testSession + ".999999999999999999." + tail, true, 999999999999999999, "18 digits"},
		{"lrt_" + testSession + ".1000000000000000000." + tail, false, 0, "19 digits"},
		{"lrt_" + testSession + ".07." + tail, false, 0, "leading zero"},
		{"lrt_" + testSession + ".-1." + tail, false, 0, "negative"},
		{"lrt_" + testSession + ".+1." + tail, false, 0, "plus sign"},
		{"lrt_" + testSession + ".." + tail, false, 0, "no generation"},
		{"lrt_" + testSession + ".1." + tail[1:], false, 0, "short tail"},
		{"lrt_" + testSession + ".1." + tail + "A", false, 0, "long tail"},
		{"lrt_" + testSession + ".1." + tail[1:] + "=", false, 0, "padding"},
		{"lrt_" + testSession + ".1." + tail[1:] + "+", false, 0, "not base64url"},
		{"lrt_" + strings.ToUpper(testSession) + ".1." + tail, false, 0, "uppercase id"},
		{"lrt_" + strings.ReplaceAll(testSession, "-", "x") + ".1." + tail, false, 0, "no dashes"},
		{"lrt_" + testSession[:35] + "g.1." + tail, false, 0, "not hex"},
		{"lcr_" + testSession + ".1." + tail, false, 0, "other prefix"},
		{"lrt_" + tail, false, 0, "unchained"},
		{"", false, 0, "empty"},
	} {
		sid, gen, ok := ParseChained(tc.raw, "lrt_")
		if ok != tc.ok || (ok && (gen != tc.gen || sid != testSession)) {
			t.Errorf("%s: ParseChained = %q, %d, %v; want ok %v, generation %d", tc.name, sid, gen, ok, tc.ok, tc.gen)
		}
	}
}

func TestChainSuccessor(t *testing.T) {
	now := time.Now()
	k := testKeys(t, ES256, &now)
	g0, _ := NewChained("lrt_", testSession)
	g1, h1 := k.ChainSuccessor("lrt_", g0, testSession, 1)
	if sid, gen, ok := ParseChained(g1, "lrt_"); !ok || sid != testSession || gen != 1 || !bytes.Equal(h1, HashOpaque(g1)) {
		t.Fatalf("ChainSuccessor = %q: %q, %d, %v", g1, sid, gen, ok)
	}
	if again, _ := k.ChainSuccessor("lrt_", g0, testSession, 1); again != g1 {
		t.Fatal("not deterministic")
	}
	// The chained successor is Successor's derivation, named.
	plain, _ := k.Successor("lrt_", g0)
	if !strings.HasSuffix(g1, "."+strings.TrimPrefix(plain, "lrt_")) {
		t.Errorf("%q does not end in Successor's %q", g1, plain)
	}
	if other, _ := testKeys(t, ES256, &now).ChainSuccessor("lrt_", g0, testSession, 1); other == g1 {
		t.Error("the successor does not depend on the key")
	}
}

func TestChainDescends(t *testing.T) {
	now := time.Now()
	k := testKeys(t, ES256, &now)
	chain := []string{}
	g0, _ := NewChained("lrt_", testSession)
	chain = append(chain, g0)
	for g := int64(1); g <= 5; g++ {
		next, _ := k.ChainSuccessor("lrt_", chain[g-1], testSession, g)
		chain = append(chain, next)
	}
	current := HashOpaque(chain[5])
	for from := int64(0); from < 5; from++ {
		if !k.ChainDescends("lrt_", chain[from], testSession, from, 5, current, 100) {
			t.Errorf("generation %d does not lead to generation 5", from)
		}
	}
	if k.ChainDescends("lrt_", chain[5], testSession, 5, 5, current, 100) {
		t.Error("the current token descends from itself")
	}
	if k.ChainDescends("lrt_", chain[0], testSession, 0, 5, current, 4) {
		t.Error("5 steps derived with a cap of 4")
	}
	forged, _ := NewChained("lrt_", testSession)
	if k.ChainDescends("lrt_", forged, testSession, 0, 5, current, 100) {
		t.Error("a forged generation 0 leads to the current token")
	}
	if k.ChainDescends("lrt_", chain[2], testSession, 1, 5, current, 100) {
		t.Error("a token with the wrong generation leads to the current token")
	}
	if testKeys(t, ES256, &now).ChainDescends("lrt_", chain[0], testSession, 0, 5, current, 100) {
		t.Error("another key derives the same chain")
	}
}

// FuzzParseChained: the parser never panics, accepts only what it can
// give back, and a token it accepts is rebuilt from its parts.
func FuzzParseChained(f *testing.F) {
	g0, _ := NewChained("lrt_", testSession)
	f.Add(g0)
	f.Add("lrt_" + testSession + ".18." + strings.Repeat("_", 43))
	f.Add("lrt_" + strings.Repeat("a", 43))
	f.Add("lrt_" + testSession + ".9223372036854775807." + strings.Repeat("-", 43))
	f.Fuzz(func(t *testing.T, raw string) {
		sid, gen, ok := ParseChained(raw, "lrt_")
		if !ok {
			return
		}
		if gen < 0 || !isUUIDText(sid) {
			t.Fatalf("accepted %q as %q, %d", raw, sid, gen)
		}
		tail := raw[strings.LastIndexByte(raw, '.')+1:]
		if rebuilt := chained("lrt_", sid, gen, tail); rebuilt != raw {
			t.Fatalf("%q parsed and rebuilt is %q", raw, rebuilt)
		}
	})
}

// BenchmarkChainDescendsMax is the most a presented refresh token can cost
// (account's cap of 100000 derivations).
func BenchmarkChainDescendsMax(b *testing.B) {
	now := time.Now()
	k := testKeys(b, ES256, &now)
	g0, _ := NewChained("lrt_", testSession)
	for b.Loop() {
		k.ChainDescends("lrt_", g0, testSession, 0, 100000, make([]byte, 32), 100000)
	}
}
