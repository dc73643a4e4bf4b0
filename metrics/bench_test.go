package metrics_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchid/latch"
	"github.com/latchid/latch/metrics"
)

// BenchmarkObserveRequest is what the request metrics add to every
// request (the middleware's own cost is BenchmarkMiddlewareDecodeJSON in
// api/httpx): one series of a few, as in production where a route,
// method and status repeat; "parallel" is every core at once.
func BenchmarkObserveRequest(b *testing.B) {
	r := metrics.New(prometheus.NewRegistry()).Requests()
	statuses := [...]int{200, 200, 200, 401}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			r.ObserveRequest("POST /v1/token", "POST", statuses[i%len(statuses)], 3*time.Millisecond)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				r.ObserveRequest("POST /v1/token", "POST", statuses[i%len(statuses)], 3*time.Millisecond)
				i++
			}
		})
	})
}

// pingStore is a Store whose Ping does nothing: what remains is the
// observed store's own cost.
type pingStore struct{ latch.Store }

func (pingStore) Ping(context.Context) error { return nil }

// BenchmarkObservedStore is what timing adds to every store call (a
// SQLite primary-key read is about 25 µs; see README, Performance).
func BenchmarkObservedStore(b *testing.B) {
	st := metrics.New(prometheus.NewRegistry()).Store(pingStore{})
	ctx := context.Background()
	b.ReportAllocs()
	for range b.N {
		if err := st.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
