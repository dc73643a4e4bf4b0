package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A client of the closed loop waits out Retry-After: against a server that
// refuses everything with Retry-After: 1, one client makes two requests in
// 1.5 s, not thousands (which is what a client that asks again at once
// does, and what would make a measure of 503 latency meaningless).
func TestClosedLoopWaitsOutRetryAfter(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	results, elapsed := closedLoop(context.Background(), 1, 1500*time.Millisecond, func(int) loopStep {
		return loginStep(srv.URL, "ada@example.com", "pw")
	})
	if n := hits.Load(); n != 2 {
		t.Fatalf("%d requests in %v, want 2 (one, then one after the second it was told to wait)", n, elapsed)
	}
	if len(results) != 2 || results[0].code != http.StatusServiceUnavailable {
		t.Fatalf("results %+v", results)
	}
	var report benchReport
	fillReport(&report, results, elapsed)
	if report.StatusCodes["503"] != 2 || report.OKPerSec != 0 || report.LatencyP99ByStatusMS["503"] <= 0 {
		t.Fatalf("report %+v", report)
	}
}
