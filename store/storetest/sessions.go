package storetest

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch"
)

// The conformance tests of latch.SessionStore: sessions and the password
// they were started with, refresh-token rotation and reuse, and the
// one-time authorization codes.

func testSessionRoundTrip(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{
		Email: "sess@example.com", FirstName: "S", Verified: true, Active: true, CreatedAt: at(0), UpdatedAt: at(1),
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   latch.Session
		want latch.Session
	}{
		{"session", latch.Session{
			Kind: latch.KindSession, Scopes: []string{latch.ScopeUserRead, latch.ScopeUserUpdate},
			CreatedAt: at(0), ExpiresAt: at(60),
		}, latch.Session{
			Kind: latch.KindSession, Scopes: []string{latch.ScopeUserRead, latch.ScopeUserUpdate},
			CreatedAt: stored(at(0)), ExpiresAt: stored(at(60)),
		}},
		{"no scopes", latch.Session{
			Kind: latch.KindProject, Scopes: []string{}, CreatedAt: at(0), ExpiresAt: at(60),
		}, latch.Session{
			Kind: latch.KindProject, CreatedAt: stored(at(0)), ExpiresAt: stored(at(60)),
		}},
		{"sign-in with auth_time and amr", latch.Session{
			Kind: latch.KindSession, Scopes: []string{latch.ScopeUserRead}, CreatedAt: at(0), ExpiresAt: at(60),
			AuthTime: at(0), AMR: []string{"pwd"},
		}, latch.Session{
			Kind: latch.KindSession, Scopes: []string{latch.ScopeUserRead}, CreatedAt: stored(at(0)), ExpiresAt: stored(at(60)),
			AuthTime: stored(at(0)), AMR: []string{"pwd"},
		}},
		{"created revoked", latch.Session{
			Kind: latch.KindPersonal, Scopes: []string{latch.ScopeUserRead},
			CreatedAt: at(0), ExpiresAt: at(60), RevokedAt: new(at(1)),
		}, latch.Session{
			Kind: latch.KindPersonal, Scopes: []string{latch.ScopeUserRead},
			CreatedAt: stored(at(0)), ExpiresAt: stored(at(60)), RevokedAt: storedPtr(at(1)),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.ID, tc.in.UserID = newID(t), u.ID
			tc.want.ID, tc.want.UserID = tc.in.ID, u.ID
			if err := st.CreateSession(ctx, latch.NewSession{Session: tc.in}); err != nil {
				t.Fatal(err)
			}
			s, su, err := st.SessionWithUser(ctx, tc.in.ID)
			if err != nil {
				t.Fatal(err)
			}
			checkTimes(t, "Session", s)
			checkTimes(t, "User", su)
			equal(t, "Session", s, tc.want)
			equal(t, "User", su, u)
		})
	}
}

func testSessionInvalid(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "sinv@example.com")
	s := createSession(t, st, u.ID, []byte("taken-refresh"))

	dup := s
	err := st.CreateSession(ctx, latch.NewSession{Session: dup})
	if !latch.IsKind(err, latch.KindConflict) {
		t.Errorf("duplicate session id: %v, want Conflict", err)
	}
	// The failed call did not touch the session it collided with: its
	// chain is still at generation 0.
	if _, err := st.RotateRefreshToken(ctx, genuine(s.ID, []byte("taken-refresh"), 0, at(1), 0)); err != nil {
		t.Errorf("the first session's refresh token after a colliding create: %v", err)
	}

	for _, tc := range []struct {
		name   string
		mutate func(*latch.Session)
	}{
		{"malformed id", func(s *latch.Session) { s.ID = "sess-1" }},
		{"empty id", func(s *latch.Session) { s.ID = "" }},
		{"scope with a space", func(s *latch.Session) { s.Scopes = []string{"user:read user:update"} }},
		{"empty scope", func(s *latch.Session) { s.Scopes = []string{""} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := latch.Session{ID: newID(t), UserID: u.ID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60)}
			tc.mutate(&in)
			wantError(t, st.CreateSession(ctx, latch.NewSession{Session: in}), latch.KindInvalid, latch.CodeInvalidRequest)
		})
	}
}

