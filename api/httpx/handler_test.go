package httpx_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/api/httpx"
)

func adapter(log *bytes.Buffer) (httpx.Adapter, *int) {
	writes := 0
	return httpx.Adapter{
		Log: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Write: func(w http.ResponseWriter, r *http.Request, err *latch.Error) {
			writes++
			w.WriteHeader(http.StatusServiceUnavailable)
		},
	}, &writes
}

// TestAdapterRetryAfter: an Unavailable error carries its RetryAfter to
// the header, in whole seconds rounded up.
func TestAdapterRetryAfter(t *testing.T) {
	var log bytes.Buffer
	a, _ := adapter(&log)
	h := a.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, RetryAfter: 2500 * time.Millisecond}
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 503 || rec.Header().Get("Retry-After") != "3" {
		t.Errorf("got %d Retry-After %q, want 503 and 3", rec.Code, rec.Header().Get("Retry-After"))
	}
}

// TestAdapterClientGone: when the client went away (its request's context
// cancelled), the failure that followed is neither answered nor logged as
// an error: a crowd of clients giving up is not a storm of server errors.
func TestAdapterClientGone(t *testing.T) {
	var log bytes.Buffer
	a, writes := adapter(&log)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, err := range []error{
		latch.Internal(context.Canceled),
		&latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeCanceled, Err: context.Canceled},
		latch.Internal(errors.New("something the cancellation caused")),
	} {
		h := a.Handle(func(w http.ResponseWriter, r *http.Request) error { return err })
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	}
	if *writes != 0 || log.Len() != 0 {
		t.Errorf("a gone client's failures: %d answers written, log %q; want none", *writes, log.String())
	}
}
