package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/mail"
)

const retryAfter = 30 * time.Second

// workerEnv is a worker over a fresh store, delivering to a capture
// server, on a settable clock.
type workerEnv struct {
	store  latch.Store
	smtp   *testenv.SMTPServer
	clock  *testenv.Clock
	worker *mail.Worker
	logs   *syncBuffer
}

// syncBuffer is a log sink the worker and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testOpen stands in for token.Keys.Open: the "sealed" form is plain JSON.
func testOpen(sealed []byte) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal(sealed, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func newWorkerEnv(t *testing.T, b testenv.Backend, edit func(*mail.WorkerConfig, *workerEnv)) *workerEnv {
	t.Helper()
	e := &workerEnv{store: b.Open(t), smtp: testenv.StartSMTP(t), clock: testenv.NewClock(), logs: &syncBuffer{}}
	sender, err := mail.NewSMTP(e.smtp.URL(), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	cfg := mail.WorkerConfig{
		Store:     e.store,
		Open:      testOpen,
		Sender:    sender,
		Templates: mail.Templates{PublicURL: "https://id.example.com"},
		Now:       e.clock.Now,
		Log:       slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Backoff:   func(int) time.Duration { return retryAfter },
	}
	if edit != nil {
		edit(&cfg, e)
	}
	e.worker = mail.NewWorker(cfg)
	return e
}

// enqueue adds a recovery message to to and returns its id.
func (e *workerEnv) enqueue(t *testing.T, to string, data []byte) string {
	t.Helper()
	id := uuid.Must(uuid.NewV7()).String()
	err := e.store.EnqueueMail(t.Context(), latch.MailMessage{
		ID: id, To: to, Template: latch.MailRecovery, Data: data, CreatedAt: e.clock.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func recoveryData(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]string{"link": testLink, "first_name": "Ada", "expires": "1 hour"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *workerEnv) message(t *testing.T, id string) latch.MailMessage {
	t.Helper()
	all, err := e.store.MailMessages(t.Context(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("message %s not in the outbox", id)
	return latch.MailMessage{}
}

func (e *workerEnv) runOnce(t *testing.T, wantSent int, wantErr bool) {
	t.Helper()
	sent, err := e.worker.RunOnce(t.Context())
	if sent != wantSent || (err != nil) != wantErr {
		t.Fatalf("RunOnce = %d, %v; want %d sent, error %v", sent, err, wantSent, wantErr)
	}
}

// checkLogs fails if the logs hold the link or a body.
func (e *workerEnv) checkLogs(t *testing.T) {
	t.Helper()
	logs := e.logs.String()
	for _, secret := range []string{"SECRETTOKEN", "Someone asked"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs hold %q:\n%s", secret, logs)
		}
	}
}

func TestWorker(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("Delivers", func(t *testing.T) { t.Parallel(); testDelivers(t, b) })
			t.Run("Outage", func(t *testing.T) { t.Parallel(); testOutage(t, b) })
			t.Run("Unopenable", func(t *testing.T) { t.Parallel(); testUnopenable(t, b) })
			t.Run("MaxAttempts", func(t *testing.T) { t.Parallel(); testMaxAttempts(t, b) })
			t.Run("Batch", func(t *testing.T) { t.Parallel(); testBatch(t, b) })
			t.Run("SlowBatch", func(t *testing.T) { t.Parallel(); testSlowBatch(t, b) })
			t.Run("RunAndNotify", func(t *testing.T) { t.Parallel(); testRunAndNotify(t, b) })
		})
	}
}

func testDelivers(t *testing.T, b testenv.Backend) {
	e := newWorkerEnv(t, b, nil)
	id := e.enqueue(t, "ada@example.com", recoveryData(t))

	e.runOnce(t, 1, false)
	got := e.smtp.WaitFor(t, "ada@example.com", 5*time.Second)
	if got.Subject != "Reset your Latch password" {
		t.Errorf("Subject = %q", got.Subject)
	}
	if l := linkRE.FindString(got.Text); l != testLink {
		t.Errorf("link in text = %q", l)
	}
	if !strings.Contains(got.Text, "Hi Ada,") || !strings.Contains(got.HTML, "Hi Ada,") {
		t.Error("the data did not reach the template")
	}

	m := e.message(t, id)
	if m.Status() != "sent" || m.Data != nil || m.Attempts != 1 {
		t.Errorf("after delivery: status %s, data %q, attempts %d", m.Status(), m.Data, m.Attempts)
	}
	if !m.SentAt.Equal(e.clock.Now()) {
		t.Errorf("SentAt = %v, want the worker's clock %v", m.SentAt, e.clock.Now())
	}

	// Nothing left: another pass sends nothing.
	e.clock.Advance(time.Hour)
	e.runOnce(t, 0, false)
	if n := len(e.smtp.Messages()); n != 1 {
		t.Errorf("%d messages delivered, want 1", n)
	}
	if logs := e.logs.String(); !strings.Contains(logs, id) || !strings.Contains(logs, "mail: sent") {
		t.Errorf("delivery not logged with the id:\n%s", logs)
	}
	e.checkLogs(t)
}

func testOutage(t *testing.T, b testenv.Backend) {
	e := newWorkerEnv(t, b, nil)
	id := e.enqueue(t, "ada@example.com", recoveryData(t))

	e.smtp.Stop()
	start := e.clock.Now()
	e.runOnce(t, 0, true)
	m := e.message(t, id)
	if m.Status() != "pending" || m.Attempts != 1 || m.Data == nil {
		t.Fatalf("after a failed attempt: status %s, attempts %d, data kept %v", m.Status(), m.Attempts, m.Data != nil)
	}
	if !m.NextAttemptAt.Equal(start.Add(retryAfter)) {
		t.Errorf("NextAttemptAt = %v, want %v", m.NextAttemptAt, start.Add(retryAfter))
	}
	if m.LastError == "" || strings.Contains(m.LastError, "SECRETTOKEN") {
		t.Errorf("LastError = %q", m.LastError)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, id) || !strings.Contains(logs, "template=recovery") {
		t.Errorf("failure not logged at Warn with id and template:\n%s", logs)
	}

	// Not due yet: nothing is claimed, even with the server back.
	e.smtp.Start()
	e.clock.Advance(retryAfter - time.Second)
	e.runOnce(t, 0, false)
	if n := len(e.smtp.Messages()); n != 0 {
		t.Fatalf("%d messages delivered before the retry time", n)
	}

	e.clock.Advance(2 * time.Second)
	e.runOnce(t, 1, false)
	e.smtp.WaitFor(t, "ada@example.com", 5*time.Second)
	m = e.message(t, id)
	if m.Status() != "sent" || m.Attempts != 2 || m.Data != nil {
		t.Errorf("after retry: status %s, attempts %d, data kept %v", m.Status(), m.Attempts, m.Data != nil)
	}

	e.clock.Advance(time.Hour)
	e.runOnce(t, 0, false)
	if n := len(e.smtp.Messages()); n != 1 {
		t.Errorf("%d messages delivered, want exactly 1", n)
	}
	e.checkLogs(t)
}

func testUnopenable(t *testing.T, b testenv.Backend) {
	e := newWorkerEnv(t, b, nil)
	garbled := e.enqueue(t, "ada@example.com", []byte("SECRETTOKEN not json"))
	empty := e.enqueue(t, "bob@example.com", nil)
	data, _ := json.Marshal(map[string]string{"first_name": "no link"})
	unrenderable := e.enqueue(t, "cy@example.com", data)

	e.runOnce(t, 0, true)
	// Data that does not open is retried (the key may be one this
	// replica has not loaded yet), like a failed send.
	if m := e.message(t, garbled); m.Status() != "pending" || m.Attempts != 1 || strings.Contains(m.LastError, "SECRETTOKEN") {
		t.Errorf("unopenable data: status %s, attempts %d, last error %q; want pending", m.Status(), m.Attempts, m.LastError)
	}
	for _, id := range []string{empty, unrenderable} {
		m := e.message(t, id)
		if m.Status() != "failed" || m.Data != nil || m.LastError == "" {
			t.Errorf("%s: status %s, data %q, last error %q; want failed at once", id, m.Status(), m.Data, m.LastError)
		}
		if strings.Contains(m.LastError, "SECRETTOKEN") {
			t.Errorf("LastError holds the data: %q", m.LastError)
		}
	}
	if n := len(e.smtp.Messages()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
	// The given-up ones are never tried again; the unopenable one is.
	e.clock.Advance(24 * time.Hour)
	e.runOnce(t, 0, true)
	if m := e.message(t, garbled); m.Attempts != 2 {
		t.Errorf("unopenable data: attempts %d after a retry, want 2", m.Attempts)
	}
	e.checkLogs(t)
}

func testMaxAttempts(t *testing.T, b testenv.Backend) {
	e := newWorkerEnv(t, b, func(c *mail.WorkerConfig, _ *workerEnv) { c.MaxAttempts = 3 })
	id := e.enqueue(t, "ada@example.com", recoveryData(t))
	e.smtp.Stop()
	for attempt := 1; attempt <= 3; attempt++ {
		e.runOnce(t, 0, true)
		m := e.message(t, id)
		want := "pending"
		if attempt == 3 {
			want = "failed"
		}
		if m.Attempts != attempt || m.Status() != want {
			t.Fatalf("attempt %d: attempts %d, status %s; want %s", attempt, m.Attempts, m.Status(), want)
		}
		e.clock.Advance(retryAfter)
	}
	m := e.message(t, id)
	if m.Data != nil || m.FailedAt == nil || !m.FailedAt.Equal(e.clock.Now().Add(-retryAfter)) {
		t.Errorf("given up: data kept %v, FailedAt %v", m.Data != nil, m.FailedAt)
	}
	e.smtp.Start()
	e.clock.Advance(24 * time.Hour)
	e.runOnce(t, 0, false)
	if n := len(e.smtp.Messages()); n != 0 {
		t.Errorf("a message given up was delivered")
	}
	e.checkLogs(t)
}

func testBatch(t *testing.T, b testenv.Backend) {
	e := newWorkerEnv(t, b, func(c *mail.WorkerConfig, _ *workerEnv) { c.Batch = 2 })
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		e.enqueue(t, to, recoveryData(t))
		e.clock.Advance(time.Millisecond) // oldest first
	}
	e.runOnce(t, 2, false)
	e.smtp.WaitFor(t, "a@example.com", 5*time.Second)
	e.smtp.WaitFor(t, "b@example.com", 5*time.Second)
	e.runOnce(t, 1, false)
	e.smtp.WaitFor(t, "c@example.com", 5*time.Second)
	e.runOnce(t, 0, false)
}

// slowSender sends through next and then advances the clock.
type slowSender struct {
	next  mail.Sender
	clock *testenv.Clock
	d     time.Duration
}

func (s slowSender) Send(ctx context.Context, m mail.Message) error {
	defer s.clock.Advance(s.d)
	return s.next.Send(ctx, m)
}

// testSlowBatch: a message is not started once half its lease has gone,
// so that another worker cannot claim it again while it is being sent.
func testSlowBatch(t *testing.T, b testenv.Backend) {
	e := newWorkerEnv(t, b, func(c *mail.WorkerConfig, e *workerEnv) {
		c.Lease = time.Minute
		c.Sender = slowSender{c.Sender, e.clock, 20 * time.Second}
	})
	for _, to := range []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"} {
		e.enqueue(t, to, recoveryData(t))
		e.clock.Advance(time.Millisecond)
	}
	// Sends at +0s and +20s; at +40s half the lease has gone.
	e.runOnce(t, 2, false)
	e.smtp.WaitFor(t, "a@example.com", 5*time.Second)
	e.smtp.WaitFor(t, "b@example.com", 5*time.Second)
	e.runOnce(t, 0, false) // c and d are still leased
	e.clock.Advance(20 * time.Second)
	e.runOnce(t, 2, false)
	e.smtp.WaitFor(t, "c@example.com", 5*time.Second)
	e.smtp.WaitFor(t, "d@example.com", 5*time.Second)
	if n := len(e.smtp.Messages()); n != 4 {
		t.Errorf("%d messages delivered, want 4", n)
	}
}

// claimSignal reports each ClaimMail call.
type claimSignal struct {
	latch.OutboxStore
	claims chan struct{}
}

func (c claimSignal) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]latch.MailMessage, error) {
	defer func() {
		select {
		case c.claims <- struct{}{}:
		default:
		}
	}()
	return c.OutboxStore.ClaimMail(ctx, now, lease, limit)
}

