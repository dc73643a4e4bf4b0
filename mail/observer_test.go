package mail_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/mail"
)

// outcomes is a mail.Observer that keeps what it is told.
type outcomes struct {
	mu   sync.Mutex
	seen []string
}

func (o *outcomes) Sent(template string) { o.add(template + " sent") }

func (o *outcomes) Failed(template string, givenUp bool) {
	if givenUp {
		o.add(template + " given up")
		return
	}
	o.add(template + " failed")
}

func (o *outcomes) add(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.seen = append(o.seen, s)
}

func (o *outcomes) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.seen
	o.seen = nil
	return s
}

// TestWorkerObserver checks that the worker tells its observer of every
// attempt: a failure to be retried, the last failure, a delivery.
func TestWorkerObserver(t *testing.T) {
	b := testenv.Backends()[0] // sqlite: the behaviour is the worker's
	seen := &outcomes{}
	e := newWorkerEnv(t, b, func(c *mail.WorkerConfig, _ *workerEnv) { c.MaxAttempts, c.Observer = 2, seen })
	e.enqueue(t, "ada@example.com", recoveryData(t))
	e.smtp.Stop()
	e.runOnce(t, 0, true)
	if got := seen.take(); !slices.Equal(got, []string{"recovery failed"}) {
		t.Errorf("first failed attempt: observed %q", got)
	}
	e.clock.Advance(retryAfter)
	e.runOnce(t, 0, true)
	if got := seen.take(); !slices.Equal(got, []string{"recovery given up"}) {
		t.Errorf("last failed attempt: observed %q", got)
	}
	e.smtp.Start()
	e.enqueue(t, "bob@example.com", recoveryData(t))
	e.clock.Advance(time.Hour)
	e.runOnce(t, 1, false)
	if got := seen.take(); !slices.Equal(got, []string{"recovery sent"}) {
		t.Errorf("delivery: observed %q", got)
	}
}
