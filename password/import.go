package password

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/latchid/latch"
)

// Import caps: what CheckImport lets into the database from another system
// (see CheckImport for the list and for why memory stops at 64 MiB). They
// are tighter than the verification caps, which bound any stored hash
// however it got there.
const (
	importMaxMemory = 64 << 20 // bytes per verification

	importMaxArgon2MemoryKiB = importMaxMemory >> 10 // m <= 65536
	importMaxArgon2Time      = 10                    // t; p <= 16 is already the verification cap
	importMaxPBKDF2Work      = 2_000_000             // iterations (x 32-byte key blocks)
	// bcrypt's import cap is its verification cap, maxBcryptCost (14).

	// scrypt: importMaxMemory bounds its V array, 128*N*r; the lane
	// buffers, 128*r*(p+2), are bounded separately so that a tiny N with a
	// huge r cannot move the memory there. importMaxScryptWork keeps the
	// run time in line with the other import caps (about a second, like
	// bcrypt at cost 14): at N*r = 2^19 it allows p <= 4. p <= 16 is the
	// verification cap.
	importMaxScryptLaneBytes = 1 << 20
	importMaxScryptWork      = 256 << 20 // 128*N*r*p
)

// importFormats are the names ImportFormats returns, in the order of the
// documentation.
var importFormats = []string{"argon2id", "argon2i", "bcrypt", "scrypt", "pbkdf2-sha256"}

// errUnsupported is Verify's and CheckImport's error for a hash in no
// format they know.
var errUnsupported = errors.New("password: unsupported hash format (supported: " + strings.Join(importFormats, ", ") + ")")

// ImportFormats returns the names of the hash formats Verify and
// CheckImport accept, for documentation and error messages: "argon2id",
// "argon2i", "bcrypt", "scrypt" and "pbkdf2-sha256". The encodings of each
// are listed on CheckImport. The slice is the caller's.
func ImportFormats() []string { return slices.Clone(importFormats) }

// CheckImport reports whether encoded, a password hash imported from
// another system, may be stored as a user's password hash: nil when Verify
// accepts it and its costs are within the import caps, otherwise a
// *latch.Error (KindInvalid, CodeInvalidHash, field "password_hash") whose
// message gives the reason without quoting the hash. It does no hashing.
//
// Accepted encodings:
//
//   - argon2id, argon2i: PHC strings, $argon2id$v=19$m=..,t=..,p=..$salt$key
//     (version 19, unpadded standard base64; see ParseArgon2).
//   - bcrypt: $2a$, $2b$ and $2y$, cost 04..14.
//   - scrypt: passlib's $scrypt$ln=<log2 N>,r=<r>,p=<p>$salt$key, unpadded
//     base64 in the standard alphabet or passlib's ab64 ('.' for '+').
//     Not the $7$ form nor Django's scrypt$... form.
//   - pbkdf2-sha256 (PBKDF2-HMAC-SHA256) in three encodings: passlib's
//     $pbkdf2-sha256$<rounds>$salt$key (ab64 or standard base64,
//     unpadded), the PHC-style $pbkdf2-sha256$i=<rounds>[,l=<key
//     length>]$salt$key (unpadded standard base64), and Django's
//     pbkdf2_sha256$<iterations>$<salt text>$<padded standard base64 key>.
//
// scrypt and PBKDF2 salts must be 8..256 bytes and keys 16..128 bytes
// (argon2: salts 8..64, keys 16..64).
//
// Import caps, per verification:
//
//   - memory at most 64 MiB: argon2 m <= 65536 KiB, scrypt 128*N*r <= 64 MiB
//     (and its lane buffers 128*r*(p+2) <= 1 MiB);
//   - argon2 t <= 10, p <= 16; bcrypt cost <= 14;
//   - pbkdf2-sha256 iterations <= 2,000,000 (counted once per 32-byte block
//     of key, so half that for a 64-byte key);
//   - scrypt p <= 16 and 128*N*r*p <= 256 MiB.
//
// 64 MiB is what it is because of the Hasher: it bounds memory as
// slots x MemoryKiB, and that only holds for hashes at its own parameters.
// Verifying an imported hash holds one slot for that hash's memory, up to
// 64 MiB, so a Hasher serving imported accounts needs room for
// slots x max(MemoryKiB, 64 MiB).
func CheckImport(encoded string) error {
	if err := checkImport(encoded); err != nil {
		return latch.FieldError("password_hash", latch.CodeInvalidHash, strings.TrimPrefix(err.Error(), "password: "))
	}
	return nil
}

func checkImport(encoded string) error {
	switch {
	case encoded == "":
		return errors.New("password: the hash is empty")
	case strings.HasPrefix(encoded, "$argon2"):
		h, err := ParseArgon2(encoded)
		if err != nil {
			return err
		}
		return h.checkImportCost()
	case isBcrypt(encoded):
		// The verification cap, maxBcryptCost, is also the import cap.
		_, err := parseBcrypt(encoded)
		return err
	case isScrypt(encoded):
		h, err := parseScrypt(encoded)
		if err != nil {
			return err
		}
		return h.checkImportCost()
	case isPBKDF2(encoded):
		h, err := parsePBKDF2(encoded)
		if err != nil {
			return err
		}
		return h.checkWork(importMaxPBKDF2Work, "over the import limit")
	}
	return errUnsupported
}

// checkImportCost applies the argon2 import caps; ParseArgon2 has already
// applied the verification caps, p <= 16 among them.
func (h Argon2Hash) checkImportCost() error {
	switch {
	case h.Params.MemoryKiB > importMaxArgon2MemoryKiB:
		return fmt.Errorf("password: argon2 memory m=%d KiB is over the import limit of %d KiB (%d MiB)",
			h.Params.MemoryKiB, importMaxArgon2MemoryKiB, importMaxMemory>>20)
	case h.Params.Time > importMaxArgon2Time:
		return fmt.Errorf("password: argon2 time t=%d is over the import limit of %d", h.Params.Time, importMaxArgon2Time)
	}
	return nil
}
