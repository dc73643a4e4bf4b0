package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Fallback is a Limiter that keeps limits in a shared primary (Redis) and,
// while the primary fails or does not answer in time, in a fallback of
// this process (Memory). Limits then hold per replica instead of across
// replicas, which is weaker but never open: a limiter that lets requests
// through when Redis is down turns brute-force protection off exactly
// when an attacker can cause the outage.
//
// Every call to the primary is bounded by a timeout, so a hung primary
// adds at most that much to a request. After a failure the primary is
// left alone (calls go straight to the fallback, at no cost) and checked
// in the background, at once and then every retry interval; limits return to it as soon as
// it answers. The fallback counts the events of this replica all along
// (and keeps its marks), so an outage continues this replica's counts
// rather than starting them from zero. What it counted during an outage
// is not copied back: the primary's own counts apply again.
type Fallback struct {
	primary  Limiter
	fallback Limiter
	timeout  time.Duration
	retry    time.Duration
	log      *slog.Logger

	mu        sync.Mutex
	down      bool
	downSince time.Time
	nextCheck time.Time
	checking  bool

	fallbacks atomic.Uint64
}

// Pinger is a primary that can say whether it is reachable without
// deciding anything; Fallback checks a primary that went down with it.
// A primary without Ping is checked with Marked.
type Pinger interface {
	Ping(ctx context.Context) error
}

// FallbackConfig tunes a Fallback.
type FallbackConfig struct {
	// Timeout bounds every call to the primary (default 200 ms).
	Timeout time.Duration
	// Retry is how long after a failure the primary is checked again
	// (default 1 s).
	Retry time.Duration
	// Log gets one line when the primary goes down and one when it is
	// back, not one per request (default: discarded).
	Log *slog.Logger
}

// Default Fallback settings: a Redis on the same network answers in well
// under a millisecond, so 200 ms is a fault, and yet short next to a
// sign-in's own cost.
const (
	DefaultFallbackTimeout = 200 * time.Millisecond
	DefaultFallbackRetry   = time.Second
)

// NewFallback keeps limits in primary, and in fallback while primary fails.
func NewFallback(primary, fallback Limiter, cfg FallbackConfig) *Fallback {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultFallbackTimeout
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultFallbackRetry
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Fallback{primary: primary, fallback: fallback, timeout: cfg.Timeout, retry: cfg.Retry, log: cfg.Log}
}

// Fallbacks counts the calls answered by the fallback since the start:
// a counter to export as a metric.
func (f *Fallback) Fallbacks() uint64 { return f.fallbacks.Load() }

// Down reports whether calls currently go to the fallback. Asking starts
// a check of the primary when one is due, as a call does: a replica with
// no traffic (its metrics scraped, nothing else) still finds out that
// Redis is back, and its gauge does not say "down" for ever.
func (f *Fallback) Down() bool {
	return !f.usePrimary()
}

// Check asks the primary whether it is reachable, within the timeout, and
// falls back until it is if not. A server calls it at start, to run on
// the fallback from the first request (and say so) rather than make the
// first requests find out.
func (f *Fallback) Check(ctx context.Context) error {
	err := f.ping(ctx)
	if err != nil {
		f.failed(ctx, err)
	} else {
		f.recovered()
	}
	return err
}

// Allow implements Limiter.
func (f *Fallback) Allow(ctx context.Context, key string, rule Rule, cost int) (Decision, error) {
	if !rule.Enabled() {
		return Decision{Allowed: true}, nil
	}
	if f.usePrimary() {
		d, err := bounded(ctx, f.timeout, func(ctx context.Context) (Decision, error) {
			return f.primary.Allow(ctx, key, rule, cost)
		})
		if err == nil {
			if d.Allowed {
				// Counted in the fallback too, so that an outage does not
				// start every count again from zero: causing one must
				// not buy an attacker a fresh burst. And the fallback's
				// refusal stands: it counts this replica's events only,
				// which the primary's count (of every replica) can only
				// be below if the primary lost its counts (a restart, a
				// flap). Either refusing is refusal.
				if local, _ := f.fallback.Allow(ctx, key, rule, cost); !local.Allowed {
					return local, nil
				}
			}
			return d, nil
		}
		f.failed(ctx, err)
	}
	f.fallbacks.Add(1)
	return f.fallback.Allow(ctx, key, rule, cost)
}

