package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/metrics"
	"github.com/latchid/latch/ratelimit"
)

func newMetrics(t *testing.T) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return metrics.New(reg), reg
}

// sample returns the value of the series of family name with exactly
// labels (a counter's, a gauge's, or a histogram's count), and whether it
// exists.
func sample(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if v, ok := labels[l.GetName()]; !ok || v != l.GetValue() {
					continue series
				}
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), true
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), true
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
			t.Fatalf("%s: type %v", name, f.GetType())
		}
	}
	return 0, false
}

func want(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string, value float64) {
	t.Helper()
	got, ok := sample(t, reg, name, labels)
	if !ok || got != value {
		t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, value)
	}
}

func TestRequests(t *testing.T) {
	m, reg := newMetrics(t)
	r := m.Requests()
	r.ObserveRequest("POST /v1/token", "POST", 200, 3*time.Millisecond)
	r.ObserveRequest("POST /v1/token", "POST", 200, 4*time.Millisecond)
	r.ObserveRequest("POST /v1/token", "POST", 401, time.Millisecond)
	r.ObserveRequest("", "GET", 404, time.Millisecond)
	r.ObserveRequest("", "BREW", 405, time.Millisecond)
	want(t, reg, "latch_http_requests_total", map[string]string{"route": "POST /v1/token", "method": "POST", "status": "200"}, 2)
	want(t, reg, "latch_http_requests_total", map[string]string{"route": "POST /v1/token", "method": "POST", "status": "401"}, 1)
	want(t, reg, "latch_http_requests_total", map[string]string{"route": "unmatched", "method": "GET", "status": "404"}, 1)
	want(t, reg, "latch_http_requests_total", map[string]string{"route": "unmatched", "method": "other", "status": "405"}, 1)
	want(t, reg, "latch_http_request_duration_seconds", map[string]string{"route": "POST /v1/token", "method": "POST"}, 3)
}

// TestRequestsConcurrent: the series cache holds under concurrent
// requests (run with -race).
func TestRequestsConcurrent(t *testing.T) {
	m, reg := newMetrics(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				m.Requests().ObserveRequest("GET /v1/me", "GET", 200+(i+j)%2, time.Millisecond)
			}
		})
	}
	wg.Wait()
	want(t, reg, "latch_http_request_duration_seconds", map[string]string{"route": "GET /v1/me", "method": "GET"}, 800)
	want(t, reg, "latch_http_requests_total", map[string]string{"route": "GET /v1/me", "method": "GET", "status": "201"}, 400)
}

// failingLimiter answers every call with an error.
type failingLimiter struct{ ratelimit.Limiter }

func (failingLimiter) Allow(context.Context, string, ratelimit.Rule, int) (ratelimit.Decision, error) {
	return ratelimit.Decision{}, errors.New("down")
}

func TestLimiter(t *testing.T) {
	m, reg := newMetrics(t)
	ctx := context.Background()
	limiter := m.Limiter(ratelimit.NewMemory(0, nil))
	rule := ratelimit.Rule{Limit: 1, Per: time.Hour}
	for _, key := range []string{"login-ip:192.0.2.1", "login-ip:192.0.2.1", "login-ip:192.0.2.2", "ada@example.com", "Weird:x"} {
		if _, err := limiter.Allow(ctx, key, rule, 1); err != nil {
			t.Fatal(err)
		}
	}
	want(t, reg, "latch_ratelimit_decisions_total", map[string]string{"limit": "login-ip", "decision": "allowed"}, 2)
	want(t, reg, "latch_ratelimit_decisions_total", map[string]string{"limit": "login-ip", "decision": "refused"}, 1)
	// Keys without a "name:" prefix, or with one that is not a plain
	// lowercase name, never become labels.
	want(t, reg, "latch_ratelimit_decisions_total", map[string]string{"limit": "other", "decision": "allowed"}, 2)
	if _, err := m.Limiter(failingLimiter{}).Allow(ctx, "mail-ip:x", rule, 1); err == nil {
		t.Fatal("the error was lost")
	}
	want(t, reg, "latch_ratelimit_decisions_total", map[string]string{"limit": "mail-ip", "decision": "error"}, 1)
	// Marks pass through.
	if err := limiter.Mark(ctx, "login-known:x", time.Hour); err != nil {
		t.Fatal(err)
	}
	if known, err := limiter.Marked(ctx, "login-known:x"); err != nil || !known {
		t.Fatalf("Marked = %v, %v after Mark", known, err)
	}
}

type fallbackState struct {
	n    uint64
	down bool
}

func (f *fallbackState) Fallbacks() uint64 { return f.n }
func (f *fallbackState) Down() bool        { return f.down }