// A session begun by a login is stored only while the password the login
// verified is still the stored one.
func testSessionWhilePasswordHash(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "while@example.com", "h1")
	nopw := createUser(t, st, "nopw@example.com")
	ns := func(userID string) latch.NewSession {
		return latch.NewSession{Session: latch.Session{ID: newID(t), UserID: userID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60)},
			RefreshHash: []byte("while-" + newID(t)), WhilePasswordHash: "h1"}
	}
	ok := ns(u.ID)
	if err := st.CreateSession(ctx, ok); err != nil {
		t.Fatalf("with the current hash: %v", err)
	}
	session(t, st, ok.Session.ID)
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h1", NewHash: "h2", At: at(1)}); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]latch.NewSession{"old hash": ns(u.ID), "no password": ns(nopw.ID)} {
		wantError(t, st.CreateSession(ctx, in), latch.KindConflict, latch.CodeConcurrentUpdate)
		_, _, err := st.SessionWithUser(ctx, in.Session.ID)
		if !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("%s: a refused session was stored (%v)", name, err)
		}
		_, err = st.RotateRefreshToken(ctx, genuine(in.Session.ID, in.RefreshHash, 0, at(2), 0))
		if !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("%s: a refused session's refresh token was stored (%v)", name, err)
		}
	}
}

// Logins and a password change race: every session a login managed to
// store with the old hash ends revoked by the change, or was refused.
func testSessionWhilePasswordHashRace(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "race-login@example.com", "old")
	warmUp(t, st, u.ID)
	const logins = 20
	ids := make([]string, logins)
	errs := make([]error, logins)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range logins {
		ids[i] = newID(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = st.CreateSession(ctx, latch.NewSession{
				Session:           latch.Session{ID: ids[i], UserID: u.ID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60)},
				WhilePasswordHash: "old",
			})
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "old", NewHash: "new", At: at(5)}); err != nil {
			t.Error(err)
		}
	}()
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

// Sessions that ended (expired or revoked) before the cut-off go, with
// their refresh tokens, in batches; live ones and recent ones stay.
func testPurgeSessions(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "purge@example.com")
	mk := func(expires int, refresh string) latch.Session {
		s := latch.Session{ID: newID(t), UserID: u.ID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(expires)}
		var hash []byte
		if refresh != "" {
			hash = []byte(refresh)
		}
		if err := st.CreateSession(ctx, latch.NewSession{Session: s, RefreshHash: hash}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	expiredA, expiredB := mk(10, "purge-a"), mk(20, "")
	revokedOld := mk(1000, "")
	if err := st.RevokeSession(ctx, revokedOld.ID, at(5)); err != nil {
		t.Fatal(err)
	}
	revokedRecent := mk(1000, "")
	if err := st.RevokeSession(ctx, revokedRecent.ID, at(50)); err != nil {
		t.Fatal(err)
	}
	live := mk(1000, "purge-live")
	cut := at(30)

	n, err := st.PurgeSessions(ctx, cut, 2)
	if err != nil || n != 2 {
		t.Fatalf("first batch of 2: %d, %v", n, err)
	}
	n, err = st.PurgeSessions(ctx, cut, 100)
	if err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v; want the third ended session", n, err)
	}
	if n, err := st.PurgeSessions(ctx, cut, 100); err != nil || n != 0 {
		t.Fatalf("nothing left to purge: %d, %v", n, err)
	}
	for _, gone := range []latch.Session{expiredA, expiredB, revokedOld} {
		if _, _, err := st.SessionWithUser(ctx, gone.ID); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("ended session %s still there (%v)", gone.ID, err)
		}
	}
	if _, err := st.RotateRefreshToken(ctx, genuine(expiredA.ID, []byte("purge-a"), 0, at(31), 0)); !latch.IsKind(err, latch.KindNotFound) {
		t.Errorf("a purged session's refresh token survived: %v", err)
	}
	for _, kept := range []latch.Session{revokedRecent, live} {
		session(t, st, kept.ID)
	}
	if _, err := st.RotateRefreshToken(ctx, genuine(live.ID, []byte("purge-live"), 0, at(31), 0)); err != nil {
		t.Errorf("a live session's refresh token: %v", err)
	}
}

