package latch

import (
	"context"
	"time"
)

// LinkStore keeps the single-use password links.
type LinkStore interface {
	// CreatePasswordLink stores l, marks every live link of the same user
	// and purpose used (a new link invalidates the older ones, whatever
	// their times say: requests for one user are serialized, and the last
	// one wins) and enqueues m, in one transaction.
	CreatePasswordLink(ctx context.Context, l PasswordLink, m MailMessage) error
	// PasswordLink returns the link with hash (live or not), or NotFound.
	PasswordLink(ctx context.Context, hash []byte) (PasswordLink, error)
	// PurgePasswordLinks deletes at most limit links that expired before
	// before, and returns how many it deleted.
	PurgePasswordLinks(ctx context.Context, before time.Time, limit int) (int, error)
}