func TestFallback(t *testing.T) {
	m, reg := newMetrics(t)
	// Without a shared limiter: present, and 0.
	want(t, reg, "latch_ratelimit_fallbacks_total", nil, 0)
	want(t, reg, "latch_ratelimit_shared_down", nil, 0)
	m.WatchFallback(&fallbackState{n: 7, down: true})
	want(t, reg, "latch_ratelimit_fallbacks_total", nil, 7)
	want(t, reg, "latch_ratelimit_shared_down", nil, 1)
}

type hasherState struct{ waiting, inUse, slots int }

func (h hasherState) Waiting() int { return h.waiting }
func (h hasherState) InUse() int   { return h.inUse }
func (h hasherState) Slots() int   { return h.slots }

func TestHashes(t *testing.T) {
	m, reg := newMetrics(t)
	want(t, reg, "latch_password_hash_refusals_total", map[string]string{"reason": "queue_full"}, 0)
	want(t, reg, "latch_password_hash_refusals_total", map[string]string{"reason": "shed"}, 0)
	h := m.Hashes()
	h.SlotWaited(0)
	h.SlotWaited(30 * time.Millisecond)
	h.SlotRefused("queue_full")
	h.SlotRefused("shed")
	h.Ran("verify", 20*time.Millisecond)
	h.Watch(hasherState{waiting: 3, inUse: 2, slots: 2})
	want(t, reg, "latch_password_hash_wait_seconds", nil, 2)
	want(t, reg, "latch_password_hash_refusals_total", map[string]string{"reason": "queue_full"}, 1)
	want(t, reg, "latch_password_hash_refusals_total", map[string]string{"reason": "shed"}, 1)
	want(t, reg, "latch_password_hash_duration_seconds", map[string]string{"operation": "verify"}, 1)
	want(t, reg, "latch_password_hash_duration_seconds", map[string]string{"operation": "hash"}, 0)
	want(t, reg, "latch_password_hash_queue_depth", nil, 3)
	want(t, reg, "latch_password_hash_slots_in_use", nil, 2)
	want(t, reg, "latch_password_hash_slots", nil, 2)
}

func TestAccountsAndOutbox(t *testing.T) {
	m, reg := newMetrics(t)
	a, o := m.Accounts(), m.Outbox()
	want(t, reg, "latch_logins_total", map[string]string{"method": "provider", "result": "success"}, 0)
	a.Login("password", "success")
	a.Login("password", "failure")
	a.Login("password", "failure")
	a.Refresh("reused")
	a.SessionCreated("session")
	a.SessionsRevoked("admin", 3)
	a.MailQueued("recovery")
	o.Sent("recovery")
	o.Failed("verify_email", false)
	o.Failed("verify_email", true)
	want(t, reg, "latch_logins_total", map[string]string{"method": "password", "result": "success"}, 1)
	want(t, reg, "latch_logins_total", map[string]string{"method": "password", "result": "failure"}, 2)
	want(t, reg, "latch_token_refreshes_total", map[string]string{"result": "reused"}, 1)
	want(t, reg, "latch_sessions_created_total", map[string]string{"kind": "session"}, 1)
	want(t, reg, "latch_sessions_revoked_total", map[string]string{"reason": "admin"}, 3)
	want(t, reg, "latch_outbox_queued_total", map[string]string{"template": "recovery"}, 1)
	want(t, reg, "latch_outbox_sent_total", map[string]string{"template": "recovery"}, 1)
	want(t, reg, "latch_outbox_failed_total", map[string]string{"template": "verify_email", "outcome": "retry"}, 1)
	want(t, reg, "latch_outbox_failed_total", map[string]string{"template": "verify_email", "outcome": "given_up"}, 1)
}

// outboxState is an OutboxSource that counts its reads.
type outboxState struct {
	mu     sync.Mutex
	oldest time.Time
	err    error
	reads  int
}

func (o *outboxState) OldestPendingMail(ctx context.Context) (time.Time, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reads++
	return o.oldest, o.err
}

func (o *outboxState) set(oldest time.Time, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.oldest, o.err = oldest, err
}

// TestOutboxAge checks the oldest pending message's age: absent until a
// store is watched or while it fails, 0 with nothing pending, measured
// on the clock, and read from the store at most once every 5 s of it.
func TestOutboxAge(t *testing.T) {
	const name = "latch_outbox_oldest_pending_age_seconds"
	m, reg := newMetrics(t)
	if _, ok := sample(t, reg, name, nil); ok {
		t.Fatal("the age is reported before any store is watched")
	}
	clock := testenv.NewClock()
	src := &outboxState{}
	m.Outbox().Watch(src, clock.Now)
	want(t, reg, name, nil, 0)

	src.set(clock.Now().Add(-90*time.Second), nil)
	want(t, reg, name, nil, 0) // read less than 5 s ago: nothing pending then
	clock.Advance(5 * time.Second)
	want(t, reg, name, nil, 95)
	clock.Advance(2 * time.Second)
	want(t, reg, name, nil, 97) // the message found, aged on the clock
	if src.reads != 2 {
		t.Errorf("%d reads of the store for 4 scrapes 7 s apart, want 2", src.reads)
	}

	src.set(time.Time{}, errors.New("database down"))
	clock.Advance(5 * time.Second)
	if _, ok := sample(t, reg, name, nil); ok {
		t.Error("an age is reported while the store fails")
	}
	src.set(time.Time{}, nil)
	want(t, reg, name, nil, 0) // a failure is not kept: the next scrape asks again
	if src.reads != 4 {
		t.Errorf("%d reads, want 4", src.reads)
	}
}

