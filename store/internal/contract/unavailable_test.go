package contract

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/latchid/latch"
)

func TestFail(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	backendDown := errors.New("backend: the server is shutting down")
	more := func(err error) bool { return errors.Is(err, backendDown) }
	tests := []struct {
		name string
		err  error
		kind latch.Kind
		code string
	}{
		{"refused", fmt.Errorf("connect: %w", refused), latch.KindUnavailable, latch.CodeDatabaseUnavailable},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), latch.KindUnavailable, latch.CodeDatabaseUnavailable},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), latch.KindUnavailable, latch.CodeDatabaseUnavailable},
		{"backend's own", backendDown, latch.KindUnavailable, latch.CodeDatabaseUnavailable},
		{"internal around unreachable", latch.Internal(refused), latch.KindUnavailable, latch.CodeDatabaseUnavailable},
		{"caller gone", fmt.Errorf("query: %w", context.Canceled), latch.KindUnavailable, latch.CodeCanceled},
		{"bug", errors.New("syntax error at or near SELEC"), latch.KindInternal, "internal"},
		{"not found passes", NotFound("user"), latch.KindNotFound, latch.CodeNotFound},
	}
	for _, tc := range tests {
		err := Fail(tc.err, more)
		var le *latch.Error
		if !errors.As(err, &le) || le.Kind != tc.kind || le.Code != tc.code {
			t.Errorf("%s: Fail(%v) = %#v, want %v %s", tc.name, tc.err, err, tc.kind, tc.code)
			continue
		}
		if le.Code == latch.CodeDatabaseUnavailable && (le.RetryAfter <= 0 || le.Err == nil) {
			t.Errorf("%s: %#v: want a RetryAfter and the cause kept", tc.name, le)
		}
	}
	if Fail(nil, more) != nil {
		t.Error("Fail(nil) is not nil")
	}
}
