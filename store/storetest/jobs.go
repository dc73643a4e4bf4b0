package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// The conformance tests of latch.JobStore: requests answered before their
// work was done (issue 11: what Latch answered is durable).

// jobTests are run by Run.
var jobTests = []struct {
	name string
	fn   func(t *testing.T, st latch.Store)
}{
	{"Job/Enqueue", testEnqueueJob},
	{"Job/ClaimLease", testClaimJobsLease},
	{"Job/ClaimConcurrent", testClaimJobsConcurrent},
	{"Job/FinishAndRetry", testFinishAndRetryJob},
}

// newJob returns a job created at(created), not yet stored.
func newJob(t *testing.T, kind string, created int) latch.Job {
	return latch.Job{ID: newID(t), Kind: kind, Data: []byte("sealed:" + kind), CreatedAt: at(created)}
}

// queued is j as a store returns it once enqueued.
func queued(j latch.Job) latch.Job {
	j.CreatedAt = stored(j.CreatedAt)
	if j.NextAttemptAt.IsZero() {
		j.NextAttemptAt = j.CreatedAt
	} else {
		j.NextAttemptAt = stored(j.NextAttemptAt)
	}
	j.Attempts, j.LastError = 0, ""
	return j
}

func enqueueJob(t *testing.T, st latch.Store, j latch.Job) latch.Job {
	t.Helper()
	if err := st.EnqueueJob(t.Context(), j); err != nil {
		t.Fatalf("EnqueueJob(%s): %v", j.Kind, err)
	}
	return queued(j)
}

// jobs returns every stored job, oldest first.
func jobs(t *testing.T, st latch.Store) []latch.Job {
	t.Helper()
	js, err := st.Jobs(t.Context(), 1000)
	if err != nil {
		t.Fatalf("Jobs: %v", err)
	}
	for _, j := range js {
		checkTimes(t, "Job", j)
	}
	return js
}

func claimJobs(t *testing.T, st latch.Store, now time.Time, limit int) []latch.Job {
	t.Helper()
	js, err := st.ClaimJobs(t.Context(), now, lease, limit)
	if err != nil {
		t.Fatalf("ClaimJobs: %v", err)
	}
	for _, j := range js {
		checkTimes(t, "claimed Job", j)
	}
	return js
}

