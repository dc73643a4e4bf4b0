package latch

import (
	"context"
	"time"
)

// Job kinds: the requests whose work is done after they are answered.
const (
	JobRecovery = "recovery" // a recovery link asked for (POST /v1/recover, the recover page)
	JobSignUp   = "sign_up"  // a sign-up by email (seed 003)
)

// Job is a request Latch answered before doing its work: recovery and
// sign-up answer the same, at the same speed, whether or not an account
// exists, so the lookup and the email come afterwards. The job is stored
// before the answer, so what was answered survives a crash or a database
// failure while its work runs. Data (the email, names and client address)
// is sealed by the caller; the row is deleted once the work is done.
type Job struct {
	ID            string // UUIDv7
	Kind          string
	Data          []byte // sealed
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
}

// JobStore keeps the jobs.
type JobStore interface {
	// EnqueueJob stores j (NextAttemptAt zero: due at CreatedAt). It is
	// one insert whatever the job says, so recording costs the same for
	// every request.
	EnqueueJob(ctx context.Context, j Job) error
	// ClaimJobs returns up to limit jobs due at now (NextAttemptAt <=
	// now), oldest due first, and pushes their NextAttemptAt to now+lease
	// and Attempts up by one in the same transaction, so another worker
	// (another replica) does not take them meanwhile. A worker that
	// crashes leaves its jobs to be taken again once the lease ends.
	ClaimJobs(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Job, error)
	// FinishJob deletes the job: its work is done (or given up). A job
	// that is not there (finished by another worker whose lease it
	// outlived) is no error.
	FinishJob(ctx context.Context, id string) error
	// RetryJob records a failed attempt: the job is due again at retryAt.
	// A job that is not there is NotFound.
	RetryJob(ctx context.Context, id, lastError string, retryAt time.Time) error
	// Jobs lists up to limit jobs, oldest first.
	Jobs(ctx context.Context, limit int) ([]Job, error)
}