// A code is redeemed once, before it expires, and never again.
func testAuthorizationCode(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "code@example.com")
	code := latch.AuthorizationCode{Hash: []byte("code-hash"), UserID: u.ID, CodeChallenge: "challenge", RedirectURI: "https://app.example/cb",
		CreatedAt: t0, ExpiresAt: at(1)}
	if err := st.CreateAuthorizationCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	wantError(t, st.CreateAuthorizationCode(ctx, code), latch.KindConflict, latch.CodeAlreadyExists)
	wantNotFound(t, st.CreateAuthorizationCode(ctx, latch.AuthorizationCode{Hash: []byte("x"), UserID: newID(t), ExpiresAt: at(1)}))

	got, err := st.ConsumeAuthorizationCode(ctx, []byte("code-hash"), t0.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := code
	want.CreatedAt, want.ExpiresAt = stored(t0), stored(at(1))
	if string(got.Hash) != "code-hash" || got.UserID != u.ID || got.CodeChallenge != "challenge" || got.RedirectURI != want.RedirectURI ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.ExpiresAt.Location() != time.UTC {
		t.Fatalf("consumed %+v, want %+v", got, want)
	}
	_, err = st.ConsumeAuthorizationCode(ctx, []byte("code-hash"), t0.Add(31*time.Second))
	wantNotFound(t, err)

	late := latch.AuthorizationCode{Hash: []byte("late-hash"), UserID: u.ID, CreatedAt: t0, ExpiresAt: at(1)}
	if err := st.CreateAuthorizationCode(ctx, late); err != nil {
		t.Fatal(err)
	}
	_, err = st.ConsumeAuthorizationCode(ctx, []byte("late-hash"), at(1))
	wantNotFound(t, err)
	_, err = st.ConsumeAuthorizationCode(ctx, []byte("never-made"), t0)
	wantNotFound(t, err)

	// Expired codes are purged; live ones stay.
	live := latch.AuthorizationCode{Hash: []byte("live-hash"), UserID: u.ID, CreatedAt: t0, ExpiresAt: at(100)}
	if err := st.CreateAuthorizationCode(ctx, live); err != nil {
		t.Fatal(err)
	}
	n, err := st.PurgeAuthorizationCodes(ctx, at(2), 100)
	if err != nil || n != 2 {
		t.Fatalf("purged %d codes, %v; want the two that expired at 1 minute", n, err)
	}
	if _, err := st.ConsumeAuthorizationCode(ctx, []byte("live-hash"), at(3)); err != nil {
		t.Fatalf("a live code was purged: %v", err)
	}

	// Concurrent redemptions: exactly one wins.
	race := latch.AuthorizationCode{Hash: []byte("race-hash"), UserID: u.ID, CreatedAt: t0, ExpiresAt: at(10)}
	if err := st.CreateAuthorizationCode(ctx, race); err != nil {
		t.Fatal(err)
	}
	warmUp(t, st, u.ID)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.ConsumeAuthorizationCode(ctx, []byte("race-hash"), at(1)); err == nil {
				wins.Add(1)
			} else if !latch.IsKind(err, latch.KindNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d redemptions of one code succeeded", wins.Load())
	}
}

func testRevokeSession(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "revoke@example.com")
	s := createSession(t, st, u.ID, nil)
	if err := st.RevokeSession(ctx, s.ID, at(3)); err != nil {
		t.Fatal(err)
	}
	// Revoked sessions are still returned: the caller decides.
	got := session(t, st, s.ID)
	checkTimes(t, "Session", got)
	equal(t, "RevokedAt", got.RevokedAt, storedPtr(at(3)))
	if got.Live(at(4)) {
		t.Error("revoked session is live")
	}
	// Revoking again is no error and keeps the first time.
	if err := st.RevokeSession(ctx, s.ID, at(9)); err != nil {
		t.Fatal(err)
	}
	equal(t, "RevokedAt after a second revocation", session(t, st, s.ID).RevokedAt, storedPtr(at(3)))
}

