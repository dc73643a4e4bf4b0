package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/latchid/latch"
)

// FeedBackend is what RunChangeFeed needs of a backend: two stores on one
// database, and a way to break the watched one's channel.
type FeedBackend struct {
	// Watched is the store whose feed the suite watches; it must
	// implement latch.SessionChangeFeed.
	Watched latch.Store
	// Other is another Store on the same database (another replica, or
	// the operator CLI in its own process): the suite writes through it.
	Other latch.Store
	// Break makes the watched feed's channel fail (the listener's
	// connection terminated, the poll failing) and returns what ends the
	// outage (nil if it ends by itself).
	Break func(t *testing.T) (repair func())
	// Exec runs a statement on the database directly, as another
	// writer would (a later migration's columns, an operator's shell).
	Exec func(t *testing.T, query string)
}

// RunChangeFeed runs the suite of latch.SessionChangeFeed. open returns a
// fresh, migrated, empty database's FeedBackend, closed when t ends.
func RunChangeFeed(t *testing.T, open func(t *testing.T) FeedBackend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b FeedBackend)
	}{
		{"ChangeFeed/OtherStoreReaches", testFeedOtherStoreReaches},
		{"ChangeFeed/WhatChanges", testFeedWhatChanges},
		{"ChangeFeed/UnrelatedUpdatesTellNothing", testFeedUnrelatedUpdates},
		{"ChangeFeed/DropThenResync", testFeedDropThenResync},
		{"ChangeFeed/AppDeleted", testFeedAppDeleted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// feedEvent is one call of a latch.SessionChangeSink.
type feedEvent struct {
	kind   string // "changed", "down", "resynced"
	userID string
	at     time.Time
}

func (e feedEvent) String() string {
	if e.kind == "changed" {
		return "changed " + e.userID
	}
	return e.kind
}

// recordingSink records what a feed tells, in order.
type recordingSink struct{ events chan feedEvent }

func (s recordingSink) SessionsChanged(userID string, at time.Time) {
	s.events <- feedEvent{kind: "changed", userID: userID, at: at}
}
func (s recordingSink) ChangesDown(error) { s.events <- feedEvent{kind: "down"} }
func (s recordingSink) ChangesResynced()  { s.events <- feedEvent{kind: "resynced"} }

// feedWait bounds every wait for an event: generous, so a loaded machine
// does not fail the suite; the delay itself is measured elsewhere.
const feedWait = 10 * time.Second

// watch starts b.Watched's feed and waits for its first ChangesResynced.
func watch(t *testing.T, b FeedBackend) recordingSink {
	t.Helper()
	feed, ok := b.Watched.(latch.SessionChangeFeed)
	if !ok {
		t.Fatalf("%T is not a latch.SessionChangeFeed", b.Watched)
	}
	sink := recordingSink{events: make(chan feedEvent, 10_000)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- feed.WatchSessionChanges(ctx, sink) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != context.Canceled {
				t.Errorf("WatchSessionChanges ended with %v, want context.Canceled", err)
			}
		case <-time.After(feedWait):
			t.Errorf("WatchSessionChanges did not end with its context")
		}
	})
	sink.expect(t, "resynced", "")
	return sink
}

// next returns the next event, failing t after feedWait.
func (s recordingSink) next(t *testing.T) feedEvent {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-time.After(feedWait):
		t.Fatalf("nothing told within %v", feedWait)
		return feedEvent{}
	}
}

// expect waits for the next event and checks it is kind (and for userID,
// when kind is "changed"): the database is the test's, so nothing else
// is told in between.
func (s recordingSink) expect(t *testing.T, kind, userID string) feedEvent {
	t.Helper()
	e := s.next(t)
	if e.kind != kind || e.userID != userID {
		t.Fatalf("told %v, want %v", e, feedEvent{kind: kind, userID: userID})
	}
	return e
}

