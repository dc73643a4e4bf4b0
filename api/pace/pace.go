// Package pace serves seed 002 (PACE's "Request to set a password"): a
// signed-in user without a password asks for an email with a link to set
// one. Errors are JSON:API documents.
package pace

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// Surface is the seed-002 HTTP surface.
type Surface struct {
	accounts Accounts
	adapt    httpx.Adapter
}

// Accounts is what seed 002 asks of the use cases (account.Service).
type Accounts interface {
	Authenticate(ctx context.Context, accessToken string) (account.Principal, error)
	RequestPasswordLink(ctx context.Context, p account.Principal) error
}

// New returns the surface.
func New(accounts Accounts, log *slog.Logger) *Surface {
	return &Surface{accounts: accounts, adapt: httpx.Adapter{Log: log, Write: writeError}}
}

// Register adds the surface's routes to mux: the versioned path and the
// unversioned one the seed also names.
func (s *Surface) Register(mux httpx.Mux) {
	mux.Handle("PUT /user/2024-3/user/password", s.adapt.Handle(s.requestPassword))
	mux.Handle("PUT /user/password", s.adapt.Handle(s.requestPassword))
}

// requestPassword answers 202 once the email is in the outbox; it is
// delivered by the worker, never while the request waits.
func (s *Surface) requestPassword(w http.ResponseWriter, r *http.Request) error {
	raw, err := httpx.BearerToken(r)
	if err != nil {
		return err
	}
	ctx := httpx.Context(r)
	p, err := s.accounts.Authenticate(ctx, raw)
	if err != nil {
		return err
	}
	if err := s.accounts.RequestPasswordLink(ctx, p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// ContentType is JSON:API's media type.
const ContentType = "application/vnd.api+json"

type errorObject struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail,omitempty"`
}

type errorDocument struct {
	Errors []errorObject `json:"errors"`
}

func writeError(w http.ResponseWriter, _ *http.Request, e *latch.Error) {
	status, code, title, detail := http.StatusNotImplemented, "internal-error", "Internal server error", ""
	switch e.Kind {
	case latch.KindUnauthenticated, latch.KindForbidden:
		// The seed knows 401 only: a token that cannot act for a user
		// (a client's, a project's, one without user:update) is an
		// invalid OAuth token for this endpoint.
		status, code, title, detail = http.StatusUnauthorized, "unauthorized", "Unauthorized", "OAuth token missing or invalid"
		if e.Code == latch.CodeMissingLinkedIdentity {
			code, title, detail = "missing-linked-identity", "Missing linked identity for authorized access",
				"Linked identity is needed to access this resource, please check why the user does not have a linked identity"
		}
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	case latch.KindNotFound:
		status, code, title, detail = http.StatusNotFound, "not-found", "Resource not found", "The account no longer exists"
	case latch.KindConflict:
		status, code, title, detail = http.StatusConflict, "password-already-set", "Password is already set", "This account already has a password"
	case latch.KindTooMany:
		status, code, title, detail = http.StatusTooManyRequests, "too-many-requests", "Too many requests", "Too many password emails were requested; try again later"
	case latch.KindUnavailable:
		if e.Code == latch.CodeMailDisabled {
			// The seed's 501.
			code, detail = "email-not-configured", "Email delivery is not configured on this server"
			break
		}
		// A database that cannot be reached, or the hasher's queue
		// full: not the seed's "internal error" (501), which says that
		// retrying will not help, but the standard 503 with Retry-After
		// in the seed's JSON:API shape.
		status, code, title, detail = http.StatusServiceUnavailable, "service-unavailable", "Service unavailable", "The service is temporarily unavailable; try again later"
	case latch.KindInvalid:
		status, code, title, detail = http.StatusBadRequest, "bad-request", "Bad request", e.Message
	}
	httpx.WriteJSON(w, status, ContentType, errorDocument{Errors: []errorObject{{
		ID: httpx.RequestID(w), Status: strconv.Itoa(status), Code: code, Title: title, Detail: detail,
	}}})
}