func testRotate(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "rotate@example.com")
	root := []byte("r0")
	s := createSession(t, st, u.ID, root)
	want := session(t, st, s.ID)

	got, err := st.RotateRefreshToken(ctx, genuine(s.ID, root, 0, at(5), 0))
	if err != nil {
		t.Fatal(err)
	}
	checkTimes(t, "Session", got)
	equal(t, "rotated session", got, want)
	got, err = st.RotateRefreshToken(ctx, genuine(s.ID, root, 1, at(6), 0))
	if err != nil {
		t.Fatalf("rotating the successor: %v", err)
	}
	equal(t, "rotated session", got, want)
	equal(t, "session after rotations", session(t, st, s.ID), want)

	// The current token with the wrong generation, or a generation ahead,
	// is no token of the chain.
	r := genuine(s.ID, root, 2, at(7), 0)
	r.Generation = 3
	_, err = st.RotateRefreshToken(ctx, r)
	wantNotFound(t, err)
	_, err = st.RotateRefreshToken(ctx, genuine(s.ID, root, 3, at(7), 0))
	wantNotFound(t, err)
	// A session without refresh has no chain.
	bare := createSession(t, st, u.ID, nil)
	_, err = st.RotateRefreshToken(ctx, genuine(bare.ID, root, 0, at(7), 0))
	wantNotFound(t, err)
	for name, r := range map[string]latch.RefreshRotation{
		"unknown session": genuine(newID(t), root, 0, at(7), 0),
		"malformed id":    genuine("r0", root, 0, at(7), 0),
		"no hash":         {SessionID: s.ID, NextHash: []byte("x"), At: at(7)},
		"negative":        genuine(s.ID, root, -1, at(7), 0),
	} {
		_, err := st.RotateRefreshToken(ctx, r)
		if !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("%s: %v, want NotFound", name, err)
		}
	}
	r = genuine(s.ID, root, 2, at(8), 0)
	r.NextHash = nil
	_, err = st.RotateRefreshToken(ctx, r)
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	// None of that used the current token up.
	if _, err := st.RotateRefreshToken(ctx, genuine(s.ID, root, 2, at(9), 0)); err != nil {
		t.Errorf("the current token after refused presentations: %v", err)
	}
	equal(t, "RevokedAt", session(t, st, s.ID).RevokedAt, nil)
}

func testRotateReuse(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "reuse@example.com")
	root := []byte("r0")
	s := createSession(t, st, u.ID, root)
	for g := range int64(3) {
		if _, err := st.RotateRefreshToken(ctx, genuine(s.ID, root, g, at(5), 0)); err != nil {
			t.Fatal(err)
		}
	}
	other := createSession(t, st, u.ID, []byte("other-r0"))

	// Forged tokens with the real session id (access tokens carry it):
	// neither an older generation nor the previous one, nor the current
	// one, leads to the current token, so nothing is revoked.
	for g := range int64(4) {
		_, err := st.RotateRefreshToken(ctx, presentation(s.ID, g, []byte(fmt.Sprint("forged-", g)), at(6), time.Hour))
		wantNotFound(t, err)
	}
	equal(t, "RevokedAt after forgeries", session(t, st, s.ID).RevokedAt, nil)

	// Generation 0 again: someone kept a copy. It leads to the current
	// token, so the session is revoked, and that revocation stands
	// although the call fails.
	_, err := st.RotateRefreshToken(ctx, genuine(s.ID, root, 0, at(7), 0))
	wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
	equal(t, "RevokedAt after reuse", session(t, st, s.ID).RevokedAt, storedPtr(at(7)))
	// The legitimate current token is dead with its session, and so is
	// every other token: the session has ended.
	_, err = st.RotateRefreshToken(ctx, genuine(s.ID, root, 3, at(8), 0))
	wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)
	_, err = st.RotateRefreshToken(ctx, genuine(s.ID, root, 1, at(8), 0))
	wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)
	equal(t, "RevokedAt after a second reuse", session(t, st, s.ID).RevokedAt, storedPtr(at(7)))

	// A session other than the reused token's is not touched.
	equal(t, "another session", session(t, st, other.ID).RevokedAt, nil)
	if _, err := st.RotateRefreshToken(ctx, genuine(other.ID, []byte("other-r0"), 0, at(9), 0)); err != nil {
		t.Errorf("the other session's token: %v", err)
	}
	// Nor can a session's token reuse another's chain.
	_, err = st.RotateRefreshToken(ctx, genuine(other.ID, root, 0, at(9), 0))
	wantNotFound(t, err)
	equal(t, "the other session after a token of another chain", session(t, st, other.ID).RevokedAt, nil)
}

