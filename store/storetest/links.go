package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch"
)

// The conformance tests of latch.LinkStore: single-use password links,
// and the password changes they authorize or that end them.

// newLink returns a link of userID for purpose with hash, created
// at(created) and live for an hour, not yet stored.
func newLink(userID, purpose, hash string, created int) latch.PasswordLink {
	return latch.PasswordLink{
		Hash: []byte(hash), UserID: userID, Purpose: purpose, CreatedAt: at(created), ExpiresAt: at(created + 60),
	}
}

func createLink(t *testing.T, st latch.Store, l latch.PasswordLink) latch.PasswordLink {
	t.Helper()
	if err := st.CreatePasswordLink(t.Context(), l, newMail(t, "link-"+string(l.Hash)+"@example.com", 0)); err != nil {
		t.Fatalf("CreatePasswordLink(%s): %v", l.Hash, err)
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = stored(l.CreatedAt), stored(l.ExpiresAt), nil
	return l
}

func link(t *testing.T, st latch.Store, hash string) latch.PasswordLink {
	t.Helper()
	l, err := st.PasswordLink(t.Context(), []byte(hash))
	if err != nil {
		t.Fatalf("PasswordLink(%s): %v", hash, err)
	}
	checkTimes(t, "PasswordLink", l)
	return l
}

func testCreatePasswordLink(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "links@example.com")
	other := createUser(t, st, "other-links@example.com")

	// A link that has expired already by the time the next is made.
	expired := createLink(t, st, newLink(u.ID, latch.LinkRecovery, "rec-expired", -100))
	l := newLink(strings.ToUpper(u.ID), latch.LinkRecovery, "rec-1", 0)
	l.UsedAt = storedPtr(at(0)) // ignored: a new link is live
	m := newMail(t, "links@example.com", 0)
	m.CreatedAt = time.Time{} // created with the link
	if err := st.CreatePasswordLink(ctx, l, m); err != nil {
		t.Fatal(err)
	}
	first := latch.PasswordLink{Hash: []byte("rec-1"), UserID: u.ID, Purpose: latch.LinkRecovery, CreatedAt: stored(at(0)), ExpiresAt: stored(at(60))}
	equal(t, "PasswordLink", link(t, st, "rec-1"), first)
	m.CreatedAt = at(0)
	equal(t, "the link's message", outbox(t, st)[0], pending(m))

	setPw := createLink(t, st, newLink(u.ID, latch.LinkSetPassword, "set-1", 1))
	others := createLink(t, st, newLink(other.ID, latch.LinkRecovery, "other-rec-1", 1))

	// A new recovery link supersedes the user's live recovery link, at
	// its creation time: not the set-password link, not another user's,
	// and not one that has expired already.
	second := createLink(t, st, newLink(u.ID, latch.LinkRecovery, "rec-2", 5))
	first.UsedAt = storedPtr(at(5))
	equal(t, "superseded link", link(t, st, "rec-1"), first)
	if first.Live(at(6)) {
		t.Error("a superseded link is live")
	}
	equal(t, "the new link", link(t, st, "rec-2"), second)
	equal(t, "the set-password link", link(t, st, "set-1"), setPw)
	equal(t, "another user's link", link(t, st, "other-rec-1"), others)
	equal(t, "an expired link", link(t, st, "rec-expired"), expired)
	if n := len(outbox(t, st)); n != 5 {
		t.Errorf("%d messages after 5 links, want 5", n)
	}

	// Refused: nothing written, neither the link, nor the mail, nor the
	// superseding of the live link.
	for name, tc := range map[string]struct {
		l    latch.PasswordLink
		m    latch.MailMessage
		kind latch.Kind
	}{
		"unknown user":   {newLink(newID(t), latch.LinkRecovery, "refused-1", 10), newMail(t, "x@example.com", 10), latch.KindNotFound},
		"malformed user": {newLink("user-1", latch.LinkRecovery, "refused-2", 10), newMail(t, "x@example.com", 10), latch.KindNotFound},
		"duplicate hash": {newLink(u.ID, latch.LinkRecovery, "rec-1", 10), newMail(t, "x@example.com", 10), latch.KindConflict},
		"no hash":        {newLink(u.ID, latch.LinkRecovery, "", 10), newMail(t, "x@example.com", 10), latch.KindInvalid},
		"no purpose":     {newLink(u.ID, "", "refused-3", 10), newMail(t, "x@example.com", 10), latch.KindInvalid},
		"no expiry":      {latch.PasswordLink{Hash: []byte("refused-4"), UserID: u.ID, Purpose: latch.LinkRecovery}, newMail(t, "x@example.com", 10), latch.KindInvalid},
		"invalid mail":   {newLink(u.ID, latch.LinkRecovery, "refused-5", 10), latch.MailMessage{To: "x@example.com"}, latch.KindInvalid},
		"duplicate mail": {newLink(u.ID, latch.LinkRecovery, "refused-6", 10), latch.MailMessage{ID: m.ID, To: "x@example.com", Template: latch.MailRecovery}, latch.KindConflict},
	} {
		t.Run(name, func(t *testing.T) {
			err := st.CreatePasswordLink(ctx, tc.l, tc.m)
			if !latch.IsKind(err, tc.kind) {
				t.Fatalf("error = %v, want %s", err, tc.kind)
			}
			if string(tc.l.Hash) != "rec-1" && len(tc.l.Hash) > 0 {
				_, err := st.PasswordLink(ctx, tc.l.Hash)
				wantNotFound(t, err)
			}
		})
	}
	equal(t, "the live link after refused ones", link(t, st, "rec-2"), second)
	equal(t, "the superseded link after refused ones", link(t, st, "rec-1"), first)
	if n := len(outbox(t, st)); n != 5 {
		t.Errorf("%d messages after refused links, want 5", n)
	}

	for _, hash := range [][]byte{[]byte("absent"), nil, {}} {
		_, err := st.PasswordLink(ctx, hash)
		wantNotFound(t, err)
	}

	// Links go with their user; the messages stay (they are the record
	// of what was sent).
	if err := st.DeleteUser(ctx, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	for _, hash := range []string{"rec-1", "rec-2", "set-1"} {
		_, err := st.PasswordLink(ctx, []byte(hash))
		wantNotFound(t, err)
	}
	link(t, st, "other-rec-1")
	if n := len(outbox(t, st)); n != 5 {
		t.Errorf("%d messages after deleting the user, want 5", n)
	}
}

func testCreatePasswordLinkConcurrent(t *testing.T, st latch.Store) {
	u := createUser(t, st, "linkrace@example.com")
	warmUp(t, st, u.ID)
	const n = 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			l := newLink(u.ID, latch.LinkRecovery, fmt.Sprintf("race-%d", i), 1)
			if err := st.CreatePasswordLink(t.Context(), l, newMail(t, "linkrace@example.com", 1)); err != nil {
				t.Errorf("link %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	live := 0
	for i := range n {
		if link(t, st, fmt.Sprintf("race-%d", i)).Live(at(2)) {
			live++
		}
	}
	if live != 1 {
		t.Errorf("%d links live after %d concurrent ones, want 1", live, n)
	}
}

// linkState is what a ChangePassword with a link may write.
type linkState struct {
	credential latch.Credential
	history    []string
	sessions   []latch.Session
	user       latch.User
	events     int
	messages   int
}

func stateOf(t *testing.T, st latch.Store, userID string, sessions ...string) linkState {
	t.Helper()
	s := linkState{history: history(t, st, userID)}
	s.credential, _ = st.Credential(t.Context(), userID)
	for _, id := range sessions {
		s.sessions = append(s.sessions, session(t, st, id))
	}
	u, err := st.UserByID(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	s.user = u
	s.events = len(events(t, st, latch.AuditQuery{}))
	s.messages = len(outbox(t, st))
	return s
}

func testChangePasswordWithLink(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "recover@example.com", "h1")
	other := createUser(t, st, "someone-else@example.com")
	keep := createSession(t, st, u.ID, nil)
	drop := createSession(t, st, u.ID, nil)
	l := createLink(t, st, newLink(u.ID, latch.LinkRecovery, "recover-1", 0))
	otherLink := createLink(t, st, newLink(other.ID, latch.LinkRecovery, "other-1", 0))
	expired := createLink(t, st, newLink(u.ID, latch.LinkSetPassword, "expired-1", -60))
	ms := len(outbox(t, st))

	notice := newMail(t, "recover@example.com", 0)
	notice.Template, notice.CreatedAt = latch.MailPasswordSet, time.Time{} // created with the change
	change := latch.PasswordChange{
		UserID: u.ID, NewHash: "h2", Overwrite: true, KeepSessionID: keep.ID, At: at(5),
		LinkHash: []byte("recover-1"), Verify: true, Mail: &notice,
		Audit: auditEvent(latch.AuditPasswordReset, u.ID, 5),
	}
	if err := st.ChangePassword(ctx, change); err != nil {
		t.Fatal(err)
	}
	l.UsedAt = storedPtr(at(5))
	equal(t, "used link", link(t, st, "recover-1"), l)
	if c, err := st.Credential(ctx, u.ID); err != nil || c.Hash != "h2" {
		t.Errorf("credential = %+v, %v", c, err)
	}
	equal(t, "history", history(t, st, u.ID), []string{"h2", "h1"})
	equal(t, "kept session", session(t, st, keep.ID).RevokedAt, nil)
	equal(t, "other session", session(t, st, drop.ID).RevokedAt, storedPtr(at(5)))
	got, err := st.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Verified || !got.UpdatedAt.Equal(stored(at(5))) {
		t.Errorf("user after Verify: Verified %v, UpdatedAt %v; want true, %v", got.Verified, got.UpdatedAt, stored(at(5)))
	}
	notice.CreatedAt = at(5)
	equal(t, "the notice", outbox(t, st)[0], pending(notice))
	if n := len(outbox(t, st)); n != ms+1 {
		t.Errorf("%d messages, want %d", n, ms+1)
	}
	wantEvents(t, "events", events(t, st, latch.AuditQuery{TargetID: u.ID}), *change.Audit)

	// Every refusal is NotFound and writes nothing: not the credential,
	// the history, the sessions, the user, the audit log or the outbox.
	later := createSession(t, st, u.ID, nil)
	before := stateOf(t, st, u.ID, keep.ID, later.ID)
	try := func(name string, pc latch.PasswordChange) {
		t.Helper()
		pc.UserID, pc.NewHash, pc.Overwrite = cmpOr(pc.UserID, u.ID), "h-refused", true
		pc.Verify, pc.Audit = true, auditEvent("should.not.exist", u.ID, 7)
		m := newMail(t, "refused@example.com", 7)
		pc.Mail = &m
		wantNotFound(t, st.ChangePassword(ctx, pc))
		equal(t, name+": state", stateOf(t, st, u.ID, keep.ID, later.ID), before)
	}
	try("the link again", latch.PasswordChange{LinkHash: []byte("recover-1"), At: at(6)})
	try("an expired link", latch.PasswordChange{LinkHash: []byte("expired-1"), At: at(6)})
	try("another user's link", latch.PasswordChange{LinkHash: []byte("other-1"), At: at(6)})
	try("an unknown link", latch.PasswordChange{LinkHash: []byte("absent"), At: at(6)})
	try("an empty link", latch.PasswordChange{LinkHash: []byte{}, At: at(6)})
	equal(t, "another user's link after the attempt", link(t, st, "other-1"), otherLink)
	equal(t, "the expired link after the attempt", link(t, st, "expired-1"), expired)

	// A link is live until, not at, its expiry.
	edge := createLink(t, st, newLink(u.ID, latch.LinkSetPassword, "edge-1", 10))
	before = stateOf(t, st, u.ID, keep.ID, later.ID) // the new link's message
	try("a link at its expiry", latch.PasswordChange{LinkHash: []byte("edge-1"), At: edge.ExpiresAt})
	// A superseded link.
	createLink(t, st, newLink(u.ID, latch.LinkSetPassword, "edge-2", 11))
	before = stateOf(t, st, u.ID, keep.ID, later.ID) // the new link's message
	try("a superseded link", latch.PasswordChange{LinkHash: []byte("edge-1"), At: at(12)})

	// A link does not lift the compare-and-swap: a stale previous hash is
	// a Conflict, and the link stays unused.
	err = st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "stale", NewHash: "h3", At: at(13), LinkHash: []byte("edge-2")})
	wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
	if got := link(t, st, "edge-2"); got.UsedAt != nil {
		t.Errorf("link used by a refused change: %+v", got)
	}
	equal(t, "state after a conflict", stateOf(t, st, u.ID, keep.ID, later.ID), before)
}

// cmpOr returns a, or b if a is empty.
func cmpOr(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

func testSetFirstPasswordWithLink(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "first@example.com")
	createLink(t, st, newLink(u.ID, latch.LinkSetPassword, "first-1", 0))
	// A first password (PreviousHash ""), without Verify or Mail.
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, NewHash: "h1", At: at(1), LinkHash: []byte("first-1")}); err != nil {
		t.Fatal(err)
	}
	if c, err := st.Credential(ctx, u.ID); err != nil || c.Hash != "h1" {
		t.Errorf("credential = %+v, %v", c, err)
	}
	if got := link(t, st, "first-1"); got.UsedAt == nil || !got.UsedAt.Equal(stored(at(1))) {
		t.Errorf("link = %+v, want used at %v", got, stored(at(1)))
	}
	got, err := st.UserByID(ctx, u.ID)
	if err != nil || got.Verified || !got.UpdatedAt.Equal(stored(at(0))) {
		t.Errorf("user without Verify = %+v, %v; want unverified, unchanged", got, err)
	}
	if n := len(outbox(t, st)); n != 1 {
		t.Errorf("%d messages, want only the link's", n)
	}

	// Verify without a link (a verification token proved the address);
	// verifying a verified user leaves it as it is.
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h1", NewHash: "h2", At: at(2), Verify: true}); err != nil {
		t.Fatal(err)
	}
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h2", NewHash: "h3", At: at(3), Verify: true}); err != nil {
		t.Fatal(err)
	}
	got, err = st.UserByID(ctx, u.ID)
	if err != nil || !got.Verified || !got.UpdatedAt.Equal(stored(at(2))) {
		t.Errorf("user after Verify = %+v, %v; want verified at %v", got, err, stored(at(2)))
	}

	// A refused mail refuses the change.
	err = st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h3", NewHash: "h4", At: at(4), Mail: &latch.MailMessage{To: "x@example.com"}})
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	if c, err := st.Credential(ctx, u.ID); err != nil || c.Hash != "h3" {
		t.Errorf("credential after a refused mail = %+v, %v", c, err)
	}
}

