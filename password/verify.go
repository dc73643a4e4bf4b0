package password

import (
	"crypto/subtle"
	"encoding/base64"
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
// strings (ours, the reference implementation's, passlib's), and, for
// accounts imported from elsewhere, bcrypt $2a$, $2b$ and $2y$ hashes,
// passlib's scrypt and PBKDF2-HMAC-SHA256 in passlib's, the PHC-style and
// Django's encodings (the list is on CheckImport).
//
// A wrong password is ok == false with a nil error; err is for hashes that
// cannot be checked at all (malformed, unsupported, too costly), which is a
// fault in the stored data, not in the user's answer. Errors never quote
// the hash.
//
// Costs are capped before any work is done, so that a tampered row cannot
// make one verification allocate gigabytes or run for minutes: argon2
// m <= 1 GiB, t <= 16, p <= 16 (what Params.Validate allows for our own
// hashes); bcrypt cost <= 14; scrypt p <= 16, all its memory
// (128*r*(N+p+2) bytes) <= 256 MiB and 128*N*r*p <= 1 GiB; PBKDF2-SHA256
// iterations x 32-byte key blocks <= 10,000,000. CheckImport's caps, for
// hashes being imported, are tighter.
//
// needsRehash is true, only alongside ok, when the hash is not argon2id or
// any of its parameters (m, t, p, key or salt length) is weaker than want:
// the caller then has the plaintext in hand to replace it. Every imported
// format other than argon2id needs a rehash.
func Verify(password, encoded string, want Params) (ok bool, needsRehash bool, err error) {
	return verifyWith(nil, password, encoded, want)
}

// verifyWith is Verify with argon2id's working memory from arena (nil:
// allocated afresh, as the package functions do).
func verifyWith(arena *argon2Arena, password, encoded string, want Params) (ok bool, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2"):
		h, err := ParseArgon2(encoded)
		if err != nil {
			return false, false, err
		}
		key, err := h.derive(password, arena)
		if err != nil {
			return false, false, err
		}
		if subtle.ConstantTimeCompare(key, h.Key) != 1 {
			return false, false, nil
		}
		return true, h.weakerThan(want), nil
	case isBcrypt(encoded):
		ok, err := verifyBcrypt(password, encoded)
		// Only argon2id is kept: any other format is rehashed once the
		// password is known to be right.
		return ok, ok, err
	case isScrypt(encoded):
		h, err := parseScrypt(encoded)
		if err != nil {
			return false, false, err
		}
		ok, err := h.verify(password)
		return ok, ok, err
	case isPBKDF2(encoded):
		h, err := parsePBKDF2(encoded)
		if err != nil {
			return false, false, err
		}
		ok, err := h.verify(password)
		return ok, ok, err
	}
	return false, false, errUnsupported
}

func isBcrypt(encoded string) bool {
	// $2$ and $2x$ are the broken pre-2011 variants; refusing them is
	// safer than guessing which bug the hash was made with.
	return strings.HasPrefix(encoded, "$2a$") || strings.HasPrefix(encoded, "$2b$") || strings.HasPrefix(encoded, "$2y$")
}

// bcryptAlphabet is bcrypt's base64 alphabet (unpadded, '.' and '/' first).
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

var bcryptEncoding = base64.NewEncoding(bcryptAlphabet).WithPadding(base64.NoPadding)

// parseBcrypt checks a bcrypt hash without computing it and returns its
// cost: $2a$, $2b$ or $2y$, a two-digit cost from 04 to maxBcryptCost, a
// 22-character salt and a 31-character hash in bcrypt's alphabet. The hash
// part must be canonical (no stray low bits in its last character), since
// a computed hash is compared as a string and a non-canonical one could
// never match; the salt's last character is taken as bcrypt
// implementations take it, stray bits ignored.
func parseBcrypt(encoded string) (cost int, err error) {
	// $2b$NN$ + 22 salt + 31 hash characters.
	if len(encoded) != 60 || !isBcrypt(encoded) || encoded[6] != '$' || !isDigit(encoded[4]) || !isDigit(encoded[5]) {
		return 0, errors.New("password: malformed bcrypt hash")
	}
	cost = int(encoded[4]-'0')*10 + int(encoded[5]-'0')
	if cost < bcrypt.MinCost {
		return 0, fmt.Errorf("password: malformed bcrypt hash: cost below %d", bcrypt.MinCost)
	}
	if cost > maxBcryptCost {
		return 0, fmt.Errorf("password: bcrypt cost too high (%d > %d)", cost, maxBcryptCost)
	}
	for i := 7; i < len(encoded); i++ {
		if strings.IndexByte(bcryptAlphabet, encoded[i]) < 0 {
			return 0, errors.New("password: malformed bcrypt hash: salt or hash is not in the bcrypt alphabet")
		}
	}
	sum := encoded[29:]
	if b, err := bcryptEncoding.Strict().DecodeString(sum); err != nil || bcryptEncoding.EncodeToString(b) != sum {
		return 0, errors.New("password: malformed bcrypt hash: hash is not canonical")
	}
	return cost, nil
}

// verifyBcrypt checks a bcrypt hash. The library compares with
// crypto/subtle; passwords longer than 72 bytes are compared on their first
// 72 bytes, as every bcrypt implementation did when the hash was made.
func verifyBcrypt(password, encoded string) (bool, error) {
	if _, err := parseBcrypt(encoded); err != nil {
		return false, err
	}
	err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	// Unreachable after parseBcrypt; the library's errors can quote a
	// byte of the hash, so they are not passed on.
	return false, errors.New("password: malformed bcrypt hash")
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
