package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch"
)

// The conformance tests of latch.CredentialStore: the password write
// (compare-and-swap, the sessions it ends), rehashing and the password
// history.

func testChangePasswordCAS(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "cas@example.com")
	change := func(prev, next string, when time.Time) error {
		return st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: prev, NewHash: next, At: when})
	}
	wantHash := func(hash string, created, updated time.Time) {
		t.Helper()
		c, err := st.Credential(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkTimes(t, "Credential", c)
		equal(t, "Credential", c, latch.Credential{UserID: u.ID, Hash: hash, CreatedAt: stored(created), UpdatedAt: stored(updated)})
	}

	// A previous hash when there is no credential: nothing to swap.
	wantError(t, change("h0", "h1", at(1)), latch.KindConflict, latch.CodeConcurrentUpdate)
	_, err := st.Credential(ctx, u.ID)
	wantNotFound(t, err)

	if err := change("", "h1", at(2)); err != nil {
		t.Fatalf("first password: %v", err)
	}
	wantHash("h1", at(2), at(2))

	// A first password again: there is one now.
	wantError(t, change("", "h2", at(3)), latch.KindConflict, latch.CodeConcurrentUpdate)
	// A stale previous hash.
	wantError(t, change("h0", "h2", at(3)), latch.KindConflict, latch.CodeConcurrentUpdate)
	wantHash("h1", at(2), at(2))

	if err := change("h1", "h2", at(4)); err != nil {
		t.Fatalf("change: %v", err)
	}
	wantHash("h2", at(2), at(4))
	equal(t, "password history", history(t, st, u.ID), []string{"h2", "h1"})

	err = st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h2", At: at(5)})
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
}

func testChangePasswordRevokes(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "rev@example.com", "h1")
	other := createUserWithPassword(t, st, "other@example.com", "o1")
	keep := createSession(t, st, u.ID, nil)
	drop1 := createSession(t, st, u.ID, []byte("drop1-refresh"))
	drop2 := createSession(t, st, u.ID, nil)
	earlier := createSession(t, st, u.ID, nil)
	if err := st.RevokeSession(ctx, earlier.ID, at(1)); err != nil {
		t.Fatal(err)
	}
	others := createSession(t, st, other.ID, nil)

	if err := st.ChangePassword(ctx, latch.PasswordChange{
		UserID: u.ID, PreviousHash: "h1", NewHash: "h2", KeepSessionID: keep.ID, At: at(10),
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		id      string
		revoked *time.Time
	}{
		{"the kept session", keep.ID, nil},
		{"another session", drop1.ID, storedPtr(at(10))},
		{"a third session", drop2.ID, storedPtr(at(10))},
		{"a session revoked before", earlier.ID, storedPtr(at(1))},
		{"another user's session", others.ID, nil},
	} {
		s := session(t, st, tc.id)
		checkTimes(t, tc.name, s)
		equal(t, tc.name+" RevokedAt", s.RevokedAt, tc.revoked)
	}
	// The revoked session's refresh token no longer rotates.
	_, err := st.RotateRefreshToken(ctx, genuine(drop1.ID, []byte("drop1-refresh"), 0, at(11), 0))
	wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)

	// No KeepSessionID revokes every session.
	if err := st.ChangePassword(ctx, latch.PasswordChange{
		UserID: u.ID, PreviousHash: "h2", NewHash: "h3", At: at(20),
	}); err != nil {
		t.Fatal(err)
	}
	equal(t, "kept session after a change keeping none", session(t, st, keep.ID).RevokedAt, storedPtr(at(20)))
	equal(t, "other user's session", session(t, st, others.ID).RevokedAt, nil)
	equal(t, "password history", history(t, st, u.ID), []string{"h3", "h2", "h1"})
	equal(t, "other user's history", history(t, st, other.ID), []string{"o1"})
}

// testChangePasswordKeepSessions: a first password may keep every session
// of the user; a replacement may not, and is refused without a write.
func testChangePasswordKeepSessions(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "keep-first@example.com")
	s1 := createSession(t, st, u.ID, []byte("keep-first-r0"))
	s2 := createSession(t, st, u.ID, nil)
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, NewHash: "k1", KeepSessions: true, At: at(10)}); err != nil {
		t.Fatal(err)
	}
	equal(t, "a session after a first password", session(t, st, s1.ID).RevokedAt, nil)
	equal(t, "another session after a first password", session(t, st, s2.ID).RevokedAt, nil)
	equal(t, "password history", history(t, st, u.ID), []string{"k1"})
	if _, err := st.RotateRefreshToken(ctx, genuine(s1.ID, []byte("keep-first-r0"), 0, at(11), 0)); err != nil {
		t.Errorf("refresh after a first password: %v", err)
	}

	for name, pc := range map[string]latch.PasswordChange{
		"change":    {UserID: u.ID, PreviousHash: "k1", NewHash: "k2", KeepSessions: true, At: at(20)},
		"overwrite": {UserID: u.ID, NewHash: "k2", Overwrite: true, KeepSessions: true, At: at(20)},
	} {
		err := st.ChangePassword(ctx, pc)
		wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
		equal(t, name+": password history", history(t, st, u.ID), []string{"k1"})
		equal(t, name+": session", session(t, st, s2.ID).RevokedAt, nil)
	}
}

