package redislimit_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/ratelimit"
	"github.com/latchid/latch/ratelimit/redislimit"
)

// The Redis timeout these tests run with, and the most a call may take
// beyond it on a busy test machine (loose: what matters is a bound well
// under the seconds an unbounded call waits, not its exact size).
const (
	redisTimeout = 200 * time.Millisecond
	slack        = 500 * time.Millisecond
)

// fallbackThroughProxy is the limiter Latch runs with LATCH_REDIS_URL
// (Redis, falling back to the process), on the test Redis behind a proxy
// the test can cut and hang.
func fallbackThroughProxy(t *testing.T) (*ratelimit.Fallback, *testenv.RedisProxy, string) {
	t.Helper()
	proxy := testenv.StartRedisProxy(t)
	prefix := testenv.RedisPrefix(t)
	primary, err := redislimit.Open(proxy.URL, prefix, redisTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { primary.Close() })
	f := ratelimit.NewFallback(primary, ratelimit.NewMemory(0, nil), ratelimit.FallbackConfig{
		Timeout: redisTimeout, Retry: 100 * time.Millisecond, Log: slog.New(slog.DiscardHandler)})
	return f, proxy, prefix
}

// timed runs call and returns how long it took.
func timed(call func()) time.Duration {
	start := time.Now()
	call()
	return time.Since(start)
}

// limitHolds spends a burst of 3 on key through l, the burst's remaining
// events after the used ones, then checks the next one is refused; every
// call must answer without error within the Redis timeout (and slack).
func limitHolds(t *testing.T, l ratelimit.Limiter, key string, used int) time.Duration {
	t.Helper()
	ctx := context.Background()
	rule := ratelimit.Rule{Limit: 3, Per: time.Hour}
	var slowest time.Duration
	for i := used; i <= 3; i++ {
		var d ratelimit.Decision
		var err error
		slowest = max(slowest, timed(func() { d, err = l.Allow(ctx, key, rule, 1) }))
		if err != nil {
			t.Fatalf("event %d: %v", i+1, err)
		}
		if want := i < 3; d.Allowed != want {
			t.Fatalf("event %d of a burst of 3: allowed %v, want %v", i+1, d.Allowed, want)
		}
	}
	// Marks and resets keep working too.
	slowest = max(slowest, timed(func() {
		if err := l.Mark(ctx, "known-"+key, time.Hour); err != nil {
			t.Fatalf("Mark: %v", err)
		}
	}))
	slowest = max(slowest, timed(func() {
		if known, err := l.Marked(ctx, "known-"+key); err != nil || !known {
			t.Fatalf("Marked after Mark: %v %v", known, err)
		}
	}))
	slowest = max(slowest, timed(func() {
		if err := l.Reset(ctx, key); err != nil {
			t.Fatalf("Reset: %v", err)
		}
	}))
	if d, err := l.Allow(ctx, key, rule, 0); err != nil || !d.Allowed {
		t.Fatalf("after Reset: %+v %v", d, err)
	}
	if slowest > redisTimeout+slack {
		t.Errorf("the slowest call took %v, want at most about the Redis timeout (%v)", slowest, redisTimeout)
	}
	return slowest
}

// Redis down at start: the limiter starts (Check says so), limits hold
// from the process, and no call waits for Redis.
func TestFallbackRedisDownAtStart(t *testing.T) {
	f, proxy, _ := fallbackThroughProxy(t)
	proxy.Cut()
	if err := f.Check(context.Background()); err == nil || !f.Down() {
		t.Fatalf("Check with Redis cut: %v, down %v", err, f.Down())
	}
	slowest := limitHolds(t, f, "start", 0)
	if f.Fallbacks() == 0 {
		t.Error("no call counted as answered by the fallback")
	}
	t.Logf("Redis down at start: slowest call %v, %d calls answered in process", slowest, f.Fallbacks())
}

// Redis cut, or hung, mid-run: limits keep holding, and continue the
// count this replica had (two events spent through Redis before the
// fault leave one), within the Redis timeout.
func TestFallbackRedisFaultMidRun(t *testing.T) {
	for _, fault := range []string{"cut", "hung"} {
		t.Run(fault, func(t *testing.T) {
			f, proxy, prefix := fallbackThroughProxy(t)
			ctx := context.Background()
			rule := ratelimit.Rule{Limit: 3, Per: time.Hour}
			for range 2 {
				if d, err := f.Allow(ctx, "k", rule, 1); err != nil || !d.Allowed {
					t.Fatalf("through Redis: %+v %v", d, err)
				}
			}
			if n, err := testenv.Redis(t).Exists(ctx, prefix+"k").Result(); err != nil || n != 1 {
				t.Fatalf("the events are not in Redis: %v %v", n, err)
			}
			if fault == "cut" {
				proxy.Cut()
			} else {
				proxy.Hang()
			}
			slowest := limitHolds(t, f, "k", 2)
			if !f.Down() || f.Fallbacks() == 0 {
				t.Fatalf("Redis %s, yet down %v, %d calls answered in process", fault, f.Down(), f.Fallbacks())
			}
			// Once down, calls go to the process without trying Redis.
			var calls time.Duration
			for i := range 100 {
				calls += timed(func() { f.Allow(ctx, "many-"+strconv.Itoa(i), rule, 1) })
			}
			t.Logf("Redis %s: slowest call %v (the first finds out), then %v per call on average", fault, slowest, calls/100)
			if calls/100 > 5*time.Millisecond {
				t.Errorf("Redis %s: %v per call while down", fault, calls/100)
			}
		})
	}
}