// TestStore checks the observed store: every call timed under its
// method's name, errors counted by kind, and the answers unchanged.
func TestStore(t *testing.T) {
	m, reg := newMetrics(t)
	st := m.Store(testenv.OpenSQLite(t))
	ctx := context.Background()
	// A method's series is made at its first call.
	if _, ok := sample(t, reg, "latch_store_call_duration_seconds", map[string]string{"operation": "UserByEmail"}); ok {
		t.Error("a series of a store method before any call")
	}
	if _, err := st.UserByEmail(ctx, "nobody@example.com"); !latch.IsKind(err, latch.KindNotFound) {
		t.Fatalf("UserByEmail(unknown) = %v, want NotFound", err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	oldest, err := st.OldestPendingMail(ctx)
	if err != nil || !oldest.IsZero() {
		t.Fatalf("OldestPendingMail = %v, %v", oldest, err)
	}
	want(t, reg, "latch_store_call_duration_seconds", map[string]string{"operation": "UserByEmail"}, 1)
	want(t, reg, "latch_store_call_duration_seconds", map[string]string{"operation": "Ping"}, 1)
	want(t, reg, "latch_store_errors_total", map[string]string{"operation": "UserByEmail", "kind": "not_found"}, 1)
	if _, ok := sample(t, reg, "latch_store_errors_total", map[string]string{"operation": "Ping", "kind": "internal"}); ok {
		t.Error("an error counted for a call that succeeded")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := sample(t, reg, "latch_store_call_duration_seconds", map[string]string{"operation": "Close"}); ok {
		t.Error("Close is timed")
	}
	if err := st.Ping(ctx); !latch.IsKind(err, latch.KindUnavailable) && !latch.IsKind(err, latch.KindInternal) {
		t.Fatalf("Ping after Close = %v", err)
	}
	if v, _ := sample(t, reg, "latch_store_errors_total", map[string]string{"operation": "Ping", "kind": latch.AsError(st.Ping(ctx)).Kind.String()}); v != 2 {
		t.Errorf("Ping errors after Close = %v, want 2", v)
	}
}

// TestNames checks every family against Prometheus's conventions: latch_
// names, counters ending _total, histograms in _seconds, a help text,
// and no label that would carry what a client sent (a path, an email,
// an address, a key).
func TestNames(t *testing.T) {
	m, reg := newMetrics(t)
	m.Requests().ObserveRequest("GET /healthz", "GET", 200, time.Millisecond)
	m.Accounts().MailQueued("recovery")
	m.Outbox().Watch(&outboxState{}, time.Now)
	if _, err := m.Limiter(ratelimit.NewMemory(0, nil)).Allow(context.Background(), "login-ip:x", ratelimit.Rule{Limit: 1, Per: time.Hour}, 1); err != nil {
		t.Fatal(err)
	}
	st := m.Store(testenv.OpenSQLite(t))
	_, _ = st.UserByID(context.Background(), "nobody")
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) < 20 {
		t.Fatalf("%d families", len(families))
	}
	for _, f := range families {
		name := f.GetName()
		if !strings.HasPrefix(name, "latch_") || f.GetHelp() == "" {
			t.Errorf("%s: want a latch_ name and a help text", name)
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			if !strings.HasSuffix(name, "_total") {
				t.Errorf("counter %s does not end in _total", name)
			}
		case dto.MetricType_HISTOGRAM:
			if !strings.HasSuffix(name, "_seconds") {
				t.Errorf("histogram %s is not in seconds", name)
			}
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				switch l.GetName() {
				case "path", "email", "ip", "key", "user", "client":
					t.Errorf("%s has a label %s", name, l.GetName())
				}
			}
		}
	}
}

func TestHandler(t *testing.T) {
	m, _ := newMetrics(t)
	m.Accounts().Login("password", "success")
	rec := httptest.NewRecorder()
	m.Handler(slog.New(slog.DiscardHandler)).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") ||
		!strings.Contains(string(body), `latch_logins_total{method="password",result="success"} 1`) {
		t.Fatalf("GET /metrics: %d %q\n%s", rec.Code, rec.Header().Get("Content-Type"), body)
	}
}
