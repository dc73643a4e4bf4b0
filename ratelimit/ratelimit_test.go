package ratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/ratelimit"
	"github.com/latchid/latch/ratelimit/redislimit"
)

// Both limiters must behave the same; the suite runs on each. Each is
// made inside its own subtest, so that without Redis (outside CI) only
// the Redis cases skip, never the memory limiter's.
var limiters = map[string]func(t *testing.T) ratelimit.Limiter{
	"memory": func(*testing.T) ratelimit.Limiter { return ratelimit.NewMemory(0, nil) },
	"redis": func(t *testing.T) ratelimit.Limiter {
		return redislimit.New(testenv.Redis(t), testenv.RedisPrefix(t))
	},
}

func TestLimiters(t *testing.T) {
	for name, open := range limiters {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			rule := ratelimit.Rule{Limit: 3, Per: time.Hour}
			for i := range 3 {
				d, err := l.Allow(ctx, "a", rule, 1)
				if err != nil || !d.Allowed {
					t.Fatalf("event %d of a burst of 3: %+v %v", i+1, d, err)
				}
			}
			// Asking (cost 0) records nothing and says no.
			for range 2 {
				d, err := l.Allow(ctx, "a", rule, 0)
				if err != nil || d.Allowed {
					t.Fatalf("probe after the burst: %+v %v", d, err)
				}
			}
			d, err := l.Allow(ctx, "a", rule, 1)
			if err != nil || d.Allowed || d.RetryAfter <= 19*time.Minute || d.RetryAfter > 20*time.Minute {
				t.Fatalf("4th event: %+v %v, want refused for about 20 minutes", d, err)
			}
			// Other keys are independent, and probes do not use up a key.
			for range 5 {
				if d, _ := l.Allow(ctx, "b", rule, 0); !d.Allowed {
					t.Fatal("probing a fresh key refused")
				}
			}
			if d, _ := l.Allow(ctx, "b", rule, 3); !d.Allowed {
				t.Fatal("a cost of 3 on a fresh key with a burst of 3 refused")
			}
			if d, _ := l.Allow(ctx, "b", rule, 1); d.Allowed {
				t.Fatal("a 4th event on b allowed")
			}
			if d, _ := l.Allow(ctx, "c", ratelimit.Rule{}, 1); !d.Allowed {
				t.Fatal("a disabled rule refused")
			}
		})
	}
}

func TestMemoryRecoversWithTime(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l := ratelimit.NewMemory(0, func() time.Time { return now })
	rule := ratelimit.Rule{Limit: 2, Per: time.Minute}
	ctx := context.Background()
	l.Allow(ctx, "k", rule, 2)
	if d, _ := l.Allow(ctx, "k", rule, 1); d.Allowed || d.RetryAfter != 30*time.Second {
		t.Fatalf("after the burst: %+v", d)
	}
	now = now.Add(30 * time.Second)
	if d, _ := l.Allow(ctx, "k", rule, 1); !d.Allowed {
		t.Fatal("one event's interval later, still refused")
	}
}

func TestMemoryIsBounded(t *testing.T) {
	now := time.Now()
	l := ratelimit.NewMemory(10, func() time.Time { return now })
	rule := ratelimit.Rule{Limit: 1, Per: time.Hour}
	for i := range 1000 {
		l.Allow(context.Background(), string(rune('a'+i%26))+string(rune(i)), rule, 1)
	}
	// The last key must still be limited: eviction never forgets the key it
	// is recording.
	if d, _ := l.Allow(context.Background(), string(rune('a'+999%26))+string(rune(999)), rule, 1); d.Allowed {
		t.Fatal("the newest key was forgotten")
	}
	// And the first ones are gone: the bound holds.
	if d, _ := l.Allow(context.Background(), string(rune('a'))+string(rune(0)), rule, 0); !d.Allowed {
		t.Fatal("the first of 1,000 keys is still kept by a limiter of 10")
	}
}

