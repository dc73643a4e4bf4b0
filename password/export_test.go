package password

import (
	"context"
	"time"
)

// Hooks for the external tests (package password_test); compiled only with
// them.

// Encode is Argon2Hash's PHC encoding, the inverse of ParseArgon2.
func Encode(h Argon2Hash) string { return h.encode() }

// DummyHash is the hash VerifyDummy checks against.
func (h *Hasher) DummyHash() string { return h.dummy }

// HoldSlot takes a slot as Hash would, so a test can fill the Hasher.
func (h *Hasher) HoldSlot(ctx context.Context) (release func(), err error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	return h.releaseTimed, nil
}

// OnHashing installs a hook called with +1 when a hash starts (slot held)
// and -1 when it ends. Set it before the Hasher is shared.
func (h *Hasher) OnHashing(f func(delta int)) { h.hashing = f }

// ScryptHash and PBKDF2Hash are the parsed forms of the import formats.
type (
	ScryptHash = scryptHash
	PBKDF2Hash = pbkdf2Hash
)

// ParseScrypt and ParsePBKDF2 are the parsers Verify and CheckImport use
// (verification caps applied).
func ParseScrypt(s string) (ScryptHash, error) { return parseScrypt(s) }
func ParsePBKDF2(s string) (PBKDF2Hash, error) { return parsePBKDF2(s) }

// EncodeScrypt and EncodePBKDF2 invert the parsers (scrypt in the standard
// alphabet, passlib's pbkdf2 form in ab64).
func EncodeScrypt(h ScryptHash) string { return h.encode() }
func EncodePBKDF2(h PBKDF2Hash) string { return h.encode() }

// PBKDF2Form names h's encoding: "passlib", "phc" or "django".
func PBKDF2Form(h PBKDF2Hash) string { return h.Form.String() }

// ScryptCosts returns the bytes scrypt allocates for h (the V array and
// the rest) and the bytes it mixes.
func ScryptCosts(h ScryptHash) (v, rest, work uint64) { return h.costs() }

// PBKDF2Work is h's iterations times its 32-byte key blocks.
func PBKDF2Work(h PBKDF2Hash) uint64 { return h.work() }

// WithRunClock makes the Hasher time its runs (and its first, the dummy's)
// with now instead of the wall clock, so a test controls what the
// admission estimate sees.
func WithRunClock(now func() time.Time) HasherOption {
	return func(h *Hasher) { h.now = now }
}

// SetMeanRun overrides the admission estimate, as if every recent run had
// taken d.
func (h *Hasher) SetMeanRun(d time.Duration) { h.meanRun.Store(int64(d)) }

// ExpectedWait is what admission expects a call arriving now to wait.
func (h *Hasher) ExpectedWait() time.Duration { return h.expectedWait() }
