package password

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Limits on argon2 parameters. ParseArgon2 enforces them so that a hostile
// stored or imported hash cannot make one verification allocate gigabytes
// or run for minutes; Params.Validate enforces the same ones so that every
// hash we produce can be verified again.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 16
	maxThreads   = 16

	minSaltLen = 8 // RFC 9106 allows 8; reference implementation and passlib accept it
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 64

	// What Hash produces (RFC 9106 recommendations).
	saltLen = 16
	keyLen  = 32

	argon2Version = argon2.Version // 0x13 = 19; version 16 (0x10) is obsolete

	variantID = "argon2id"
	variantI  = "argon2i"

	// maxEncodedLen is longer than any string ParseArgon2 can accept
	// ("$argon2id$v=19$m=1048576,t=16,p=16$" plus two 86-character base64
	// fields is 208), so longer input is refused before it is split.
	maxEncodedLen = 256
)

// Params are argon2id cost parameters.
type Params struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultParams returns the OWASP minimum for argon2id: 19 MiB, two passes,
// one lane.
func DefaultParams() Params {
	return Params{MemoryKiB: 19456, Time: 2, Threads: 1}
}

// Validate reports whether p can be used to hash. The upper bounds are the
// ones ParseArgon2 accepts, so a hash made at valid params always verifies.
func (p Params) Validate() error {
	switch {
	case p.Threads < 1:
		return errors.New("password: argon2 threads must be at least 1")
	case p.Threads > maxThreads:
		return fmt.Errorf("password: argon2 threads %d exceeds %d", p.Threads, maxThreads)
	case p.Time < 1:
		return errors.New("password: argon2 time must be at least 1")
	case p.Time > maxTime:
		return fmt.Errorf("password: argon2 time %d exceeds %d", p.Time, maxTime)
	case p.MemoryKiB < 8*uint32(p.Threads):
		// argon2 needs 8 KiB blocks per lane; below that the library
		// silently raises m, and the stored m would lie.
		return fmt.Errorf("password: argon2 memory %d KiB is below 8 KiB x %d threads", p.MemoryKiB, p.Threads)
	case p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("password: argon2 memory %d KiB exceeds %d KiB", p.MemoryKiB, maxMemoryKiB)
	}
	return nil
}

// Hash returns an argon2id PHC string,
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key> with unpadded standard
// base64, a 16-byte random salt and a 32-byte key.
func Hash(password string, p Params) (string, error) {
	return hashWith(nil, password, p)
}

// hashWith is Hash with its working memory from arena (nil: allocated
// afresh, as the package functions do).
func hashWith(arena *argon2Arena, password string, p Params) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	key, err := arena.idKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	if err != nil {
		return "", err
	}
	h := Argon2Hash{
		Variant: variantID,
		Version: argon2Version,
		Params:  p,
		Salt:    salt,
		Key:     key,
	}
	return h.encode(), nil
}

// Argon2Hash is a parsed argon2 PHC string.
type Argon2Hash struct {
	Variant string // "argon2id" or "argon2i"
	Version int
	Params  Params
	Salt    []byte
	Key     []byte
}

