package password_test

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

// upassTable is passlib's UPASS_TABLE test password, which its
// non-ASCII vectors below are made with.
const upassTable = "t\u00e1\u0411\u2113\u0259"

// Hashes made by other implementations, each checked against its password.
// Sources:
//   - passlib's test suite (passlib/tests/test_handlers.py, pbkdf2_sha256_test
//     and test_handlers_scrypt.py, _scrypt_test: known_correct_hashes);
//   - passlib's documentation (passlib.hash.pbkdf2_digest and
//     passlib.hash.scrypt pages, the usage examples);
//   - passlib's Django tests (test_handlers_django.py,
//     django_pbkdf2_sha256_test: "generated via django 1.4 hasher");
//   - RustCrypto's pbkdf2 crate (pbkdf2/tests/simple.rs, EXPECTED_HASH, a
//     PHC string over the PBKDF2-HMAC-SHA256 test vector with a 40-byte
//     key).
var referenceVectors = []struct {
	name, pw, encoded string
}{
	{"passlib pbkdf2 test suite", "password", "$pbkdf2-sha256$1212$4vjV83LKPjQzk31VI4E0Vw$hsYF68OiOUPdDZ1Fg.fJPeq1h/gXXY7acBp9/6c.tmQ"},
	{"passlib pbkdf2 docs", "password", "$pbkdf2-sha256$6400$0ZrzXitFSGltTQnBWOsdAw$Y11AchqV4b0sUisdZd0Xr97KWoymNE0LNNrnEgY4H9M"},
	{"passlib pbkdf2 docs 10-byte salt", "password", "$pbkdf2-sha256$8000$XAuBMIYQQogxRg$tRRlz8hYn63B9LYiCd6PRo6FMiunY9ozmMMI3srxeRE"},
	{"passlib scrypt test suite", "test", "$scrypt$ln=8,r=8,p=1$wlhLyXmP8b53bm1NKYVQqg$mTpvG8lzuuDk+DWz8HZIB6Vum6erDuUm0As5yU+VxWA"},
	{"passlib scrypt test suite r=2", "password", "$scrypt$ln=8,r=2,p=1$dO6d0xoDoLT2PofQGoNQag$g/Wf2A0vhHhaJM+addK61QPBthSmYB6uVTtQzh8CM3o"},
	{"passlib scrypt test suite p=2", "nacl", "$scrypt$ln=1,r=4,p=2$yhnD+J+Tci4lZCwFgHCuVQ$fAsEWmxSHuC0cHKMwKVFPzrQukgvK09Sj+NueTSxKds"},
	{"passlib scrypt test suite unicode", upassTable, "$scrypt$ln=7,r=8,p=1$jjGmtDamdA4BQAjBeA9BSA$OiWRHhQtpDx7M/793x6UXK14AD512jg/qNm/hkWZG4M"},
	{"passlib scrypt docs", "password", "$scrypt$ln=8,r=8,p=1$WKs1xljLudd6z9kbY0wpJQ$yCR4iDZYDKv+iEJj6yHY0lv/epnfB6f/w1EbXrsJOuQ"},
	{"django via passlib tests", "not a password", "pbkdf2_sha256$10000$kjVJaVz6qsnJ$5yPHw3rwJGECpUf70daLGhOrQ5+AMxIJdz1c3bqK1Rs="},
	{"django via passlib tests unicode", upassTable, "pbkdf2_sha256$10000$bEwAfNrH1TlQ$OgYUblFNUX1B8GfMqaCYUK/iHyO0pa7STTDdaEJBuY0="},
	{"rustcrypto pbkdf2 phc", "passwordPASSWORDpassword", "$pbkdf2-sha256$i=4096,l=40$c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+HGNVGMfaxH6Q"},
}

// passlibScryptDefault is the example on passlib's scrypt page, at
// passlib's default cost (ln=16, r=8, p=1: a 64 MiB V array, exactly the
// import cap). Verifying it takes a while, so only CheckImport sees it.
const passlibScryptDefault = "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E"

// djangoSeasalt is from Django's own tests (Django 1.4's test_hashers.py,
// test_pbkdf2, password "letmein"): a real hash, but its salt "seasalt" is
// 7 characters, under our 8-byte minimum; Django itself never makes salts
// shorter than 12.
const djangoSeasalt = "pbkdf2_sha256$10000$seasalt$FQCNpiZpTb0zub+HBsH6TOwyRxJ19FwvjbweatNmK/Y="

// testSalt returns n deterministic salt bytes. They start with fb ef be,
// which is "++++" in standard base64, so every ab64 encoding of them has
// '.' in it.
func testSalt(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*37 + 11)
	}
	copy(b, []byte{0xfb, 0xef, 0xbe})
	return b
}

