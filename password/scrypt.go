package password

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"math"
	"strings"

	"golang.org/x/crypto/scrypt"
)

const scryptPrefix = "$scrypt$"

// scryptHash is a parsed passlib/PHC scrypt string,
// $scrypt$ln=<log2 N>,r=<r>,p=<p>$<salt>$<key>. Fields are exported only
// for the tests' hooks; the type is not.
type scryptHash struct {
	LogN, R, P uint32
	Salt, Key  []byte
}

func isScrypt(encoded string) bool { return strings.HasPrefix(encoded, scryptPrefix) }

// parseScrypt parses the scrypt form passlib writes (and @phc/scrypt,
// Deno's scrypt and others copied): ln, r and p in that order and nothing
// else, canonical decimals, salt and key in canonical unpadded base64.
// passlib writes the standard alphabet ('+'); its ab64 variant ('.' for
// '+', which passlib's pbkdf2 hashes use) is accepted too, but not both in
// one hash. Costs are capped by the verification caps (see kdf.go).
//
// Not supported: the $7$ form (libsodium, yescrypt's crypt), Django's
// scrypt$... form, and the Tarsnap/node-scrypt binary format.
func parseScrypt(encoded string) (scryptHash, error) {
	if len(encoded) > maxKDFEncodedLen {
		return scryptHash{}, malformedHash("scrypt", "too long")
	}
	fields := strings.Split(encoded, "$")
	if len(fields) != 5 || fields[0] != "" || fields[1] != "scrypt" {
		return scryptHash{}, malformedHash("scrypt", "want $scrypt$ln=..,r=..,p=..$salt$key")
	}
	params := strings.Split(fields[2], ",")
	if len(params) != 3 {
		return scryptHash{}, malformedHash("scrypt", "want exactly ln, r and p")
	}
	var h scryptHash
	var err error
	if h.LogN, err = parseNamed(params[0], "ln="); err != nil {
		return scryptHash{}, malformedHash("scrypt", err.Error())
	}
	if h.R, err = parseNamed(params[1], "r="); err != nil {
		return scryptHash{}, malformedHash("scrypt", err.Error())
	}
	if h.P, err = parseNamed(params[2], "p="); err != nil {
		return scryptHash{}, malformedHash("scrypt", err.Error())
	}
	if h.LogN < 1 || h.R < 1 || h.P < 1 {
		return scryptHash{}, malformedHash("scrypt", "ln, r and p must be at least 1")
	}
	if mixesAlphabets(fields[3] + fields[4]) {
		return scryptHash{}, malformedHash("scrypt", "mixes two base64 alphabets ('+' and '.')")
	}
	if h.Salt, err = decodeAltBase64(fields[3], kdfMinSaltLen, kdfMaxSaltLen); err != nil {
		return scryptHash{}, malformedHash("scrypt", "salt: "+err.Error())
	}
	if h.Key, err = decodeAltBase64(fields[4], kdfMinKeyLen, kdfMaxKeyLen); err != nil {
		return scryptHash{}, malformedHash("scrypt", "key: "+err.Error())
	}
	if err := h.checkVerifyCost(); err != nil {
		return scryptHash{}, err
	}
	return h, nil
}

// encode is the inverse of parseScrypt for the standard alphabet, which
// passlib writes.
func (h scryptHash) encode() string {
	b64 := base64.RawStdEncoding.EncodeToString
	return fmt.Sprintf("$scrypt$ln=%d,r=%d,p=%d$%s$%s", h.LogN, h.R, h.P, b64(h.Salt), b64(h.Key))
}

// costs returns, saturating, the bytes scrypt allocates for h's parameters
// (golang.org/x/crypto/scrypt: the 128*N*r-byte V array, and the
// 128*r*p-byte lane buffer plus 256*r bytes of scratch, here "rest") and
// the bytes it mixes, 128*N*r*p, which is proportional to its run time.
func (h scryptHash) costs() (v, rest, work uint64) {
	n := uint64(math.MaxUint64)
	if h.LogN < 64 {
		n = 1 << h.LogN
	}
	v = satMul(128, satMul(n, uint64(h.R)))
	rest = satMul(128, satMul(uint64(h.R), uint64(h.P)+2))
	return v, rest, satMul(v, uint64(h.P))
}

// checkVerifyCost applies the verification caps.
func (h scryptHash) checkVerifyCost() error {
	v, rest, work := h.costs()
	switch {
	case h.P > maxScryptThreads:
		return fmt.Errorf("password: scrypt cost too high: p=%d exceeds %d", h.P, maxScryptThreads)
	case satAdd(v, rest) > maxScryptMemory:
		return fmt.Errorf("password: scrypt cost too high: needs more than %d MiB of memory", maxScryptMemory>>20)
	case work > maxScryptWork:
		return fmt.Errorf("password: scrypt cost too high: 128*N*r*p exceeds %d MiB", maxScryptWork>>20)
	}
	return nil
}

// checkImportCost applies the import caps (see CheckImport); p is already
// at most 16.
func (h scryptHash) checkImportCost() error {
	v, rest, work := h.costs()
	switch {
	case v > importMaxMemory:
		return fmt.Errorf("password: scrypt memory 128*N*r is over the import limit of %d MiB", importMaxMemory>>20)
	case rest > importMaxScryptLaneBytes:
		return fmt.Errorf("password: scrypt lane buffers 128*r*(p+2) are over the import limit of %d MiB", importMaxScryptLaneBytes>>20)
	case work > importMaxScryptWork:
		return fmt.Errorf("password: scrypt work 128*N*r*p is over the import limit of %d MiB", importMaxScryptWork>>20)
	}
	return nil
}

// verify reports whether password derives h's key.
func (h scryptHash) verify(password string) (bool, error) {
	key, err := scrypt.Key([]byte(password), h.Salt, 1<<h.LogN, int(h.R), int(h.P), len(h.Key))
	if err != nil {
		// Unreachable after the caps; scrypt's errors name no input.
		return false, fmt.Errorf("password: scrypt: %w", err)
	}
	return subtle.ConstantTimeCompare(key, h.Key) == 1, nil
}
