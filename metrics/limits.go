package metrics

import (
	"context"
	"strings"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchid/latch/ratelimit"
)

// limits counts the rate limiter's decisions and, with a shared limiter
// (Redis), the calls that fell back to this process.
type limits struct {
	decisions *prometheus.CounterVec
	funcs     []prometheus.Collector
	fallback  atomic.Pointer[watchedFallback]
}

// Fallback is what the metrics read from a ratelimit.Fallback.
type Fallback interface {
	Fallbacks() uint64
	Down() bool
}

type watchedFallback struct{ Fallback }

func newLimits() *limits {
	l := &limits{
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_ratelimit_decisions_total",
			Help: "Rate limit checks, by limit (login-ip, login-failures, mail-ip, ...) and decision (allowed, refused, error). A check that only asks counts too.",
		}, []string{"limit", "decision"}),
	}
	l.funcs = []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "latch_ratelimit_fallbacks_total",
			Help: "Rate limiter calls answered by this process because the shared limiter (Redis) failed or was slow; 0 without Redis.",
		}, func() float64 {
			if f := l.fallback.Load(); f != nil {
				return float64(f.Fallbacks())
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "latch_ratelimit_shared_down",
			Help: "1 while the shared rate limiter (Redis) is taken as down and limits are kept in this process, else 0.",
		}, func() float64 {
			if f := l.fallback.Load(); f != nil && f.Down() {
				return 1
			}
			return 0
		}),
	}
	return l
}

func (l *limits) register(reg prometheus.Registerer) {
	reg.MustRegister(l.decisions)
	reg.MustRegister(l.funcs...)
}

// WatchFallback makes the fallback metrics read f (Latch with Redis).
func (m *Metrics) WatchFallback(f Fallback) { m.limits.fallback.Store(&watchedFallback{f}) }

// Limiter returns next, counting the decisions of its Allow.
func (m *Metrics) Limiter(next ratelimit.Limiter) ratelimit.Limiter {
	return &observedLimiter{Limiter: next, decisions: m.limits.decisions}
}

// observedLimiter passes Reset, Mark and Marked on as they are
// (embedded): they decide nothing.
type observedLimiter struct {
	ratelimit.Limiter
	decisions *prometheus.CounterVec
}

func (l *observedLimiter) Allow(ctx context.Context, key string, rule ratelimit.Rule, cost int) (ratelimit.Decision, error) {
	d, err := l.Limiter.Allow(ctx, key, rule, cost)
	decision := "allowed"
	switch {
	case err != nil:
		decision = "error"
	case !d.Allowed:
		decision = "refused"
	}
	l.decisions.WithLabelValues(limitName(key), decision).Inc()
	return d, err
}

// limitName is the name of the limit a key counts for: the use cases
// build every key as "name:what" (login-ip:192.0.2.1), and the name is a
// constant of theirs. Anything else is "other": the rest of a key is an
// address or a digest, one per client.
func limitName(key string) string {
	name, _, ok := strings.Cut(key, ":")
	if !ok || name == "" || len(name) > 40 {
		return "other"
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || r == '-' || r == '_') {
			return "other"
		}
	}
	return name
}
