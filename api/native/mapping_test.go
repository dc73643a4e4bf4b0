package native_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/internal/testenv"
)

// The native API's three error shapes, each a table over the kinds (the
// documented answer) and the few codes that refine it within a kind.
// Internal is 500 with nothing of the error shown; TooMany and
// Unavailable (the server's state, whatever the code) are 429 and 503
// with Retry-After; nothing else is a 500.

// problemStatus is the RFC 9457 problem document's status by kind.
var problemStatus = map[latch.Kind]int{
	latch.KindInvalid:         http.StatusBadRequest,
	latch.KindUnauthenticated: http.StatusUnauthorized,
	latch.KindForbidden:       http.StatusForbidden,
	latch.KindNotFound:        http.StatusNotFound,
	latch.KindConflict:        http.StatusConflict,
	latch.KindTooMany:         http.StatusTooManyRequests,
	latch.KindUnavailable:     http.StatusServiceUnavailable,
	latch.KindInternal:        http.StatusInternalServerError,
}

func wantProblemStatus(e *latch.Error) int {
	if e.Kind == latch.KindInvalid {
		switch e.Code {
		case httpx.CodeBodyTooLarge:
			return http.StatusRequestEntityTooLarge
		case latch.CodeUnsupportedContentType:
			return http.StatusUnsupportedMediaType
		}
	}
	return problemStatus[e.Kind]
}

// oauthAnswer is the token endpoint's RFC 6749 §5.2 answer by kind: every
// refused grant (unknown user, wrong password, used or revoked token, a
// grant gone or changed meanwhile) is invalid_grant.
type oauthAnswer struct {
	status int
	error  string
}

var oauthByKind = map[latch.Kind]oauthAnswer{
	latch.KindInvalid:         {http.StatusBadRequest, "invalid_request"},
	latch.KindUnauthenticated: {http.StatusBadRequest, "invalid_grant"},
	latch.KindForbidden:       {http.StatusBadRequest, "invalid_grant"},
	latch.KindNotFound:        {http.StatusBadRequest, "invalid_grant"},
	latch.KindConflict:        {http.StatusBadRequest, "invalid_grant"},
	latch.KindTooMany:         {http.StatusTooManyRequests, "slow_down"},
	latch.KindUnavailable:     {http.StatusServiceUnavailable, "temporarily_unavailable"},
	latch.KindInternal:        {http.StatusInternalServerError, "server_error"},
}

func wantOAuth(e *latch.Error) oauthAnswer {
	switch e.Kind {
	case latch.KindInternal, latch.KindTooMany, latch.KindUnavailable:
		return oauthByKind[e.Kind]
	}
	switch {
	case e.Code == latch.CodeUnsupportedGrantType:
		return oauthAnswer{http.StatusBadRequest, "unsupported_grant_type"}
	case e.Kind == latch.KindInvalid && e.Code == httpx.CodeBodyTooLarge:
		return oauthAnswer{http.StatusRequestEntityTooLarge, "invalid_request"}
	case e.Kind == latch.KindInvalid:
		return oauthByKind[e.Kind]
	case e.Code == httpx.CodeCrossSite:
		return oauthAnswer{http.StatusForbidden, "invalid_request"}
	case e.Code == latch.CodeInvalidClient:
		return oauthAnswer{http.StatusUnauthorized, "invalid_client"}
	}
	return oauthByKind[e.Kind]
}

// wantPageStatus is the sign-in flow's error page: the problem's status,
// except that a refused code or token is the browser's bad request, not an
// HTTP authentication challenge.
func wantPageStatus(e *latch.Error) int {
	if s := wantProblemStatus(e); s != http.StatusUnauthorized {
		return s
	}
	return http.StatusBadRequest
}

// everyErrorWithRetry is testenv.EveryError, with a Retry-After on the
// kinds that carry one (as the use cases' limit and outage errors do).
func everyErrorWithRetry() []*latch.Error {
	out := testenv.EveryError()
	for _, e := range out {
		if e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable {
			e.RetryAfter = 1500 * time.Millisecond
		}
	}
	return out
}

