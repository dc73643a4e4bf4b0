package ratelimit_test

import (
	"context"
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
