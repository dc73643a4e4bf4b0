package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

const (
	pbkdf2Prefix       = "$pbkdf2-sha256$"
	djangoPBKDF2Prefix = "pbkdf2_sha256$"
)

// pbkdf2Form is which of the three PBKDF2-HMAC-SHA256 encodings a hash
// came in.
type pbkdf2Form uint8

const (
	// pbkdf2Passlib is passlib's pbkdf2_sha256:
	// $pbkdf2-sha256$<rounds>$<ab64 salt>$<ab64 key>.
	pbkdf2Passlib pbkdf2Form = iota + 1
	// pbkdf2PHC is the PHC-style form of RustCrypto's pbkdf2 crate and
	// others: $pbkdf2-sha256$i=<rounds>[,l=<key length>]$<salt>$<key>,
	// unpadded standard base64.
	pbkdf2PHC
	// pbkdf2Django is Django's PBKDF2PasswordHasher:
	// pbkdf2_sha256$<iterations>$<salt as text>$<padded base64 key>.
	pbkdf2Django
)

func (f pbkdf2Form) String() string {
	switch f {
	case pbkdf2Passlib:
		return "passlib"
	case pbkdf2PHC:
		return "phc"
	case pbkdf2Django:
		return "django"
	}
	return "form(" + strconv.Itoa(int(f)) + ")"
}

// pbkdf2Hash is a parsed PBKDF2-HMAC-SHA256 hash in any of the three
// forms. Fields are exported only for the tests' hooks; the type is not.
type pbkdf2Hash struct {
	Form       pbkdf2Form
	Iterations uint32
	Salt, Key  []byte
	// HasLen records, for the PHC form, whether l= was given (it must
	// then equal len(Key)).
	HasLen bool
}

func isPBKDF2(encoded string) bool {
	return strings.HasPrefix(encoded, pbkdf2Prefix) || strings.HasPrefix(encoded, djangoPBKDF2Prefix)
}

// parsePBKDF2 parses PBKDF2-HMAC-SHA256 hashes in passlib's, the PHC-style
// and Django's forms (see pbkdf2Form). Like the other parsers it is strict:
// exactly the fields of the form, canonical decimals without leading zeros,
// canonical base64; passlib's ab64 fields may also use '+' (as passlib's
// own decoder allows), but not both '+' and '.'. Iterations are capped by
// maxPBKDF2Work. Other PBKDF2 variants (sha1, sha512, LDAP's {PBKDF2-...},
// Atlassian's {PKCS5S2}) are not supported.
func parsePBKDF2(encoded string) (pbkdf2Hash, error) {
	if len(encoded) > maxKDFEncodedLen {
		return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", "too long")
	}
	fields := strings.Split(encoded, "$")
	var h pbkdf2Hash
	var err error
	switch {
	case strings.HasPrefix(encoded, djangoPBKDF2Prefix):
		h, err = parseDjangoPBKDF2(fields)
	case len(fields) != 5 || fields[0] != "" || fields[1] != "pbkdf2-sha256":
		err = malformedHash("pbkdf2-sha256", "want $pbkdf2-sha256$<rounds>$salt$key or $pbkdf2-sha256$i=<rounds>[,l=<length>]$salt$key")
	case strings.HasPrefix(fields[2], "i="):
		h, err = parsePHCPBKDF2(fields)
	default:
		h, err = parsePasslibPBKDF2(fields)
	}
	if err != nil {
		return pbkdf2Hash{}, err
	}
	if h.Iterations < 1 {
		return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", "iterations must be at least 1")
	}
	if err := h.checkWork(maxPBKDF2Work, "cost too high"); err != nil {
		return pbkdf2Hash{}, err
	}
	return h, nil
}

// parsePasslibPBKDF2 parses ["", "pbkdf2-sha256", rounds, salt, key].
func parsePasslibPBKDF2(fields []string) (pbkdf2Hash, error) {
	h := pbkdf2Hash{Form: pbkdf2Passlib}
	var err error
	if h.Iterations, err = parseDecimal(fields[2], math.MaxUint32); err != nil {
		return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", "rounds "+err.Error())
	}
	if mixesAlphabets(fields[3] + fields[4]) {
		return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", "mixes two base64 alphabets ('+' and '.')")
	}
	if h.Salt, err = decodeAltBase64(fields[3], kdfMinSaltLen, kdfMaxSaltLen); err != nil {
		return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", "salt: "+err.Error())
	}
	if h.Key, err = decodeAltBase64(fields[4], kdfMinKeyLen, kdfMaxKeyLen); err != nil {
		return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", "key: "+err.Error())
	}
	return h, nil
}

