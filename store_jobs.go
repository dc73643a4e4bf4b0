package latch

import (
	"context"
	"time"
)

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
