package mail_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/mail"
)

// lostRecord is a real store whose first MarkMailSent fails, as when
// Latch dies (or the database goes away) after the SMTP server accepted a
// message and before the outbox recorded it.
type lostRecord struct {
	latch.OutboxStore
	lost atomic.Bool
}

func (s *lostRecord) MarkMailSent(ctx context.Context, id string, at time.Time) error {
	if s.lost.CompareAndSwap(false, true) {
		return errors.New("the database went away")
	}
	return s.OutboxStore.MarkMailSent(ctx, id, at)
}

// TestWorkerStableMessageID: delivery is at least once, so a message the
// server accepted but the outbox did not record goes out again after its
// lease; both copies carry the same Message-ID, derived from the outbox
// row and LATCH_PUBLIC_URL's host, so the receiving side can drop the
// duplicate. Another message has another Message-ID.
func TestWorkerStableMessageID(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			var store *lostRecord
			e := newWorkerEnv(t, b, func(c *mail.WorkerConfig, _ *workerEnv) {
				store = &lostRecord{OutboxStore: c.Store}
				c.Store = store
			})
			id := e.enqueue(t, "ada@example.com", recoveryData(t))

			e.runOnce(t, 1, true) // accepted, not recorded
			first := e.smtp.WaitFor(t, "ada@example.com", 5*time.Second)
			if m := e.message(t, id); m.Status() != "pending" {
				t.Fatalf("after the lost record: status %s, want pending", m.Status())
			}
			e.clock.Advance(mail.DefaultLease + time.Second)
			e.runOnce(t, 1, false)
			second := e.smtp.WaitFor(t, "ada@example.com", 5*time.Second)

			want := "<" + id + "@id.example.com>"
			for i, got := range []testenv.Received{first, second} {
				if h := got.Header.Get("Message-ID"); h != want {
					t.Errorf("delivery %d: Message-ID %q, want %q", i+1, h, want)
				}
			}
			if m := e.message(t, id); m.Status() != "sent" {
				t.Errorf("after the second delivery: status %s, want sent", m.Status())
			}

			other := e.enqueue(t, "bob@example.com", recoveryData(t))
			e.runOnce(t, 1, false)
			if h := e.smtp.WaitFor(t, "bob@example.com", 5*time.Second).Header.Get("Message-ID"); h != "<"+other+"@id.example.com>" {
				t.Errorf("another message: Message-ID %q, want its own id", h)
			}
			e.checkLogs(t)
		})
	}
}
