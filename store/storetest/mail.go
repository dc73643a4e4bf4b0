package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// The conformance tests of latch.MailStore, and of what mail added to the
// core methods (NewUser.Mail; PasswordChange's LinkHash, Verify and Mail).

const lease = 10 * time.Minute

// newMail returns a pending message to to, created at(created), not yet
// stored.
func newMail(t *testing.T, to string, created int) latch.MailMessage {
	return latch.MailMessage{
		ID: newID(t), To: to, Template: latch.MailRecovery, Data: []byte("sealed:" + to), CreatedAt: at(created),
	}
}

// pending is m as a store returns it once enqueued.
func pending(m latch.MailMessage) latch.MailMessage {
	m.CreatedAt = stored(m.CreatedAt)
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	} else {
		m.NextAttemptAt = stored(m.NextAttemptAt)
	}
	m.Attempts, m.SentAt, m.FailedAt, m.LastError = 0, nil, nil, ""
	return m
}

func enqueue(t *testing.T, st latch.Store, m latch.MailMessage) latch.MailMessage {
	t.Helper()
	if err := st.EnqueueMail(t.Context(), m); err != nil {
		t.Fatalf("EnqueueMail(%s): %v", m.To, err)
	}
	return pending(m)
}

// outbox returns every message, newest first.
func outbox(t *testing.T, st latch.Store) []latch.MailMessage {
	t.Helper()
	ms, err := st.MailMessages(t.Context(), 1000)
	if err != nil {
		t.Fatalf("MailMessages: %v", err)
	}
	for _, m := range ms {
		checkTimes(t, "MailMessage", m)
	}
	return ms
}

// mail returns the stored message with id.
func mail(t *testing.T, st latch.Store, id string) latch.MailMessage {
	t.Helper()
	for _, m := range outbox(t, st) {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %s not in the outbox", id)
	return latch.MailMessage{}
}

func claim(t *testing.T, st latch.Store, now time.Time, limit int) []latch.MailMessage {
	t.Helper()
	ms, err := st.ClaimMail(t.Context(), now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimMail: %v", err)
	}
	for _, m := range ms {
		checkTimes(t, "claimed MailMessage", m)
	}
	return ms
}

func ids(ms []latch.MailMessage) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// leased is m as ClaimMail returns it when claimed at now.
func leased(m latch.MailMessage, now time.Time) latch.MailMessage {
	m.Attempts++
	m.NextAttemptAt = stored(now.Add(lease))
	return m
}

func testEnqueueMail(t *testing.T, st latch.Store) {
	ctx := t.Context()
	full := newMail(t, "ada@example.com", 1)
	full.Template = latch.MailVerifyEmail
	full.NextAttemptAt = at(3)
	full.Data = []byte{0x00, 0xff, 0x10}
	// What a new message cannot be is ignored: it starts pending.
	full.Attempts, full.SentAt, full.FailedAt, full.LastError = 7, storedPtr(at(2)), storedPtr(at(2)), "old"
	want := enqueue(t, st, full)
	equal(t, "enqueued message", mail(t, st, full.ID), want)
	if got := mail(t, st, full.ID).Status(); got != "pending" {
		t.Errorf("Status = %q, want pending", got)
	}

	// Defaults: an id (a UUIDv7), the time of the call, due at once; no
	// data is nil. An id in another spelling comes back canonical.
	before := time.Now().Add(-time.Second)
	if err := st.EnqueueMail(ctx, latch.MailMessage{To: "zero@example.com", Template: latch.MailPasswordSet, Data: []byte{}}); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Second)
	upper := newID(t)
	if err := st.EnqueueMail(ctx, latch.MailMessage{ID: strings.ToUpper(upper), To: "upper@example.com", Template: latch.MailPasswordSet, CreatedAt: at(0)}); err != nil {
		t.Fatal(err)
	}
	for _, m := range outbox(t, st) {
		switch m.To {
		case "zero@example.com":
			if id, err := uuid.Parse(m.ID); err != nil || id.Version() != 7 || id.String() != m.ID {
				t.Errorf("generated ID = %q, want a canonical UUIDv7", m.ID)
			}
			if m.CreatedAt.Before(before) || m.CreatedAt.After(after) {
				t.Errorf("zero CreatedAt became %v, want the time of the call", m.CreatedAt)
			}
			if !m.NextAttemptAt.Equal(m.CreatedAt) {
				t.Errorf("zero NextAttemptAt became %v, want CreatedAt %v", m.NextAttemptAt, m.CreatedAt)
			}
			if m.Data != nil {
				t.Errorf("empty Data came back as %#v, want nil", m.Data)
			}
		case "upper@example.com":
			if m.ID != upper {
				t.Errorf("ID = %q, want canonical %q", m.ID, upper)
			}
		}
	}

	dup := newMail(t, "dup@example.com", 4)
	dup.ID = strings.ToUpper(full.ID)
	wantError(t, st.EnqueueMail(ctx, dup), latch.KindConflict, latch.CodeAlreadyExists)
	equal(t, "message after a duplicate id", mail(t, st, full.ID), want)

	for name, m := range map[string]latch.MailMessage{
		"no recipient":     {Template: latch.MailRecovery},
		"no template":      {To: "x@example.com"},
		"malformed id":     {ID: "mail-1", To: "x@example.com", Template: latch.MailRecovery},
		"recipient is NUL": {To: "x\x00@example.com", Template: latch.MailRecovery},
		"invalid UTF-8":    {To: "x@example.com", Template: "recovery\xff"},
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, st.EnqueueMail(t.Context(), m), latch.KindInvalid, latch.CodeInvalidRequest)
		})
	}
	if n := len(outbox(t, st)); n != 3 {
		t.Errorf("%d messages after refused ones, want 3", n)
	}
}

