package account_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/ratelimit"
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

// callLog is a real store that logs the calls through which a request
// could find out about an account, or do work for one.
type callLog struct {
	latch.Store
	mu    sync.Mutex
	calls []string
}

func (s *callLog) log(name string) {
	s.mu.Lock()
	s.calls = append(s.calls, name)
	s.mu.Unlock()
}

// take returns the calls logged since the last take.
func (s *callLog) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.calls
	s.calls = nil
	return out
}

func (s *callLog) UserByEmail(ctx context.Context, email string) (latch.User, error) {
	s.log("UserByEmail")
	return s.Store.UserByEmail(ctx, email)
}

func (s *callLog) Credential(ctx context.Context, userID string) (latch.Credential, error) {
	s.log("Credential")
	return s.Store.Credential(ctx, userID)
}

func (s *callLog) IdentitiesByUser(ctx context.Context, userID string) ([]latch.Identity, error) {
	s.log("IdentitiesByUser")
	return s.Store.IdentitiesByUser(ctx, userID)
}

func (s *callLog) CreateUser(ctx context.Context, nu latch.NewUser) (latch.User, error) {
	s.log("CreateUser")
	return s.Store.CreateUser(ctx, nu)
}

func (s *callLog) CreatePasswordLink(ctx context.Context, l latch.PasswordLink, m latch.MailMessage) error {
	s.log("CreatePasswordLink")
	return s.Store.CreatePasswordLink(ctx, l, m)
}

func (s *callLog) EnqueueMail(ctx context.Context, m latch.MailMessage) error {
	s.log("EnqueueMail")
	return s.Store.EnqueueMail(ctx, m)
}

func (s *callLog) EnqueueJob(ctx context.Context, j latch.Job) error {
	s.log("EnqueueJob")
	return s.Store.EnqueueJob(ctx, j)
}

// Issue 11, item 2: a recovery or sign-up is answered only once its
// request is in the database, with the same single insert whatever the
// email (so its time tells nothing about accounts), sealed; a replica
// that dies before doing the work leaves it to the next one.
func TestRequestRecordedBeforeAnswer(t *testing.T) {
	for _, b := range testenv.ReopenableBackends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			addr := b.New(t)
			first := &callLog{Store: b.Open(t, addr)}
			h := testenv.NewHarness(t, first)
			h.PasswordUser(t, "known@example.com", goodPassword, "", false)
			first.take()

			for _, req := range []struct {
				name string
				do   func() error
			}{
				{"recovery, known", func() error { return h.Accounts.RequestRecovery(ctx, "known@example.com") }},
				{"recovery, unknown", func() error { return h.Accounts.RequestRecovery(ctx, "unknown@example.com") }},
				{"sign-up, taken", func() error {
					return h.Accounts.SignUp(ctx, account.SignUpInput{Email: "known@example.com", FirstName: "Mallory"})
				}},
				{"sign-up, new", func() error {
					return h.Accounts.SignUp(ctx, account.SignUpInput{Email: "new@example.com", FirstName: "Nina"})
				}},
			} {
				if err := req.do(); err != nil {
					t.Fatalf("%s: %v", req.name, err)
				}
				if got := first.take(); !slices.Equal(got, []string{"EnqueueJob"}) {
					t.Errorf("%s: the request did %v, want only [EnqueueJob]", req.name, got)
				}
			}

			// Another connection (another replica) sees the four requests,
			// none of their emails or names in clear.
			second := b.Open(t, addr)
			jobs, err := second.Jobs(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) != 4 {
				t.Fatalf("%d jobs stored, want 4: %+v", len(jobs), jobs)
			}
			for _, j := range jobs {
				for _, clear := range []string{"example.com", "Mallory", "Nina"} {
					if strings.Contains(string(j.Data), clear) {
						t.Errorf("job %s holds %q in clear", j.Kind, clear)
					}
				}
			}
			if got := mailTo(t, second, "known@example.com"); len(got) != 0 {
				t.Fatalf("mail before any work was done: %v", got)
			}

			// This replica dies before doing the work; the other does it.
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			other := testenv.NewHarness(t, second)
			other.Accounts.Wait()
			got := mailTo(t, second, "known@example.com")
			slices.Sort(got)
			if want := []string{latch.MailRecovery, latch.MailSignupExists}; !slices.Equal(got, want) {
				t.Errorf("mail to the known address: %v, want %v", got, want)
			}
			if got := mailTo(t, second, "new@example.com"); !slices.Equal(got, []string{latch.MailVerifyEmail}) {
				t.Errorf("mail to the new address: %v", got)
			}
			if got := mailTo(t, second, "unknown@example.com"); len(got) != 0 {
				t.Errorf("mail to an unknown address: %v", got)
			}
			if u, err := other.Accounts.UserByEmail(ctx, "new@example.com"); err != nil || u.FirstName != "Nina" {
				t.Errorf("the sign-up's account: %+v, %v", u, err)
			}
			if left, err := second.Jobs(ctx, 100); err != nil || len(left) != 0 {
				t.Errorf("jobs left once done: %+v, %v", left, err)
			}
		})
	}
}

