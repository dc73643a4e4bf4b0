package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
)

// Helpers and limits shared by the scrypt and PBKDF2 parsers (argon2 has
// its own, in argon2.go; bcrypt's are in verify.go).

// Lengths the scrypt and PBKDF2 parsers accept. Every real implementation
// we import from uses 16..32-byte salts and 32-byte keys (Django's salts
// are 12 or 22 characters); the bounds leave room for odd configurations
// while keeping a salt that is no salt at all, or a 16-bit key, out.
const (
	kdfMinSaltLen = 8
	kdfMaxSaltLen = 256
	kdfMinKeyLen  = 16
	kdfMaxKeyLen  = 128

	// maxKDFEncodedLen is longer than any scrypt or PBKDF2 string the
	// parsers accept (the longest, a PHC pbkdf2-sha256 string at the caps
	// with a 256-byte salt and a 128-byte key, is 546 characters), so
	// longer input is refused before it is split.
	maxKDFEncodedLen = 600
)

// Verification caps for scrypt and PBKDF2: what any stored hash may cost,
// however it got into the database. They keep one verification under
// 256 MiB and a few seconds (measured on one x86-64 core: about 5 s for
// the costliest scrypt, 1.6 s for the costliest PBKDF2). CheckImport
// applies tighter ones.
const (
	maxScryptMemory  = 256 << 20 // bytes: 128*r*(N+p+2), all that scrypt allocates
	maxScryptWork    = 1 << 30   // bytes mixed: 128*N*r*p
	maxScryptThreads = 16        // p

	// maxPBKDF2Work bounds iterations times 32-byte output blocks: PBKDF2
	// runs all its iterations once per block, so a 128-byte key costs four
	// times a 32-byte one at the same iteration count.
	maxPBKDF2Work = 10_000_000
)

// malformedHash is the error for a hash that does not parse. It names the
// format and the reason, never the input: the input is a password hash.
func malformedHash(format, why string) error {
	return fmt.Errorf("password: malformed %s hash: %s", format, why)
}

// parseNamed parses "<name><decimal>" (name includes the '='), e.g. "ln=16".
func parseNamed(s, name string) (uint32, error) {
	v, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, errors.New("want " + name + "<n>")
	}
	n, err := parseDecimal(v, math.MaxUint32)
	if err != nil {
		return 0, errors.New(strings.TrimSuffix(name, "=") + " " + err.Error())
	}
	return n, nil
}

// decodeAltBase64 decodes canonical unpadded base64 in either the standard
// alphabet or passlib's "ab64" variant, which has '.' where standard has
// '+'. Callers refuse a hash that uses both ('+' and '.').
func decodeAltBase64(s string, min, max int) ([]byte, error) {
	return decodeBase64(strings.ReplaceAll(s, ".", "+"), min, max)
}

// mixesAlphabets reports whether s has both '+' and '.', i.e. base64 fields
// in both the standard and the ab64 alphabet.
func mixesAlphabets(s string) bool {
	return strings.Contains(s, "+") && strings.Contains(s, ".")
}

// encodeAB64 is passlib's ab64: unpadded standard base64 with '.' for '+'.
func encodeAB64(b []byte) string {
	return strings.ReplaceAll(base64.RawStdEncoding.EncodeToString(b), "+", ".")
}

// decodePaddedBase64 decodes canonical padded standard base64 (Django's
// encoding) of min..max bytes, checking the length before decoding.
func decodePaddedBase64(s string, min, max int) ([]byte, error) {
	enc := base64.StdEncoding
	if len(s) < enc.EncodedLen(min) || len(s) > enc.EncodedLen(max) {
		return nil, fmt.Errorf("length must be %d..%d bytes", min, max)
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil || enc.EncodeToString(b) != s {
		return nil, errors.New("not canonical padded base64")
	}
	if len(b) < min || len(b) > max {
		return nil, fmt.Errorf("length must be %d..%d bytes", min, max)
	}
	return b, nil
}

// satMul and satAdd saturate at math.MaxUint64 instead of wrapping, so a
// cost computed from hostile parameters can only come out too high.
func satMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

func satAdd(a, b uint64) uint64 {
	sum, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return math.MaxUint64
	}
	return sum
}