// testRotateReuseInterval: within the reuse interval, the previous token
// presented again with the successor derived from it gets its session
// again, writing nothing, while that successor is current; an older
// genuine token, or the previous one after the interval, is a reuse and
// revokes the session.
func testRotateReuseInterval(t *testing.T, st latch.Store) {
	u := createUser(t, st, "grace@example.com")
	const interval = 10 * time.Second
	used := at(5) // every chain below is first rotated at this instant
	after := func(d time.Duration) time.Time { return used.Add(d) }
	rotate := func(t *testing.T, s latch.Session, root string, g int64, when time.Time) (latch.Session, error) {
		t.Helper()
		return st.RotateRefreshToken(t.Context(), genuine(s.ID, []byte(root), g, when, interval))
	}
	// chain starts a session whose generation 0 was rotated at used.
	chain := func(t *testing.T, root string) latch.Session {
		t.Helper()
		s := createSession(t, st, u.ID, []byte(root))
		if _, err := rotate(t, s, root, 0, used); err != nil {
			t.Fatal(err)
		}
		return s
	}
	revoked := func(t *testing.T, s latch.Session, want *time.Time) {
		t.Helper()
		equal(t, "RevokedAt", session(t, st, s.ID).RevokedAt, want)
	}

	t.Run("same successor within the interval", func(t *testing.T) {
		s := chain(t, "g-")
		want := session(t, st, s.ID)
		for _, d := range []time.Duration{0, 5 * time.Second, interval - time.Microsecond, -5 * time.Second} {
			got, err := rotate(t, s, "g-", 0, after(d))
			if err != nil {
				t.Fatalf("again after %v: %v", d, err)
			}
			equal(t, "session", got, want)
		}
		revoked(t, s, nil)
		// Nothing was written: the successor is still the chain's newest,
		// and rotates once.
		if _, err := rotate(t, s, "g-", 1, after(6*time.Second)); err != nil {
			t.Fatalf("rotating the successor: %v", err)
		}
		revoked(t, s, nil)
	})
	t.Run("after the interval", func(t *testing.T) {
		s := chain(t, "late-")
		_, err := rotate(t, s, "late-", 0, after(interval))
		wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
		revoked(t, s, storedPtr(after(interval)))
		_, err = rotate(t, s, "late-", 1, after(interval+time.Second))
		wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)
	})
	t.Run("another successor", func(t *testing.T) {
		// The previous token, but not rotated into the current one: not
		// the same client, and the token is genuine (it leads to the
		// current one).
		s := chain(t, "other-")
		r := genuine(s.ID, []byte("other-"), 0, after(time.Second), interval)
		r.NextHash = []byte("other-1b")
		_, err := st.RotateRefreshToken(t.Context(), r)
		wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
		revoked(t, s, storedPtr(after(time.Second)))
	})
	t.Run("successor rotated too", func(t *testing.T) {
		// Tab A refreshed twice; tab B's copy of the first token is now
		// two generations old: a reuse, although within the interval.
		s := chain(t, "twice-")
		if _, err := rotate(t, s, "twice-", 1, after(time.Second)); err != nil {
			t.Fatal(err)
		}
		_, err := rotate(t, s, "twice-", 0, after(2*time.Second))
		wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
		revoked(t, s, storedPtr(after(2*time.Second)))
	})
	t.Run("middle token within its interval", func(t *testing.T) {
		// The same with the middle token: its own successor is current.
		s := chain(t, "mid-")
		if _, err := rotate(t, s, "mid-", 1, after(time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := rotate(t, s, "mid-", 1, after(2*time.Second)); err != nil {
			t.Fatalf("middle token again: %v", err)
		}
		revoked(t, s, nil)
	})
	t.Run("forged previous token within the interval", func(t *testing.T) {
		s := chain(t, "forged-")
		_, err := st.RotateRefreshToken(t.Context(), presentation(s.ID, 0, []byte("forged-x"), after(time.Second), interval))
		wantNotFound(t, err)
		revoked(t, s, nil)
		if _, err := rotate(t, s, "forged-", 1, after(2*time.Second)); err != nil {
			t.Fatalf("the current token after a forgery: %v", err)
		}
	})
	t.Run("session revoked", func(t *testing.T) {
		s := chain(t, "rev-")
		if err := st.RevokeSession(t.Context(), s.ID, after(time.Second)); err != nil {
			t.Fatal(err)
		}
		_, err := rotate(t, s, "rev-", 0, after(2*time.Second))
		wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)
		revoked(t, s, storedPtr(after(time.Second)))
	})
	t.Run("interval off", func(t *testing.T) {
		s := chain(t, "off-")
		_, err := st.RotateRefreshToken(t.Context(), genuine(s.ID, []byte("off-"), 0, after(time.Second), 0))
		wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
		revoked(t, s, storedPtr(after(time.Second)))
	})
}