var (
	b64   = base64.RawStdEncoding.EncodeToString
	ab64  = func(b []byte) string { return strings.ReplaceAll(b64(b), "+", ".") }
	b64p  = base64.StdEncoding.EncodeToString
	b64Of = func(n int) string { return b64(testSalt(n)) }
)

// makeScrypt builds a passlib scrypt string with x/crypto/scrypt.
func makeScrypt(t testing.TB, pw string, ln, r, p, saltLen, keyLen int, dotted bool) string {
	t.Helper()
	salt := testSalt(saltLen)
	key, err := scrypt.Key([]byte(pw), salt, 1<<ln, r, p, keyLen)
	if err != nil {
		t.Fatal(err)
	}
	enc := b64
	if dotted {
		enc = ab64
	}
	return fmt.Sprintf("$scrypt$ln=%d,r=%d,p=%d$%s$%s", ln, r, p, enc(salt), enc(key))
}

func pbkdf2Key(t testing.TB, pw string, salt []byte, iter, keyLen int) []byte {
	t.Helper()
	key, err := pbkdf2.Key(sha256.New, pw, salt, iter, keyLen)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// makePasslibPBKDF2 builds passlib's form, in ab64 (as passlib writes it)
// or the standard alphabet (which passlib also reads).
func makePasslibPBKDF2(t testing.TB, pw string, iter, saltLen, keyLen int, dotted bool) string {
	salt := testSalt(saltLen)
	enc := b64
	if dotted {
		enc = ab64
	}
	return fmt.Sprintf("$pbkdf2-sha256$%d$%s$%s", iter, enc(salt), enc(pbkdf2Key(t, pw, salt, iter, keyLen)))
}

// makePHCPBKDF2 builds the PHC-style form, with or without l=.
func makePHCPBKDF2(t testing.TB, pw string, iter, saltLen, keyLen int, withLen bool) string {
	salt := testSalt(saltLen)
	l := ""
	if withLen {
		l = fmt.Sprintf(",l=%d", keyLen)
	}
	return fmt.Sprintf("$pbkdf2-sha256$i=%d%s$%s$%s", iter, l, b64(salt), b64(pbkdf2Key(t, pw, salt, iter, keyLen)))
}

// makeDjangoPBKDF2 builds Django's form: the salt is text.
func makeDjangoPBKDF2(t testing.TB, pw, salt string, iter, keyLen int) string {
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iter, salt, b64p(pbkdf2Key(t, pw, []byte(salt), iter, keyLen)))
}

// checkVerifies checks that pw verifies against encoded with a rehash, a
// wrong password does not, and CheckImport accepts encoded.
func checkVerifies(t *testing.T, pw, encoded string) {
	t.Helper()
	for _, want := range []password.Params{lowParams, password.DefaultParams()} {
		ok, rehash, err := password.Verify(pw, encoded, want)
		if err != nil || !ok || !rehash {
			t.Fatalf("Verify(right) = %v, %v, %v; want true, true, nil", ok, rehash, err)
		}
	}
	for _, wrong := range []string{pw + "x", "", strings.ToUpper(pw) + "!"} {
		if wrong == pw {
			continue
		}
		ok, rehash, err := password.Verify(wrong, encoded, lowParams)
		if err != nil || ok || rehash {
			t.Fatalf("Verify(%q) = %v, %v, %v; want false, false, nil", wrong, ok, rehash, err)
		}
	}
	if err := password.CheckImport(encoded); err != nil {
		t.Fatalf("CheckImport = %v, want nil", err)
	}
}

func TestVerifyReferenceVectorsImported(t *testing.T) {
	for _, tt := range referenceVectors {
		t.Run(tt.name, func(t *testing.T) { checkVerifies(t, tt.pw, tt.encoded) })
	}
}

