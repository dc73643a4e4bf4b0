package account_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
)

// writesDown is a store whose writes of password links fail while down is
// set: reads work, writes do not (SQLite locked by another process, a
// Postgres failover).
type writesDown struct {
	latch.Store
	down atomic.Bool
}

func (s *writesDown) CreatePasswordLink(ctx context.Context, l latch.PasswordLink, m latch.MailMessage) error {
	if s.down.Load() {
		return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "down"}
	}
	return s.Store.CreatePasswordLink(ctx, l, m)
}

// An answered recovery survives a long write outage: the job's attempts
// that sent nothing must not use up the account's mail limit (5 an hour),
// or the attempt after the outage is dropped as over the limit and the
// answered request is lost without a word.
func TestRecoverySurvivesLongWriteOutage(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		st := &writesDown{Store: h.Store}
		h = testenv.NewHarness(t, st)
		h.PasswordUser(t, "known@example.com", goodPassword, "", false)
		st.down.Store(true)
		if err := h.Accounts.RequestRecovery(ctx, "known@example.com"); err != nil {
			t.Fatal(err)
		}
		for i := range 8 {
			h.Accounts.Wait()
			jobs, _ := st.Jobs(ctx, 10)
			if len(jobs) == 0 {
				t.Logf("job finished after attempt %d", i+1)
				break
			}
			t.Logf("attempt %d failed; next in %v", jobs[0].Attempts, jobs[0].NextAttemptAt.Sub(h.Clock.Now()))
			if i == 5 {
				st.down.Store(false) // writes are back
			}
			h.Clock.Advance(jobs[0].NextAttemptAt.Sub(h.Clock.Now()))
		}
		t.Logf("mail to known: %v", mailTo(t, st, "known@example.com"))
		if len(mailTo(t, st, "known@example.com")) == 0 {
			t.Errorf("answered recovery lost: the job is done and no email was queued")
		}
	})
}