// testRotateReuseIntervalConcurrent: concurrent presentations of one
// token, all with the successor derived from it, all get the session;
// exactly one rotation is stored, and the session lives.
func testRotateReuseIntervalConcurrent(t *testing.T, st latch.Store) {
	u := createUser(t, st, "gracerace@example.com")
	warmUp(t, st, u.ID)
	for round := range 5 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			ctx := t.Context()
			root := fmt.Appendf(nil, "grace-contested-%d", round)
			s := createSession(t, st, u.ID, root)
			const n = 20
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					_, errs[i] = st.RotateRefreshToken(ctx, genuine(s.ID, root, 0, at(5), 10*time.Second))
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("presentation %d: %v", i, err)
				}
			}
			equal(t, "RevokedAt", session(t, st, s.ID).RevokedAt, nil)
			if _, err := st.RotateRefreshToken(ctx, genuine(s.ID, root, 1, at(6), 10*time.Second)); err != nil {
				t.Errorf("rotating the successor: %v", err)
			}
			// Exactly one rotation: generation 2 is current now.
			if _, err := st.RotateRefreshToken(ctx, genuine(s.ID, root, 2, at(7), 10*time.Second)); err != nil {
				t.Errorf("rotating generation 2: %v", err)
			}
		})
	}
}

func testRotateSessionEnded(t *testing.T, st latch.Store) {
	u := createUser(t, st, "ended@example.com")
	tests := []struct {
		name   string
		revoke bool
		at     time.Time
	}{
		{"expired", false, at(61)},
		{"expiring now", false, at(60)},
		{"revoked", true, at(30)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			root := fmt.Appendf(nil, "old-%d", i)
			s := createSession(t, st, u.ID, root) // expires at(60)
			if tc.revoke {
				if err := st.RevokeSession(ctx, s.ID, at(10)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := st.RotateRefreshToken(ctx, genuine(s.ID, root, 0, tc.at, 0))
			wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)
			// Nothing was rotated: presenting it again is the same answer,
			// not a reuse, and so is an old generation.
			_, err = st.RotateRefreshToken(ctx, genuine(s.ID, root, 0, tc.at, 0))
			wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)
			equal(t, "RevokedAt", session(t, st, s.ID).RevokedAt, map[bool]*time.Time{true: storedPtr(at(10))}[tc.revoke])
		})
	}
	// One microsecond before expiry still rotates.
	s := createSession(t, st, u.ID, []byte("edge"))
	if _, err := st.RotateRefreshToken(t.Context(), genuine(s.ID, []byte("edge"), 0, stored(at(60)).Add(-time.Microsecond), 0)); err != nil {
		t.Errorf("rotation just before expiry: %v", err)
	}
	equal(t, "session", session(t, st, s.ID).RevokedAt, nil)
}

func testRotateConcurrent(t *testing.T, st latch.Store) {
	u := createUser(t, st, "rotrace@example.com")
	warmUp(t, st, u.ID)
	// Several rounds: one round may happen not to interleave.
	for round := range 5 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			ctx := t.Context()
			root := fmt.Appendf(nil, "contested-%d", round)
			s := createSession(t, st, u.ID, root)
			const n = 20
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					_, errs[i] = st.RotateRefreshToken(ctx, genuine(s.ID, root, 0, at(5), 0))
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case latch.IsCode(err, latch.CodeRefreshTokenReused), latch.IsCode(err, latch.CodeInvalidToken):
					// A reuse, or the session a reuse revoked first.
				default:
					t.Errorf("rotation %d: %v, want nil, refresh_token_reused or invalid_token", i, err)
				}
			}
			if wins != 1 {
				t.Errorf("%d rotations succeeded, want exactly 1", wins)
			}
			// Without a reuse interval every loser is a reuse, so the
			// session ends revoked.
			equal(t, "RevokedAt", session(t, st, s.ID).RevokedAt, storedPtr(at(5)))
		})
	}
}