func jobIDs(js []latch.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

func testEnqueueJob(t *testing.T, st latch.Store) {
	ctx := t.Context()
	full := newJob(t, latch.JobSignUp, 1)
	full.Data = []byte{0x00, 0xff, 0x10}
	full.NextAttemptAt = at(3)
	// What a new job cannot be is ignored: it starts with no attempt.
	full.Attempts, full.LastError = 4, "old"
	want := enqueueJob(t, st, full)
	equal(t, "enqueued jobs", jobs(t, st), []latch.Job{want})

	// Defaults: an id (a UUIDv7), the time of the call, due at once. An id
	// in another spelling comes back canonical.
	before := time.Now().Add(-time.Second)
	if err := st.EnqueueJob(ctx, latch.Job{Kind: latch.JobRecovery, Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Second)
	upper := newID(t)
	if err := st.EnqueueJob(ctx, latch.Job{ID: strings.ToUpper(upper), Kind: latch.JobRecovery, Data: []byte("y"), CreatedAt: at(0)}); err != nil {
		t.Fatal(err)
	}
	all := jobs(t, st)
	if len(all) != 3 || all[0].ID != upper || all[1].ID != full.ID {
		t.Fatalf("jobs, oldest first: %+v", all)
	}
	zero := all[2]
	if id, err := uuid.Parse(zero.ID); err != nil || id.Version() != 7 || id.String() != zero.ID {
		t.Errorf("generated ID = %q, want a canonical UUIDv7", zero.ID)
	}
	if zero.CreatedAt.Before(before) || zero.CreatedAt.After(after) || !zero.NextAttemptAt.Equal(zero.CreatedAt) {
		t.Errorf("zero times became %v / %v, want the time of the call, due at once", zero.CreatedAt, zero.NextAttemptAt)
	}

	// The same id twice is refused, and the first stays as it was.
	dup := full
	dup.Data = []byte("other")
	if err := st.EnqueueJob(ctx, dup); !latch.IsKind(err, latch.KindConflict) || !latch.IsCode(err, latch.CodeAlreadyExists) {
		t.Errorf("duplicate id: %v, want Conflict/already_exists", err)
	}
	for _, bad := range []latch.Job{
		{ID: "not-a-uuid", Kind: latch.JobRecovery, Data: []byte("x")},
		{Kind: "", Data: []byte("x")},
		{Kind: "bad\x00kind", Data: []byte("x")},
		{Kind: latch.JobRecovery},
	} {
		if err := st.EnqueueJob(ctx, bad); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("EnqueueJob(%+v) = %v, want Invalid", bad, err)
		}
	}
	if n := len(jobs(t, st)); n != 3 {
		t.Errorf("%d jobs after the refused ones, want 3", n)
	}
	equal(t, "the first of a duplicate id", jobs(t, st)[1], want)
}

func testClaimJobsLease(t *testing.T, st latch.Store) {
	ctx := t.Context()
	first := enqueueJob(t, st, newJob(t, latch.JobRecovery, 0))
	second := enqueueJob(t, st, newJob(t, latch.JobSignUp, 1))
	laterJob := newJob(t, latch.JobRecovery, 2)
	laterJob.NextAttemptAt = at(10)
	laterJob = enqueueJob(t, st, laterJob)

	if got := claimJobs(t, st, at(5), 1); len(got) != 1 || got[0].ID != first.ID {
		t.Fatalf("claim of one = %v, want the longest due [%s]", jobIDs(got), first.ID)
	}
	want := second
	want.Attempts, want.NextAttemptAt = 1, stored(at(5).Add(lease))
	got := claimJobs(t, st, at(5), 10)
	if len(got) != 1 {
		t.Fatalf("second claim = %v, want [%s]: the first is leased, the third not due", jobIDs(got), second.ID)
	}
	equal(t, "claimed job", got[0], want)
	if got := claimJobs(t, st, at(5), 10); len(got) != 0 {
		t.Errorf("claim with everything leased = %v, want none", jobIDs(got))
	}
	// A worker that crashed: the lease ends and the job is claimed again,
	// its attempt counted.
	again := claimJobs(t, st, at(5).Add(lease), 10)
	if len(again) != 3 || again[0].ID != laterJob.ID || again[1].ID != first.ID || again[2].ID != second.ID {
		t.Fatalf("claim after the leases ended = %v", jobIDs(again))
	}
	if again[1].Attempts != 2 || again[0].Attempts != 1 {
		t.Errorf("attempts after a second claim: %+v", again)
	}
	if _, err := st.ClaimJobs(ctx, at(0), 0, 10); !latch.IsKind(err, latch.KindInvalid) {
		t.Errorf("a claim without a lease: %v, want Invalid", err)
	}
	if got, err := st.ClaimJobs(ctx, at(100), lease, 0); err != nil || len(got) != 0 {
		t.Errorf("a claim of none = %v, %v", got, err)
	}
}

func testClaimJobsConcurrent(t *testing.T, st latch.Store) {
	warmUp(t, st, createUser(t, st, "jobrace@example.com").ID)
	for round := range 3 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			const total, workers = 40, 4
			want := map[string]bool{}
			for range total {
				want[enqueueJob(t, st, newJob(t, latch.JobRecovery, 0)).ID] = true
			}
			now := at(round) // the previous rounds' jobs are leased still
			got := make([][]latch.Job, workers)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for w := range workers {
				wg.Go(func() {
					<-start
					for {
						batch, err := st.ClaimJobs(t.Context(), now, time.Hour, 3)
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
				for _, j := range got[w] {
					if !want[j.ID] {
						t.Errorf("worker %d claimed %s, not of this round", w, j.ID)
					}
					if seen[j.ID]++; seen[j.ID] > 1 {
						t.Errorf("job %s handed out twice", j.ID)
					}
				}
			}
			if len(seen) != total {
				t.Errorf("%d jobs claimed, want %d", len(seen), total)
			}
		})
	}
}

func testFinishAndRetryJob(t *testing.T, st latch.Store) {
	ctx := t.Context()
	done := enqueueJob(t, st, newJob(t, latch.JobRecovery, 0))
	failed := enqueueJob(t, st, newJob(t, latch.JobSignUp, 0))
	if got := claimJobs(t, st, at(1), 10); len(got) != 2 {
		t.Fatalf("claimed %v", jobIDs(got))
	}
	if err := st.FinishJob(ctx, strings.ToUpper(done.ID)); err != nil {
		t.Fatalf("FinishJob: %v", err)
	}
	// Finishing again (a worker whose lease ran out) or an unknown id is
	// no error.
	for _, id := range []string{done.ID, newID(t), "not-a-uuid"} {
		if err := st.FinishJob(ctx, id); err != nil {
			t.Errorf("FinishJob(%q) again: %v", id, err)
		}
	}
	long := strings.Repeat("é", 2000) + "\x00"
	if err := st.RetryJob(ctx, failed.ID, long, at(30)); err != nil {
		t.Fatalf("RetryJob: %v", err)
	}
	left := jobs(t, st)
	if len(left) != 1 || left[0].ID != failed.ID {
		t.Fatalf("jobs after one finished: %v", jobIDs(left))
	}
	if left[0].Attempts != 1 || !left[0].NextAttemptAt.Equal(stored(at(30))) || left[0].LastError == "" ||
		len(left[0].LastError) > 1000 || strings.ContainsRune(left[0].LastError, 0) {
		t.Errorf("retried job: attempts %d, next %v, last error of %d bytes", left[0].Attempts, left[0].NextAttemptAt, len(left[0].LastError))
	}
	if got := claimJobs(t, st, at(29), 10); len(got) != 0 {
		t.Errorf("claimed before its retry time: %v", jobIDs(got))
	}
	if got := claimJobs(t, st, at(30), 10); len(got) != 1 || got[0].Attempts != 2 {
		t.Errorf("claim at its retry time: %+v", got)
	}
	for _, id := range []string{done.ID, "not-a-uuid"} {
		if err := st.RetryJob(ctx, id, "x", at(40)); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("RetryJob(%q) of no job: %v, want NotFound", id, err)
		}
	}
}
