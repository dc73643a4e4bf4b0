package password_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/latchid/latch/password"
)

// lowParams keep tests fast; DefaultParams only where defaults are the point.
var lowParams = password.Params{MemoryKiB: 1024, Time: 1, Threads: 1}

// phc matches what Hash produces: 16-byte salt (22 chars) and 32-byte key
// (43 chars), unpadded standard base64.
var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=([0-9]+),t=([0-9]+),p=([0-9]+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func mustHash(t testing.TB, pw string, p password.Params) string {
	t.Helper()
	h, err := password.Hash(pw, p)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return h
}

// encodeArgon2 builds a PHC string by hand, independently of the package's
// own encoder, for variants and lengths Hash never produces.
func encodeArgon2(variant string, pw string, p password.Params, saltLen, keyLen int) string {
	salt := make([]byte, saltLen)
	rand.Read(salt)
	var key []byte
	if variant == "argon2i" {
		key = argon2.Key([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(keyLen))
	} else {
		key = argon2.IDKey([]byte(pw), salt, p.Time, p.MemoryKiB, p.Threads, uint32(keyLen))
	}
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$%s$v=19$m=%d,t=%d,p=%d$%s$%s", variant, p.MemoryKiB, p.Time, p.Threads, b64(salt), b64(key))
}

func TestDefaultParams(t *testing.T) {
	want := password.Params{MemoryKiB: 19456, Time: 2, Threads: 1}
	if got := password.DefaultParams(); got != want {
		t.Fatalf("DefaultParams() = %+v, want %+v", got, want)
	}
	if err := want.Validate(); err != nil {
		t.Fatalf("DefaultParams().Validate() = %v", err)
	}
}

func TestParamsValidate(t *testing.T) {
	tests := []struct {
		name string
		p    password.Params
		ok   bool
	}{
		{"default", password.DefaultParams(), true},
		{"low", lowParams, true},
		{"memory exactly 8 x threads", password.Params{MemoryKiB: 32, Time: 1, Threads: 4}, true},
		{"largest accepted", password.Params{MemoryKiB: 1 << 20, Time: 16, Threads: 16}, true},
		{"memory below 8 x threads", password.Params{MemoryKiB: 31, Time: 1, Threads: 4}, false},
		{"memory above 1 GiB", password.Params{MemoryKiB: 1<<20 + 1, Time: 1, Threads: 1}, false},
		{"memory 4 GiB", password.Params{MemoryKiB: 4 << 20, Time: 1, Threads: 1}, false},
		{"time zero", password.Params{MemoryKiB: 1024, Time: 0, Threads: 1}, false},
		{"time above 16", password.Params{MemoryKiB: 1024, Time: 17, Threads: 1}, false},
		{"threads zero", password.Params{MemoryKiB: 1024, Time: 1, Threads: 0}, false},
		{"threads above 16", password.Params{MemoryKiB: 1024, Time: 1, Threads: 17}, false},
		{"zero value", password.Params{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate(%+v) = %v, want ok=%v", tt.p, err, tt.ok)
			}
			// Hash must refuse exactly what Validate refuses.
			if !tt.ok {
				if _, err := password.Hash("x", tt.p); err == nil {
					t.Fatalf("Hash accepted invalid params %+v", tt.p)
				}
			}
		})
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		p    password.Params
	}{
		{"ascii", "securePassword123!", lowParams},
		{"unicode", "pässwörd-日本語-🔒", lowParams},
		{"empty", "", lowParams},
		{"long", strings.Repeat("long password ", 100), lowParams},
		{"two lanes", "securePassword123!", password.Params{MemoryKiB: 2048, Time: 2, Threads: 2}},
		{"default params", "securePassword123!", password.DefaultParams()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := mustHash(t, tt.pw, tt.p)
			m := phc.FindStringSubmatch(enc)
			if m == nil {
				t.Fatalf("Hash = %q, not a PHC argon2id string", enc)
			}
			if m[1] != strconv.Itoa(int(tt.p.MemoryKiB)) || m[2] != strconv.Itoa(int(tt.p.Time)) || m[3] != strconv.Itoa(int(tt.p.Threads)) {
				t.Fatalf("Hash = %q, want m=%d,t=%d,p=%d", enc, tt.p.MemoryKiB, tt.p.Time, tt.p.Threads)
			}

			h, err := password.ParseArgon2(enc)
			if err != nil {
				t.Fatalf("ParseArgon2: %v", err)
			}
			if h.Variant != "argon2id" || h.Version != 19 || h.Params != tt.p || len(h.Salt) != 16 || len(h.Key) != 32 {
				t.Fatalf("parsed %+v (salt %d bytes, key %d bytes), want argon2id v19 %+v 16/32",
					h, len(h.Salt), len(h.Key), tt.p)
			}
			if !bytes.Equal(h.Key, argon2.IDKey([]byte(tt.pw), h.Salt, tt.p.Time, tt.p.MemoryKiB, tt.p.Threads, 32)) {
				t.Fatalf("key is not argon2id(password, salt) at the stated params")
			}

			ok, rehash, err := password.Verify(tt.pw, enc, tt.p)
			if err != nil || !ok || rehash {
				t.Fatalf("Verify(right) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
			for _, wrong := range []string{tt.pw + "x", strings.ToUpper(tt.pw) + "!"} {
				ok, rehash, err = password.Verify(wrong, enc, tt.p)
				if err != nil || ok || rehash {
					t.Fatalf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
				}
			}
		})
	}
}

func TestHashSaltIsRandom(t *testing.T) {
	a, b := mustHash(t, "same password", lowParams), mustHash(t, "same password", lowParams)
	if a == b {
		t.Fatalf("two hashes of the same password are equal: %q", a)
	}
	ha, _ := password.ParseArgon2(a)
	hb, _ := password.ParseArgon2(b)
	if bytes.Equal(ha.Salt, hb.Salt) {
		t.Fatalf("two hashes share a salt")
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	const pw = "securePassword123!"
	bcrypt4, err := bcrypt.GenerateFromPassword([]byte(pw), 4)
	if err != nil {
		t.Fatal(err)
	}
	bcryptAs := func(prefix string) string { return prefix + string(bcrypt4[4:]) }
	if !strings.HasPrefix(string(bcrypt4), "$2a$04$") {
		t.Fatalf("bcrypt hash %q: unexpected prefix", bcrypt4)
	}

	tests := []struct {
		name    string
		encoded string
		want    password.Params
		rehash  bool
	}{
		{"weaker m and t than default", mustHash(t, pw, lowParams), password.DefaultParams(), true},
		{"same params", mustHash(t, pw, lowParams), lowParams, false},
		{"stronger than want", mustHash(t, pw, password.Params{MemoryKiB: 2048, Time: 2, Threads: 2}), lowParams, false},
		{"weaker m only", mustHash(t, pw, lowParams), password.Params{MemoryKiB: 2048, Time: 1, Threads: 1}, true},
		{"weaker t only", mustHash(t, pw, lowParams), password.Params{MemoryKiB: 1024, Time: 2, Threads: 1}, true},
		{"weaker p only", mustHash(t, pw, lowParams), password.Params{MemoryKiB: 1024, Time: 1, Threads: 2}, true},
		{"short key", encodeArgon2("argon2id", pw, lowParams, 16, 16), lowParams, true},
		{"short salt", encodeArgon2("argon2id", pw, lowParams, 8, 32), lowParams, true},
		{"hand-built argon2id", encodeArgon2("argon2id", pw, lowParams, 16, 32), lowParams, false},
		{"argon2i", encodeArgon2("argon2i", pw, lowParams, 16, 32), lowParams, true},
		{"bcrypt $2a$", string(bcrypt4), lowParams, true},
		{"bcrypt $2b$", bcryptAs("$2b$"), lowParams, true},
		{"bcrypt $2y$", bcryptAs("$2y$"), lowParams, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := password.Verify(pw, tt.encoded, tt.want)
			if err != nil || !ok || rehash != tt.rehash {
				t.Fatalf("Verify(right) = %v, %v, %v; want true, %v, nil", ok, rehash, err, tt.rehash)
			}
			// A wrong password never asks for a rehash.
			ok, rehash, err = password.Verify(pw+"!", tt.encoded, tt.want)
			if err != nil || ok || rehash {
				t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// TestVerifyReferenceVector checks a hash made outside Go: the example in
// the README of the argon2 reference implementation (phc-winner-argon2),
//
//	echo -n "password" | ./argon2 somesalt -t 2 -m 16 -p 4 -l 24
func TestVerifyReferenceVector(t *testing.T) {
	const enc = "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
	ok, rehash, err := password.Verify("password", enc, lowParams)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify = %v, %v, %v; want true, true (argon2i), nil", ok, rehash, err)
	}
	if ok, _, _ := password.Verify("Password", enc, lowParams); ok {
		t.Fatalf("Verify accepted the wrong password")
	}
}

func TestVerifyLongPasswordBcrypt(t *testing.T) {
	// Hashes imported from systems that truncated at 72 bytes must still
	// verify with the full password the user types.
	long := strings.Repeat("a", 72)
	h, err := bcrypt.GenerateFromPassword([]byte(long), 4)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := password.Verify(long+"tail", string(h), lowParams); err != nil || !ok {
		t.Fatalf("Verify(73+ bytes) = %v, %v; want true, nil", ok, err)
	}
}

func TestVerifyErrors(t *testing.T) {
	bcrypt4, err := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	if err != nil {
		t.Fatal(err)
	}
	withCost := func(cost string) string { return "$2a$" + cost + string(bcrypt4[6:]) }
	good := mustHash(t, "pw", lowParams)

	tests := []struct {
		name    string
		encoded string
		errHas  string
	}{
		{"empty", "", "unsupported"},
		{"plaintext", "pw", "unsupported"},
		{"md5crypt", "$1$salt$qJH7.N4xYta3aEG/dfqo/0", "unsupported"},
		{"argon2d", strings.Replace(good, "argon2id", "argon2d", 1), "malformed"},
		{"bcrypt $2x$", strings.Replace(string(bcrypt4), "$2a$", "$2x$", 1), "unsupported"},
		{"bcrypt $2$", "$2$" + string(bcrypt4[4:]), "unsupported"},
		// Cost 31 would run for days if it were not refused before work.
		{"bcrypt cost 15", withCost("15"), "cost too high"},
		{"bcrypt cost 31", withCost("31"), "cost too high"},
		{"bcrypt cost 03", withCost("03"), "malformed"},
		{"bcrypt cost not digits", withCost("+4"), "malformed"},
		{"bcrypt truncated", string(bcrypt4[:59]), "malformed"},
		{"bcrypt too long", string(bcrypt4) + "x", "malformed"},
		{"bcrypt bad salt", string(bcrypt4[:7]) + "!!!!!!!!!!!!!!!!!!!!!!" + string(bcrypt4[29:]), "malformed"},
		{"argon2 huge m", strings.Replace(good, "m=1024", "m=4194304", 1), "malformed"},
		{"argon2 truncated", good[:len(good)-10], "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := password.Verify("pw", tt.encoded, lowParams)
			if err == nil || ok || rehash {
				t.Fatalf("Verify = %v, %v, %v; want false, false, error", ok, rehash, err)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("error %q does not mention %q", err, tt.errHas)
			}
			if len(tt.encoded) > 8 && strings.Contains(err.Error(), tt.encoded) {
				t.Fatalf("error quotes the hash: %q", err)
			}
		})
	}
}

func TestParseArgon2(t *testing.T) {
	const enc = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE"
	h, err := password.ParseArgon2(enc)
	if err != nil {
		t.Fatalf("ParseArgon2: %v", err)
	}
	want := password.Argon2Hash{
		Variant: "argon2id",
		Version: 19,
		Params:  password.Params{MemoryKiB: 19456, Time: 2, Threads: 1},
		Salt:    []byte("somesaltsomesalt"),
		Key:     bytes.Repeat([]byte("a"), 32),
	}
	if h.Variant != want.Variant || h.Version != want.Version || h.Params != want.Params ||
		!bytes.Equal(h.Salt, want.Salt) || !bytes.Equal(h.Key, want.Key) {
		t.Fatalf("ParseArgon2 = %+v, want %+v", h, want)
	}
	if got := password.Encode(h); got != enc {
		t.Fatalf("Encode(ParseArgon2(s)) = %q, want %q", got, enc)
	}
}

func TestParseArgon2Malformed(t *testing.T) {
	const (
		salt = "c29tZXNhbHRzb21lc2FsdA"                      // 16 bytes
		key  = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE" // 32 bytes
	)
	ok := func(variant, v, params string) string {
		return "$" + variant + "$" + v + "$" + params + "$" + salt + "$" + key
	}
	if _, err := password.ParseArgon2(ok("argon2id", "v=19", "m=1024,t=1,p=1")); err != nil {
		t.Fatalf("the template itself does not parse: %v", err)
	}
	b64 := base64.RawStdEncoding.EncodeToString

	tests := []struct {
		name, encoded string
	}{
		{"empty", ""},
		{"just dollars", "$$$$$"},
		{"no leading dollar", ok("argon2id", "v=19", "m=1024,t=1,p=1")[1:]},
		{"wrong prefix", ok("argon2", "v=19", "m=1024,t=1,p=1")},
		{"argon2d", ok("argon2d", "v=19", "m=1024,t=1,p=1")},
		{"uppercase variant", ok("ARGON2ID", "v=19", "m=1024,t=1,p=1")},
		{"bcrypt", "$2a$04$abcdefghijklmnopqrstuu5VyLrHhC8gQ4Y3gJm3mX8pNK8pLk6Gy"},
		{"missing version", "$argon2id$m=1024,t=1,p=1$" + salt + "$" + key},
		{"version 16", ok("argon2id", "v=16", "m=1024,t=1,p=1")},
		{"version 20", ok("argon2id", "v=20", "m=1024,t=1,p=1")},
		{"version leading zero", ok("argon2id", "v=019", "m=1024,t=1,p=1")},
		{"version huge", ok("argon2id", "v=99999999999999999999", "m=1024,t=1,p=1")},
		{"missing key", "$argon2id$v=19$m=1024,t=1,p=1$" + salt},
		{"missing salt and key", "$argon2id$v=19$m=1024,t=1,p=1"},
		{"extra field", ok("argon2id", "v=19", "m=1024,t=1,p=1") + "$" + key},
		{"trailing dollar", ok("argon2id", "v=19", "m=1024,t=1,p=1") + "$"},
		{"params out of order", ok("argon2id", "v=19", "t=1,m=1024,p=1")},
		{"missing p", ok("argon2id", "v=19", "m=1024,t=1")},
		{"extra param", ok("argon2id", "v=19", "m=1024,t=1,p=1,keyid=abc")},
		{"data param", ok("argon2id", "v=19", "m=1024,t=1,p=1,data=YWJj")},
		{"empty m", ok("argon2id", "v=19", "m=,t=1,p=1")},
		{"negative t", ok("argon2id", "v=19", "m=1024,t=-1,p=1")},
		{"plus sign", ok("argon2id", "v=19", "m=+1024,t=1,p=1")},
		{"leading zero", ok("argon2id", "v=19", "m=01024,t=1,p=1")},
		{"hex", ok("argon2id", "v=19", "m=0x400,t=1,p=1")},
		{"underscore", ok("argon2id", "v=19", "m=1_024,t=1,p=1")},
		{"space", ok("argon2id", "v=19", "m=1024, t=1,p=1")},
		{"huge m", ok("argon2id", "v=19", "m=1048577,t=1,p=1")},
		{"m overflows uint32", ok("argon2id", "v=19", "m=4294967296,t=1,p=1")},
		{"m many digits", ok("argon2id", "v=19", "m=99999999999999999999999,t=1,p=1")},
		{"huge t", ok("argon2id", "v=19", "m=1024,t=17,p=1")},
		{"huge p", ok("argon2id", "v=19", "m=1024,t=1,p=17")},
		{"p 256 wraps uint8", ok("argon2id", "v=19", "m=4096,t=1,p=256")},
		{"t zero", ok("argon2id", "v=19", "m=1024,t=0,p=1")},
		{"p zero", ok("argon2id", "v=19", "m=1024,t=1,p=0")},
		{"m below 8p", ok("argon2id", "v=19", "m=31,t=1,p=4")},
		{"bad base64 salt", "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHR*b21lc2FsdA$" + key},
		{"padded salt", "$argon2id$v=19$m=1024,t=1,p=1$" + base64.StdEncoding.EncodeToString([]byte("somesaltsomesalt")) + "$" + key},
		{"url-safe base64 key", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + b64(bytes.Repeat([]byte{0xfb}, 32))[:42] + "-"},
		{"newline in key", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + key[:20] + "\n" + key[20:]},
		{"non-canonical trailing bits", "$argon2id$v=19$m=1024,t=1,p=1$" + salt[:21] + "B$" + key},
		{"salt 7 bytes", "$argon2id$v=19$m=1024,t=1,p=1$" + b64(make([]byte, 7)) + "$" + key},
		{"salt 65 bytes", "$argon2id$v=19$m=1024,t=1,p=1$" + b64(make([]byte, 65)) + "$" + key},
		{"key 15 bytes", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + b64(make([]byte, 15))},
		{"key 65 bytes", "$argon2id$v=19$m=1024,t=1,p=1$" + salt + "$" + b64(make([]byte, 65))},
		{"empty salt", "$argon2id$v=19$m=1024,t=1,p=1$$" + key},
		{"very long", ok("argon2id", "v=19", "m=1024,t=1,p=1") + strings.Repeat("A", 1<<20)},
		{"nul byte", ok("argon2id", "v=19", "m=1024,t=1,p=1\x00")},
		{"invalid utf-8", ok("argon2id", "v=19", "m=1024,t=1,p=\xff")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := password.ParseArgon2(tt.encoded)
			if err == nil {
				t.Fatalf("ParseArgon2 accepted %q as %+v", tt.encoded, h)
			}
			// Verify refuses it too (the bcrypt row is well formed for
			// Verify, just not the password).
			ok, _, err := password.Verify("pw", tt.encoded, lowParams)
			if ok || (err == nil && strings.HasPrefix(tt.encoded, "$argon2")) {
				t.Fatalf("Verify(%q) = %v, %v; want false and an error", tt.encoded, ok, err)
			}
		})
	}
}
