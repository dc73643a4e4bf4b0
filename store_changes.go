package latch

import (
	"context"
	"time"
)

// SessionChangeFeed tells a replica, as they commit, of the changes that can
// change who an access token stands for: a session revoked, expired early,
// re-scoped or deleted, a user changed or deleted. The database records
// each in the transaction that makes it (triggers), so every writer is
// covered: this replica, the others, and the operator CLI run beside them.
// A replica keeps the answer of Store.SessionWithUser in memory only while
// its feed is up.
//
// Changes are keyed by user: a replica drops every session of that user it
// holds. Coarse, and safe: one user's changes are rare.
type SessionChangeFeed interface {
	// WatchSessionChanges tells sink of the changes until ctx ends, then
	// returns ctx's error. It starts down: sink.Resynced comes once the
	// feed listens (every change committed after it is told), and after
	// a loss of the channel (sink.Down) it reconnects and says Resynced
	// again. The sink's methods are called from one goroutine, in order.
	WatchSessionChanges(ctx context.Context, sink SessionChangeSink) error
}

// SessionChangeSink is told what a SessionChangeFeed learns.
type SessionChangeSink interface {
	// SessionsChanged: something of user userID's, or one of its
	// sessions, changed at at (the database's clock when the change was
	// written; zero when unknown), and has committed.
	SessionsChanged(userID string, at time.Time)
	// ChangesDown: the channel is lost (err says why); changes may go
	// untold until ChangesResynced. Stop trusting what was learned.
	ChangesDown(err error)
	// ChangesResynced: the feed listens again, so every change committed
	// from now on will be told; what was learned before may be stale.
	ChangesResynced()
}