func TestVerifyImportedFormats(t *testing.T) {
	const pw = "securePassword123!"
	tests := []struct {
		name, pw, encoded string
	}{
		{"scrypt", pw, makeScrypt(t, pw, 4, 8, 1, 16, 32, false)},
		{"scrypt ab64", pw, makeScrypt(t, pw, 4, 8, 1, 16, 32, true)},
		{"scrypt r=1 p=3", pw, makeScrypt(t, pw, 5, 1, 3, 16, 32, false)},
		{"scrypt shortest salt and key", pw, makeScrypt(t, pw, 1, 1, 1, 8, 16, false)},
		{"scrypt longest salt and key", pw, makeScrypt(t, pw, 1, 1, 1, 256, 128, true)},
		{"scrypt empty password", "", makeScrypt(t, "", 4, 8, 1, 16, 32, false)},
		{"scrypt unicode password", "pässwörd-日本語-🔒", makeScrypt(t, "pässwörd-日本語-🔒", 4, 8, 1, 16, 32, false)},
		{"passlib pbkdf2 ab64", pw, makePasslibPBKDF2(t, pw, 1000, 16, 32, true)},
		{"passlib pbkdf2 standard alphabet", pw, makePasslibPBKDF2(t, pw, 1000, 16, 32, false)},
		{"passlib pbkdf2 shortest salt and key", pw, makePasslibPBKDF2(t, pw, 1, 8, 16, true)},
		{"passlib pbkdf2 longest salt and key", pw, makePasslibPBKDF2(t, pw, 1, 256, 128, true)},
		{"phc pbkdf2 with l", pw, makePHCPBKDF2(t, pw, 1000, 16, 32, true)},
		{"phc pbkdf2 without l", pw, makePHCPBKDF2(t, pw, 1000, 16, 32, false)},
		{"phc pbkdf2 64-byte key", pw, makePHCPBKDF2(t, pw, 1000, 16, 64, true)},
		{"phc pbkdf2 longest salt and key", pw, makePHCPBKDF2(t, pw, 1, 256, 128, true)},
		{"django pbkdf2", pw, makeDjangoPBKDF2(t, pw, "Gh7sQ2xLk9PzR4mWv1NbTc", 1000, 32)},
		{"django pbkdf2 12-char salt", pw, makeDjangoPBKDF2(t, pw, "kjVJaVz6qsnJ", 1000, 32)},
		{"django pbkdf2 punctuation salt", pw, makeDjangoPBKDF2(t, pw, "a.b+c/d=e!f~", 1000, 32)},
		{"django pbkdf2 longest salt and key", pw, makeDjangoPBKDF2(t, pw, strings.Repeat("s", 256), 1, 128)},
		{"django pbkdf2 unicode password", upassTable, makeDjangoPBKDF2(t, upassTable, "kjVJaVz6qsnJ", 1000, 32)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkVerifies(t, tt.pw, tt.encoded) })
	}
}

// TestImportedParsersRoundTrip checks the parsed fields against what the
// generators put in.
func TestImportedParsersRoundTrip(t *testing.T) {
	const pw = "pw"
	s := makeScrypt(t, pw, 4, 8, 2, 16, 32, false)
	h, err := password.ParseScrypt(s)
	if err != nil {
		t.Fatal(err)
	}
	if h.LogN != 4 || h.R != 8 || h.P != 2 || !slices.Equal(h.Salt, testSalt(16)) || len(h.Key) != 32 || password.EncodeScrypt(h) != s {
		t.Fatalf("ParseScrypt = %+v", h)
	}
	dotted := makeScrypt(t, pw, 4, 8, 2, 16, 32, true)
	if h2, err := password.ParseScrypt(dotted); err != nil || !slices.Equal(h2.Key, h.Key) || !slices.Equal(h2.Salt, h.Salt) {
		t.Fatalf("ab64 scrypt parses to %+v, %v; want the same as the standard alphabet", h2, err)
	}

	for _, tt := range []struct {
		encoded, form string
		iter          uint32
		salt          []byte
		keyLen        int
	}{
		{makePasslibPBKDF2(t, pw, 1212, 16, 32, true), "passlib", 1212, testSalt(16), 32},
		{makePHCPBKDF2(t, pw, 4096, 24, 40, true), "phc", 4096, testSalt(24), 40},
		{makePHCPBKDF2(t, pw, 4096, 24, 40, false), "phc", 4096, testSalt(24), 40},
		{makeDjangoPBKDF2(t, pw, "seasaltseasalt", 10000, 32), "django", 10000, []byte("seasaltseasalt"), 32},
	} {
		h, err := password.ParsePBKDF2(tt.encoded)
		if err != nil {
			t.Fatalf("ParsePBKDF2: %v", err)
		}
		if password.PBKDF2Form(h) != tt.form || h.Iterations != tt.iter || !slices.Equal(h.Salt, tt.salt) || len(h.Key) != tt.keyLen {
			t.Fatalf("ParsePBKDF2 = %s %+v, want %s %d iterations", password.PBKDF2Form(h), h, tt.form, tt.iter)
		}
		if got := password.EncodePBKDF2(h); got != tt.encoded {
			t.Fatalf("EncodePBKDF2 = %q, want %q", got, tt.encoded)
		}
	}
}

// errNoQuote fails if err's text or msg contains encoded or one of its
// salt or key fields.
func errNoQuote(t *testing.T, text, encoded string) {
	t.Helper()
	if len(encoded) > 8 && strings.Contains(text, encoded) {
		t.Fatalf("error quotes the hash: %q", text)
	}
	fields := strings.Split(encoded, "$")
	for _, f := range fields[min(2, len(fields)):] {
		if len(f) >= 8 && strings.Contains(text, f) {
			t.Fatalf("error quotes a field of the hash (%q): %q", f, text)
		}
	}
}