func testRunAndNotify(t *testing.T, b testenv.Backend) {
	claims := make(chan struct{}, 1)
	e := newWorkerEnv(t, b, func(c *mail.WorkerConfig, _ *workerEnv) {
		c.Store = claimSignal{c.Store, claims}
		c.Interval = time.Hour // only Notify can wake it in time
	})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); e.worker.Run(ctx) }()

	select { // the first pass, at start, finds nothing
	case <-claims:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not poll at start")
	}
	for _, to := range []string{"a@example.com", "b@example.com"} {
		e.enqueue(t, to, recoveryData(t))
		e.worker.Notify()
		e.worker.Notify() // never blocks
		e.smtp.WaitFor(t, to, 5*time.Second)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
	e.checkLogs(t)
}

func TestDefaultBackoff(t *testing.T) {
	cases := []struct {
		attempt int
		base    time.Duration
	}{
		{0, 15 * time.Second}, {1, 15 * time.Second}, {2, 30 * time.Second}, {3, time.Minute},
		{8, 32 * time.Minute}, {9, time.Hour}, {12, time.Hour}, {1000, time.Hour},
	}
	for _, c := range cases {
		for range 20 {
			d := mail.DefaultBackoff(c.attempt)
			if d < c.base || d > c.base+c.base/10 {
				t.Errorf("DefaultBackoff(%d) = %v, want %v plus at most 10%%", c.attempt, d, c.base)
			}
		}
	}
}