// warmUp makes many concurrent reads so that a store with a connection
// pool has opened its connections: otherwise the first goroutine of a race
// finishes on the one open connection while the others wait for new ones,
// and nothing races.
func warmUp(t *testing.T, st latch.Store, userID string) {
	t.Helper()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, err := st.UserByID(t.Context(), userID); err != nil {
				t.Errorf("warm-up: %v", err)
			}
		})
	}
	wg.Wait()
}

// createSessionAt stores a session of userID created at(created) and
// expiring at(expires).
func createSessionAt(t *testing.T, st latch.Store, userID string, created, expires int) latch.Session {
	t.Helper()
	s := latch.Session{ID: newID(t), UserID: userID, Kind: latch.KindSession, Scopes: latch.SessionScopes(),
		CreatedAt: at(created), ExpiresAt: at(expires)}
	if err := st.CreateSession(t.Context(), latch.NewSession{Session: s}); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	s.CreatedAt, s.ExpiresAt = stored(s.CreatedAt), stored(s.ExpiresAt)
	return s
}

func testSessionsByUser(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "sessions@example.com")
	other := createUser(t, st, "other-sessions@example.com")
	s1 := createSessionAt(t, st, u.ID, 0, 60)
	s2 := createSessionAt(t, st, u.ID, 1, 60)
	s3 := createSessionAt(t, st, u.ID, 2, 60)
	if err := st.RevokeSession(ctx, s3.ID, at(3)); err != nil {
		t.Fatal(err)
	}
	s4 := createSessionAt(t, st, u.ID, 3, 5)
	createSessionAt(t, st, other.ID, 4, 60)

	list := func(userID string, now time.Time) []latch.Session {
		t.Helper()
		ss, err := st.SessionsByUser(ctx, userID, now)
		if err != nil {
			t.Fatalf("SessionsByUser: %v", err)
		}
		for _, s := range ss {
			checkTimes(t, "Session", s)
		}
		return ss
	}
	equal(t, "live at 4 minutes", list(u.ID, at(4)), []latch.Session{s4, s2, s1})
	equal(t, "live at 5 minutes", list(strings.ToUpper(u.ID), at(5)), []latch.Session{s2, s1})
	if got := list(u.ID, at(60)); len(got) != 0 {
		t.Errorf("live at the hour: %+v", got)
	}
	for _, id := range []string{newID(t), "user-1", ""} {
		if got := list(id, at(4)); len(got) != 0 {
			t.Errorf("SessionsByUser(%q) = %+v", id, got)
		}
	}
}

