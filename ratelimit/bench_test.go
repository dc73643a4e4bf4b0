package ratelimit_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch/ratelimit"
)

// BenchmarkMemoryParallel is the in-memory limiter as a server calls it:
// from every core at once, behind one mutex. "keys" spreads the calls over
// many clients (the usual case: each request its own address and account);
// "one_key" sends them all to one key (a flood aimed at one account).
func BenchmarkMemoryParallel(b *testing.B) {
	rule := ratelimit.Rule{Limit: 10, Per: time.Minute}
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = fmt.Sprintf("ip:192.0.2.%d/%d", i%256, i)
	}
	for _, bc := range []struct {
		name string
		keys []string
	}{
		{"keys", keys},
		{"one_key", keys[:1]},
	} {
		b.Run(bc.name, func(b *testing.B) {
			l := ratelimit.NewMemory(0, nil)
			ctx := context.Background()
			var goroutine atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				// Goroutines start at different keys, so that they do not
				// walk the table in step.
				i := int(goroutine.Add(1)) * 7919
				for pb.Next() {
					if _, err := l.Allow(ctx, bc.keys[i%len(bc.keys)], rule, 1); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
