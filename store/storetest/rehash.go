package storetest

import (
	"sync"
	"testing"

	"github.com/latchid/latch"
)

// A rehash (ReplacePasswordHash) stores the same password with stronger
// parameters: a session conditional on the hash it replaced is still a
// session of the current password and is stored. A password change that
// follows (of any kind) ends that: neither the replaced hash nor the one
// before the change starts a session any more.
func testSessionWhileRehashedHash(t *testing.T, st latch.Store) {
	ctx := t.Context()
	start := func(t *testing.T, userID, while string) (latch.NewSession, error) {
		ns := latch.NewSession{
			Session:     latch.Session{ID: newID(t), UserID: userID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60)},
			RefreshHash: []byte("rehashed-" + newID(t)), WhilePasswordHash: while,
		}
		return ns, st.CreateSession(ctx, ns)
	}
	accepted := func(t *testing.T, userID, while string) {
		t.Helper()
		ns, err := start(t, userID, while)
		if err != nil {
			t.Fatalf("session while the password is %q: %v", while, err)
		}
		session(t, st, ns.Session.ID)
	}
	refused := func(t *testing.T, userID, while string) {
		t.Helper()
		ns, err := start(t, userID, while)
		wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
		if _, _, err := st.SessionWithUser(ctx, ns.Session.ID); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("while %q: a refused session was stored (%v)", while, err)
		}
	}

	for _, tc := range []struct {
		name   string
		change func(t *testing.T, userID string)
	}{
		{"change", func(t *testing.T, userID string) {
			if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: userID, PreviousHash: "strong", NewHash: "changed", At: at(2)}); err != nil {
				t.Fatal(err)
			}
		}},
		{"overwrite", func(t *testing.T, userID string) {
			if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: userID, Overwrite: true, NewHash: "changed", At: at(2)}); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := createUserWithPassword(t, st, "rehashed-"+tc.name+"@example.com", "weak")
			if err := st.ReplacePasswordHash(ctx, u.ID, "weak", "strong", at(1)); err != nil {
				t.Fatal(err)
			}
			accepted(t, u.ID, "strong")
			accepted(t, u.ID, "weak") // verified just before the rehash
			refused(t, u.ID, "other")

			tc.change(t, u.ID)
			refused(t, u.ID, "weak")
			refused(t, u.ID, "strong")
			accepted(t, u.ID, "changed")

			// The next rehash replaces the changed password's hash, and
			// only that one: the old password's hashes stay refused.
			if err := st.ReplacePasswordHash(ctx, u.ID, "changed", "changed-strong", at(3)); err != nil {
				t.Fatal(err)
			}
			accepted(t, u.ID, "changed")
			accepted(t, u.ID, "changed-strong")
			refused(t, u.ID, "weak")
			refused(t, u.ID, "strong")
		})
	}

	// A user whose hash was never replaced has no replaced hash to match:
	// in particular not "" (which means no condition at all).
	plain := createUserWithPassword(t, st, "never-rehashed@example.com", "h1")
	refused(t, plain.ID, "h0")
	accepted(t, plain.ID, "h1")

	// A hash replaced for one user starts no session of another.
	other := createUserWithPassword(t, st, "rehashed-other@example.com", "other-weak")
	mine := createUserWithPassword(t, st, "rehashed-mine@example.com", "mine-weak")
	if err := st.ReplacePasswordHash(ctx, other.ID, "other-weak", "other-strong", at(1)); err != nil {
		t.Fatal(err)
	}
	refused(t, mine.ID, "other-weak")
}

// Logins that verified the hash before a rehash race a password change
// (after the rehash): each session stored on the replaced hash ends
// revoked by the change, or was refused, as for the current hash.
func testSessionWhileRehashedHashRace(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "rehash-race@example.com", "old-weak")
	if err := st.ReplacePasswordHash(ctx, u.ID, "old-weak", "old-strong", at(1)); err != nil {
		t.Fatal(err)
	}
	warmUp(t, st, u.ID)
	const logins = 20
	ids := make([]string, logins)
	errs := make([]error, logins)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range logins {
		ids[i] = newID(t)
		wg.Go(func() {
			<-start
			errs[i] = st.CreateSession(ctx, latch.NewSession{
				Session:           latch.Session{ID: ids[i], UserID: u.ID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60)},
				WhilePasswordHash: "old-weak",
			})
		})
	}
	wg.Go(func() {
		<-start
		if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "old-strong", NewHash: "new", At: at(5)}); err != nil {
			t.Error(err)
		}
	})
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
			continue
		}
		if s := session(t, st, ids[i]); s.RevokedAt == nil {
			t.Errorf("login %d: a session started with the old password survived the change", i)
		}
	}
}

// Sessions conditional on the hash being replaced race its rehash: none is
// refused, whichever commits first.
func testSessionRacingRehash(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "rehash-concurrent@example.com", "weak")
	warmUp(t, st, u.ID)
	const logins = 20
	errs := make([]error, logins)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range logins {
		id := newID(t)
		wg.Go(func() {
			<-start
			errs[i] = st.CreateSession(ctx, latch.NewSession{
				Session:           latch.Session{ID: id, UserID: u.ID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60)},
				WhilePasswordHash: "weak",
			})
		})
	}
	wg.Go(func() {
		<-start
		if err := st.ReplacePasswordHash(ctx, u.ID, "weak", "strong", at(1)); err != nil {
			t.Error(err)
		}
	})
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("login %d, racing the rehash of its password: %v", i, err)
		}
	}
	equal(t, "history", history(t, st, u.ID), []string{"weak"})
}

// A password change whose caller verified the hash a rehash replaced
// (PreviousHash) verified the same password, and goes through; still only
// one of two concurrent changes does, and a change leaves the replaced
// hash no longer current.
func testChangePasswordAfterRehash(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "change-rehashed@example.com", "weak")
	if err := st.ReplacePasswordHash(ctx, u.ID, "weak", "strong", at(1)); err != nil {
		t.Fatal(err)
	}
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "weak", NewHash: "next", At: at(2)}); err != nil {
		t.Fatalf("change from the replaced hash: %v", err)
	}
	for _, previous := range []string{"weak", "strong"} {
		err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: previous, NewHash: "again-" + previous, At: at(3)})
		wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
	}
	if c, _ := st.Credential(ctx, u.ID); c.Hash != "next" {
		t.Errorf("stored hash = %q, want next", c.Hash)
	}
	equal(t, "history", history(t, st, u.ID), []string{"next", "weak"})

	// Concurrent changes, each from one of the password's two hashes:
	// exactly one wins.
	v := createUserWithPassword(t, st, "change-rehashed-race@example.com", "weak")
	if err := st.ReplacePasswordHash(ctx, v.ID, "weak", "strong", at(1)); err != nil {
		t.Fatal(err)
	}
	warmUp(t, st, v.ID)
	const writers = 10
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		previous := []string{"weak", "strong"}[i%2]
		wg.Go(func() {
			<-start
			errs[i] = st.ChangePassword(ctx, latch.PasswordChange{UserID: v.ID, PreviousHash: previous, NewHash: "new-" + string(rune('a'+i)), At: at(2)})
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
	}
	if won != 1 {
		t.Errorf("%d concurrent changes from the same password succeeded, want 1", won)
	}
}
