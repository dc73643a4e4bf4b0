package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/latchid/latch/metrics"
)

// newMetrics makes the registry /metrics serves: Latch's own metrics and
// the Go runtime's and the process's. It is this process's own, not
// client_golang's global default one, which any imported package could
// register into.
func newMetrics() *metrics.Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return metrics.New(reg)
}

// metricsPath is where the metrics are served, on either listener.
const metricsPath = "/metrics"

// withMetrics serves GET (and HEAD) /metrics beside the surfaces. It sits
// outside them: a scrape is neither a request of the API to count nor a
// route of its documents. Every other request goes to the surfaces as it
// came (no second ServeMux to clean or redirect its path first).
func withMetrics(surfaces, metricsHandler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == metricsPath && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			metricsHandler.ServeHTTP(w, r)
			return
		}
		surfaces.ServeHTTP(w, r)
	})
}

// serveMetrics serves /metrics alone on addr (LATCH_METRICS_ADDR, e.g. an
// address only the monitoring network reaches), until the returned stop
// is called. An address that cannot be listened on stops serve at once:
// an operator who asked for metrics there must not find out from a
// silent dashboard.
func (a *app) serveMetrics(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("LATCH_METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+metricsPath, a.metrics.Handler(a.log))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	a.log.Info("metrics listener", "addr", ln.Addr().String(), "path", metricsPath)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics listener stopped", "err", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
