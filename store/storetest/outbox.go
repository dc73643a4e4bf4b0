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

// The conformance tests of latch.OutboxStore: the durable mail outbox,
// and mail enqueued with a new user.

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

// testOldestPendingMail: the oldest message neither sent nor failed counts,
// whether due or waiting to retry, by when it was created.
func testOldestPendingMail(t *testing.T, st latch.Store) {
	ctx := t.Context()
	oldest := func(want time.Time) {
		t.Helper()
		got, err := st.OldestPendingMail(ctx)
		if err != nil {
			t.Fatalf("OldestPendingMail: %v", err)
		}
		equal(t, "OldestPendingMail", got, want)
	}
	oldest(time.Time{})
	later := enqueue(t, st, newMail(t, "later@example.com", 5))
	first := enqueue(t, st, newMail(t, "first@example.com", 2))
	last := newMail(t, "last@example.com", 8)
	last.NextAttemptAt = at(1) // due before the others: the order of creation counts
	last = enqueue(t, st, last)
	oldest(stored(at(2)))

	if err := st.MarkMailSent(ctx, first.ID, at(9)); err != nil {
		t.Fatal(err)
	}
	oldest(stored(at(5)))
	if err := st.MarkMailFailed(ctx, later.ID, "undeliverable", time.Time{}, true, at(9)); err != nil {
		t.Fatal(err)
	}
	oldest(stored(at(8)))
	// A failed attempt that will be retried leaves the message pending.
	if err := st.MarkMailFailed(ctx, last.ID, "try again", at(20), false, at(9)); err != nil {
		t.Fatal(err)
	}
	oldest(stored(at(8)))
	if err := st.MarkMailSent(ctx, last.ID, at(21)); err != nil {
		t.Fatal(err)
	}
	oldest(time.Time{})
}
