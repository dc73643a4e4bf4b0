package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Outbox counts the mail outbox's messages queued, sent and failed, and
// reports the age of the oldest one pending (mail.Observer).
type Outbox struct {
	queued *prometheus.CounterVec
	sent   *prometheus.CounterVec
	failed *prometheus.CounterVec
	age    *outboxAge
}

// OutboxSource is the store the oldest pending message's age is read
// from (latch.OutboxStore's method).
type OutboxSource interface {
	OldestPendingMail(ctx context.Context) (time.Time, error)
}

// Reading the oldest pending message: an index lookup, bounded by
// ageTimeout, and done at most once every ageEvery however often
// /metrics is asked (it may be public).
const (
	ageEvery   = 5 * time.Second
	ageTimeout = 2 * time.Second
)

func newOutbox(queued *prometheus.CounterVec) *Outbox {
	o := &Outbox{
		queued: queued,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_outbox_sent_total",
			Help: "Messages of the mail outbox delivered, by template.",
		}, []string{"template"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_outbox_failed_total",
			Help: "Failed delivery attempts of outbox messages, by template and outcome (retry: tried again later; given_up: the message is failed for good).",
		}, []string{"template", "outcome"}),
		age: &outboxAge{desc: prometheus.NewDesc("latch_outbox_oldest_pending_age_seconds",
			"Age of the oldest message of the mail outbox neither sent nor failed (0: none); absent while the store cannot tell.", nil, nil)},
	}
	// The templates of package latch (latch.MailRecovery, ...), made now
	// so that they read 0 rather than nothing until each first happens.
	for _, t := range []string{"set_password", "password_set", "verify_email", "signup_exists", "recovery", "recovery_code_used", "passkey_added", "factors_reset"} {
		o.queued.WithLabelValues(t)
		o.sent.WithLabelValues(t)
		o.failed.WithLabelValues(t, "retry")
		o.failed.WithLabelValues(t, "given_up")
	}
	return o
}

func (o *Outbox) register(reg prometheus.Registerer) {
	reg.MustRegister(o.sent, o.failed, o.age)
}

// Watch makes the age of the oldest pending message read from src at
// scrape time, measured on the clock now.
func (o *Outbox) Watch(src OutboxSource, now func() time.Time) {
	o.age.mu.Lock()
	defer o.age.mu.Unlock()
	o.age.src, o.age.now, o.age.checked = src, now, time.Time{}
}

// Sent implements mail.Observer.
func (o *Outbox) Sent(template string) { o.sent.WithLabelValues(template).Inc() }

// Failed implements mail.Observer.
func (o *Outbox) Failed(template string, givenUp bool) {
	outcome := "retry"
	if givenUp {
		outcome = "given_up"
	}
	o.failed.WithLabelValues(template, outcome).Inc()
}

// outboxAge is a collector that reads the oldest pending message when
// scraped, at most once every ageEvery; between reads it reports the age
// of the message it found, on the clock.
type outboxAge struct {
	desc *prometheus.Desc

	mu      sync.Mutex // one read at a time; scrapes meanwhile wait for it
	src     OutboxSource
	now     func() time.Time
	checked time.Time // when src was last read; zero: never, or it failed
	oldest  time.Time // what it said (zero: nothing pending)
}

func (c *outboxAge) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *outboxAge) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.src == nil {
		return
	}
	now := c.now()
	if c.checked.IsZero() || now.Sub(c.checked) >= ageEvery || now.Before(c.checked) {
		ctx, cancel := context.WithTimeout(context.Background(), ageTimeout)
		oldest, err := c.src.OldestPendingMail(ctx)
		cancel()
		if err != nil {
			// Absent rather than a guess; the store's error is counted
			// (latch_store_errors_total) when src is the observed store.
			c.checked = time.Time{}
			return
		}
		c.checked, c.oldest = now, oldest
	}
	age := 0.0
	if !c.oldest.IsZero() {
		age = max(0, now.Sub(c.oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, age)
}
