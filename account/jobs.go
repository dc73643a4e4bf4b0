package account

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/latchid/latch"
)

// Recovery and sign-up answer at once, the same way whether or not an
// account exists, and do their lookup and email afterwards. What they
// answered must outlive a crash or a database failure meanwhile, so the
// request is stored as a job before the answer (one insert, the same for
// every email), and RunJobs (or Wait) does the work from the store.

// jobSealPurpose seals the data of jobs: an email and a name are personal
// data, kept no longer than the work needs them and never in clear.
const jobSealPurpose = "job"

// Job processing.
const (
	// jobBatch is how many jobs one pass claims: few, so that the whole
	// batch, one job after another, fits in its lease (see jobLease).
	jobBatch = 5
	// jobLease keeps a claimed job from other workers (replicas) while
	// this one works on it; after a crash, the job is taken again once it
	// ends. It covers a whole batch at the longest (jobBatch x (jobTimeout
	// + jobMarkTimeout) is under three minutes), and processJobs stops
	// starting jobs whose lease may end before they do, so a live worker
	// is never overtaken.
	jobLease = 5 * time.Minute
	// jobTimeout bounds the work of one job, so a stuck database cannot
	// hold a pass for ever.
	jobTimeout = 30 * time.Second
	// jobMarkTimeout bounds recording a job's outcome, which is done even
	// when the worker's context has just ended (shutdown).
	jobMarkTimeout = 5 * time.Second
	// jobMaxAttempts: a job that failed this many times is given up and
	// logged. With jobBackoff that is about six hours of failures.
	jobMaxAttempts = 40
	// recordRetryAfter is the Retry-After of a request that could not be
	// recorded (the database is unreachable).
	recordRetryAfter = 5 * time.Second
	// DefaultJobInterval is how often RunJobs looks for jobs recorded by
	// other replicas, and for retries that are due.
	DefaultJobInterval = time.Second
)