// jobsDown is a real store that cannot record a job: the database
// unreachable when the request comes.
type jobsDown struct{ latch.Store }

func (jobsDown) EnqueueJob(context.Context, latch.Job) error {
	return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, RetryAfter: 3 * time.Second,
		Message: "the database is unavailable; try again later", Err: errDatabaseDown}
}

// Issue 11, item 2: a request that cannot be recorded is not answered as
// accepted: it is Unavailable, with a time to try again.
func TestRequestNotRecordedIsUnavailable(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		down := testenv.NewHarness(t, jobsDown{h.Store})
		for name, err := range map[string]error{
			"recovery": down.Accounts.RequestRecovery(ctx, "someone@example.com"),
			"sign-up":  down.Accounts.SignUp(ctx, account.SignUpInput{Email: "someone@example.com"}),
		} {
			var le *latch.Error
			if !errors.As(err, &le) || le.Kind != latch.KindUnavailable || le.RetryAfter <= 0 || strings.Contains(le.Message, "test:") {
				t.Errorf("%s with the database down: %#v, want Unavailable with RetryAfter and no internals", name, err)
			}
		}
	})
}

// jobsBroken cannot record a job for a reason waiting will not fix (a full
// disk, a bug).
type jobsBroken struct{ latch.Store }

func (jobsBroken) EnqueueJob(context.Context, latch.Job) error {
	return latch.Internal(errors.New("test: database or disk is full"))
}

// Only an unreachable database is "try again": any other failure to
// record is Internal (500, logged), not a 503 that would never succeed.
func TestRequestNotRecordedForABugIsInternal(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		broken := testenv.NewHarness(t, jobsBroken{h.Store})
		for name, err := range map[string]error{
			"recovery": broken.Accounts.RequestRecovery(ctx, "someone@example.com"),
			"sign-up":  broken.Accounts.SignUp(ctx, account.SignUpInput{Email: "someone@example.com"}),
		} {
			if !latch.IsKind(err, latch.KindInternal) {
				t.Errorf("%s when the insert fails for a bug: %#v, want Internal", name, err)
			}
		}
	})
}

