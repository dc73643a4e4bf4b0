package password_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchid/latch"
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
	for _, v := range referenceVectors {
		f.Add(v.pw, v.encoded)
	}
	for _, s := range importSeeds {
		f.Add("password", s)
	}
	f.Fuzz(func(t *testing.T, pw, encoded string) {
		// The caps allow hashes that take seconds (that is the point of a
		// password hash); the fuzzer would spend its time in them.
		if tooCostlyToFuzz(encoded) {
			t.Skip("too costly to fuzz")
		}
		ok, rehash, err := password.Verify(pw, encoded, lowParams)
		if err != nil && (ok || rehash) {
			t.Fatalf("Verify = %v, %v, %v: ok or rehash with an error", ok, rehash, err)
		}
		if rehash && !ok {
			t.Fatalf("Verify asks for a rehash of a failed check")
		}
		known := false
		for _, prefix := range []string{"$argon2", "$2", "$scrypt$", "$pbkdf2-sha256$", "pbkdf2_sha256$"} {
			known = known || strings.HasPrefix(encoded, prefix)
		}
		if ok && !known {
			t.Fatalf("Verify accepted an unknown format %q", encoded)
		}
		if ok && !strings.HasPrefix(encoded, "$argon2id$") && !rehash {
			t.Fatalf("Verify accepted %q without asking for a rehash", encoded)
		}
	})
}

// tooCostlyToFuzz reports whether verifying encoded would take more than a
// few milliseconds.
func tooCostlyToFuzz(encoded string) bool {
	if h, err := password.ParseArgon2(encoded); err == nil && (h.Params.MemoryKiB > 64<<10 || h.Params.Time > 2) {
		return true
	}
	if c, err := bcrypt.Cost([]byte(encoded)); err == nil && c > 6 {
		return true
	}
	if h, err := password.ParseScrypt(encoded); err == nil {
		if _, _, work := password.ScryptCosts(h); work > 16<<20 {
			return true
		}
	}
	if h, err := password.ParsePBKDF2(encoded); err == nil && password.PBKDF2Work(h) > 20_000 {
		return true
	}
	return false
}

// importSeeds are scrypt and PBKDF2 strings, valid and not (the valid
// ones in referenceVectors are added too).
var importSeeds = []string{
	passlibScryptDefault,
	djangoSeasalt,
	"$scrypt$ln=4,r=8,p=1$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$scrypt$ln=4,r=8,p=1$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=",
	"$scrypt$ln=4,r=8,p=1$.+.+c29tZXNhbHRzb21lc2$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$scrypt$ln=04,r=8,p=1$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$scrypt$ln=63,r=4294967295,p=4294967295$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$scrypt$ln=1,r=1,p=1$$",
	"$scrypt$",
	"$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D",
	"$pbkdf2-sha256$1000$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$pbkdf2-sha256$01000$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$pbkdf2-sha256$0$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$pbkdf2-sha256$i=1000,l=32$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$pbkdf2-sha256$i=1000,l=33$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$pbkdf2-sha256$i=1000$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$pbkdf2-sha256$i=4294967295,l=128$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"$pbkdf2-sha256$$$",
	"pbkdf2_sha256$1000$abcdefghijkl$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=",
	"pbkdf2_sha256$1000$abc def ghi$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=",
	"pbkdf2_sha256$1000$abcdefghijkl$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE",
	"pbkdf2_sha256$$$",
	"pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I=",
}