func testChangePasswordConflictWritesNothing(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "nothing@example.com", "h1")
	s := createSession(t, st, u.ID, nil)
	err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "stale", NewHash: "h2", At: at(5)})
	wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
	equal(t, "session after a failed change", session(t, st, s.ID).RevokedAt, nil)
	equal(t, "history after a failed change", history(t, st, u.ID), []string{"h1"})
}

func testChangePasswordConcurrent(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "race@example.com")
	warmUp(t, st, u.ID)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = st.ChangePassword(ctx, latch.PasswordChange{
				UserID: u.ID, NewHash: fmt.Sprintf("hash-%d", i), At: at(1),
			})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("both %d and %d set the first password", winner, i)
			}
			winner = i
		case latch.IsCode(err, latch.CodeConcurrentUpdate) && latch.IsKind(err, latch.KindConflict):
		default:
			t.Errorf("writer %d: %v, want nil or Conflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer succeeded")
	}
	c, err := st.Credential(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("hash-%d", winner); c.Hash != want {
		t.Errorf("stored hash = %q, want the winner's %q", c.Hash, want)
	}
	equal(t, "password history", history(t, st, u.ID), []string{c.Hash})
}

func testReplacePasswordHash(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "rehash@example.com", "weak")
	s := createSession(t, st, u.ID, nil)
	if err := st.ReplacePasswordHash(ctx, u.ID, "weak", "strong", at(7)); err != nil {
		t.Fatal(err)
	}
	c, err := st.Credential(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Credential", c, latch.Credential{UserID: u.ID, Hash: "strong", CreatedAt: stored(at(0)), UpdatedAt: stored(at(7))})
	// A rehash is the same password: no history, no revocation.
	equal(t, "session", session(t, st, s.ID).RevokedAt, nil)
	equal(t, "history", history(t, st, u.ID), []string{"weak"})

	err = st.ReplacePasswordHash(ctx, u.ID, "weak", "stronger", at(8))
	wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
	if c, _ := st.Credential(ctx, u.ID); c.Hash != "strong" {
		t.Errorf("hash after a failed replace = %q", c.Hash)
	}

	bare := createUser(t, st, "bare@example.com")
	err = st.ReplacePasswordHash(ctx, bare.ID, "weak", "strong", at(8))
	wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
	err = st.ReplacePasswordHash(ctx, u.ID, "strong", "", at(8))
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
}

// An administrator's reset sets the password whatever is stored.
func testChangePasswordOverwrite(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "overwrite@example.com", "h1")
	keep := createSession(t, st, u.ID, nil)
	drop := createSession(t, st, u.ID, nil)
	for i, prev := range []string{"stale", "h1", ""} {
		hash := fmt.Sprintf("reset-%d", i)
		if err := st.ChangePassword(ctx, latch.PasswordChange{
			UserID: u.ID, PreviousHash: prev, NewHash: hash, Overwrite: true, MustChange: true,
			KeepSessionID: keep.ID, At: at(5 + i),
		}); err != nil {
			t.Fatalf("overwrite over PreviousHash %q: %v", prev, err)
		}
		c, err := st.Credential(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkTimes(t, "Credential", c)
		equal(t, "Credential", c, latch.Credential{UserID: u.ID, Hash: hash, MustChange: true, CreatedAt: stored(at(0)), UpdatedAt: stored(at(5 + i))})
	}
	equal(t, "history", history(t, st, u.ID), []string{"reset-2", "reset-1", "reset-0", "h1"})
	equal(t, "kept session", session(t, st, keep.ID).RevokedAt, nil)
	equal(t, "other session", session(t, st, drop.ID).RevokedAt, storedPtr(at(5)))

	// No password yet: the overwrite creates it.
	bare := createUser(t, st, "bare-overwrite@example.com")
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: bare.ID, PreviousHash: "whatever", NewHash: "first", Overwrite: true, At: at(9)}); err != nil {
		t.Fatal(err)
	}
	c, err := st.Credential(ctx, bare.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "created Credential", c, latch.Credential{UserID: bare.ID, Hash: "first", CreatedAt: stored(at(9)), UpdatedAt: stored(at(9))})

	wantNotFound(t, st.ChangePassword(ctx, latch.PasswordChange{UserID: newID(t), NewHash: "x", Overwrite: true, At: at(10)}))
	wantError(t, st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, Overwrite: true, At: at(10)}), latch.KindInvalid, latch.CodeInvalidRequest)
}