// Redis back: new decisions come from Redis again, within about the
// retry interval; the outage's answers in process do not stay.
func TestFallbackRedisBack(t *testing.T) {
	for _, fault := range []string{"cut", "hung"} {
		t.Run(fault, func(t *testing.T) {
			f, proxy, prefix := fallbackThroughProxy(t)
			rdb := testenv.Redis(t)
			ctx := context.Background()
			rule := ratelimit.Rule{Limit: 3, Per: time.Hour}
			if fault == "cut" {
				proxy.Cut()
			} else {
				proxy.Hang()
			}
			if err := f.Check(ctx); err == nil {
				t.Fatal("Check passed with Redis " + fault)
			}
			proxy.Restore()
			back := time.Now()
			for f.Down() {
				if time.Since(back) > 5*time.Second {
					t.Fatal("still on the fallback 5 s after Redis came back")
				}
				// Calls start the check; they are answered at once.
				f.Allow(ctx, "poll", rule, 0)
				time.Sleep(5 * time.Millisecond)
			}
			t.Logf("after Redis %s: back on Redis %v after it answered again", fault, time.Since(back))
			// Connections pooled before the fault may still be dead (a
			// hung one is found out by its timeout): each call that draws
			// one is answered in process, as during the outage. Wait until
			// three calls in a row are answered by Redis.
			for inRow := 0; inRow < 3; {
				if time.Since(back) > 10*time.Second {
					t.Fatal("10 s after Redis came back, calls are still answered in process")
				}
				before := f.Fallbacks()
				f.Allow(ctx, "warm", rule, 0)
				if f.Fallbacks() == before {
					inRow++
				} else {
					inRow = 0
				}
			}

			// A key that only Redis holds decides: a burst spent there
			// (as by another replica) is refused here, and a mark made
			// there is seen.
			tat := time.Now().Add(2 * time.Hour).UnixMicro()
			if err := rdb.Set(ctx, prefix+"spent", fmt.Sprint(tat), time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			if d, err := f.Allow(ctx, "spent", rule, 1); err != nil || d.Allowed {
				t.Fatalf("a key exhausted in Redis: %+v %v", d, err)
			}
			if err := rdb.Set(ctx, prefix+"known:elsewhere", "1", time.Hour).Err(); err != nil {
				t.Fatal(err)
			}
			// A read may still draw a connection pooled before the fault
			// and be answered in process (which knows no such mark); one
			// of a few must reach Redis and see it.
			seen := false
			for range 5 {
				known, err := f.Marked(ctx, "elsewhere")
				if err != nil {
					t.Fatalf("a mark made in Redis: %v", err)
				}
				if known {
					seen = true
					break
				}
			}
			if !seen {
				t.Fatal("a mark made in Redis: five reads after Redis came back did not see it")
			}
			// And decisions are recorded in Redis again. One call may still
			// outlast the bound on a loaded machine (the race detector, a
			// CI run's other packages) and be answered in process, as it
			// should; of a few fresh keys, one must be decided in Redis.
			recorded := false
			for i := range 5 {
				key := "new-" + strconv.Itoa(i)
				before := f.Fallbacks()
				if d, err := f.Allow(ctx, key, rule, 1); err != nil || !d.Allowed {
					t.Fatalf("a fresh key: %+v %v", d, err)
				}
				if f.Fallbacks() != before {
					t.Logf("%s: answered in process (the call outlasted its bound)", key)
					continue
				}
				if n, err := rdb.Exists(ctx, prefix+key).Result(); err != nil || n != 1 {
					t.Fatalf("a decision Redis answered is not in Redis: %v %v", n, err)
				}
				recorded = true
				break
			}
			if !recorded {
				t.Fatal("after Redis came back, five fresh keys were all answered in process")
			}
		})
	}
}

// A hung Redis bounds each call even for a client that ignores its
// context: the Fallback returns by the timeout whatever the primary does.
func TestFallbackBoundsAPrimaryThatIgnoresItsContext(t *testing.T) {
	stuck := make(chan struct{})
	t.Cleanup(func() { close(stuck) })
	f := ratelimit.NewFallback(stuckLimiter{stuck}, ratelimit.NewMemory(0, nil), ratelimit.FallbackConfig{Timeout: 50 * time.Millisecond})
	var d ratelimit.Decision
	var err error
	took := timed(func() { d, err = f.Allow(context.Background(), "k", ratelimit.Rule{Limit: 1, Per: time.Hour}, 1) })
	if err != nil || !d.Allowed || took > 50*time.Millisecond+slack {
		t.Fatalf("a stuck primary: %+v %v after %v", d, err, took)
	}
}

// stuckLimiter never answers until its channel closes, whatever its
// context says: a client library waiting on a read timeout of its own.
type stuckLimiter struct{ stuck chan struct{} }

func (s stuckLimiter) Allow(context.Context, string, ratelimit.Rule, int) (ratelimit.Decision, error) {
	<-s.stuck
	return ratelimit.Decision{Allowed: true}, nil
}
func (s stuckLimiter) Reset(context.Context, string) error { <-s.stuck; return nil }
func (s stuckLimiter) Mark(context.Context, string, time.Duration) error {
	<-s.stuck
	return nil
}
func (s stuckLimiter) Marked(context.Context, string) (bool, error) { <-s.stuck; return false, nil }