// A flood of new keys must not erase the state of the keys that matter: a
// limited key that is still in use stays limited, whatever else comes in
// that limits less (the old limiter cleared every key when full).
func TestMemoryKeepsRecentKeysWhenFull(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l := ratelimit.NewMemory(10, func() time.Time { return now })
	rule := ratelimit.Rule{Limit: 1, Per: time.Hour}
	ctx := context.Background()
	l.Allow(ctx, "victim", rule, 1)
	for i := range 1000 {
		l.Allow(ctx, fmt.Sprintf("flood-%d", i), ratelimit.Rule{Limit: 1, Per: time.Minute}, 1)
		if i%5 == 0 {
			// The victim's key is in use: it is asked about now and then.
			if d, _ := l.Allow(ctx, "victim", rule, 0); d.Allowed {
				t.Fatalf("after %d other keys, the limited key was forgotten", i+1)
			}
		}
	}
}

// When full, keys that no longer limit anything go first, before a key
// that still does, even one not used lately.
func TestMemoryEvictsExpiredFirst(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l := ratelimit.NewMemory(10, func() time.Time { return now })
	ctx := context.Background()
	long := ratelimit.Rule{Limit: 1, Per: 24 * time.Hour}
	short := ratelimit.Rule{Limit: 1, Per: time.Second}
	l.Allow(ctx, "account", long, 1)
	for i := range 1000 {
		l.Allow(ctx, fmt.Sprintf("flood-%d", i), short, 1)
		now = now.Add(2 * time.Second)
	}
	if d, _ := l.Allow(ctx, "account", long, 0); d.Allowed {
		t.Fatal("a key still limited was evicted while expired keys were kept")
	}
}

// When full, the limiter drops the key closest to limiting nothing (the
// earliest arrival time), whatever its use: a key that limits for hours
// outlives any number of keys that limit for a second. Before, a key not
// asked about lately was the least recently used and went first: cheap
// requests from fresh addresses could erase an account's failure count.
func TestMemoryEvictsEarliestArrivalFirst(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l := ratelimit.NewMemory(10, func() time.Time { return now })
	ctx := context.Background()
	account := ratelimit.Rule{Limit: 100, Per: 100 * time.Hour}
	if d, _ := l.Allow(ctx, "victim", account, 100); !d.Allowed {
		t.Fatal("a burst of 100 refused")
	}
	perIP := ratelimit.Rule{Limit: 60, Per: time.Minute}
	for i := range 100_000 {
		l.Allow(ctx, fmt.Sprintf("flood-%d", i), perIP, 1)
		if i%1000 == 0 {
			now = now.Add(time.Millisecond)
		}
	}
	if d, _ := l.Allow(ctx, "victim", account, 0); d.Allowed {
		t.Fatal("100,000 keys limiting for a second evicted a key limiting for 100 hours")
	}

	// Among keys that all still limit, the one that limits least goes.
	l = ratelimit.NewMemory(3, func() time.Time { return now })
	hours := func(n int) ratelimit.Rule { return ratelimit.Rule{Limit: 1, Per: time.Duration(n) * time.Hour} }
	l.Allow(ctx, "three", hours(3), 1)
	l.Allow(ctx, "two", hours(2), 1)
	l.Allow(ctx, "one", hours(1), 1) // the most recently used
	l.Allow(ctx, "four", hours(4), 1)
	for key, n := range map[string]int{"three": 3, "two": 2, "four": 4} {
		if d, _ := l.Allow(ctx, key, hours(n), 0); d.Allowed {
			t.Errorf("%s, limiting for %d hours, was evicted", key, n)
		}
	}
	if d, _ := l.Allow(ctx, "one", hours(1), 0); !d.Allowed {
		t.Error("the key limiting least (an hour) was kept, and another evicted")
	}
}

// Recording events under a flood stays cheap when the limiter is full: the
// earliest key is found at once, not by a walk of every key.
func BenchmarkMemoryFullFlood(b *testing.B) {
	l := ratelimit.NewMemory(100_000, nil)
	ctx := context.Background()
	rule := ratelimit.Rule{Limit: 60, Per: time.Minute}
	for i := range 100_000 {
		l.Allow(ctx, fmt.Sprintf("fill-%d", i), rule, 1)
	}
	b.ResetTimer()
	for i := range b.N {
		l.Allow(ctx, fmt.Sprintf("flood-%d", i), rule, 1)
	}
}