// A job whose work fails is retried after a wait, not before, and keeps
// why it failed (never the email); one that keeps failing is given up in
// the end rather than retried for ever.
func TestJobRetryAndGiveUp(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		st := &lookupsDown{Store: h.Store}
		h = testenv.NewHarness(t, st)
		h.PasswordUser(t, "known@example.com", goodPassword, "", false)
		st.down.Store(true)
		if err := h.Accounts.RequestRecovery(ctx, "known@example.com"); err != nil {
			t.Fatal(err)
		}
		job := func() latch.Job {
			t.Helper()
			jobs, err := st.Jobs(ctx, 10)
			if err != nil || len(jobs) != 1 {
				t.Fatalf("jobs: %+v, %v", jobs, err)
			}
			return jobs[0]
		}
		h.Accounts.Wait()
		failed := job()
		if failed.Attempts != 1 || failed.LastError == "" || strings.Contains(failed.LastError, "known@") ||
			!failed.NextAttemptAt.After(h.Clock.Now()) {
			t.Fatalf("after a failed attempt: %+v", failed)
		}
		h.Accounts.Wait()
		if got := job(); got.Attempts != 1 {
			t.Fatalf("retried before its time: %+v", got)
		}
		h.Clock.Advance(failed.NextAttemptAt.Sub(h.Clock.Now()))
		h.Accounts.Wait()
		if got := job(); got.Attempts != 2 {
			t.Fatalf("not retried at its time: %+v", got)
		}

		// Data that cannot be opened (sealed with a key this replica does
		// not have) is retried, then given up.
		if err := st.FinishJob(ctx, failed.ID); err != nil {
			t.Fatal(err)
		}
		if err := st.EnqueueJob(ctx, latch.Job{Kind: latch.JobRecovery, Data: []byte("sealed elsewhere"), CreatedAt: h.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
		for attempt := 1; ; attempt++ {
			h.Accounts.Wait()
			jobs, err := st.Jobs(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(jobs) == 0 {
				if attempt < 10 {
					t.Fatalf("given up after %d attempts", attempt)
				}
				break
			}
			if attempt > 100 {
				t.Fatalf("still retried after %d attempts", attempt)
			}
			h.Clock.Advance(time.Hour)
		}
	})
}

// Two replicas working on one store do each recorded request once.
func TestJobsTwoReplicas(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, a *testenv.Harness) {
		ctx := context.Background()
		b := testenv.NewHarness(t, a.Store)
		const n = 24
		for i := range n {
			a.PasswordUser(t, fmt.Sprintf("user%d@example.com", i), goodPassword, "", false)
		}
		for i := range n {
			answering := a
			if i%2 == 1 {
				answering = b
			}
			if err := answering.Accounts.RequestRecovery(ctx, fmt.Sprintf("user%d@example.com", i)); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for _, h := range []*testenv.Harness{a, b} {
			wg.Go(h.Accounts.Wait)
		}
		wg.Wait()
		for i := range n {
			if got := mailTo(t, a.Store, fmt.Sprintf("user%d@example.com", i)); len(got) != 1 {
				t.Errorf("user%d: mail %v, want one recovery", i, got)
			}
		}
		if left, err := a.Store.Jobs(ctx, 100); err != nil || len(left) != 0 {
			t.Errorf("jobs left: %d, %v", len(left), err)
		}
	})
}

// panicky is a real store whose email lookup panics (a bug in a job's
// work).
type panicky struct{ latch.Store }

func (panicky) UserByEmail(context.Context, string) (latch.User, error) { panic("test: a bug") }

// A job whose work panics fails like any other (it is retried later),
// rather than taking down the replica, and every replica after it that
// claims the job.
func TestJobThatPanicsDoesNotCrash(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		p := testenv.NewHarness(t, panicky{h.Store})
		if err := p.Accounts.RequestRecovery(ctx, "someone@example.com"); err != nil {
			t.Fatal(err)
		}
		p.Accounts.Wait() // would panic the test binary before the fix
		jobs, err := h.Store.Jobs(ctx, 10)
		if err != nil || len(jobs) != 1 || jobs[0].Attempts != 1 || !strings.Contains(jobs[0].LastError, "panic") {
			t.Fatalf("the job after a panic: %+v, %v; want it kept for a retry, with the panic as its error", jobs, err)
		}
	})
}

// jobsToggle is a real store that cannot record a job while down is set.
type jobsToggle struct {
	latch.Store
	down atomic.Bool
}

func (j *jobsToggle) EnqueueJob(ctx context.Context, job latch.Job) error {
	if j.down.Load() {
		return jobsDown{}.EnqueueJob(ctx, job)
	}
	return j.Store.EnqueueJob(ctx, job)
}

// A client told 503 (nothing recorded: try again) has not spent its
// address's mail budget: once the database is back, it is served.
func TestRequestNotRecordedSpendsNoBudget(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := latch.WithClientIP(context.Background(), "192.0.2.7")
		cfg := account.DefaultConfig()
		cfg.MailPerIP = ratelimit.Rule{Limit: 2, Per: time.Hour}
		st := &jobsToggle{Store: h.Store}
		hh := testenv.NewHarnessWithConfig(t, st, cfg)
		st.down.Store(true)
		for range 5 {
			if err := hh.Accounts.RequestRecovery(ctx, "someone@example.com"); !latch.IsKind(err, latch.KindUnavailable) {
				t.Fatalf("while the database is down: %v", err)
			}
		}
		st.down.Store(false)
		for i := range 2 {
			if err := hh.Accounts.RequestRecovery(ctx, "someone@example.com"); err != nil {
				t.Fatalf("request %d once the database is back: %v", i+1, err)
			}
		}
		if err := hh.Accounts.RequestRecovery(ctx, "someone@example.com"); !latch.IsKind(err, latch.KindTooMany) {
			t.Fatalf("the third recorded request: %v, want the address's limit", err)
		}
	})
}
