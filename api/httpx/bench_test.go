package httpx_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchid/latch"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/metrics"
)

// discardWriter is a ResponseWriter that keeps only the status, so that
// the benchmark times the middleware and the decoding, not a recorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }

// BenchmarkMiddlewareDecodeJSON is what every JSON request pays before its
// use case runs: Middleware (request id, security headers, the access-log
// check, panic recovery), the Adapter, and DecodeJSON of a small sign-in
// body. "behind_proxy" adds reading the client address from
// X-Forwarded-For of a trusted proxy. "direct_metrics" is "direct" with
// the request metrics serve installs (package metrics' observer).
func BenchmarkMiddlewareDecodeJSON(b *testing.B) {
	body := []byte(`{"email":"someone@example.com","password":"correct horse battery staple"}`)
	// As in production: the access log is at debug level, so it is off.
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a := httpx.Adapter{Log: log, Write: func(w http.ResponseWriter, r *http.Request, err *latch.Error) {
		w.WriteHeader(http.StatusBadRequest)
	}}
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	decode := a.Handle(func(w http.ResponseWriter, r *http.Request) error {
		if err := httpx.DecodeJSON(w, r, &in); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	proxies, err := httpx.ParsePrefixes("10.0.0.0/8")
	if err != nil {
		b.Fatal(err)
	}
	requests := metrics.New(prometheus.NewRegistry()).Requests()
	for _, bc := range []struct {
		name     string
		trusted  []netip.Prefix
		peer     string
		requests httpx.RequestObserver
	}{
		{"direct", nil, "192.0.2.7:51234", nil},
		{"behind_proxy", proxies, "10.0.0.2:51234", nil},
		{"direct_metrics", nil, "192.0.2.7:51234", requests},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := httpx.ObservedMiddleware(log, bc.trusted, bc.requests, decode)
			r, err := http.NewRequest(http.MethodPost, "http://latch.test/v1/login", nil)
			if err != nil {
				b.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-Forwarded-For", "198.51.100.9, 10.0.0.3")
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				r.RemoteAddr = bc.peer
				r.Body = io.NopCloser(bytes.NewReader(body))
				clear(w.h)
				w.status = 0
				in.Email, in.Password = "", ""
				h.ServeHTTP(w, r)
				if w.status != http.StatusNoContent || in.Email == "" {
					b.Fatalf("status %d, decoded %+v; want 204 and the body", w.status, in)
				}
			}
			b.StopTimer()
			if want := map[string]string{"direct": "192.0.2.7", "behind_proxy": "198.51.100.9", "direct_metrics": "192.0.2.7"}[bc.name]; httpx.ClientIP(r) != want {
				b.Fatalf("client address %q, want %q", httpx.ClientIP(r), want)
			}
		})
	}
}