func testClaimMailLease(t *testing.T, st latch.Store) {
	m := enqueue(t, st, newMail(t, "lease@example.com", 0))
	if got := claim(t, st, at(-1), 10); len(got) != 0 {
		t.Fatalf("claimed before due: %+v", got)
	}
	got := claim(t, st, at(1), 10)
	m = leased(m, at(1))
	equal(t, "first claim", got, []latch.MailMessage{m})
	equal(t, "stored after the first claim", mail(t, st, m.ID), m)

	// Leased: not handed out again before the lease ends.
	for _, now := range []time.Time{at(1), at(5), at(1).Add(lease - time.Microsecond)} {
		if got := claim(t, st, now, 10); len(got) != 0 {
			t.Fatalf("claimed again at %v, within the lease: %+v", now, got)
		}
	}
	// A worker that crashed mid-delivery: the message is due again once
	// the lease ends, and counts the attempt.
	got = claim(t, st, at(1).Add(lease), 10)
	m = leased(m, at(1).Add(lease))
	equal(t, "claim after the lease", got, []latch.MailMessage{m})
	if m.Attempts != 2 {
		t.Errorf("Attempts = %d, want 2", m.Attempts)
	}

	// No limit claims nothing; a lease that is not positive is refused.
	if got := claim(t, st, at(100), 0); len(got) != 0 {
		t.Errorf("ClaimMail with limit 0 = %+v", got)
	}
	for _, l := range []time.Duration{0, -time.Minute} {
		_, err := st.ClaimMail(t.Context(), at(100), l, 10)
		wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	}
	equal(t, "stored after refused claims", mail(t, st, m.ID), m)
}

func testClaimMailOrder(t *testing.T, st latch.Store) {
	var ms []latch.MailMessage
	for _, created := range []int{3, 1, 4, 2, 0} {
		ms = append(ms, enqueue(t, st, newMail(t, fmt.Sprintf("order%d@example.com", created), created)))
	}
	later := newMail(t, "later@example.com", -10)
	later.NextAttemptAt = at(15) // before the others' leases end
	enqueue(t, st, later)
	// Two due at the same time come out in id order.
	tieA, tieB := newMail(t, "tie-a@example.com", 5), newMail(t, "tie-b@example.com", 5)
	if tieA.ID > tieB.ID {
		tieA, tieB = tieB, tieA
	}
	ms = append(ms, enqueue(t, st, tieB), enqueue(t, st, tieA))

	now := at(10)
	equal(t, "first batch", ids(claim(t, st, now, 2)), []string{ms[4].ID, ms[1].ID})
	equal(t, "second batch", ids(claim(t, st, now, 100)), []string{ms[3].ID, ms[0].ID, ms[2].ID, tieA.ID, tieB.ID})
	if got := claim(t, st, now, 100); len(got) != 0 {
		t.Errorf("claimed a message not due: %+v", got)
	}
	if got := claim(t, st, at(15), 100); len(got) != 1 || got[0].ID != later.ID {
		t.Errorf("claim when the later one is due = %v, want [%s]", ids(got), later.ID)
	}
}