// ParseArgon2 parses $argon2id$v=19$m=..,t=..,p=..$<salt>$<key> (or
// $argon2i$...). It is strict: fields in that order and nothing else,
// version 19 only, decimal numbers without signs or leading zeros, and
// canonical unpadded base64, so that a parsed hash encodes back to exactly
// its input. Costs are capped (m <= 1 GiB, t <= 16, p <= 16) because the
// input may come from an import file or a tampered database row.
//
// Errors never quote the input: it is a password hash.
func ParseArgon2(encoded string) (Argon2Hash, error) {
	if len(encoded) > maxEncodedLen {
		return Argon2Hash{}, errMalformed("too long")
	}
	fields := strings.Split(encoded, "$")
	if len(fields) != 6 || fields[0] != "" {
		return Argon2Hash{}, errMalformed("want $variant$v=19$m=..,t=..,p=..$salt$key")
	}
	var h Argon2Hash
	switch fields[1] {
	case variantID, variantI:
		h.Variant = fields[1]
	default:
		return Argon2Hash{}, errMalformed("variant is not argon2id or argon2i")
	}

	v, ok := strings.CutPrefix(fields[2], "v=")
	if !ok {
		return Argon2Hash{}, errMalformed("missing version")
	}
	version, err := parseDecimal(v, argon2Version)
	if err != nil || version != argon2Version {
		return Argon2Hash{}, errMalformed("unsupported version (only 19)")
	}
	h.Version = int(version)

	params := strings.Split(fields[3], ",")
	if len(params) != 3 {
		return Argon2Hash{}, errMalformed("want exactly m, t and p")
	}
	m, err := parseParam(params[0], "m=", maxMemoryKiB)
	if err != nil {
		return Argon2Hash{}, err
	}
	t, err := parseParam(params[1], "t=", maxTime)
	if err != nil {
		return Argon2Hash{}, err
	}
	p, err := parseParam(params[2], "p=", maxThreads)
	if err != nil {
		return Argon2Hash{}, err
	}
	h.Params = Params{MemoryKiB: m, Time: t, Threads: uint8(p)}
	if t < 1 || p < 1 || m < 8*p {
		return Argon2Hash{}, errMalformed("parameters below the argon2 minimum")
	}

	if h.Salt, err = decodeBase64(fields[4], minSaltLen, maxSaltLen); err != nil {
		return Argon2Hash{}, errMalformed("salt: " + err.Error())
	}
	if h.Key, err = decodeBase64(fields[5], minKeyLen, maxKeyLen); err != nil {
		return Argon2Hash{}, errMalformed("key: " + err.Error())
	}
	return h, nil
}

// encode is the inverse of ParseArgon2.
func (h Argon2Hash) encode() string {
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s",
		h.Variant, h.Version, h.Params.MemoryKiB, h.Params.Time, h.Params.Threads,
		base64.RawStdEncoding.EncodeToString(h.Salt),
		base64.RawStdEncoding.EncodeToString(h.Key))
}

// derive computes the key for password with h's variant, parameters, salt
// and key length, argon2id's working memory from arena (nil: allocated
// afresh). Argon2i, only ever imported, stays on x/crypto.
func (h Argon2Hash) derive(password string, arena *argon2Arena) ([]byte, error) {
	p := h.Params
	if h.Variant == variantI {
		return argon2.Key([]byte(password), h.Salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(h.Key))), nil
	}
	return arena.idKey([]byte(password), h.Salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(h.Key)))
}

// weakerThan reports whether h should be replaced by a hash at want: it is
// not argon2id, or it falls short of want or of what Hash produces today.
func (h Argon2Hash) weakerThan(want Params) bool {
	return h.Variant != variantID ||
		h.Params.MemoryKiB < want.MemoryKiB ||
		h.Params.Time < want.Time ||
		h.Params.Threads < want.Threads ||
		len(h.Key) < keyLen ||
		len(h.Salt) < saltLen
}

func errMalformed(why string) error {
	return fmt.Errorf("password: malformed argon2 hash: %s", why)
}

func parseParam(s, name string, max uint32) (uint32, error) {
	v, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, errMalformed("want " + name + "<n>")
	}
	n, err := parseDecimal(v, max)
	if err != nil {
		return 0, errMalformed(name[:1] + " " + err.Error())
	}
	return n, nil
}

// parseDecimal accepts only the canonical decimal form (no sign, no leading
// zero, no underscore), so that the value encodes back to s.
func parseDecimal(s string, max uint32) (uint32, error) {
	if s == "" || len(s) > 10 {
		return 0, errors.New("is not a number")
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, errors.New("has a leading zero")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("is not a number")
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > uint64(max) {
		return 0, fmt.Errorf("exceeds %d", max)
	}
	return uint32(n), nil
}

// decodeBase64 decodes unpadded standard base64 of min..max bytes. The
// length is checked before decoding, and the result must encode back to s:
// the decoder skips newlines and, unless strict, ignores stray trailing
// bits, and either would let two strings stand for one hash.
func decodeBase64(s string, min, max int) ([]byte, error) {
	enc := base64.RawStdEncoding
	if len(s) < enc.EncodedLen(min) || len(s) > enc.EncodedLen(max) {
		return nil, fmt.Errorf("length must be %d..%d bytes", min, max)
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil || enc.EncodeToString(b) != s {
		return nil, errors.New("not canonical unpadded base64")
	}
	return b, nil
}
