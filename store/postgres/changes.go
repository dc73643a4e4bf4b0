package postgres

// The session change feed (latch.SessionChangeFeed) on PostgreSQL:
// migration 00014's triggers NOTIFY latch_session_changes in the writing
// transaction, whichever replica or process writes; each watching replica
// LISTENs on a connection of its own, outside the pool.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchid/latch"
)

// ListenerApplicationName begins the application_name of the connection
// that listens for session changes, which is
// ListenerApplicationName + "/" + the schema (see ListenerName), so that
// an operator, or a test, can find it in pg_stat_activity.
const ListenerApplicationName = "latch-session-listener"

// ListenerName is the application_name of the listener of schema's
// changes: Postgres keeps at most 63 bytes of it.
func ListenerName(schema string) string {
	name := ListenerApplicationName + "/" + schema
	if len(name) > 63 {
		name = name[:63]
	}
	return name
}

// changeChannel is the channel migration 00014's triggers notify.
const changeChannel = "latch_session_changes"

// Timing of the listener.
const (
	// listenerCheck is how long the listener waits for a notification
	// before it pings its connection: a connection that died silently (a
	// network partition) must not pass for one that hears nothing.
	listenerCheck = 5 * time.Second
	// Reconnection backoff after the channel is lost: quick at first
	// (the cache is off meanwhile), then at most every few seconds.
	listenerRetryMin = 50 * time.Millisecond
	listenerRetryMax = 5 * time.Second
)

var _ latch.SessionChangeFeed = (*Store)(nil)

// WatchSessionChanges implements latch.SessionChangeFeed. On any failure of
// its connection it says ChangesDown, reconnects with backoff, LISTENs,
// and only then says ChangesResynced.
func (s *Store) WatchSessionChanges(ctx context.Context, sink latch.SessionChangeSink) error {
	wait := listenerRetryMin
	for {
		listened, err := s.listen(ctx, sink)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if listened {
			sink.ChangesDown(err)
			wait = listenerRetryMin
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, listenerRetryMax)
	}
}

// listen connects, LISTENs, says ChangesResynced and tells sink every
// change of this store's schema until the connection fails. listened
// reports whether it got as far as ChangesResynced.
func (s *Store) listen(ctx context.Context, sink latch.SessionChangeSink) (listened bool, err error) {
	connectCtx, cancel := s.bound(ctx)
	conn, err := pgx.ConnectConfig(connectCtx, s.listenConfig)
	cancel()
	if err != nil {
		return false, fail(err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		_ = conn.Close(closeCtx)
	}()
	setupCtx, cancel := s.bound(ctx)
	defer cancel()
	// The triggers name the schema of the table they fire on; the
	// database may hold other Latch schemas, whose changes are not ours.
	var schema *string
	if err := conn.QueryRow(setupCtx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return false, fail(err)
	}
	if schema == nil {
		return false, errors.New("postgres: session changes: no schema of the search_path exists")
	}
	if _, err := conn.Exec(setupCtx, "SELECT set_config('application_name', $1, false)", ListenerName(*schema)); err != nil {
		return false, fail(err)
	}
	if _, err := conn.Exec(setupCtx, "LISTEN "+changeChannel); err != nil {
		return false, fail(err)
	}
	// Listening now: every change committed from here on is heard.
	sink.ChangesResynced()
	for {
		waitCtx, cancel := context.WithTimeout(ctx, listenerCheck)
		note, err := conn.WaitForNotification(waitCtx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return true, ctx.Err()
			}
			if !errors.Is(err, context.DeadlineExceeded) || conn.IsClosed() {
				return true, fail(err)
			}
			// Nothing heard for a while: make sure the connection is
			// still there.
			pingCtx, cancel := s.bound(ctx)
			err := conn.Ping(pingCtx)
			cancel()
			if err != nil {
				return true, fail(err)
			}
			continue
		}
		if note.Channel != changeChannel {
			continue
		}
		userID, at, ok := parseChange(note.Payload, *schema)
		if ok {
			sink.SessionsChanged(userID, at)
		}
	}
}

// parseChange reads a notification's payload, "<schema> <user id>
// <microseconds since the epoch>"; ok is false for another schema's
// change or a payload not of that form.
func parseChange(payload, schema string) (userID string, at time.Time, ok bool) {
	fields := strings.Fields(payload)
	if len(fields) != 3 || fields[0] != schema {
		return "", time.Time{}, false
	}
	micros, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		return fields[1], time.Time{}, true
	}
	return fields[1], time.UnixMicro(micros).UTC(), true
}
