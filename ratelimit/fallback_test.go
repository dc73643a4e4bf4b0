package ratelimit_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch/ratelimit"
)

// A primary that lost its counts (Redis restarted without persistence, or
// came back after an outage in which this replica counted alone) does not
// hand out a fresh burst: what this replica counted still refuses. Both
// limiters are real in-process ones here; the Redis behaviour of Fallback
// is tested in ratelimit/redislimit.
func TestFallbackCountsSurviveAPrimaryThatForgot(t *testing.T) {
	ctx := context.Background()
	rule := ratelimit.Rule{Limit: 3, Per: time.Hour}
	primary, local := ratelimit.NewMemory(0, nil), ratelimit.NewMemory(0, nil)
	f := ratelimit.NewFallback(primary, local, ratelimit.FallbackConfig{})
	for i := range 3 {
		if d, err := f.Allow(ctx, "k", rule, 1); err != nil || !d.Allowed {
			t.Fatalf("event %d: %+v %v", i+1, d, err)
		}
	}
	// The primary forgets everything; the replica remembers.
	if err := primary.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if d, err := f.Allow(ctx, "k", rule, 1); err != nil || d.Allowed || d.RetryAfter <= 0 {
		t.Fatalf("a fourth event after the primary forgot: %+v %v; want refused with a Retry-After", d, err)
	}
	if d, _ := f.Allow(ctx, "k", rule, 0); d.Allowed {
		t.Fatal("asking (cost 0) after the primary forgot: allowed")
	}
}

// failingOnce is a primary whose next call fails when told to: one lost
// connection, not an outage.
type failingOnce struct {
	ratelimit.Limiter
	fail atomic.Bool
}

func (p *failingOnce) Allow(ctx context.Context, key string, rule ratelimit.Rule, cost int) (ratelimit.Decision, error) {
	if p.fail.CompareAndSwap(true, false) {
		return ratelimit.Decision{}, errors.New("connection reset by peer")
	}
	return p.Limiter.Allow(ctx, key, rule, cost)
}

func (p *failingOnce) Ping(context.Context) error {
	if p.fail.Load() {
		return errors.New("connection reset by peer")
	}
	return nil
}

// One failed call does not cost a retry interval in process: the primary
// is checked again at once, and with no traffic at all, reading Down
// (what the metrics do) is what starts that check.
func TestFallbackBlipIsCheckedAtOnce(t *testing.T) {
	ctx := context.Background()
	primary := &failingOnce{Limiter: ratelimit.NewMemory(0, nil)}
	f := ratelimit.NewFallback(primary, ratelimit.NewMemory(0, nil), ratelimit.FallbackConfig{Retry: time.Hour})
	rule := ratelimit.Rule{Limit: 100, Per: time.Hour}
	primary.fail.Store(true)
	if d, err := f.Allow(ctx, "k", rule, 1); err != nil || !d.Allowed {
		t.Fatalf("the call that met the failure: %+v %v; want answered in process", d, err)
	}
	if f.Fallbacks() != 1 {
		t.Fatalf("fallbacks after one failure: %d, want 1", f.Fallbacks())
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.Down() {
		if time.Now().After(deadline) {
			t.Fatal("the primary answers again, but the fallback still holds limits in process 5 s later (the retry interval is an hour)")
		}
		time.Sleep(5 * time.Millisecond)
	}
	before := f.Fallbacks()
	if d, err := f.Allow(ctx, "k", rule, 1); err != nil || !d.Allowed || f.Fallbacks() != before {
		t.Fatalf("after the check: %+v %v, fallbacks %d → %d; want the primary's answer", d, err, before, f.Fallbacks())
	}
}