func testChangePasswordMustChange(t *testing.T, st latch.Store) {
	ctx := t.Context()
	mustChange := func(userID string) bool {
		t.Helper()
		c, err := st.Credential(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		return c.MustChange
	}
	u, err := st.CreateUser(ctx, latch.NewUser{
		User: latch.User{Email: "must@example.com", CreatedAt: at(0)}, PasswordHash: "h1", MustChangePassword: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !mustChange(u.ID) {
		t.Error("CreateUser with MustChangePassword: MustChange false")
	}
	// A rehash is the same password: the mark stays.
	if err := st.ReplacePasswordHash(ctx, u.ID, "h1", "h1b", at(1)); err != nil {
		t.Fatal(err)
	}
	if !mustChange(u.ID) {
		t.Error("ReplacePasswordHash cleared MustChange")
	}
	// The user's own change clears it.
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h1b", NewHash: "h2", At: at(2)}); err != nil {
		t.Fatal(err)
	}
	if mustChange(u.ID) {
		t.Error("a change without MustChange kept it")
	}
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h2", NewHash: "h3", MustChange: true, At: at(3)}); err != nil {
		t.Fatal(err)
	}
	if !mustChange(u.ID) {
		t.Error("a change with MustChange did not store it")
	}
	// A refused change leaves it as it is.
	wantError(t, st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "stale", NewHash: "h4", At: at(4)}),
		latch.KindConflict, latch.CodeConcurrentUpdate)
	if !mustChange(u.ID) {
		t.Error("a refused change cleared MustChange")
	}

	// A first password may carry it too.
	bare := createUser(t, st, "must-first@example.com")
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: bare.ID, NewHash: "first", MustChange: true, At: at(5)}); err != nil {
		t.Fatal(err)
	}
	if !mustChange(bare.ID) {
		t.Error("a first password with MustChange did not store it")
	}
	// Without a password there is nothing to change.
	nopw, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "must-none@example.com"}, MustChangePassword: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Credential(ctx, nopw.ID)
	wantNotFound(t, err)
}

func testPasswordHistory(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "history@example.com", "h1")
	for i, next := range []string{"h2", "h3", "h4"} {
		if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: fmt.Sprintf("h%d", i+1), NewHash: next, At: at(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	other := createUserWithPassword(t, st, "history-other@example.com", "o1")
	for _, tc := range []struct {
		id    string
		limit int
		want  []string
	}{
		{u.ID, 100, []string{"h4", "h3", "h2", "h1"}},
		{strings.ToUpper(u.ID), 2, []string{"h4", "h3"}},
		{u.ID, 1, []string{"h4"}},
		{u.ID, 0, nil},
		{u.ID, -1, nil},
		{other.ID, 10, []string{"o1"}},
		{newID(t), 10, nil},
		{"user-1", 10, nil},
	} {
		got, err := st.PasswordHistory(ctx, tc.id, tc.limit)
		if err != nil {
			t.Fatalf("PasswordHistory(%s, %d): %v", tc.id, tc.limit, err)
		}
		if len(got) != len(tc.want) || (len(got) > 0 && !slices.Equal(got, tc.want)) {
			t.Errorf("PasswordHistory(%s, %d) = %q, want %q", tc.id, tc.limit, got, tc.want)
		}
	}
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

// CredentialHashExists finds stored hashes by LIKE patterns, with an
// exception: how start-up learns which slow hash formats it must answer
// failed sign-ins as slowly as.
func testCredentialHashExists(t *testing.T, st latch.Store) {
	ctx := t.Context()
	const own = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	check := func(like, notLike string, want bool) {
		t.Helper()
		got, err := st.CredentialHashExists(ctx, like, notLike)
		if err != nil || got != want {
			t.Errorf("CredentialHashExists(%q, %q) = %v, %v; want %v", like, notLike, got, err, want)
		}
	}
	check("$argon2%", "", false) // no credentials at all
	createUserWithPassword(t, st, "own@example.com", own)
	check("$argon2%", "", true)
	check("$argon2%", "$argon2id$v=19$m=19456,t=2,p=1$%", false)
	check("$2_$12$%", "", false)
	createUserWithPassword(t, st, "bcrypt@example.com", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW")
	check("$2_$12$%", "", true)
	check("$2_$13$%", "", false)
	check("$argon2%", "$argon2id$v=19$m=19456,t=2,p=1$%", false)
	createUserWithPassword(t, st, "stronger@example.com", "$argon2id$v=19$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	check("$argon2%", "$argon2id$v=19$m=19456,t=2,p=1$%", true)
}