func testClaimMailConcurrent(t *testing.T, st latch.Store) {
	warmUp(t, st, createUser(t, st, "claimrace@example.com").ID)
	// Several rounds: one round may happen not to interleave.
	for round := range 3 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			const messages, workers = 40, 4
			want := map[string]bool{}
			for i := range messages {
				m := enqueue(t, st, newMail(t, fmt.Sprintf("race%d-%d@example.com", round, i), 0))
				want[m.ID] = true
			}
			// The previous rounds' messages are leased still.
			now := at(round)
			got := make([][]latch.MailMessage, workers)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for w := range workers {
				wg.Go(func() {
					<-start
					for {
						batch, err := st.ClaimMail(t.Context(), now, time.Hour, 3)
						if err != nil {
							t.Errorf("worker %d: %v", w, err)
							return
						}
						if len(batch) == 0 {
							return
						}
						got[w] = append(got[w], batch...)
					}
				})
			}
			close(start)
			wg.Wait()
			seen := map[string]int{}
			for w := range got {
				for _, m := range got[w] {
					if !want[m.ID] {
						t.Errorf("worker %d claimed %s, not of this round", w, m.ID)
					}
					if seen[m.ID]++; seen[m.ID] > 1 {
						t.Errorf("message %s handed out twice", m.ID)
					}
					if m.Attempts != 1 {
						t.Errorf("message %s claimed with Attempts %d, want 1", m.ID, m.Attempts)
					}
				}
			}
			if len(seen) != messages {
				t.Errorf("%d messages claimed, want %d", len(seen), messages)
			}
			if left := claim(t, st, now, 100); len(left) != 0 {
				t.Errorf("messages still due after the race: %v", ids(left))
			}
		})
	}
}

func testMarkMailSent(t *testing.T, st latch.Store) {
	ctx := t.Context()
	m := enqueue(t, st, newMail(t, "sent@example.com", 0))
	other := enqueue(t, st, newMail(t, "other@example.com", 0))
	claim(t, st, at(1), 10)
	if err := st.MarkMailSent(ctx, strings.ToUpper(m.ID), at(2)); err != nil {
		t.Fatal(err)
	}
	want := leased(m, at(1))
	want.SentAt, want.Data = storedPtr(at(2)), nil
	got := mail(t, st, m.ID)
	equal(t, "sent message", got, want)
	if got.Status() != "sent" {
		t.Errorf("Status = %q, want sent", got.Status())
	}
	equal(t, "the other message", mail(t, st, other.ID), leased(other, at(1)))

	// Never handed out again, even long after the lease.
	if got := claim(t, st, at(1000), 10); len(got) != 1 || got[0].ID != other.ID {
		t.Errorf("claim after the lease = %v, want only %s", ids(got), other.ID)
	}
	// Sent again: the first time stays. A late failure report changes
	// nothing.
	if err := st.MarkMailSent(ctx, m.ID, at(3)); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkMailFailed(ctx, m.ID, "late", at(4), false, at(4)); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkMailFailed(ctx, m.ID, "late", time.Time{}, true, at(4)); err != nil {
		t.Fatal(err)
	}
	equal(t, "sent message after late reports", mail(t, st, m.ID), want)

	for _, id := range []string{newID(t), "mail-1", ""} {
		wantNotFound(t, st.MarkMailSent(ctx, id, at(5)))
		wantNotFound(t, st.MarkMailFailed(ctx, id, "x", at(5), false, at(5)))
		wantNotFound(t, st.MarkMailFailed(ctx, id, "x", at(5), true, at(5)))
	}
}