// FuzzParseScrypt checks that the scrypt parser never panics, that what it
// accepts is canonical (it encodes back to the input, up to the ab64
// alphabet) and that it is within the verification caps.
func FuzzParseScrypt(f *testing.F) {
	for _, v := range referenceVectors {
		f.Add(v.encoded)
	}
	for _, s := range importSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := password.ParseScrypt(s)
		if err != nil {
			return
		}
		enc := password.EncodeScrypt(h)
		if want := strings.ReplaceAll(s, ".", "+"); enc != want {
			t.Fatalf("ParseScrypt(%q) encodes back to %q", s, enc)
		}
		again, err := password.ParseScrypt(enc)
		if err != nil || again.LogN != h.LogN || again.R != h.R || again.P != h.P ||
			!bytes.Equal(again.Salt, h.Salt) || !bytes.Equal(again.Key, h.Key) {
			t.Fatalf("re-parse of %q = %+v, %v; want %+v", s, again, err, h)
		}
		v, rest, work := password.ScryptCosts(h)
		if h.LogN < 1 || h.R < 1 || h.P < 1 || h.P > 16 || v > 256<<20 || rest > 256<<20 || v+rest > 256<<20 || work > 1<<30 {
			t.Fatalf("ParseScrypt(%q) accepted params beyond the caps: %+v", s, h)
		}
		if len(h.Salt) < 8 || len(h.Salt) > 256 || len(h.Key) < 16 || len(h.Key) > 128 {
			t.Fatalf("ParseScrypt(%q) accepted a %d-byte salt, %d-byte key", s, len(h.Salt), len(h.Key))
		}
	})
}

// FuzzParsePBKDF2 checks the same of the PBKDF2 parser, for all three
// forms.
func FuzzParsePBKDF2(f *testing.F) {
	for _, v := range referenceVectors {
		f.Add(v.encoded)
	}
	for _, s := range importSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := password.ParsePBKDF2(s)
		if err != nil {
			return
		}
		want := s
		if password.PBKDF2Form(h) == "passlib" {
			want = strings.ReplaceAll(s, "+", ".")
		}
		enc := password.EncodePBKDF2(h)
		if enc != want {
			t.Fatalf("ParsePBKDF2(%q) encodes back to %q", s, enc)
		}
		again, err := password.ParsePBKDF2(enc)
		if err != nil || again.Form != h.Form || again.Iterations != h.Iterations || again.HasLen != h.HasLen ||
			!bytes.Equal(again.Salt, h.Salt) || !bytes.Equal(again.Key, h.Key) {
			t.Fatalf("re-parse of %q = %+v, %v; want %+v", s, again, err, h)
		}
		if h.Iterations < 1 || password.PBKDF2Work(h) > 10_000_000 {
			t.Fatalf("ParsePBKDF2(%q) accepted %d iterations", s, h.Iterations)
		}
		if len(h.Salt) < 8 || len(h.Salt) > 256 || len(h.Key) < 16 || len(h.Key) > 128 {
			t.Fatalf("ParsePBKDF2(%q) accepted a %d-byte salt, %d-byte key", s, len(h.Salt), len(h.Key))
		}
	})
}

// FuzzCheckImport checks that CheckImport never panics, that what it
// accepts Verify can check, and that what it refuses comes back as an
// invalid_hash field error that does not quote the input.
func FuzzCheckImport(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	for _, v := range referenceVectors {
		f.Add(v.encoded)
	}
	for _, s := range importSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := password.CheckImport(s)
		if err == nil {
			// Verify only what is cheap here (the argon2 reference vector
			// at 64 MiB is not, and Verify's own tests cover it).
			if h, err := password.ParseArgon2(s); tooCostlyToFuzz(s) || (err == nil && h.Params.MemoryKiB > 4096) {
				return
			}
			if _, _, err := password.Verify("password", s, lowParams); err != nil {
				t.Fatalf("CheckImport accepted %q, which Verify refuses: %v", s, err)
			}
			return
		}
		var le *latch.Error
		if !errors.As(err, &le) || le.Code != latch.CodeInvalidHash || le.Field != "password_hash" || le.Kind != latch.KindInvalid {
			t.Fatalf("CheckImport(%q) = %#v, want an invalid_hash field error", s, err)
		}
		if len(s) >= 24 && strings.Contains(le.Error(), s) {
			t.Fatalf("CheckImport quotes its input: %q", le.Error())
		}
	})
}
