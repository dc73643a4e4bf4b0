package contract

import "crypto/sha256"

// RehashDigest is what a store keeps of the password hash a rehash
// replaced (credentials.rehashed_from) and what it compares a session's
// condition (latch.NewSession.WhilePasswordHash) with: a SHA-256 under a
// label of its own. Equality is all the condition needs, and the hash
// itself, weaker than its replacement by definition, is not worth a
// second copy in the database.
func RehashDigest(hash string) []byte {
	h := sha256.New()
	h.Write([]byte("latch rehashed password hash\x00"))
	h.Write([]byte(hash))
	return h.Sum(nil)
}