func testRevokeSessions(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "revoke-all@example.com")
	other := createUser(t, st, "other-revoke@example.com")
	s1 := createSessionAt(t, st, u.ID, 0, 60)
	s2 := createSessionAt(t, st, u.ID, 1, 60)
	expired := createSessionAt(t, st, u.ID, 2, 5)
	o1 := createSessionAt(t, st, other.ID, 0, 60)

	revoke := func(r latch.SessionRevocation) (int, error) {
		t.Helper()
		return st.RevokeSessions(ctx, r)
	}
	for name, r := range map[string]latch.SessionRevocation{
		"another user's session": {UserID: u.ID, SessionID: o1.ID},
		"unknown session":        {UserID: u.ID, SessionID: newID(t)},
		"malformed session":      {UserID: u.ID, SessionID: "sess-1"},
		"unknown user":           {UserID: newID(t)},
		"malformed user":         {UserID: "user-1"},
		"no user":                {SessionID: s1.ID},
	} {
		r.At, r.Audit = at(9), auditEvent(latch.AuditSessionRevoke, r.UserID, 9)
		n, err := revoke(r)
		wantNotFound(t, err)
		if n != 0 {
			t.Errorf("%s: revoked %d", name, n)
		}
	}
	equal(t, "another user's session", session(t, st, o1.ID).RevokedAt, nil)
	equal(t, "the user's session", session(t, st, s1.ID).RevokedAt, nil)

	ev := auditEvent(latch.AuditSessionRevoke, u.ID, 10)
	n, err := revoke(latch.SessionRevocation{UserID: strings.ToUpper(u.ID), SessionID: strings.ToUpper(s1.ID), At: at(10), Audit: ev})
	if err != nil || n != 1 {
		t.Fatalf("revoking one session: %d, %v", n, err)
	}
	equal(t, "revoked session", session(t, st, s1.ID).RevokedAt, storedPtr(at(10)))
	n, err = revoke(latch.SessionRevocation{UserID: u.ID, SessionID: s1.ID, At: at(11)})
	if err != nil || n != 0 {
		t.Fatalf("revoking a revoked session: %d, %v; want 0, nil", n, err)
	}
	equal(t, "session revoked twice", session(t, st, s1.ID).RevokedAt, storedPtr(at(10)))

	// All: the live ones only (s2; s1 is revoked, expired has ended).
	n, err = revoke(latch.SessionRevocation{UserID: u.ID, At: at(12)})
	if err != nil || n != 1 {
		t.Fatalf("revoking all: %d, %v; want 1", n, err)
	}
	equal(t, "s1", session(t, st, s1.ID).RevokedAt, storedPtr(at(10)))
	equal(t, "s2", session(t, st, s2.ID).RevokedAt, storedPtr(at(12)))
	equal(t, "expired", session(t, st, expired.ID).RevokedAt, nil)
	equal(t, "other user's", session(t, st, o1.ID).RevokedAt, nil)
	n, err = revoke(latch.SessionRevocation{UserID: u.ID, At: at(13)})
	if err != nil || n != 0 {
		t.Fatalf("revoking all again: %d, %v; want 0", n, err)
	}
	if ss, _ := st.SessionsByUser(ctx, u.ID, at(13)); len(ss) != 0 {
		t.Errorf("live sessions after revoking all: %+v", ss)
	}
	wantEvents(t, "revocation events", events(t, st, latch.AuditQuery{Action: latch.AuditSessionRevoke}), *ev)
}

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

// testLatestSessionExpiry: the latest end among live sessions of the kinds
// asked for; revoked, expired and other kinds' sessions do not count.
func testLatestSessionExpiry(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "latest-expiry@example.com")
	personal := []latch.TokenKind{latch.KindPersonal, latch.KindProject}
	latest := func(kinds []latch.TokenKind, now time.Time) time.Time {
		t.Helper()
		got, err := st.LatestSessionExpiry(ctx, kinds, now)
		if err != nil {
			t.Fatalf("LatestSessionExpiry: %v", err)
		}
		return got
	}
	if got := latest(personal, at(0)); !got.IsZero() {
		t.Fatalf("no sessions: %v", got)
	}
	create := func(kind latch.TokenKind, expires int) latch.Session {
		s := latch.Session{ID: newID(t), UserID: u.ID, Kind: kind, Scopes: []string{"user:read"}, CreatedAt: at(0), ExpiresAt: at(expires)}
		if err := st.CreateSession(ctx, latch.NewSession{Session: s}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	create(latch.KindSession, 500)
	create(latch.KindPersonal, 100)
	create(latch.KindProject, 200)
	revoked := create(latch.KindPersonal, 300)
	if err := st.RevokeSession(ctx, revoked.ID, at(1)); err != nil {
		t.Fatal(err)
	}
	if got := latest(personal, at(2)); !got.Equal(stored(at(200))) || got.Location() != time.UTC {
		t.Errorf("personal and project at 2: %v, want %v", got, at(200))
	}
	if got := latest([]latch.TokenKind{latch.KindPersonal}, at(2)); !got.Equal(stored(at(100))) {
		t.Errorf("personal at 2: %v, want %v", got, at(100))
	}
	if got := latest(personal, at(200)); !got.IsZero() {
		t.Errorf("after every one ended: %v", got)
	}
	if got := latest(nil, at(2)); !got.IsZero() {
		t.Errorf("no kinds: %v", got)
	}
}