func TestVerifyImportedMalformed(t *testing.T) {
	// salt has '+' (standard alphabet); key has neither '+' nor '.', so it
	// goes with either alphabet.
	salt, key := b64Of(16), b64([]byte(strings.Repeat("key-", 8)))
	if strings.ContainsAny(key, "+.") {
		t.Fatalf("test setup: key %q has '+' or '.'", key)
	}
	scryptOK := func(params string) string { return "$scrypt$" + params + "$" + salt + "$" + key }
	passlibOK := func(rounds string) string { return "$pbkdf2-sha256$" + rounds + "$" + ab64(testSalt(16)) + "$" + key }
	phcOK := func(params string) string { return "$pbkdf2-sha256$" + params + "$" + salt + "$" + key }
	djangoKey := b64p(testSalt(32))
	djangoOK := func(iter, salt string) string { return "pbkdf2_sha256$" + iter + "$" + salt + "$" + djangoKey }
	for _, s := range []string{scryptOK("ln=4,r=8,p=1"), passlibOK("1000"), phcOK("i=1000,l=32"), djangoOK("1000", "abcdefghijkl")} {
		if err := password.CheckImport(s); err != nil {
			t.Fatalf("template %q: %v", s, err)
		}
		if _, _, err := password.Verify("pw", s, lowParams); err != nil {
			t.Fatalf("the template %q does not verify: %v", s, err)
		}
	}
	// A canonical key whose last character has stray low bits.
	nonCanonical := key[:len(key)-1] + "B"
	if _, err := base64.RawStdEncoding.Strict().DecodeString(nonCanonical); err == nil {
		t.Fatalf("test setup: %q should not be canonical", nonCanonical)
	}

	bcrypt4, err := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	if err != nil {
		t.Fatal(err)
	}
	bc := string(bcrypt4)

	tests := []struct {
		name, encoded, errHas string
	}{
		// scrypt
		{"scrypt prefix only", "$scrypt$", "malformed scrypt"},
		{"scrypt missing key", "$scrypt$ln=4,r=8,p=1$" + salt, "malformed scrypt"},
		{"scrypt extra field", scryptOK("ln=4,r=8,p=1") + "$" + key, "malformed scrypt"},
		{"scrypt trailing dollar", scryptOK("ln=4,r=8,p=1") + "$", "malformed scrypt"},
		{"scrypt params out of order", scryptOK("r=8,ln=4,p=1"), "want ln="},
		{"scrypt missing p", scryptOK("ln=4,r=8"), "exactly ln, r and p"},
		{"scrypt extra param", scryptOK("ln=4,r=8,p=1,l=32"), "exactly ln, r and p"},
		{"scrypt N instead of ln", scryptOK("N=16,r=8,p=1"), "want ln="},
		{"scrypt leading zero", scryptOK("ln=04,r=8,p=1"), "leading zero"},
		{"scrypt plus sign", scryptOK("ln=+4,r=8,p=1"), "not a number"},
		{"scrypt empty ln", scryptOK("ln=,r=8,p=1"), "not a number"},
		{"scrypt spaces", scryptOK("ln=4, r=8,p=1"), "want r="},
		{"scrypt ln=0", scryptOK("ln=0,r=8,p=1"), "at least 1"},
		{"scrypt r=0", scryptOK("ln=4,r=0,p=1"), "at least 1"},
		{"scrypt p=0", scryptOK("ln=4,r=8,p=0"), "at least 1"},
		{"scrypt ln overflows uint32", scryptOK("ln=4294967296,r=8,p=1"), "exceeds"},
		{"scrypt padded salt", "$scrypt$ln=4,r=8,p=1$" + salt + "==$" + key, "salt"},
		{"scrypt bad salt character", "$scrypt$ln=4,r=8,p=1$" + salt[:10] + "!" + salt[11:] + "$" + key, "salt"},
		{"scrypt url-safe salt", "$scrypt$ln=4,r=8,p=1$" + strings.ReplaceAll(salt, "+", "-") + "$" + key, "salt"},
		{"scrypt newline in salt", "$scrypt$ln=4,r=8,p=1$" + salt[:8] + "\n" + salt[8:] + "$" + key, "salt"},
		{"scrypt short salt", "$scrypt$ln=4,r=8,p=1$" + b64Of(7) + "$" + key, "salt: length"},
		{"scrypt long salt", "$scrypt$ln=4,r=8,p=1$" + b64Of(257) + "$" + key, "salt: length"},
		{"scrypt short key", "$scrypt$ln=4,r=8,p=1$" + salt + "$" + b64Of(15), "key: length"},
		{"scrypt long key", "$scrypt$ln=4,r=8,p=1$" + salt + "$" + b64Of(129), "key: length"},
		{"scrypt non-canonical key", "$scrypt$ln=4,r=8,p=1$" + salt + "$" + nonCanonical, "key: not canonical"},
		{"scrypt mixed alphabets", "$scrypt$ln=4,r=8,p=1$" + salt + "$" + key[:5] + "." + key[6:], "alphabets"},
		{"scrypt too long", "$scrypt$ln=4,r=8,p=1$" + salt + "$" + key + strings.Repeat("A", 600), "too long"},
		{"scrypt uppercase", strings.ToUpper(scryptOK("ln=4,r=8,p=1")), "unsupported"},
		{"scrypt $7$", "$7$C6..../....SodiumChloride$kBGj9fHznVYFQMEn/qDCfrDevf9YDtcDdKvEqHJLV8D", "unsupported"},
		{"django scrypt", "scrypt$16384$" + salt + "$8$1$" + djangoKey, "unsupported"},

		// passlib pbkdf2-sha256
		{"passlib leading zero", passlibOK("01212"), "leading zero"},
		{"passlib empty rounds", passlibOK(""), "not a number"},
		{"passlib negative rounds", passlibOK("-1"), "not a number"},
		{"passlib zero rounds", passlibOK("0"), "at least 1"},
		{"passlib exponent", passlibOK("1e3"), "not a number"},
		{"passlib rounds overflow uint32", passlibOK("4294967296"), "exceeds"},
		{"passlib missing key", "$pbkdf2-sha256$1000$" + salt, "malformed pbkdf2-sha256"},
		{"passlib extra field", passlibOK("1000") + "$", "malformed pbkdf2-sha256"},
		{"passlib padded key", passlibOK("1000") + "=", "key"},
		{"passlib short salt", "$pbkdf2-sha256$1000$" + b64Of(7) + "$" + key, "salt: length"},
		{"passlib short key", "$pbkdf2-sha256$1000$" + salt + "$" + b64Of(15), "key: length"},
		{"passlib mixed alphabets", "$pbkdf2-sha256$1000$" + ab64(testSalt(16)) + "$" + b64(testSalt(32)), "alphabets"},
		{"passlib non-canonical key", "$pbkdf2-sha256$1000$" + salt + "$" + nonCanonical, "key: not canonical"},
		{"passlib sha1", "$pbkdf2$1212$OB.dtnSEXZK8U5cgxU/GYQ$y5LKPOplRmok7CZp/aqVDVg8zGI", "unsupported"},
		{"passlib sha512", "$pbkdf2-sha512$1212$RHY0Fr3IDMSVO/RSZyb5ow$" + b64Of(64), "unsupported"},

		// PHC pbkdf2-sha256
		{"phc empty i", phcOK("i="), "not a number"},
		{"phc l before i", phcOK("l=32,i=1000"), "not a number"},
		{"phc l only", phcOK("i=1000,i=1000"), "want l="},
		{"phc unknown param", phcOK("i=1000,x=1"), "want l="},
		{"phc three params", phcOK("i=1000,l=32,x=1"), "at most l="},
		{"phc l mismatch", phcOK("i=1000,l=33"), "l does not match"},
		{"phc l leading zero", phcOK("i=1000,l=032"), "leading zero"},
		{"phc zero i", phcOK("i=0"), "at least 1"},
		{"phc ab64 salt", "$pbkdf2-sha256$i=1000$" + ab64(testSalt(16)) + "$" + key, "salt: not canonical"},
		{"phc padded key", phcOK("i=1000") + "=", "key"},
		{"phc short salt", "$pbkdf2-sha256$i=1000$" + b64Of(7) + "$" + key, "salt: length"},

		// Django pbkdf2_sha256
		{"django three fields", "pbkdf2_sha256$1000$" + djangoKey, "malformed Django"},
		{"django five fields", djangoOK("1000", "abcdefghijkl") + "$x", "malformed Django"},
		{"django leading zero", djangoOK("01000", "abcdefghijkl"), "leading zero"},
		{"django zero iterations", djangoOK("0", "abcdefghijkl"), "at least 1"},
		{"django seasalt (7-character salt)", djangoSeasalt, "salt must be"},
		{"django salt with a space", djangoOK("1000", "abcdef ghijkl"), "salt must be"},
		{"django non-ASCII salt", djangoOK("1000", "abcdéfghijkl"), "salt must be"},
		{"django long salt", djangoOK("1000", strings.Repeat("s", 257)), "salt must be"},
		{"django unpadded key", "pbkdf2_sha256$1000$abcdefghijkl$" + strings.TrimRight(djangoKey, "="), "key"},
		{"django url-safe key", "pbkdf2_sha256$1000$abcdefghijkl$" + base64.URLEncoding.EncodeToString([]byte{0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe, 0xfb, 0xef, 0xbe}), "key"},
		{"django short key", "pbkdf2_sha256$1000$abcdefghijkl$" + b64p(testSalt(15)), "key: length"},
		{"django sha1", "pbkdf2_sha1$10000$wz5B6WkasRoF$atJmJ1o+XfJxKq1+Nu1f1i57Z5I=", "unsupported"},
		{"django uppercase", strings.ToUpper(djangoOK("1000", "abcdefghijkl")), "unsupported"},

		// bcrypt strictness added with CheckImport
		{"bcrypt non-canonical hash", bc[:59] + "b", "not canonical"},
		{"bcrypt bad hash character", bc[:40] + "+" + bc[41:], "bcrypt alphabet"},
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
			errNoQuote(t, err.Error(), tt.encoded)
			checkImportRefuses(t, tt.encoded, tt.errHas)
		})
	}
}