// changedUntil collects the users told changed until marker's change is
// told, failing on a down or resync.
func (s recordingSink) changedUntil(t *testing.T, marker string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for {
		e := s.next(t)
		if e.kind != "changed" {
			t.Fatalf("told %v while waiting for the change of %s", e, marker)
		}
		if e.userID == marker {
			return seen
		}
		seen[e.userID]++
	}
}

// testFeedOtherStoreReaches: a session revoked through another Store (the
// operator CLI, another replica) reaches the watcher, stamped with the time
// the database wrote it.
func testFeedOtherStoreReaches(t *testing.T, b FeedBackend) {
	u := createUser(t, b.Other, "reach@example.com")
	s := createSession(t, b.Other, u.ID, nil)
	sink := watch(t, b)
	before := time.Now()
	if err := b.Other.RevokeSession(t.Context(), s.ID, at(1)); err != nil {
		t.Fatal(err)
	}
	e := sink.expect(t, "changed", u.ID)
	// The database's clock and ours agree within a few seconds here.
	if e.at.Before(before.Add(-5*time.Second)) || e.at.After(time.Now().Add(5*time.Second)) {
		t.Errorf("change stamped %v, want about %v", e.at, before)
	}
	if e.at.Location() != time.UTC {
		t.Errorf("change stamped in %v, want UTC", e.at.Location())
	}
}

// testFeedWhatChanges: everything that can change Authenticate's answer
// for a user is told, keyed by that user.
func testFeedWhatChanges(t *testing.T, b FeedBackend) {
	ctx := t.Context()
	sink := watch(t, b)
	no, yes := false, true
	name := "Renamed"
	cases := []struct {
		name   string
		change func(u latch.User, s latch.Session) error
	}{
		{"RevokeSession", func(u latch.User, s latch.Session) error { return b.Other.RevokeSession(ctx, s.ID, at(1)) }},
		{"RevokeSessions/one", func(u latch.User, s latch.Session) error {
			_, err := b.Other.RevokeSessions(ctx, latch.SessionRevocation{UserID: u.ID, SessionID: s.ID, At: at(1)})
			return err
		}},
		{"RevokeSessions/all", func(u latch.User, s latch.Session) error {
			_, err := b.Other.RevokeSessions(ctx, latch.SessionRevocation{UserID: u.ID, At: at(1)})
			return err
		}},
		{"UpdateUser/deactivate", func(u latch.User, s latch.Session) error {
			_, err := b.Other.UpdateUser(ctx, latch.UserUpdate{ID: u.ID, Active: &no, At: at(1)})
			return err
		}},
		{"UpdateUser/admin", func(u latch.User, s latch.Session) error {
			_, err := b.Other.UpdateUser(ctx, latch.UserUpdate{ID: u.ID, Admin: &yes, At: at(1)})
			return err
		}},
		{"UpdateUser/name", func(u latch.User, s latch.Session) error {
			_, err := b.Other.UpdateUser(ctx, latch.UserUpdate{ID: u.ID, FirstName: &name, At: at(1)})
			return err
		}},
		{"ChangePassword", func(u latch.User, s latch.Session) error {
			return b.Other.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, NewHash: "$argon2id$new", Overwrite: true, At: at(1)})
		}},
		{"DeleteUser", func(u latch.User, s latch.Session) error { return b.Other.DeleteUser(ctx, u.ID, nil) }},
	}
	marker := createUser(t, b.Other, "marker@example.com")
	for i, c := range cases {
		u := createUser(t, b.Other, fmt.Sprintf("changes-%d@example.com", i))
		s := createSession(t, b.Other, u.ID, nil)
		if err := c.change(u, s); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		// A change of the marker after it bounds the wait: the change
		// may be told more than once (a row per session, a cascade),
		// and nothing else may be.
		markName := fmt.Sprintf("mark %d", i)
		if _, err := b.Other.UpdateUser(ctx, latch.UserUpdate{ID: marker.ID, FirstName: &markName, At: at(2)}); err != nil {
			t.Fatal(err)
		}
		seen := sink.changedUntil(t, marker.ID)
		if len(seen) != 1 || seen[u.ID] == 0 {
			t.Errorf("%s: told changes of %v, want of %s only", c.name, seen, u.ID)
		}
	}
}

