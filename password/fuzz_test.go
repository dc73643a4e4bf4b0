package password_test

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchid/latch/password"
)

var fuzzSeeds = []string{
	"$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
	"$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$YWFhYWFhYWFhYWFhYWFhYQ",
	"$argon2id$v=16$m=1024,t=1,p=1$c29tZXNhbHQ$YWFhYWFhYWFhYWFhYWFhYQ",
	"$argon2id$v=19$m=01024,t=1,p=1$c29tZXNhbHQ$YWFhYWFhYWFhYWFhYWFhYQ",
	"$argon2id$v=19$m=4294967295,t=4294967295,p=255$c29tZXNhbHQ$YWFhYWFhYWFhYWFhYWFhYQ",
	"$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ=$YWFhYWFhYWFhYWFhYWFhYQ==",
	"$argon2id$v=19$m=1024,t=1$c29tZXNhbHQ$YWFhYWFhYWFhYWFhYWFhYQ",
	"$argon2d$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$YWFhYWFhYWFhYWFhYWFhYQ",
	"$2a$04$abcdefghijklmnopqrstuu5VyLrHhC8gQ4Y3gJm3mX8pNK8pLk6Gy",
	"$$$$$",
	"",
}

// FuzzParseArgon2 checks that ParseArgon2 never panics and that whatever it
// accepts is canonical: it encodes back to exactly the input.
func FuzzParseArgon2(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := password.ParseArgon2(s)
		if err != nil {
			return
		}
		if got := password.Encode(h); got != s {
			t.Fatalf("ParseArgon2(%q) encodes back to %q", s, got)
		}
		again, err := password.ParseArgon2(password.Encode(h))
		if err != nil || again.Variant != h.Variant || again.Version != h.Version || again.Params != h.Params ||
			!bytes.Equal(again.Salt, h.Salt) || !bytes.Equal(again.Key, h.Key) {
			t.Fatalf("re-parse of %q = %+v, %v; want %+v", s, again, err, h)
		}
		if h.Params.MemoryKiB > 1<<20 || h.Params.Time > 16 || h.Params.Threads > 16 || h.Params.MemoryKiB < 8*uint32(h.Params.Threads) {
			t.Fatalf("ParseArgon2(%q) accepted params beyond the caps: %+v", s, h.Params)
		}
	})
}

// FuzzVerify checks that Verify never panics and never accepts a hash
// without an error-free, known format.
func FuzzVerify(f *testing.F) {
	valid, err := password.Hash("pw", lowParams)
	if err != nil {
		f.Fatal(err)
	}
	b, err := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("pw", valid)
	f.Add("pw", string(b))
	f.Add("", valid)
	for _, s := range fuzzSeeds {
		f.Add("password", s)
	}
	f.Fuzz(func(t *testing.T, pw, encoded string) {
		// The caps allow hashes that take seconds (that is the point of a
		// password hash); the fuzzer would spend its time in them.
		if h, err := password.ParseArgon2(encoded); err == nil && (h.Params.MemoryKiB > 64<<10 || h.Params.Time > 2) {
			t.Skip("too costly to fuzz")
		}
		if c, err := bcrypt.Cost([]byte(encoded)); err == nil && c > 6 {
			t.Skip("too costly to fuzz")
		}
		ok, rehash, err := password.Verify(pw, encoded, lowParams)
		if err != nil && (ok || rehash) {
			t.Fatalf("Verify = %v, %v, %v: ok or rehash with an error", ok, rehash, err)
		}
		if rehash && !ok {
			t.Fatalf("Verify asks for a rehash of a failed check")
		}
		if ok && !strings.HasPrefix(encoded, "$argon2") && !strings.HasPrefix(encoded, "$2") {
			t.Fatalf("Verify accepted an unknown format %q", encoded)
		}
	})
}
