package sqlite

// The session change feed (latch.SessionChangeFeed) on SQLite: migration
// 00014's triggers append every change to session_changes, in the writing
// transaction, whichever process writes; each watching process polls the
// table on a connection of its own.

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchid/latch"
)

// DefaultChangePoll is how often the session change feed polls without
// WithChangePoll: a revocation by another process (the operator CLI) is
// refused here within about that long. A poll is an index read of no
// rows, mostly.
const DefaultChangePoll = 10 * time.Millisecond

// Retention of session_changes.
const (
	// changeRetention is how long a change is kept for pollers: far
	// longer than a poll, so that only a process stalled that long can
	// miss one, and such a process resynchronises (changeStall).
	changeRetention = time.Minute
	// changeStall is how long without a successful poll makes the feed
	// resynchronise rather than trust that it missed nothing.
	changeStall = changeRetention / 2
	// changePurgeEvery is how often a watcher deletes changes older than
	// changeRetention.
	changePurgeEvery = changeRetention
	// changeBatch bounds the rows one poll reads; more are read at once
	// after.
	changeBatch = 1000
)

// WithChangePoll sets how often WatchSessionChanges polls (DefaultChangePoll
// when d is not positive).
func WithChangePoll(d time.Duration) Option {
	return func(s *Store) {
		if d > 0 {
			s.changePoll = d
		}
	}
}

var _ latch.SessionChangeFeed = (*Store)(nil)

// errStalled: no poll succeeded for longer than changeStall (the process
// was paused, say); changes may have been purged unseen.
var errStalled = errors.New("sqlite: session changes not polled for too long")

// WatchSessionChanges implements latch.SessionChangeFeed: it polls
// session_changes until ctx ends. A poll that fails says ChangesDown; the
// next that succeeds starts again from the table's newest change and says
// ChangesResynced.
func (s *Store) WatchSessionChanges(ctx context.Context, sink latch.SessionChangeSink) error {
	// A connection of its own: the poll neither waits behind requests
	// for a reader connection nor holds one of theirs.
	// Its statement is kept prepared, like the store's (openCached): it
	// runs a hundred times a second.
	db := openCached(s.readerDSN)
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)

	tick := time.NewTicker(s.changePoll)
	defer tick.Stop()
	var (
		up        bool
		last      int64 // the seq of the last change told
		lastPoll  time.Time
		lastPurge = time.Now()
	)
	for {
		if up && time.Since(lastPoll) > changeStall {
			up = false
			sink.ChangesDown(errStalled)
		}
		if !up {
			// The newest change first, then trust: a change committed
			// after this read is polled; one before is in what the
			// store answers from now on.
			if err := s.newestChange(ctx, db, &last); err == nil {
				up, lastPoll = true, time.Now()
				sink.ChangesResynced()
			} else if ctx.Err() != nil {
				return ctx.Err()
			}
		} else {
			n, err := s.pollChanges(ctx, db, &last, sink)
			switch {
			case ctx.Err() != nil:
				return ctx.Err()
			case err != nil:
				up = false
				sink.ChangesDown(err)
			default:
				lastPoll = time.Now()
				if n == changeBatch {
					continue // more are waiting
				}
			}
		}
		if time.Since(lastPurge) > changePurgeEvery {
			lastPurge = time.Now()
			// A failed purge is retried next time; the table only grows
			// meanwhile.
			_ = s.purgeChanges(ctx, time.Now().Add(-changeRetention))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// newestChange reads the seq of the newest change into last.
func (s *Store) newestChange(ctx context.Context, db *sql.DB, last *int64) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM session_changes`).Scan(last)
}

// pollChanges tells sink the changes after *last, at most changeBatch, and
// advances *last; it returns how many it read.
func (s *Store) pollChanges(ctx context.Context, db *sql.DB, last *int64, sink latch.SessionChangeSink) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := db.QueryContext(ctx, `SELECT seq, user_id, at FROM session_changes WHERE seq > ? ORDER BY seq LIMIT ?`, *last, changeBatch)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var seq, at int64
		var userID string
		if err := rows.Scan(&seq, &userID, &at); err != nil {
			return n, err
		}
		sink.SessionsChanged(userID, fromMicros(at))
		*last = seq
		n++
	}
	return n, rows.Err()
}

// purgeChanges deletes the changes recorded before before.
func (s *Store) purgeChanges(ctx context.Context, before time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	_, err := s.writer.ExecContext(ctx, `DELETE FROM session_changes WHERE at < ?`, micros(before))
	return err
}