// testFeedUnrelatedUpdates: writes that change no answer of
// SessionWithUser tell nothing: a refresh token's rotation, a credential's
// rehash, a new session, a revoked session purged, an update that leaves
// the columns that matter as they were. A change of another
// user, made after them, marks where they would have been told.
func testFeedUnrelatedUpdates(t *testing.T, b FeedBackend) {
	ctx := t.Context()
	u := createUserWithPassword(t, b.Other, "quiet@example.com", "$argon2id$old")
	s := createSession(t, b.Other, u.ID, []byte("q0"))
	ended := createSession(t, b.Other, u.ID, nil)
	if err := b.Other.RevokeSession(ctx, ended.ID, at(1)); err != nil {
		t.Fatal(err)
	}
	marker := createUser(t, b.Other, "marker@example.com")
	sink := watch(t, b)

	if _, err := b.Other.RotateRefreshToken(ctx, latch.RefreshRotation{SessionID: s.ID, Generation: 0, Hash: []byte("q0"), NextHash: []byte("q1"), At: at(2)}); err != nil {
		t.Fatalf("RotateRefreshToken: %v", err)
	}
	if err := b.Other.ReplacePasswordHash(ctx, u.ID, "$argon2id$old", "$argon2id$rehashed", at(3)); err != nil {
		t.Fatalf("ReplacePasswordHash: %v", err)
	}
	createSession(t, b.Other, u.ID, nil)
	if n, err := b.Other.PurgeSessions(ctx, at(30), 10); err != nil || n != 1 {
		t.Fatalf("PurgeSessions: %d, %v; want the revoked session", n, err)
	}
	if err := b.Other.AppendAudit(ctx, latch.AuditEvent{Action: latch.AuditSessionRevoke, TenantID: u.TenantID, TargetID: u.ID, At: at(4)}); err != nil {
		t.Fatalf("AppendAudit: %v", err)
	}
	// Updates that leave the watched columns as they were, or touch
	// others only (the session row's refresh chain, as a rotation writes
	// it, is such a column).
	for _, q := range []string{
		`UPDATE sessions SET created_at = created_at WHERE id = '` + s.ID + `'`,
		`UPDATE sessions SET refresh_generation = refresh_generation + 1, refresh_hash = refresh_hash WHERE id = '` + s.ID + `'`,
		`UPDATE sessions SET revoked_at = revoked_at, expires_at = expires_at, scopes = scopes, kind = kind, user_id = user_id WHERE id = '` + s.ID + `'`,
		`UPDATE users SET email_normalized = email_normalized WHERE id = '` + u.ID + `'`,
		`UPDATE users SET active = active, email = email, updated_at = updated_at WHERE id = '` + u.ID + `'`,
	} {
		b.Exec(t, q)
	}
	deactivate := false
	if _, err := b.Other.UpdateUser(ctx, latch.UserUpdate{ID: marker.ID, Active: &deactivate, At: at(5)}); err != nil {
		t.Fatal(err)
	}
	if seen := sink.changedUntil(t, marker.ID); len(seen) != 0 {
		t.Errorf("unrelated writes told changes: %v", seen)
	}
	// The session is still the same, and live: nothing was missed.
	if got := session(t, b.Other, s.ID); !got.Live(at(6)) {
		t.Errorf("session after unrelated writes: %+v, want live", got)
	}
}

// testFeedDropThenResync: a broken channel says down, then resynced once
// it listens again, and changes after that are told.
func testFeedDropThenResync(t *testing.T, b FeedBackend) {
	u := createUser(t, b.Other, "drop@example.com")
	s := createSession(t, b.Other, u.ID, nil)
	sink := watch(t, b)
	repair := b.Break(t)
	sink.expect(t, "down", "")
	if repair != nil {
		repair()
	}
	sink.expect(t, "resynced", "")
	if err := b.Other.RevokeSession(t.Context(), s.ID, at(1)); err != nil {
		t.Fatal(err)
	}
	sink.expect(t, "changed", u.ID)
}