// Reset implements Limiter. It resets the key in the fallback too, even
// when the primary answers: a count the fallback kept during an outage
// must not come back with the next one.
func (f *Fallback) Reset(ctx context.Context, key string) error {
	ferr := f.fallback.Reset(ctx, key)
	if f.usePrimary() {
		_, err := bounded(ctx, f.timeout, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, f.primary.Reset(ctx, key)
		})
		if err == nil {
			return ferr
		}
		f.failed(ctx, err)
	}
	f.fallbacks.Add(1)
	return ferr
}

// Mark implements Limiter. Like Reset, it marks in the fallback too, so
// an address known before an outage stays known during it on this
// replica.
func (f *Fallback) Mark(ctx context.Context, key string, ttl time.Duration) error {
	ferr := f.fallback.Mark(ctx, key, ttl)
	if f.usePrimary() {
		_, err := bounded(ctx, f.timeout, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, f.primary.Mark(ctx, key, ttl)
		})
		if err == nil {
			return ferr
		}
		f.failed(ctx, err)
	}
	f.fallbacks.Add(1)
	return ferr
}

// Marked implements Limiter.
func (f *Fallback) Marked(ctx context.Context, key string) (bool, error) {
	if f.usePrimary() {
		known, err := bounded(ctx, f.timeout, func(ctx context.Context) (bool, error) {
			return f.primary.Marked(ctx, key)
		})
		if err == nil {
			return known, nil
		}
		f.failed(ctx, err)
	}
	f.fallbacks.Add(1)
	return f.fallback.Marked(ctx, key)
}

// usePrimary reports whether a call should go to the primary. While it is
// down, the first call after each retry interval starts one check in the
// background; the call itself, like every other, goes to the fallback at
// once, so no request waits for a primary that is down.
func (f *Fallback) usePrimary() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down {
		return true
	}
	if !f.checking && !time.Now().Before(f.nextCheck) {
		f.checking = true
		go f.recheck()
	}
	return false
}

func (f *Fallback) recheck() {
	// Not the request's context: the check outlives the request that
	// started it, and has its own bound.
	err := f.ping(context.Background())
	f.mu.Lock()
	f.checking = false
	if err != nil {
		f.nextCheck = time.Now().Add(f.retry)
	}
	f.mu.Unlock()
	if err == nil {
		f.recovered()
	}
}

func (f *Fallback) ping(ctx context.Context) error {
	_, err := bounded(ctx, f.timeout, func(ctx context.Context) (struct{}, error) {
		if p, ok := f.primary.(Pinger); ok {
			return struct{}{}, p.Ping(ctx)
		}
		_, err := f.primary.Marked(ctx, "fallback-check")
		return struct{}{}, err
	})
	return err
}

// failed records that the primary failed a call, unless the caller went
// away first (the primary is not at fault then).
func (f *Fallback) failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return
	}
	f.down = true
	f.downSince = time.Now()
	// The first check is due at once (it runs in the background, started
	// by the next call): a blip, such as one pooled connection that died,
	// costs a call or two in process, not a whole retry interval. A real
	// outage fails that check and is then checked every retry interval.
	f.nextCheck = f.downSince
	f.log.WarnContext(ctx, "shared rate limiter unreachable; limits kept in this process until it answers", "err", err, "retry", f.retry)
}

func (f *Fallback) recovered() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.down {
		return
	}
	f.down = false
	f.log.Info("shared rate limiter reachable again; limits kept there", "outage", time.Since(f.downSince).Round(time.Millisecond))
}

// errTimeout is a primary that did not answer within the timeout.
type errTimeout struct{ after time.Duration }

func (e errTimeout) Error() string { return "no answer within " + e.after.String() }

// bounded runs call with a context that ends after timeout, and returns
// by then even if call ignores its context: a client library that waits
// on its own read timeout must not hold the request.
func bounded[T any](ctx context.Context, timeout time.Duration, call func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		// cancel only once call returns: the context must live as long
		// as the call that uses it.
		defer cancel()
		v, err := call(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		if err := context.Cause(ctx); err != context.DeadlineExceeded {
			return zero, err
		}
		return zero, errTimeout{after: timeout}
	}
}