// checkImportRefuses checks that CheckImport refuses encoded with an
// invalid_hash field error mentioning msgHas and not quoting the hash.
func checkImportRefuses(t *testing.T, encoded, msgHas string) {
	t.Helper()
	err := password.CheckImport(encoded)
	var le *latch.Error
	if !errors.As(err, &le) {
		t.Fatalf("CheckImport = %v (%T), want a *latch.Error", err, err)
	}
	if le.Kind != latch.KindInvalid || le.Code != latch.CodeInvalidHash || le.Field != "password_hash" {
		t.Fatalf("CheckImport = %+v, want Invalid, %s, password_hash", le, latch.CodeInvalidHash)
	}
	if !strings.Contains(le.Message, msgHas) || strings.HasPrefix(le.Message, "password:") {
		t.Fatalf("CheckImport message %q does not mention %q (or has the package prefix)", le.Message, msgHas)
	}
	errNoQuote(t, le.Message, encoded)
	errNoQuote(t, le.Error(), encoded)
}

// TestVerifyImportedCaps checks the verification caps: a hash over them is
// refused before any work (so these run fast), one at them parses.
func TestVerifyImportedCaps(t *testing.T) {
	salt, key := b64Of(16), b64Of(32)
	scryptAt := func(ln, r, p int) string {
		return fmt.Sprintf("$scrypt$ln=%d,r=%d,p=%d$%s$%s", ln, r, p, salt, key)
	}
	pbkdf2At := func(iter, keyLen int) string {
		return fmt.Sprintf("$pbkdf2-sha256$i=%d$%s$%s", iter, salt, b64Of(keyLen))
	}
	djangoAt := func(iter int) string {
		return fmt.Sprintf("pbkdf2_sha256$%d$abcdefghijkl$%s", iter, b64p(testSalt(32)))
	}

	over := []struct {
		name, encoded, errHas string
	}{
		{"scrypt 512 MiB (ln=19, r=8)", scryptAt(19, 8, 1), "256 MiB of memory"},
		{"scrypt 256 MiB V array plus lane buffers", scryptAt(18, 8, 1), "256 MiB of memory"},
		{"scrypt huge r, tiny N (lane buffers)", scryptAt(1, 1<<20, 1), "256 MiB of memory"},
		{"scrypt ln=4294967295", scryptAt(4294967295, 8, 1), "256 MiB of memory"},
		{"scrypt r=4294967295", scryptAt(4, 4294967295, 1), "256 MiB of memory"},
		{"scrypt p=17", scryptAt(4, 8, 17), "p=17 exceeds 16"},
		{"scrypt p=4294967295", scryptAt(4, 8, 4294967295), "exceeds 16"},
		{"scrypt work 2 GiB (ln=17, r=8, p=16)", scryptAt(17, 8, 16), "128*N*r*p exceeds 1024 MiB"},
		{"pbkdf2 10,000,001 iterations", pbkdf2At(10_000_001, 32), "more than 10000000 iterations"},
		{"pbkdf2 5,000,001 iterations, 64-byte key", pbkdf2At(5_000_001, 64), "blocks of key exceed 10000000"},
		{"pbkdf2 2,500,001 iterations, 128-byte key", pbkdf2At(2_500_001, 128), "blocks of key exceed 10000000"},
		{"pbkdf2 max uint32 iterations", pbkdf2At(4294967295, 32), "cost too high"},
		{"django 10,000,001 iterations", djangoAt(10_000_001), "cost too high"},
		{"passlib 10,000,001 iterations", fmt.Sprintf("$pbkdf2-sha256$%d$%s$%s", 10_000_001, salt, key), "cost too high"},
	}
	for _, tt := range over {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := password.Verify("pw", tt.encoded, lowParams)
			if err == nil || ok || rehash {
				t.Fatalf("Verify = %v, %v, %v; want false, false, error", ok, rehash, err)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Fatalf("error %q does not mention %q", err, tt.errHas)
			}
			errNoQuote(t, err.Error(), tt.encoded)
			checkImportRefuses(t, tt.encoded, tt.errHas)
		})
	}

	// At the caps: parsed (and so verifiable), but too slow to verify here.
	for _, s := range []string{scryptAt(17, 8, 8), scryptAt(20, 1, 1), scryptAt(14, 8, 16)} {
		h, err := password.ParseScrypt(s)
		if err != nil {
			t.Fatalf("ParseScrypt(%q) = %v, want it within the verification caps", s, err)
		}
		if v, rest, work := password.ScryptCosts(h); v+rest > 256<<20 || work > 1<<30 {
			t.Fatalf("%q costs %d+%d bytes, %d work", s, v, rest, work)
		}
	}
	for _, s := range []string{pbkdf2At(10_000_000, 32), pbkdf2At(5_000_000, 64), pbkdf2At(2_500_000, 128), djangoAt(10_000_000)} {
		if _, err := password.ParsePBKDF2(s); err != nil {
			t.Fatalf("ParsePBKDF2(%q) = %v, want it within the verification caps", s, err)
		}
	}
	// The longest strings the parsers accept fit maxKDFEncodedLen.
	longest := []string{
		fmt.Sprintf("$pbkdf2-sha256$i=2500000,l=128$%s$%s", b64Of(256), b64Of(128)),
		fmt.Sprintf("$pbkdf2-sha256$2500000$%s$%s", b64Of(256), b64Of(128)),
		fmt.Sprintf("pbkdf2_sha256$2500000$%s$%s", strings.Repeat("s", 256), b64p(testSalt(128))),
		fmt.Sprintf("$scrypt$ln=17,r=8,p=8$%s$%s", b64Of(256), b64Of(128)),
		fmt.Sprintf("$scrypt$ln=1,r=419430,p=1$%s$%s", b64Of(256), b64Of(128)),
	}
	for _, s := range longest {
		_, errS := password.ParseScrypt(s)
		_, errP := password.ParsePBKDF2(s)
		if errS != nil && errP != nil {
			t.Fatalf("%d-character hash refused: %v / %v", len(s), errS, errP)
		}
	}
}