// TestEveryErrorInNativeShapes hands every error (every kind crossed with
// every code) to each of the native API's error writers, through a route
// that answers with it, and checks the status, the shape and that an
// internal error shows nothing of itself.
func TestEveryErrorInNativeShapes(t *testing.T) {
	var current *latch.Error
	f := &fakeAccounts{t: t,
		AuthenticateFn: func(context.Context, string) (account.Principal, error) { return account.Principal{}, current },
		RefreshFn:      func(context.Context, string) (account.TokenPair, error) { return account.TokenPair{}, current },
		AllowedRedirectFn: func(string) (*url.URL, error) {
			return nil, current
		},
	}
	h := fakeSurface(f, fakeProvider{name: "acme"})
	writers := []struct {
		name    string
		request func() *http.Request
		check   func(t *testing.T, e *latch.Error, status int, header http.Header, body string)
	}{
		{"problem", func() *http.Request {
			req := newRequest("GET", "/v1/me", "", "")
			req.Header.Set("Authorization", "Bearer some-token")
			return req
		}, checkProblem},
		{"oauth", func() *http.Request {
			return newRequest("POST", "/v1/token", "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=lrt_x")
		}, checkOAuthError},
		{"page", func() *http.Request {
			return newRequest("GET", "/v1/oauth/acme/start?redirect_to=https%3A%2F%2Fapp.example%2Fcb", "", "")
		}, checkErrorPage},
	}
	for _, w := range writers {
		t.Run(w.name, func(t *testing.T) {
			for _, e := range everyErrorWithRetry() {
				current = e
				rec, panicked := serveFake(h, w.request())
				if panicked != nil {
					t.Errorf("%s/%s: panic: %v", e.Kind, e.Code, panicked)
					continue
				}
				if rec.Code == http.StatusInternalServerError && e.Kind != latch.KindInternal {
					t.Errorf("%s/%s: an unintended 500", e.Kind, e.Code)
				}
				wantRetry := ""
				if e.RetryAfter > 0 {
					wantRetry = "2" // 1.5 s, rounded up
				}
				if got := rec.Header().Get("Retry-After"); got != wantRetry {
					t.Errorf("%s/%s: Retry-After %q, want %q", e.Kind, e.Code, got, wantRetry)
				}
				if e.Kind == latch.KindInternal && strings.Contains(rec.Body.String(), e.Message) {
					t.Errorf("%s/%s: the body shows the internal error's message: %s", e.Kind, e.Code, rec.Body)
				}
				w.check(t, e, rec.Code, rec.Header(), rec.Body.String())
			}
		})
	}
}

func checkProblem(t *testing.T, e *latch.Error, status int, header http.Header, body string) {
	t.Helper()
	want := wantProblemStatus(e)
	if status != want {
		t.Errorf("%s/%s: status %d, want %d", e.Kind, e.Code, status, want)
	}
	if ct := header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s/%s: Content-Type %q", e.Kind, e.Code, ct)
	}
	if want == http.StatusUnauthorized && header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
		t.Errorf("%s/%s: WWW-Authenticate %q", e.Kind, e.Code, header.Get("WWW-Authenticate"))
	}
	var p struct {
		Type, Title, Detail, Code string
		Status                    int
		Errors                    []struct{ Field, Code, Message string }
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Errorf("%s/%s: not JSON: %v: %s", e.Kind, e.Code, err, body)
		return
	}
	if p.Status != status || p.Title != http.StatusText(status) {
		t.Errorf("%s/%s: status %d, title %q in a %d answer", e.Kind, e.Code, p.Status, p.Title, status)
	}
	if e.Kind == latch.KindInternal {
		if p.Type != "about:blank" || p.Code != latch.CodeInternal || p.Detail != "" || len(p.Errors) != 0 {
			t.Errorf("%s/%s: an internal problem shows %+v", e.Kind, e.Code, p)
		}
		return
	}
	if p.Type != "urn:latch:problem:"+e.Code || p.Code != e.Code || p.Detail != e.Message {
		t.Errorf("%s/%s: problem %+v", e.Kind, e.Code, p)
	}
	if len(p.Errors) != 1 || p.Errors[0].Field != "password" || p.Errors[0].Code != e.Code || p.Errors[0].Message != e.Message {
		t.Errorf("%s/%s: errors %+v, want the one detail", e.Kind, e.Code, p.Errors)
	}
}

func checkOAuthError(t *testing.T, e *latch.Error, status int, header http.Header, body string) {
	t.Helper()
	want := wantOAuth(e)
	if status != want.status {
		t.Errorf("%s/%s: status %d, want %d", e.Kind, e.Code, status, want.status)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s/%s: Content-Type %q", e.Kind, e.Code, ct)
	}
	var got struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Errorf("%s/%s: not JSON: %v: %s", e.Kind, e.Code, err, body)
		return
	}
	if got.Error != want.error {
		t.Errorf("%s/%s: error %q, want %q", e.Kind, e.Code, got.Error, want.error)
	}
	if want.error == "invalid_client" && header.Get("WWW-Authenticate") != `Basic realm="latch"` {
		t.Errorf("%s/%s: WWW-Authenticate %q", e.Kind, e.Code, header.Get("WWW-Authenticate"))
	}
	if e.Kind == latch.KindInternal && got.Description != "" {
		t.Errorf("%s/%s: an internal error is described: %q", e.Kind, e.Code, got.Description)
	}
}

func checkErrorPage(t *testing.T, e *latch.Error, status int, header http.Header, body string) {
	t.Helper()
	if want := wantPageStatus(e); status != want {
		t.Errorf("%s/%s: status %d, want %d", e.Kind, e.Code, status, want)
	}
	if ct := header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s/%s: Content-Type %q", e.Kind, e.Code, ct)
	}
	if !strings.Contains(body, "<h1>Sign-in problem</h1>") {
		t.Errorf("%s/%s: not the error page: %s", e.Kind, e.Code, body)
	}
	says := e.Message
	if e.Kind == latch.KindInternal {
		says = "Something went wrong on our side."
	}
	if !strings.Contains(body, says) {
		t.Errorf("%s/%s: the page does not say %q: %s", e.Kind, e.Code, says, body)
	}
}