func testMarkMailFailed(t *testing.T, st latch.Store) {
	ctx := t.Context()
	m := enqueue(t, st, newMail(t, "failing@example.com", 0))
	claim(t, st, at(1), 10)

	// A failed attempt: retried at retryAt, whatever the lease said.
	if err := st.MarkMailFailed(ctx, m.ID, "421 4.7.0 try again later", at(30), false, at(2)); err != nil {
		t.Fatal(err)
	}
	want := leased(m, at(1))
	want.NextAttemptAt, want.LastError = stored(at(30)), "421 4.7.0 try again later"
	equal(t, "after a failed attempt", mail(t, st, m.ID), want)
	if got := claim(t, st, at(29), 10); len(got) != 0 {
		t.Fatalf("claimed before retryAt: %+v", got)
	}
	got := claim(t, st, at(30), 10)
	want = leased(want, at(30))
	equal(t, "claim at retryAt", got, []latch.MailMessage{want})

	// The error is kept as text, at most 1000 bytes, cut between
	// characters.
	for _, tc := range []struct{ in, want string }{
		{"bad\x00byte\xff", "bad\uFFFDbyte\uFFFD"},
		{"x" + strings.Repeat("é", 1000), "x" + strings.Repeat("é", 499)},
		{strings.Repeat("a", 1000), strings.Repeat("a", 1000)},
		{strings.Repeat("a", 1001), strings.Repeat("a", 1000)},
	} {
		if err := st.MarkMailFailed(ctx, m.ID, tc.in, at(40), false, at(31)); err != nil {
			t.Fatal(err)
		}
		if got := mail(t, st, m.ID).LastError; got != tc.want {
			t.Errorf("LastError of %q (%d bytes) = %q (%d bytes), want %q", tc.in, len(tc.in), got, len(got), tc.want)
		}
	}

	// Given up: failed for good, the data erased, never claimed again.
	if err := st.MarkMailFailed(ctx, m.ID, "550 5.1.1 no such user", time.Time{}, true, at(32)); err != nil {
		t.Fatal(err)
	}
	want.NextAttemptAt, want.LastError = stored(at(40)), "550 5.1.1 no such user"
	want.FailedAt, want.Data = storedPtr(at(32)), nil
	got1 := mail(t, st, m.ID)
	equal(t, "given up", got1, want)
	if got1.Status() != "failed" {
		t.Errorf("Status = %q, want failed", got1.Status())
	}
	if got := claim(t, st, at(10000), 10); len(got) != 0 {
		t.Errorf("claimed a failed message: %+v", got)
	}
	// Reports after giving up change nothing.
	if err := st.MarkMailFailed(ctx, m.ID, "again", at(50), false, at(50)); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkMailFailed(ctx, m.ID, "again", time.Time{}, true, at(50)); err != nil {
		t.Fatal(err)
	}
	equal(t, "given up, after more reports", mail(t, st, m.ID), want)

	// A message may be given up without ever being claimed.
	never := enqueue(t, st, newMail(t, "never@example.com", 0))
	if err := st.MarkMailFailed(ctx, never.ID, "refused", time.Time{}, true, at(3)); err != nil {
		t.Fatal(err)
	}
	never.FailedAt, never.Data, never.LastError = storedPtr(at(3)), nil, "refused"
	equal(t, "given up unclaimed", mail(t, st, never.ID), never)
}

func testMailMessages(t *testing.T, st latch.Store) {
	ctx := t.Context()
	if ms, err := st.MailMessages(ctx, 10); err != nil || len(ms) != 0 {
		t.Fatalf("MailMessages of an empty store = %+v, %v", ms, err)
	}
	var want []latch.MailMessage
	for _, created := range []int{1, 3, 2} {
		want = append(want, enqueue(t, st, newMail(t, fmt.Sprintf("list%d@example.com", created), created)))
	}
	tieA, tieB := newMail(t, "tie-a@example.com", 4), newMail(t, "tie-b@example.com", 4)
	if tieA.ID > tieB.ID {
		tieA, tieB = tieB, tieA
	}
	want = append(want, enqueue(t, st, tieA), enqueue(t, st, tieB))
	// Newest first, ties by id, newest (largest) first.
	want = []latch.MailMessage{want[4], want[3], want[1], want[2], want[0]}
	equal(t, "MailMessages", outbox(t, st), want)
	got, err := st.MailMessages(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "MailMessages(2)", got, want[:2])
	for _, limit := range []int{0, -1} {
		got, err := st.MailMessages(ctx, limit)
		if err != nil || len(got) != len(want) {
			t.Errorf("MailMessages(%d) = %d messages, %v; want the default page", limit, len(got), err)
		}
	}
}

