package account_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// lookupsDown is a real store whose email lookups fail while down is set:
// the database unreachable when the work behind an answered request runs.
type lookupsDown struct {
	latch.Store
	down atomic.Bool
}

var errDatabaseDown = errors.New("test: the database is unreachable")

func (s *lookupsDown) UserByEmail(ctx context.Context, email string) (latch.User, error) {
	if s.down.Load() {
		return latch.User{}, latch.Internal(errDatabaseDown)
	}
	return s.Store.UserByEmail(ctx, email)
}

// mailTo returns the templates of the messages in the outbox to to.
func mailTo(t *testing.T, st latch.Store, to string) []string {
	t.Helper()
	msgs, err := st.MailMessages(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		if m.To == to {
			out = append(out, m.Template)
		}
	}
	return out
}

// Issue 11, item 2: a recovery or a sign-up that was answered is not lost
// when the database fails while its work runs: the work is done once the
// database is back.
func TestAnsweredWorkSurvivesDatabaseFailure(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := &lookupsDown{Store: b.Open(t)}
			h := testenv.NewHarness(t, st)
			h.PasswordUser(t, "known@example.com", goodPassword, "", false)

			st.down.Store(true)
			if err := h.Accounts.RequestRecovery(ctx, "known@example.com"); err != nil {
				t.Fatalf("recovery: %v", err)
			}
			if err := h.Accounts.SignUp(ctx, account.SignUpInput{Email: "new@example.com", FirstName: "N"}); err != nil {
				t.Fatalf("sign-up: %v", err)
			}
			h.Accounts.Wait() // the work runs, and meets the failure
			if got := mailTo(t, st, "known@example.com"); len(got) != 0 {
				t.Fatalf("mail while the database was down: %v", got)
			}

			st.down.Store(false)
			h.Clock.Advance(2 * time.Hour) // past any lease and retry wait
			h.Accounts.Wait()
			if got := mailTo(t, st, "known@example.com"); len(got) != 1 || got[0] != latch.MailRecovery {
				t.Errorf("recovery mail after the database came back: %v", got)
			}
			if got := mailTo(t, st, "new@example.com"); len(got) != 1 || got[0] != latch.MailVerifyEmail {
				t.Errorf("sign-up mail after the database came back: %v", got)
			}
			if _, err := h.Accounts.UserByEmail(ctx, "new@example.com"); err != nil {
				t.Errorf("the sign-up's account: %v", err)
			}
		})
	}
}