// parsePHCPBKDF2 parses ["", "pbkdf2-sha256", "i=..[,l=..]", salt, key].
func parsePHCPBKDF2(fields []string) (pbkdf2Hash, error) {
	h := pbkdf2Hash{Form: pbkdf2PHC}
	params := strings.Split(fields[2], ",")
	if len(params) > 2 {
		return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", "want i=<rounds> and at most l=<length>")
	}
	var err error
	if h.Iterations, err = parseNamed(params[0], "i="); err != nil {
		return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", err.Error())
	}
	var l uint32
	if len(params) == 2 {
		if l, err = parseNamed(params[1], "l="); err != nil {
			return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", err.Error())
		}
		h.HasLen = true
	}
	if h.Salt, err = decodeBase64(fields[3], kdfMinSaltLen, kdfMaxSaltLen); err != nil {
		return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", "salt: "+err.Error())
	}
	if h.Key, err = decodeBase64(fields[4], kdfMinKeyLen, kdfMaxKeyLen); err != nil {
		return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", "key: "+err.Error())
	}
	if h.HasLen && uint64(l) != uint64(len(h.Key)) {
		return pbkdf2Hash{}, malformedHash("pbkdf2-sha256", "l does not match the key length")
	}
	return h, nil
}

// parseDjangoPBKDF2 parses ["pbkdf2_sha256", iterations, salt, key]. The
// salt is used as text (its UTF-8 bytes); Django makes it from [A-Za-z0-9]
// and never allows '$', and printable ASCII is all we accept.
func parseDjangoPBKDF2(fields []string) (pbkdf2Hash, error) {
	const format = "Django pbkdf2_sha256"
	if len(fields) != 4 || fields[0] != "pbkdf2_sha256" {
		return pbkdf2Hash{}, malformedHash(format, "want pbkdf2_sha256$<iterations>$salt$key")
	}
	h := pbkdf2Hash{Form: pbkdf2Django}
	var err error
	if h.Iterations, err = parseDecimal(fields[1], math.MaxUint32); err != nil {
		return pbkdf2Hash{}, malformedHash(format, "iterations "+err.Error())
	}
	if !isDjangoSalt(fields[2]) {
		return pbkdf2Hash{}, malformedHash(format, fmt.Sprintf("salt must be %d..%d printable ASCII characters", kdfMinSaltLen, kdfMaxSaltLen))
	}
	h.Salt = []byte(fields[2])
	if h.Key, err = decodePaddedBase64(fields[3], kdfMinKeyLen, kdfMaxKeyLen); err != nil {
		return pbkdf2Hash{}, malformedHash(format, "key: "+err.Error())
	}
	return h, nil
}

func isDjangoSalt(s string) bool {
	if len(s) < kdfMinSaltLen || len(s) > kdfMaxSaltLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' || s[i] == '$' {
			return false
		}
	}
	return true
}

// encode is the inverse of parsePBKDF2; the passlib form comes out in
// ab64, which passlib writes.
func (h pbkdf2Hash) encode() string {
	switch h.Form {
	case pbkdf2Passlib:
		return fmt.Sprintf("$pbkdf2-sha256$%d$%s$%s", h.Iterations, encodeAB64(h.Salt), encodeAB64(h.Key))
	case pbkdf2PHC:
		b64 := base64.RawStdEncoding.EncodeToString
		l := ""
		if h.HasLen {
			l = ",l=" + strconv.Itoa(len(h.Key))
		}
		return fmt.Sprintf("$pbkdf2-sha256$i=%d%s$%s$%s", h.Iterations, l, b64(h.Salt), b64(h.Key))
	case pbkdf2Django:
		return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", h.Iterations, h.Salt, base64.StdEncoding.EncodeToString(h.Key))
	}
	return ""
}

// work is what PBKDF2 costs: iterations once per 32-byte block of key.
func (h pbkdf2Hash) work() uint64 {
	blocks := uint64(len(h.Key)+sha256.Size-1) / sha256.Size
	return satMul(uint64(h.Iterations), blocks)
}

// checkWork refuses h if its work exceeds max; what says which cap it is
// ("cost too high" for Verify's, "over the import limit" for CheckImport's).
func (h pbkdf2Hash) checkWork(max uint64, what string) error {
	if h.work() <= max {
		return nil
	}
	if len(h.Key) <= sha256.Size {
		return fmt.Errorf("password: pbkdf2-sha256 %s: more than %d iterations", what, max)
	}
	return fmt.Errorf("password: pbkdf2-sha256 %s: iterations x %d-byte blocks of key exceed %d", what, sha256.Size, max)
}

// verify reports whether password derives h's key.
func (h pbkdf2Hash) verify(password string) (bool, error) {
	key, err := pbkdf2.Key(sha256.New, password, h.Salt, int(h.Iterations), len(h.Key))
	if err != nil {
		// Only in FIPS 140-only mode, for salts or keys it deems short.
		return false, errors.New("password: pbkdf2-sha256: " + err.Error())
	}
	return subtle.ConstantTimeCompare(key, h.Key) == 1, nil
}
