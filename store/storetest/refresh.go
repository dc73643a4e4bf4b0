package storetest

import (
	"bytes"
	"crypto/sha256"
	"time"

	"github.com/latchid/latch"
)

// The tests' refresh chains stand in for the account layer's keyed
// derivation with a plain one: generation g+1's stored hash is the
// SHA-256 of generation g's (chainLink), and a chain is named by its
// generation-0 hash, its root.

func nextLink(h []byte) []byte {
	sum := sha256.Sum256(h)
	return sum[:]
}

// chainLink is the stored hash of generation g of the chain rooted at root.
func chainLink(root []byte, g int64) []byte {
	h := root
	for range g {
		h = nextLink(h)
	}
	return h
}

// presentation is the rotation of a token of generation g of sessionID
// whose stored hash is presented: a genuine token's successor is its next
// link, and Descends derives forward from it as account.Refresh does.
func presentation(sessionID string, g int64, presented []byte, at time.Time, interval time.Duration) latch.RefreshRotation {
	return latch.RefreshRotation{
		SessionID: sessionID, Generation: g, Hash: presented, NextHash: nextLink(presented),
		At: at, ReuseInterval: interval,
		Descends: func(current int64, currentHash []byte) bool {
			if current <= g {
				return false
			}
			return bytes.Equal(chainLink(presented, current-g), currentHash)
		},
	}
}

// genuine is the presentation of generation g of the chain rooted at root.
func genuine(sessionID string, root []byte, g int64, at time.Time, interval time.Duration) latch.RefreshRotation {
	return presentation(sessionID, g, chainLink(root, g), at, interval)
}