// failingSender fails every send with an error, or with ErrUndeliverable.
type failingSender struct{ err error }

func (f failingSender) Send(context.Context, mail.Message) error { return f.err }

func TestWorkerUndeliverable(t *testing.T) {
	b := testenv.Backends()[0] // sqlite: the behaviour is the worker's
	e := newWorkerEnv(t, b, func(c *mail.WorkerConfig, _ *workerEnv) {
		c.Sender = failingSender{errors.Join(mail.ErrUndeliverable, errors.New("bad address"))}
	})
	id := e.enqueue(t, "ada@example.com", recoveryData(t))
	e.runOnce(t, 0, true)
	if m := e.message(t, id); m.Status() != "failed" || m.Attempts != 1 {
		t.Errorf("undeliverable: status %s, attempts %d; want failed after one attempt", m.Status(), m.Attempts)
	}
}

// TestWorkerSendsOnlyToCanonical: a message queued to another spelling of
// an address (an outbox row from before the canonical form) goes to the
// canonical address, and one to an address without a canonical form (a
// zero-width space, the Kelvin sign) is given up without a word sent.
func TestWorkerSendsOnlyToCanonical(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			e := newWorkerEnv(t, b, nil)
			ok := e.enqueue(t, "Ada@ＥＸＡＭＰＬＥ.com", recoveryData(t))
			e.runOnce(t, 1, false)
			got := e.smtp.WaitFor(t, "ada@example.com", 5*time.Second)
			if len(got.To) != 1 || got.To[0] != "ada@example.com" {
				t.Fatalf("recipients %q, want exactly ada@example.com", got.To)
			}
			if m := e.message(t, ok); m.Status() != "sent" {
				t.Fatalf("status %s", m.Status())
			}
			for _, to := range []string{"ada\u200b@example.com", "\u212Aelvin@example.com"} {
				id := e.enqueue(t, to, recoveryData(t))
				e.runOnce(t, 0, true)
				if m := e.message(t, id); m.Status() != "failed" || m.Attempts != 1 {
					t.Errorf("%q: status %s, attempts %d; want failed after one attempt", to, m.Status(), m.Attempts)
				}
			}
			if n := len(e.smtp.Messages()); n != 1 {
				t.Fatalf("%d messages sent, want 1", n)
			}
		})
	}
}
