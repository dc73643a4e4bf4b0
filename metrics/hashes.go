package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Hashes times the password hasher's slots and work, and counts its
// refusals (password.Observer).
type Hashes struct {
	wait     prometheus.Histogram
	duration *prometheus.HistogramVec
	refused  *prometheus.CounterVec
	gauges   []prometheus.Collector

	// hasher is read at scrape time for the queue's depth and the slots.
	hasher atomic.Pointer[watchedHasher]
}

// Hasher is what the gauges read from a password.Hasher.
type Hasher interface {
	Waiting() int
	InUse() int
	Slots() int
}

type watchedHasher struct{ Hasher }

func newHashes() *Hashes {
	h := &Hashes{
		wait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "latch_password_hash_wait_seconds",
			Help:    "Time a password hash or verification waited for a slot, when it got one.",
			Buckets: []float64{.0005, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latch_password_hash_duration_seconds",
			Help:    "Time a password hash or verification held its slot, by operation (hash or verify).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"operation"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_password_hash_refusals_total",
			Help: "Password hashes and verifications refused a slot, by reason: shed (refused at once, the expected wait exceeding the deadline: overload, answered 503), queue_full (the queue timeout passed: overload, answered 503) or canceled (the caller left first).",
		}, []string{"reason"}),
	}
	// The series of what password.Hasher tells (password.OpHash, ...)
	// are made now, so that they read 0 rather than nothing until each
	// first happens.
	for _, op := range []string{"hash", "verify"} {
		h.duration.WithLabelValues(op)
	}
	for _, r := range []string{"shed", "queue_full", "canceled"} {
		h.refused.WithLabelValues(r)
	}
	read := func(f func(Hasher) int) func() float64 {
		return func() float64 {
			if w := h.hasher.Load(); w != nil {
				return float64(f(w.Hasher))
			}
			return 0
		}
	}
	h.gauges = []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "latch_password_hash_queue_depth",
			Help: "Password hashes and verifications waiting for a slot now.",
		}, read(Hasher.Waiting)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "latch_password_hash_slots_in_use",
			Help: "Password hash slots held now.",
		}, read(Hasher.InUse)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "latch_password_hash_slots",
			Help: "Password hashes that may run at once (LATCH_HASH_SLOTS).",
		}, read(Hasher.Slots)),
	}
	return h
}

func (h *Hashes) register(reg prometheus.Registerer) {
	reg.MustRegister(h.wait, h.duration, h.refused)
	reg.MustRegister(h.gauges...)
}

// Watch makes the gauges read hasher's queue and slots. (The hasher is
// made with Hashes as its observer, so it comes after.)
func (h *Hashes) Watch(hasher Hasher) { h.hasher.Store(&watchedHasher{hasher}) }

// SlotWaited implements password.Observer.
func (h *Hashes) SlotWaited(d time.Duration) { h.wait.Observe(d.Seconds()) }

// SlotRefused implements password.Observer.
func (h *Hashes) SlotRefused(reason string) { h.refused.WithLabelValues(reason).Inc() }

// Ran implements password.Observer.
func (h *Hashes) Ran(op string, d time.Duration) { h.duration.WithLabelValues(op).Observe(d.Seconds()) }