func testChangePasswordWithLinkConcurrent(t *testing.T, st latch.Store) {
	u := createUserWithPassword(t, st, "linkuse@example.com", "h0")
	warmUp(t, st, u.ID)
	createLink(t, st, newLink(u.ID, latch.LinkRecovery, "contested", 0))
	const n = 20
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			m := newMail(t, "linkuse@example.com", 1)
			errs[i] = st.ChangePassword(t.Context(), latch.PasswordChange{
				UserID: u.ID, NewHash: fmt.Sprintf("hash-%d", i), Overwrite: true, At: at(1),
				LinkHash: []byte("contested"), Mail: &m,
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
				t.Errorf("both %d and %d used the link", winner, i)
			}
			winner = i
		case latch.IsKind(err, latch.KindNotFound):
		default:
			t.Errorf("change %d: %v, want nil or NotFound", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no change succeeded")
	}
	if c, err := st.Credential(t.Context(), u.ID); err != nil || c.Hash != fmt.Sprintf("hash-%d", winner) {
		t.Errorf("credential = %+v, %v; want the winner's", c, err)
	}
	equal(t, "history", history(t, st, u.ID), []string{fmt.Sprintf("hash-%d", winner), "h0"})
	if n := len(outbox(t, st)); n != 2 {
		t.Errorf("%d messages, want the link's and the winner's", n)
	}
}

func testPurgePasswordLinks(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "purge-links@example.com")
	createLink(t, st, newLink(u.ID, latch.LinkRecovery, "p-old-1", -50))    // expires at(10)
	createLink(t, st, newLink(u.ID, latch.LinkSetPassword, "p-old-2", -40)) // expires at(20)
	used := createLink(t, st, newLink(u.ID, latch.LinkRecovery, "p-used", 0))
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, NewHash: "h1", At: at(1), LinkHash: []byte("p-used")}); err != nil {
		t.Fatal(err)
	}
	live := createLink(t, st, newLink(u.ID, latch.LinkSetPassword, "p-live", 30))
	cut := at(30)
	if n, err := st.PurgePasswordLinks(ctx, cut, 0); err != nil || n != 0 {
		t.Fatalf("limit 0: %d, %v", n, err)
	}
	if n, err := st.PurgePasswordLinks(ctx, cut, 1); err != nil || n != 1 {
		t.Fatalf("first batch of 1: %d, %v", n, err)
	}
	if n, err := st.PurgePasswordLinks(ctx, cut, 100); err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v; want the other expired link", n, err)
	}
	if n, err := st.PurgePasswordLinks(ctx, cut, 100); err != nil || n != 0 {
		t.Fatalf("nothing left to purge: %d, %v", n, err)
	}
	for _, hash := range []string{"p-old-1", "p-old-2"} {
		_, err := st.PasswordLink(ctx, []byte(hash))
		wantNotFound(t, err)
	}
	used.UsedAt = storedPtr(at(1))
	equal(t, "a used link, not expired", link(t, st, "p-used"), used)
	equal(t, "a live link", link(t, st, "p-live"), live)
}