func testPurgeMail(t *testing.T, st latch.Store) {
	ctx := t.Context()
	sentOld := enqueue(t, st, newMail(t, "sent-old@example.com", 0))
	failedOld := enqueue(t, st, newMail(t, "failed-old@example.com", 0))
	sentRecent := enqueue(t, st, newMail(t, "sent-recent@example.com", 0))
	failedRecent := enqueue(t, st, newMail(t, "failed-recent@example.com", 0))
	waiting := enqueue(t, st, newMail(t, "waiting@example.com", -100))
	retrying := enqueue(t, st, newMail(t, "retrying@example.com", -100))
	for _, err := range []error{
		st.MarkMailSent(ctx, sentOld.ID, at(5)),
		st.MarkMailFailed(ctx, failedOld.ID, "x", time.Time{}, true, at(6)),
		st.MarkMailSent(ctx, sentRecent.ID, at(50)),
		st.MarkMailFailed(ctx, failedRecent.ID, "x", time.Time{}, true, at(50)),
		st.MarkMailFailed(ctx, retrying.ID, "x", at(1000), false, at(7)),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	cut := at(30)
	if n, err := st.PurgeMail(ctx, cut, 0); err != nil || n != 0 {
		t.Fatalf("limit 0: %d, %v", n, err)
	}
	if n, err := st.PurgeMail(ctx, cut, 1); err != nil || n != 1 {
		t.Fatalf("first batch of 1: %d, %v", n, err)
	}
	if n, err := st.PurgeMail(ctx, cut, 100); err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v; want the other old finished message", n, err)
	}
	if n, err := st.PurgeMail(ctx, cut, 100); err != nil || n != 0 {
		t.Fatalf("nothing left to purge: %d, %v", n, err)
	}
	left := ids(outbox(t, st))
	slices.Sort(left)
	want := []string{sentRecent.ID, failedRecent.ID, waiting.ID, retrying.ID}
	slices.Sort(want)
	equal(t, "messages left", left, want)
}

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

func testCreateUserMail(t *testing.T, st latch.Store) {
	ctx := t.Context()
	m := newMail(t, "welcome@example.com", 0)
	m.Template, m.CreatedAt = latch.MailVerifyEmail, time.Time{} // created with the user
	u, err := st.CreateUser(ctx, latch.NewUser{
		User: latch.User{Email: "Welcome@example.com", CreatedAt: at(3)}, PasswordHash: "h1", Mail: &m,
	})
	if err != nil {
		t.Fatal(err)
	}
	m.CreatedAt = at(3)
	equal(t, "outbox", outbox(t, st), []latch.MailMessage{pending(m)})

	// A duplicate email (or a refused mail) enqueues nothing and stores
	// no user.
	dup := newMail(t, "welcome@example.com", 4)
	_, err = st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "welcome@EXAMPLE.com", CreatedAt: at(4)}, Mail: &dup})
	wantError(t, err, latch.KindConflict, latch.CodeEmailTaken)
	_, err = st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "refused@example.com", CreatedAt: at(4)}, Mail: &latch.MailMessage{Template: latch.MailVerifyEmail}})
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	_, err = st.UserByEmail(ctx, "refused@example.com")
	wantNotFound(t, err)
	// A duplicate message id: a Conflict, and no user.
	again := m
	_, err = st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "again@example.com", CreatedAt: at(4)}, Mail: &again})
	wantError(t, err, latch.KindConflict, latch.CodeAlreadyExists)
	_, err = st.UserByEmail(ctx, "again@example.com")
	wantNotFound(t, err)
	equal(t, "outbox after refused users", outbox(t, st), []latch.MailMessage{pending(m)})
	if got, err := st.UserByID(ctx, u.ID); err != nil || got.Email != "Welcome@example.com" {
		t.Errorf("the first user = %+v, %v", got, err)
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
