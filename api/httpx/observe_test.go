package httpx

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// seenRequest is one ObserveRequest call.
type seenRequest struct {
	route, method string
	status        int
}

type requestLog struct{ seen []seenRequest }

func (l *requestLog) ObserveRequest(route, method string, status int, elapsed time.Duration) {
	if elapsed <= 0 {
		method += " (no duration)"
	}
	l.seen = append(l.seen, seenRequest{route, method, status})
}

// TestObservedMiddleware checks what the observer is told of each request:
// the ServeMux pattern that served it (never its path), "" when none did,
// and the status, a panic's 500 included. A request of the observer
// never changes the answer.
func TestObservedMiddleware(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("POST /things", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "made") })
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	seen := &requestLog{}
	for _, debug := range []bool{false, true} {
		level := slog.LevelInfo
		if debug {
			level = slog.LevelDebug
		}
		var logged strings.Builder
		h := ObservedMiddleware(slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: level})), nil, seen, mux)
		seen.seen = nil
		for _, c := range []struct {
			method, target string
			status         int
		}{
			{"GET", "/things/secret-id-42?token=x", 204},
			{"HEAD", "/things/7", 204},
			{"POST", "/things", 200},
			{"GET", "/nothing-here", 404},
			{"DELETE", "/things", 405},
			{"GET", "/boom", 500},
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(c.method, c.target, nil))
			if rec.Code != c.status {
				t.Errorf("%s %s: status %d, want %d", c.method, c.target, rec.Code, c.status)
			}
		}
		want := []seenRequest{
			{"GET /things/{id}", "GET", 204},
			{"GET /things/{id}", "HEAD", 204},
			{"POST /things", "POST", 200},
			{"", "GET", 404},
			{"", "DELETE", 405},
			{"GET /boom", "GET", 500},
		}
		if !slices.Equal(seen.seen, want) {
			t.Errorf("debug %v: observed\n %v\nwant\n %v", debug, seen.seen, want)
		}
		if debug != strings.Contains(logged.String(), "msg=request") {
			t.Errorf("debug %v: access log %q", debug, logged.String())
		}
	}
	// Without an observer, Middleware's answers are the same.
	rec := httptest.NewRecorder()
	Middleware(slog.New(slog.DiscardHandler), nil, mux).ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	if rec.Code != 500 {
		t.Errorf("Middleware, panic: %d", rec.Code)
	}
}

// TestObservedMiddlewareAbort: a handler that aborts its response
// (http.ErrAbortHandler) is observed, and the abort still reaches the
// server, which closes the connection.
func TestObservedMiddlewareAbort(t *testing.T) {
	seen := &requestLog{}
	h := ObservedMiddleware(slog.New(slog.DiscardHandler), nil, seen, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler passed on", p)
		}
		if len(seen.seen) != 1 {
			t.Errorf("observed %v, want the aborted request", seen.seen)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
}