// testLinkUseRacesNewLink uses a link while a new link of the same purpose
// is requested: one of the two comes first, and neither fails otherwise
// (a deadlock between them would be an Internal error).
func testLinkUseRacesNewLink(t *testing.T, st latch.Store) {
	u := createUserWithPassword(t, st, "linkvsnew@example.com", "h0")
	warmUp(t, st, u.ID)
	for round := range 10 {
		ctx := t.Context()
		old, next := fmt.Sprintf("old-%d", round), fmt.Sprintf("next-%d", round)
		createLink(t, st, newLink(u.ID, latch.LinkRecovery, old, round))
		var changeErr, linkErr error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			m := newMail(t, "linkvsnew@example.com", round)
			changeErr = st.ChangePassword(ctx, latch.PasswordChange{
				UserID: u.ID, NewHash: fmt.Sprintf("h%d", round+1), Overwrite: true, At: at(round),
				LinkHash: []byte(old), Verify: true, Mail: &m,
			})
		})
		wg.Go(func() {
			<-start
			linkErr = st.CreatePasswordLink(ctx, newLink(u.ID, latch.LinkRecovery, next, round), newMail(t, "linkvsnew@example.com", round))
		})
		close(start)
		wg.Wait()
		if linkErr != nil {
			t.Fatalf("round %d: CreatePasswordLink: %v", round, linkErr)
		}
		if changeErr != nil && !latch.IsKind(changeErr, latch.KindNotFound) {
			t.Fatalf("round %d: ChangePassword: %v, want nil or NotFound (the link superseded first)", round, changeErr)
		}
		if l := link(t, st, old); l.Live(at(round)) {
			t.Errorf("round %d: the old link is live still: %+v", round, l)
		}
		if l := link(t, st, next); !l.Live(at(round)) {
			t.Errorf("round %d: the new link is not live: %+v", round, l)
		}
	}
}

