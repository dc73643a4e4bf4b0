package password

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// maxBcryptCost bounds imported bcrypt hashes: each step doubles the work,
// cost 14 is already around a second, and a hash with cost 31 would hold a
// CPU (and a Hasher slot) for days.
const maxBcryptCost = 14

// Verify checks password against an encoded hash: argon2id or argon2i PHC
// strings (ours, the reference implementation's, passlib's) and bcrypt
// $2a$, $2b$ and $2y$ hashes imported from elsewhere.
//
// A wrong password is ok == false with a nil error; err is for hashes that
// cannot be checked at all (malformed, unsupported, too costly), which is a
// fault in the stored data, not in the user's answer.
//
// needsRehash is true, only alongside ok, when the hash is not argon2id or
// any of its parameters (m, t, p, key or salt length) is weaker than want:
// the caller then has the plaintext in hand to replace it.
func Verify(password, encoded string, want Params) (ok bool, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2"):
		h, err := ParseArgon2(encoded)
		if err != nil {
			return false, false, err
		}
		if subtle.ConstantTimeCompare(h.derive(password), h.Key) != 1 {
			return false, false, nil
		}
		return true, h.weakerThan(want), nil
	case isBcrypt(encoded):
		ok, err := verifyBcrypt(password, encoded)
		// bcrypt is never what we want to keep.
		return ok, ok, err
	}
	return false, false, errors.New("password: unsupported hash format")
}

func isBcrypt(encoded string) bool {
	// $2$ and $2x$ are the broken pre-2011 variants; refusing them is
	// safer than guessing which bug the hash was made with.
	return strings.HasPrefix(encoded, "$2a$") || strings.HasPrefix(encoded, "$2b$") || strings.HasPrefix(encoded, "$2y$")
}

// verifyBcrypt checks a bcrypt hash. The library compares with
// crypto/subtle; passwords longer than 72 bytes are compared on their first
// 72 bytes, as every bcrypt implementation did when the hash was made.
func verifyBcrypt(password, encoded string) (bool, error) {
	// $2b$NN$ + 22 salt + 31 hash characters.
	if len(encoded) != 60 || encoded[6] != '$' || !isDigit(encoded[4]) || !isDigit(encoded[5]) {
		return false, errors.New("password: malformed bcrypt hash")
	}
	cost := int(encoded[4]-'0')*10 + int(encoded[5]-'0')
	if cost > maxBcryptCost {
		return false, fmt.Errorf("password: bcrypt cost too high (%d > %d)", cost, maxBcryptCost)
	}
	err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, fmt.Errorf("password: malformed bcrypt hash: %w", err)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
