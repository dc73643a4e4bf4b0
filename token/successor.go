package token

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
	next = prefix + k.successorMAC(prefix)(raw)
	return next, HashOpaque(next)
}