// testChangePasswordEndsLinks: any password change (here one without a
// link) ends every live link of the user, whatever its purpose, so an old
// link cannot set the password again; other users' links stay.
func testChangePasswordEndsLinks(t *testing.T, st latch.Store) {
	u := createUser(t, st, "ends-links@example.com")
	other := createUser(t, st, "keeps-links@example.com")
	createLink(t, st, newLink(u.ID, latch.LinkSetPassword, "end-set", 1))
	createLink(t, st, newLink(u.ID, latch.LinkRecovery, "end-rec", 2))
	theirs := createLink(t, st, newLink(other.ID, latch.LinkRecovery, "keep-rec", 2))
	if err := st.ChangePassword(t.Context(), latch.PasswordChange{UserID: u.ID, NewHash: "$argon2id$x", At: at(3)}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"end-set", "end-rec"} {
		if l := link(t, st, h); l.UsedAt == nil || !l.UsedAt.Equal(stored(at(3))) {
			t.Errorf("link %s after a password change: %+v", h, l)
		}
	}
	equal(t, "another user's link", link(t, st, "keep-rec"), theirs)
}

// testNewerLinkWinsWhateverItsTime: the link made last supersedes the
// live ones even when its clock is behind theirs (another replica's).
func testNewerLinkWinsWhateverItsTime(t *testing.T, st latch.Store) {
	u := createUser(t, st, "slow-clock@example.com")
	createLink(t, st, newLink(u.ID, latch.LinkRecovery, "ahead", 10))
	behind := createLink(t, st, newLink(u.ID, latch.LinkRecovery, "behind", 5))
	if l := link(t, st, "ahead"); l.UsedAt == nil {
		t.Fatalf("the earlier link is still live after a later request: %+v", l)
	}
	equal(t, "the last link", link(t, st, "behind"), behind)
}
