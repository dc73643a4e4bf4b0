package token

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"strings"
)

// A chained token names the chain it belongs to and its place in it:
// prefix + session id + "." + generation + "." + 43 characters of base64url.
// The session id is a UUID in its canonical text form, the generation a
// decimal without leading zeros. Generation 0 is random (NewChained); each
// later one is derived from the one before (Keys.ChainSuccessor). Naming
// the session lets a store keep a chain as one row (the session's) instead
// of one row per token.

// uuidTextLen is the length of a UUID's canonical text form.
const uuidTextLen = 36

// maxGenerationDigits bounds the generation's digits below int64 overflow.
const maxGenerationDigits = 18

// NewChained returns generation 0 of a fresh chain of sessionID (256
// random bits) and its stored hash.
func NewChained(prefix, sessionID string) (raw string, hash []byte) {
	random := Random()
	raw = chained(prefix, sessionID, 0, random)
	return raw, HashOpaque(raw)
}

func chained(prefix, sessionID string, generation int64, tail string) string {
	return prefix + sessionID + "." + strconv.FormatInt(generation, 10) + "." + tail
}

// ParseChained returns the session id and generation of raw, a token made
// by NewChained or ChainSuccessor with prefix; ok is false for anything
// else, so that garbage is refused without a store lookup.
func ParseChained(raw, prefix string) (sessionID string, generation int64, ok bool) {
	rest, ok := strings.CutPrefix(raw, prefix)
	if !ok || len(rest) < uuidTextLen+1 || rest[uuidTextLen] != '.' || !isUUIDText(rest[:uuidTextLen]) {
		return "", 0, false
	}
	sessionID, rest = rest[:uuidTextLen], rest[uuidTextLen+1:]
	digits, tail, ok := strings.Cut(rest, ".")
	if !ok || len(digits) == 0 || len(digits) > maxGenerationDigits || (len(digits) > 1 && digits[0] == '0') {
		return "", 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", 0, false
		}
	}
	if len(tail) != base64.RawURLEncoding.EncodedLen(OpaqueBytes) || !isBase64URL(tail) {
		return "", 0, false
	}
	generation, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return "", 0, false
	}
	return sessionID, generation, true
}

// isUUIDText reports whether s is a UUID in lowercase canonical form
// (8-4-4-4-12 hex digits), the form session ids are made in.
func isUUIDText(s string) bool {
	if len(s) != uuidTextLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// successorKey is the key of Successor's derivation for prefix.
func (k *Keys) successorKey(prefix string) []byte {
	key, err := hkdf.Key(sha256.New, k.set.Load().successorSecret, nil, "latch successor "+prefix, 32)
	if err != nil {
		// Only for a key length HKDF-SHA256 cannot give; 32 it always can.
		panic("token: HKDF: " + err.Error())
	}
	return key
}

// successorMAC is the keyed derivation of Successor.
func (k *Keys) successorMAC(prefix string) func(raw string) string {
	key := k.successorKey(prefix)
	return func(raw string) string {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(raw))
		return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
}

// ChainSuccessor returns the token of generation in sessionID's chain that
// follows raw, and its stored hash: the chained form of Successor (the
// same keyed derivation over the whole of raw, so it is as unguessable
// and as repeatable). raw is the token of generation-1, or, for the first
// chained token of a session that began with an unchained token (see
// LooksOpaque), that token.
func (k *Keys) ChainSuccessor(prefix, raw, sessionID string, generation int64) (next string, hash []byte) {
	next = chained(prefix, sessionID, generation, k.successorMAC(prefix)(raw))
	return next, HashOpaque(next)
}

// ChainDescends reports whether the token of generation current in
// sessionID's chain, whose stored hash is currentHash, follows raw (of
// generation from) in that chain: it derives the successors of raw, at
// most maxSteps of them, and compares the last one's hash with currentHash
// in constant time. Only a token that was in the chain can lead to its
// current one: a forged token with a real session id leads elsewhere.
//
// Its cost is current-from HMACs; maxSteps bounds it.
func (k *Keys) ChainDescends(prefix, raw, sessionID string, from, current int64, currentHash []byte, maxSteps int64) bool {
	if current <= from || current-from > maxSteps {
		return false
	}
	// One MAC, reset per step, and one buffer the tokens are built in:
	// this loop is the whole cost of a presented token.
	mac := hmac.New(sha256.New, k.successorKey(prefix))
	t := []byte(raw)
	var sum [sha256.Size]byte
	for g := from + 1; g <= current; g++ {
		mac.Reset()
		mac.Write(t)
		mac.Sum(sum[:0])
		t = append(t[:0], prefix...)
		t = append(t, sessionID...)
		t = append(t, '.')
		t = strconv.AppendInt(t, g, 10)
		t = append(t, '.')
		t = base64.RawURLEncoding.AppendEncode(t, sum[:])
	}
	last := sha256.Sum256(t)
	return subtle.ConstantTimeCompare(last[:], currentHash) == 1
}
