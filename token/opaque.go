package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// OpaqueBytes is the entropy of every opaque token: 256 bits.
const OpaqueBytes = 32

// NewOpaque returns a fresh random token (prefix + base64url of 32 random
// bytes) and the hash under which it is stored. The token itself is never
// stored.
func NewOpaque(prefix string) (raw string, hash []byte) {
	b := make([]byte, OpaqueBytes)
	// crypto/rand.Read never returns an error (it crashes the program if the
	// system's random source fails, which is what we want).
	_, _ = rand.Read(b)
	raw = prefix + base64.RawURLEncoding.EncodeToString(b)
	return raw, HashOpaque(raw)
}

// Random returns 256 random bits, base64url: for state, nonce and PKCE
// verifiers, which are never stored.
func Random() string {
	raw, _ := NewOpaque("")
	return raw
}

// S256 is the PKCE code challenge of verifier (RFC 7636): base64url of its
// SHA-256.
func S256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// HashOpaque is the stored form of an opaque token: SHA-256 of the whole
// string. A plain hash suffices because the token has 256 bits of entropy.
func HashOpaque(raw string) []byte {
	sum := sha256.Sum256([]byte(raw))
	return sum[:]
}

// LooksOpaque reports whether raw could be a token made by NewOpaque with
// prefix, so that garbage is refused without a store lookup.
func LooksOpaque(raw, prefix string) bool {
	rest, ok := strings.CutPrefix(raw, prefix)
	return ok && len(rest) == base64.RawURLEncoding.EncodedLen(OpaqueBytes)
}