// jobData is what a job carries, sealed.
type jobData struct {
	Email     string `json:"email"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	// IP is the client's address, for the audit events the work writes.
	IP string `json:"ip,omitempty"`
}

// errNotRecorded is the answer when a request could not be stored: if the
// database could not be reached, the caller must try again (503 +
// Retry-After, the store's own error), since nothing will be done; any
// other failure (a full disk, a bug) is Internal, answered 500 and logged,
// not hidden behind a "try again" that would never succeed.
func errNotRecorded(cause error) error {
	var le *latch.Error
	if errors.As(cause, &le) && le.Kind == latch.KindUnavailable {
		if le.RetryAfter <= 0 {
			c := *le
			c.RetryAfter = recordRetryAfter
			return &c
		}
		return le
	}
	if errors.As(cause, &le) && le.Kind == latch.KindInternal {
		return le
	}
	return latch.Internal(cause)
}

// recordForAddress records the job of a request for mail within the
// client address's mail limit (MailPerIP): the limit is checked first and
// charged once the request is recorded, so a client told 503 (nothing
// recorded, try again) has not spent its budget on it.
func (s *Service) recordForAddress(ctx context.Context, kind string, d jobData) error {
	key := "mail-ip:" + s.addressKey(latch.ClientIP(ctx))
	if err := s.limit(ctx, key, s.cfg.MailPerIP, 0); err != nil {
		return err
	}
	if err := s.record(ctx, kind, d); err != nil {
		return err
	}
	if err := s.limit(ctx, key, s.cfg.MailPerIP, 1); err != nil && !latch.IsKind(err, latch.KindTooMany) {
		s.log.WarnContext(ctx, "mail limit not charged", "err", err)
	}
	return nil
}

// record stores the job of the request in ctx. It does the same work
// whatever the data says (a seal and one insert) and touches no account,
// so its time tells nothing about whether one exists.
func (s *Service) record(ctx context.Context, kind string, d jobData) error {
	d.IP = latch.ClientIP(ctx)
	plain, err := json.Marshal(d)
	if err != nil {
		return latch.Internal(err)
	}
	sealed, err := s.keys.Seal(jobSealPurpose, plain)
	if err != nil {
		return latch.Internal(err)
	}
	id, err := newID()
	if err != nil {
		return latch.Internal(err)
	}
	now := s.now()
	if err := s.store.EnqueueJob(ctx, latch.Job{ID: id, Kind: kind, Data: []byte(sealed), CreatedAt: now, NextAttemptAt: now}); err != nil {
		return errNotRecorded(err)
	}
	select {
	case s.jobQueued <- struct{}{}:
	default:
	}
	return nil
}

// RunJobs does the work of recorded requests until ctx ends: at once when
// this replica records one, and every interval (DefaultJobInterval when
// not positive) for those of other replicas and for retries. Several
// replicas may run it on one store: ClaimJobs's lease keeps them apart.
func (s *Service) RunJobs(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultJobInterval
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.jobQueued:
		}
		claimed, err := s.processJobs(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "jobs: claim failed; retrying", "err", err)
		}
		next := interval
		if claimed == jobBatch && err == nil {
			next = 0 // a full batch: there may be more due
		}
		timer.Reset(next)
	}
}

// processJobs claims the jobs due (at most a batch) and does their work.
// It returns how many it claimed, and an error only when the claim failed:
// a job whose work failed is retried later (or given up, and logged).
func (s *Service) processJobs(ctx context.Context) (int, error) {
	// Wait takes the lock: it waits for passes in progress.
	s.jobsRunning.RLock()
	defer s.jobsRunning.RUnlock()
	claimedAt := time.Now() // monotonic: how long the batch took, whatever the clocks say
	jobs, err := s.store.ClaimJobs(ctx, s.now(), jobLease, jobBatch)
	if err != nil {
		return 0, err
	}
	for _, j := range jobs {
		if ctx.Err() != nil || time.Since(claimedAt) > jobLease-jobTimeout-jobMarkTimeout-time.Minute {
			break // the rest are taken again when their lease ends
		}
		s.runJob(ctx, j)
	}
	return len(jobs), nil
}

// Wait does now the work of every recorded request that is due, and waits
// for work RunJobs has in progress: tests call it to see a recovery or a
// sign-up done. A job that fails stays recorded for a later try.
func (s *Service) Wait() {
	ctx := context.Background()
	for {
		n, err := s.processJobs(ctx)
		if err != nil || n < jobBatch {
			break
		}
	}
	// Once the lock is held, every pass that had started has ended.
	s.jobsRunning.Lock()
	s.jobsRunning.Unlock()
}

// doJobSafely does the job's work within jobTimeout; a panic is the job's
// failure, not the replica's (a job that panics would otherwise take down
// every replica that claims it in turn).
func (s *Service) doJobSafely(ctx context.Context, j latch.Job) (err error) {
	wctx, cancel := context.WithTimeout(ctx, jobTimeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("jobs: panic: %v", r)
		}
	}()
	return s.doJob(wctx, j)
}

// runJob does one job's work and records the outcome: done (the row is
// deleted), or failed (retried after a backoff, or given up).
func (s *Service) runJob(ctx context.Context, j latch.Job) {
	log := s.log.With("job_id", j.ID, "job", j.Kind, "attempt", j.Attempts)
	var err error
	if j.Attempts > jobMaxAttempts {
		// Claimed once too often without an outcome recorded (a worker
		// that died on it): not run again.
		err = errors.New("jobs: no outcome recorded after the last attempt")
	} else {
		err = s.doJobSafely(ctx, j)
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jobMarkTimeout)
	defer cancel()
	giveUp := permanent(err) || j.Attempts >= jobMaxAttempts
	switch {
	case err == nil || giveUp:
		if err != nil {
			log.ErrorContext(ctx, "jobs: given up", "err", err)
		}
		if err := s.store.FinishJob(mctx, j.ID); err != nil {
			// It is done again once the lease ends: at least once.
			log.ErrorContext(ctx, "jobs: done, but not recorded", "err", err)
		}
	default:
		retryAt := s.now().Add(jobBackoff(j.Attempts))
		log.WarnContext(ctx, "jobs: failed; will retry", "retry_at", retryAt, "err", err)
		if err := s.store.RetryJob(mctx, j.ID, err.Error(), retryAt); err != nil && !latch.IsKind(err, latch.KindNotFound) {
			// Taken again once the lease ends.
			log.ErrorContext(ctx, "jobs: failure not recorded", "err", err)
		}
	}
}

// errUnknownJob: a job of a kind this version does not know.
var errUnknownJob = errors.New("account: unknown job kind")

// doJob opens a job and does its work.
func (s *Service) doJob(ctx context.Context, j latch.Job) error {
	plain, err := s.keys.Open(jobSealPurpose, string(j.Data))
	if err != nil {
		// The sealing key may be one this replica has not loaded yet (a
		// rolling change of keys): retried until given up.
		return errors.New("account: job data cannot be opened")
	}
	var d jobData
	if err := json.Unmarshal(plain, &d); err != nil {
		return &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Message: "job data is malformed", Err: err}
	}
	ctx = latch.WithClientIP(ctx, d.IP)
	switch j.Kind {
	case latch.JobRecovery:
		return s.recover(ctx, d.Email)
	case latch.JobSignUp:
		return s.signUp(ctx, d.Email, d.FirstName, d.LastName)
	}
	return &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Message: "unknown job kind " + j.Kind, Err: errUnknownJob}
}

// permanent reports whether a job's error will not go away by waiting:
// a refusal of the request itself rather than a failure of the database.
func permanent(err error) bool {
	var le *latch.Error
	if !errors.As(err, &le) {
		return false
	}
	switch le.Kind {
	case latch.KindInternal, latch.KindUnavailable, latch.KindTooMany:
		return false
	}
	return true
}

// jobBackoff waits 5s * 2^(attempt-1), at most ten minutes, plus up to 10%
// jitter so that jobs that failed together (a database outage) do not
// retry together. A short first wait: a recovery email is awaited by
// someone looking at their inbox.
func jobBackoff(attempt int) time.Duration {
	d := 10 * time.Minute
	if attempt >= 1 && attempt <= 8 { // 5s * 2^7 = 640 s: capped from there on
		d = min(5*time.Second<<(attempt-1), d)
	} else if attempt < 1 {
		d = 5 * time.Second
	}
	return d + rand.N(d/10+1)
}