func TestReset(t *testing.T) {
	for name, open := range limiters {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			rule := ratelimit.Rule{Limit: 2, Per: time.Hour}
			l.Allow(ctx, "k", rule, 2)
			l.Allow(ctx, "other", rule, 2)
			if d, _ := l.Allow(ctx, "k", rule, 0); d.Allowed {
				t.Fatal("over the limit, allowed")
			}
			if err := l.Reset(ctx, "k"); err != nil {
				t.Fatal(err)
			}
			if d, err := l.Allow(ctx, "k", rule, 2); err != nil || !d.Allowed {
				t.Fatalf("after Reset, a full burst: %+v %v", d, err)
			}
			if d, _ := l.Allow(ctx, "other", rule, 0); d.Allowed {
				t.Fatal("Reset of one key reset another")
			}
			if err := l.Reset(ctx, "never-seen"); err != nil {
				t.Fatalf("Reset of an unknown key: %v", err)
			}
		})
	}
}

// A mark is remembered for its time to live, per key, and a later mark
// starts that time again.
func TestMarks(t *testing.T) {
	for name, open := range limiters {
		t.Run(name, func(t *testing.T) {
			l := open(t)
			ctx := context.Background()
			if known, err := l.Marked(ctx, "known:a"); err != nil || known {
				t.Fatalf("a key never marked: %v %v", known, err)
			}
			if err := l.Mark(ctx, "known:a", time.Hour); err != nil {
				t.Fatal(err)
			}
			if known, err := l.Marked(ctx, "known:a"); err != nil || !known {
				t.Fatalf("after Mark: %v %v", known, err)
			}
			if known, _ := l.Marked(ctx, "known:b"); known {
				t.Fatal("marking one key marked another")
			}
			// Marks and limits do not meet: a limit on the same name
			// neither sees nor clears the mark.
			if d, _ := l.Allow(ctx, "known:a", ratelimit.Rule{Limit: 1, Per: time.Hour}, 1); !d.Allowed {
				t.Fatal("a mark counted as a limit event")
			}
			if err := l.Mark(ctx, "known:a", 30*24*time.Hour); err != nil {
				t.Fatal(err)
			}
			if known, _ := l.Marked(ctx, "known:a"); !known {
				t.Fatal("marked again: forgotten")
			}
		})
	}
}

func TestMemoryMarksLapse(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	l := ratelimit.NewMemory(10, func() time.Time { return now })
	ctx := context.Background()
	l.Mark(ctx, "old", time.Hour)
	l.Mark(ctx, "renewed", time.Hour)
	now = now.Add(50 * time.Minute)
	l.Mark(ctx, "renewed", time.Hour)
	now = now.Add(20 * time.Minute)
	if known, _ := l.Marked(ctx, "old"); known {
		t.Fatal("a mark outlived its time to live")
	}
	if known, _ := l.Marked(ctx, "renewed"); !known {
		t.Fatal("a renewed mark lapsed from its first time")
	}
	// Bounded: a flood of marks drops the oldest, and never a limit.
	l.Allow(ctx, "limit", ratelimit.Rule{Limit: 1, Per: time.Hour}, 1)
	for i := range 1000 {
		l.Mark(ctx, fmt.Sprintf("flood-%d", i), time.Hour)
	}
	if known, _ := l.Marked(ctx, "flood-0"); known {
		t.Fatal("1,000 marks kept by a limiter of 10")
	}
	if known, _ := l.Marked(ctx, "flood-999"); !known {
		t.Fatal("the newest mark was dropped")
	}
	if d, _ := l.Allow(ctx, "limit", ratelimit.Rule{Limit: 1, Per: time.Hour}, 0); d.Allowed {
		t.Fatal("marks evicted a limit")
	}
}

func TestRedisMarksExpire(t *testing.T) {
	rdb := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t)
	l := redislimit.New(rdb, prefix)
	ctx := context.Background()
	if err := l.Mark(ctx, "k", 30*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.PTTL(ctx, prefix+"known:k").Result()
	if err != nil || ttl < 29*24*time.Hour || ttl > 30*24*time.Hour {
		t.Fatalf("a mark's time to live in Redis: %v %v", ttl, err)
	}
}

func TestParseRule(t *testing.T) {
	for in, want := range map[string]ratelimit.Rule{"10/10m": {10, 10 * time.Minute}, "off": {}, "0": {}, " 5/1s ": {5, time.Second}} {
		got, err := ratelimit.ParseRule(in)
		if err != nil || got != want {
			t.Errorf("ParseRule(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "10", "x/1m", "10/", "10/x", "-1/1m", "10/-1m"} {
		if _, err := ratelimit.ParseRule(bad); err == nil {
			t.Errorf("ParseRule(%q) accepted", bad)
		}
	}
}
