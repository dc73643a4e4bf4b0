package token

import (
	"bytes"
	"testing"
	"time"
)

func TestSuccessor(t *testing.T) {
	now := time.Now()
	k := testKeys(t, ES256, &now)
	raw, _ := NewOpaque("lrt_")
	next, hash := k.Successor("lrt_", raw)
	if !LooksOpaque(next, "lrt_") || next == raw || !bytes.Equal(hash, HashOpaque(next)) {
		t.Fatalf("Successor(%q) = %q, %x", raw, next, hash)
	}
	// The same token always has the same successor: a second presentation
	// within the reuse interval recomputes it.
	if again, _ := k.Successor("lrt_", raw); again != next {
		t.Fatalf("not deterministic: %q then %q", next, again)
	}
	// Another token, another chain kind or another key: another successor.
	other, _ := NewOpaque("lrt_")
	if n, _ := k.Successor("lrt_", other); n == next {
		t.Error("two tokens share a successor")
	}
	if n, _ := k.Successor("lcr_", raw); n[len("lcr_"):] == next[len("lrt_"):] {
		t.Error("user and client chains share a successor")
	}
	if n, _ := testKeys(t, ES256, &now).Successor("lrt_", raw); n == next {
		t.Error("the successor does not depend on the key: an old token would tell every later one")
	}
}
