package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/latchid/latch/internal/testenv"
)

// TestRedisOutage runs the built binary with its rate limits in a real
// Redis behind a proxy that the test cuts and hangs. Limits must never
// fail open and a Redis fault must not make a sign-in wait: Latch starts
// while Redis is down, keeps the limits in the process while Redis is
// cut or hung, and returns to Redis once it answers again. Before, serve
// refused to start without Redis, and a Redis fault let every request
// through (a hung one after seconds per call).
func TestRedisOutage(t *testing.T) {
	proxy := testenv.StartRedisProxy(t)
	rdb := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t)
	in := newInstance(t, "sqlite://"+testenv.SQLitePath(t))
	// The per-address limit of all sign-ins is raised: this test counts
	// failures per email, and makes more than 60 sign-ins a minute.
	in.env = append(in.env, "LATCH_REDIS_URL="+proxy.URL, "LATCH_REDIS_PREFIX="+prefix, "LATCH_LOGIN_LIMIT_IP=1000/1m")

	// Ten failures per email and address (the default), then 429; no
	// sign-in waits on Redis.
	limitHolds := func(phase, email string) {
		t.Helper()
		var slowest time.Duration
		for i := range 11 {
			start := time.Now()
			s, body := in.login(t, email, "wrong password")
			elapsed := time.Now().Sub(start)
			slowest = max(slowest, elapsed)
			want := 401
			if i == 10 {
				want = 429
			}
			if s != want {
				t.Fatalf("%s: sign-in %d answered %d %v, want %d", phase, i+1, s, body, want)
			}
		}
		// The Redis timeout is 200 ms by default; a sign-in with fast
		// hashing takes milliseconds.
		if slowest > time.Second {
			t.Errorf("%s: the slowest sign-in took %v", phase, slowest)
		}
		t.Logf("%s: limit held; slowest sign-in %v", phase, slowest)
	}
	// backInRedis waits until sign-ins record their limits in Redis again.
	backInRedis := func(phase string) {
		t.Helper()
		start := time.Now()
		for i := 0; time.Since(start) < 10*time.Second; i++ {
			in.login(t, fmt.Sprintf("probe-%s-%d@example.com", phase, i), "wrong password")
			keys, err := rdb.Keys(context.Background(), prefix+"*").Result()
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) > 0 {
				t.Logf("%s: limits back in Redis after %v", phase, time.Since(start))
				if err := rdb.Del(context.Background(), keys...).Err(); err != nil {
					t.Fatal(err)
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s: no limit recorded in Redis 10 s after it came back", phase)
	}

	proxy.Cut()
	in.serve(t) // fails the test if serve does not start
	limitHolds("down at start", "start@example.com")

	proxy.Restore()
	backInRedis("after start")
	proxy.Cut()
	limitHolds("cut", "cut@example.com")

	proxy.Restore()
	backInRedis("after cut")
	proxy.Hang()
	limitHolds("hung", "hung@example.com")

	proxy.Restore()
	backInRedis("after hang")
}
