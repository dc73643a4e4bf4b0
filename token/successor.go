package token

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

// Successor returns the opaque token that follows raw in a rotation chain
// (refresh tokens): prefix + base64url(HMAC-SHA256(key, raw)), the key
// derived (HKDF-SHA256) from the signing key and prefix, and its stored
// hash.
//
// A refresh token presented twice within the reuse interval (two browser
// tabs refreshing one session at once) must get the same successor both
// times, yet only hashes are stored: deriving the successor from the
// presented token recomputes it. The key matters: without it, whoever
// held an old token would know every later one, and reuse detection would
// catch nothing. Every replica derives the same key from the signing key
// they share: the oldest key of the signing algorithm that is not
// retired, which a rotation does not change (a presentation before and
// one after a rotation get the same successor), and which every replica
// gives up at the same instant, when it retires.
func (k *Keys) Successor(prefix, raw string) (next string, hash []byte) {
	key, err := hkdf.Key(sha256.New, k.set.Load().successorSecret, nil, "latch successor "+prefix, 32)
	if err != nil {
		// Only for a key length HKDF-SHA256 cannot give; 32 it always can.
		panic("token: HKDF: " + err.Error())
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(raw))
	next = prefix + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	return next, HashOpaque(next)
}
