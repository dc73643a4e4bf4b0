package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

// This file holds latch.JobStore: requests answered before their work was
// done.

const jobColumns = `id, kind, data, created_at, attempts, next_attempt_at, last_error`

func scanJob(row scanner) (latch.Job, error) {
	var j latch.Job
	var created, next int64
	if err := row.Scan(&j.ID, &j.Kind, &j.Data, &created, &j.Attempts, &next, &j.LastError); err != nil {
		return latch.Job{}, err
	}
	j.CreatedAt, j.NextAttemptAt = fromMicros(created), fromMicros(next)
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
	res, err := s.writer.ExecContext(ctx, `
		INSERT INTO jobs (id, kind, data, created_at, attempts, next_attempt_at)
		VALUES (?, ?, ?, ?, 0, ?)
		ON CONFLICT (id) DO NOTHING`,
		j.ID, j.Kind, j.Data, micros(j.CreatedAt), micros(j.NextAttemptAt))
	return fail(oneRow(res, err, contract.AlreadyExists("job")))
}

// ClaimJobs implements latch.Store. The writer is serialized, so the jobs
// read are the ones leased: no other claim runs in between.
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
	var out []latch.Job
	err = s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT `+jobColumns+` FROM jobs WHERE next_attempt_at <= ?
			ORDER BY next_attempt_at, id LIMIT ?`, micros(now), contract.ClaimLimit(limit))
		if err != nil {
			return err
		}
		if out, err = collect(rows, scanJob); err != nil || len(out) == 0 {
			return err
		}
		ids := make([]string, len(out))
		for i := range out {
			ids[i] = out[i].ID
			out[i].Attempts++
			out[i].NextAttemptAt = until
		}
		return leaseRows(ctx, tx, "jobs", "jobs", ids, until)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FinishJob implements latch.Store.
func (s *Store) FinishJob(ctx context.Context, id string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return nil // no such job: nothing to finish
	}
	_, err := s.writer.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, id)
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
	res, err := s.writer.ExecContext(ctx, `
		UPDATE jobs SET next_attempt_at = ?, last_error = ? WHERE id = ?`,
		micros(contract.Or(retryAt, s.now)), contract.LastError(lastError), id)
	return fail(oneRow(res, err, contract.NotFound("job")))
}

// Jobs implements latch.Store.
func (s *Store) Jobs(ctx context.Context, limit int) ([]latch.Job, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.reader.QueryContext(ctx, `
		SELECT `+jobColumns+` FROM jobs ORDER BY created_at, id LIMIT ?`, contract.Limit(limit))
	if err != nil {
		return nil, fail(err)
	}
	return collect(rows, scanJob)
}
