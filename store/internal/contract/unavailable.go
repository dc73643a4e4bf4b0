package contract

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"time"

	"github.com/latchid/latch"
)

// DefaultTimeout bounds every store call when the caller configures no
// other bound: a database that does not answer within it is treated as
// down, so a hung database costs a request seconds, not forever.
const DefaultTimeout = 5 * time.Second

// UnavailableRetryAfter is what a client is told to wait when the database
// is down: about the time a pool takes to notice it is back (its next
// connection attempt), without inviting a stampede of immediate retries.
const UnavailableRetryAfter = 3 * time.Second

// Unavailable is the error of a database that could not be reached or did
// not answer in time. The message says nothing of the database (no host,
// no driver text); the cause is kept for the log.
func Unavailable(cause error) *latch.Error {
	return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable,
		Message: "the service is temporarily unavailable", RetryAfter: UnavailableRetryAfter, Err: cause}
}

// Canceled is the error of a call whose caller gave up first. It is not
// Internal, so it is not logged as a failure when many clients go away at
// once, and not an outage, so nobody reports the database down for it.
func Canceled(cause error) *latch.Error {
	return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeCanceled, Message: "the request was cancelled", Err: cause}
}

// Fail turns the failure of a store call into the *latch.Error the caller
// sees: nil stays nil; a latch.Error passes through, unless it is Internal
// around a cause that says the database is unreachable (an error built
// deep in a transaction with latch.Internal); a cancelled call is Canceled;
// a database that cannot be reached or did not answer in time (Unreachable,
// or the backend's own test, more) is Unavailable; anything else is
// Internal. No raw driver error leaves a store.
func Fail(err error, more func(error) bool) error {
	if err == nil {
		return nil // not a typed nil *latch.Error, which would be non-nil
	}
	var le *latch.Error
	if errors.As(err, &le) {
		if le.Kind != latch.KindInternal || le.Err == nil {
			return le
		}
		err = le.Err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled(err)
	case Unreachable(err) || (more != nil && more(err)):
		return Unavailable(err)
	}
	if le != nil {
		return le
	}
	return latch.Internal(err)
}

// Unreachable reports whether err, from a database driver, means that the
// database could not be reached or did not answer in time, by causes any
// backend shares: a deadline that passed (the store's bound, or the
// caller's), and the network failing (refused, reset, closed, timed out,
// a connection ending mid-answer).
func Unreachable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	for _, errno := range []syscall.Errno{syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.ECONNABORTED,
		syscall.EPIPE, syscall.ETIMEDOUT, syscall.EHOSTUNREACH, syscall.ENETUNREACH} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}