// bcryptWithCost returns a syntactically valid bcrypt hash at cost (not a
// hash of anything at that cost: CheckImport does not compute).
func bcryptWithCost(t *testing.T, prefix string, cost int) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), 4)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s%02d%s", prefix, cost, h[6:])
}

func TestCheckImport(t *testing.T) {
	salt, key := b64Of(16), b64Of(32)
	argon2At := func(variant string, m, tc, p int) string {
		return fmt.Sprintf("$%s$v=19$m=%d,t=%d,p=%d$%s$%s", variant, m, tc, p, salt, key)
	}
	scryptAt := func(ln, r, p int) string {
		return fmt.Sprintf("$scrypt$ln=%d,r=%d,p=%d$%s$%s", ln, r, p, salt, key)
	}
	phcAt := func(iter, keyLen int) string {
		return fmt.Sprintf("$pbkdf2-sha256$i=%d,l=%d$%s$%s", iter, keyLen, salt, b64Of(keyLen))
	}
	passlibAt := func(iter int) string {
		return fmt.Sprintf("$pbkdf2-sha256$%d$%s$%s", iter, ab64(testSalt(16)), ab64(testSalt(32)))
	}
	djangoAt := func(iter int) string {
		return fmt.Sprintf("pbkdf2_sha256$%d$Gh7sQ2xLk9PzR4mWv1NbTc$%s", iter, b64p(testSalt(32)))
	}

	accept := []struct{ name, encoded string }{
		{"our own argon2id", mustHash(t, "pw", lowParams)},
		{"argon2i", encodeArgon2("argon2i", "pw", lowParams, 16, 32)},
		{"argon2id at the import caps", argon2At("argon2id", 65536, 10, 16)},
		{"argon2i at the import caps", argon2At("argon2i", 65536, 10, 16)},
		{"argon2 reference vector", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"},
		{"bcrypt $2a$ 04", bcryptWithCost(t, "$2a$", 4)},
		{"bcrypt $2b$ 10", bcryptWithCost(t, "$2b$", 10)},
		{"bcrypt $2y$ 14", bcryptWithCost(t, "$2y$", 14)},
		{"scrypt passlib default (ln=16, r=8, p=1)", passlibScryptDefault},
		{"scrypt 64 MiB, p=4 (work at the cap)", scryptAt(16, 8, 4)},
		{"scrypt 16 MiB, p=16 (work at the cap)", scryptAt(14, 8, 16)},
		{"scrypt lane buffers at the cap", scryptAt(1, 512, 14)},
		{"scrypt ab64", makeScrypt(t, "pw", 4, 8, 1, 16, 32, true)},
		{"pbkdf2 phc 2,000,000 iterations", phcAt(2_000_000, 32)},
		{"pbkdf2 phc 1,000,000 iterations, 64-byte key", phcAt(1_000_000, 64)},
		{"pbkdf2 passlib 2,000,000 iterations", passlibAt(2_000_000)},
		{"pbkdf2 django 1,200,000 iterations (Django 5.2's default)", djangoAt(1_200_000)},
		{"pbkdf2 django 2,000,000 iterations", djangoAt(2_000_000)},
	}
	for _, tt := range accept {
		t.Run(tt.name, func(t *testing.T) {
			if err := password.CheckImport(tt.encoded); err != nil {
				t.Fatalf("CheckImport = %v, want nil", err)
			}
		})
	}

	refuse := []struct{ name, encoded, msgHas string }{
		{"empty", "", "empty"},
		{"plaintext", "hunter2hunter2", "unsupported hash format"},
		{"md5crypt", "$1$saltsalt$qJH7.N4xYta3aEG/dfqo/0", "unsupported"},
		{"argon2d", argon2At("argon2d", 1024, 1, 1), "malformed argon2"},
		{"argon2 m over the import cap", argon2At("argon2id", 65537, 1, 1), "m=65537 KiB is over the import limit of 65536 KiB"},
		{"argon2 1 GiB (verifiable, not importable)", argon2At("argon2id", 1<<20, 1, 1), "import limit"},
		{"argon2 m over the verification cap", argon2At("argon2id", 1<<20+1, 1, 1), "malformed argon2"},
		{"argon2 t over the import cap", argon2At("argon2id", 1024, 11, 1), "t=11 is over the import limit of 10"},
		{"argon2 p over the cap", argon2At("argon2id", 1024, 1, 17), "malformed argon2"},
		{"bcrypt cost 15", bcryptWithCost(t, "$2a$", 15), "cost too high"},
		{"bcrypt cost 31", bcryptWithCost(t, "$2b$", 31), "cost too high"},
		{"bcrypt cost 03", bcryptWithCost(t, "$2b$", 3), "cost below 4"},
		{"bcrypt $2x$", "$2x$" + bcryptWithCost(t, "$2a$", 4)[4:], "unsupported"},
		{"scrypt 128 MiB (ln=17, r=8)", scryptAt(17, 8, 1), "128*N*r is over the import limit of 64 MiB"},
		{"scrypt 64 MiB, p=5", scryptAt(16, 8, 5), "128*N*r*p is over the import limit of 256 MiB"},
		{"scrypt 16 MiB, p=17", scryptAt(14, 8, 17), "p=17 exceeds 16"},
		{"scrypt lane buffers over the cap", scryptAt(1, 512, 15), "lane buffers"},
		{"scrypt ln=20 (verifiable, not importable)", scryptAt(20, 1, 1), "import limit"},
		{"pbkdf2 phc 2,000,001 iterations", phcAt(2_000_001, 32), "more than 2000000 iterations"},
		{"pbkdf2 phc 1,000,001 iterations, 64-byte key", phcAt(1_000_001, 64), "blocks of key exceed 2000000"},
		{"pbkdf2 passlib 2,000,001 iterations", passlibAt(2_000_001), "over the import limit"},
		{"pbkdf2 django 2,000,001 iterations", djangoAt(2_000_001), "over the import limit"},
		{"pbkdf2 django 10,000,001 iterations", djangoAt(10_000_001), "cost too high"},
		{"django seasalt", djangoSeasalt, "salt must be"},
	}
	for _, tt := range refuse {
		t.Run(tt.name, func(t *testing.T) { checkImportRefuses(t, tt.encoded, tt.msgHas) })
	}

	// An unsupported format's message lists what is supported.
	err := password.CheckImport("hunter2hunter2")
	for _, f := range password.ImportFormats() {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("CheckImport error %q does not list %q", err, f)
		}
	}
}

func TestImportFormats(t *testing.T) {
	want := []string{"argon2id", "argon2i", "bcrypt", "scrypt", "pbkdf2-sha256"}
	got := password.ImportFormats()
	if !slices.Equal(got, want) {
		t.Fatalf("ImportFormats() = %q, want %q", got, want)
	}
	got[0] = "md5"
	if again := password.ImportFormats(); !slices.Equal(again, want) {
		t.Fatalf("ImportFormats() after a caller's edit = %q", again)
	}
}

// TestImportedHashThroughHasher checks that a Hasher verifies imported
// formats (through its slots) and asks for a rehash.
func TestImportedHashThroughHasher(t *testing.T) {
	h, err := password.NewHasher(lowParams, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range referenceVectors[:3] {
		ok, rehash, err := h.Verify(t.Context(), v.pw, v.encoded)
		if err != nil || !ok || !rehash {
			t.Fatalf("Hasher.Verify(%s) = %v, %v, %v; want true, true, nil", v.name, ok, rehash, err)
		}
	}
}
