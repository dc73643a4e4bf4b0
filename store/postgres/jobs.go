package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

// This file holds latch.JobStore: requests answered before their work was
// done.

const jobColumns = `j.id, j.kind, j.data, j.created_at, j.attempts, j.next_attempt_at, j.last_error`

// jobDest is userDest for jobColumns.
func jobDest(j *latch.Job) ([]any, func()) {
	dest := []any{&j.ID, &j.Kind, &j.Data, &j.CreatedAt, &j.Attempts, &j.NextAttemptAt, &j.LastError}
	return dest, func() { j.CreatedAt, j.NextAttemptAt = utc(j.CreatedAt), utc(j.NextAttemptAt) }
}

func scanJob(row pgx.Row) (latch.Job, error) {
	var j latch.Job
	dest, finish := jobDest(&j)
	if err := row.Scan(dest...); err != nil {
		return latch.Job{}, err
	}
	finish()
	return j, nil
}

// EnqueueJob implements latch.Store.
func (s *Store) EnqueueJob(ctx context.Context, j latch.Job) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	j, err := contract.Job(j, s.now)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO jobs (id, kind, data, created_at, attempts, next_attempt_at)
		VALUES ($1, $2, $3, $4, 0, $5)
		ON CONFLICT (id) DO NOTHING`,
		j.ID, j.Kind, j.Data, j.CreatedAt, j.NextAttemptAt)
	return fail(oneRow(tag, err, contract.AlreadyExists("job")))
}

// ClaimJobs implements latch.Store in one statement, as ClaimMail: FOR
// UPDATE SKIP LOCKED lets replicas claim side by side, passing over a job
// another claim has locked rather than waiting for it; once that claim
// commits, the job is no longer due.
func (s *Store) ClaimJobs(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]latch.Job, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	now = contract.Or(now, s.now)
	until, err := contract.Lease(now, lease)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	// Each row carries the time it was due, for collectClaimed to put
	// them back in the order they were claimed.
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT id, next_attempt_at FROM jobs
			WHERE next_attempt_at <= $1
			ORDER BY next_attempt_at, id
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		)
		UPDATE jobs j SET attempts = j.attempts + 1, next_attempt_at = $3
		FROM due WHERE j.id = due.id
		RETURNING `+jobColumns+`, due.next_attempt_at`, now, contract.ClaimLimit(limit), until)
	return collectClaimed(rows, err, jobDest, func(j *latch.Job) string { return j.ID })
}

// FinishJob implements latch.Store.
func (s *Store) FinishJob(ctx context.Context, id string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return nil // no such job: nothing to finish
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM jobs WHERE id = $1`, id)
	return fail(err)
}

// RetryJob implements latch.Store.
func (s *Store) RetryJob(ctx context.Context, id, lastError string, retryAt time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return contract.NotFound("job")
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE jobs SET next_attempt_at = $1, last_error = $2 WHERE id = $3`,
		contract.Or(retryAt, s.now), contract.LastError(lastError), id)
	return fail(oneRow(tag, err, contract.NotFound("job")))
}

// Jobs implements latch.Store.
func (s *Store) Jobs(ctx context.Context, limit int) ([]latch.Job, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		SELECT `+jobColumns+` FROM jobs j ORDER BY j.created_at, j.id LIMIT $1`, contract.Limit(limit))
	return collect(rows, err, scanJob)
}
