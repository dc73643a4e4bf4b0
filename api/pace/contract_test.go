package pace_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/pace"
	"github.com/latchid/latch/internal/testenv"
)

// fakeAccounts is seed 002's use cases in memory.
type fakeAccounts struct {
	authErr    error
	requestErr error
	requested  int
}

func (f *fakeAccounts) Authenticate(context.Context, string) (account.Principal, error) {
	return account.Principal{User: latch.User{ID: "u1"}, Session: latch.Session{Kind: latch.KindSession, Scopes: latch.SessionScopes()}}, f.authErr
}

func (f *fakeAccounts) RequestPasswordLink(context.Context, account.Principal) error {
	f.requested++
	return f.requestErr
}

var _ pace.Accounts = (*account.Service)(nil)

func serveFake(t *testing.T, f *fakeAccounts) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	pace.New(f, log).Register(mux)
	srv := httptest.NewServer(httpx.Middleware(log, nil, mux))
	t.Cleanup(srv.Close)
	return srv
}

func putFake(t *testing.T, srv *httptest.Server, header map[string]string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("PUT", srv.URL+"/user/2024-3/user/password", nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// seed002Status is the status seed 002 gives each kind and code
// (shared/seeds/README.md, 002).
func seed002Status(e *latch.Error) int {
	switch e.Kind {
	case latch.KindInvalid:
		return 400
	case latch.KindUnauthenticated, latch.KindForbidden:
		return 401
	case latch.KindNotFound:
		return 404
	case latch.KindConflict:
		return 409
	case latch.KindTooMany:
		return 429
	case latch.KindUnavailable:
		if e.Code == latch.CodeMailDisabled {
			return 501
		}
		return 503
	}
	return 501 // the seed's internal error
}

// TestEveryErrorHasASeed002Answer hands the surface every kind and code a
// use case can return: each gets its status as a JSON:API error document
// whose one error names the same status, a code and a title of the seed's.
func TestEveryErrorHasASeed002Answer(t *testing.T) {
	f := &fakeAccounts{}
	srv := serveFake(t, f)
	for _, e := range testenv.EveryError() {
		if e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable {
			e.RetryAfter = time.Second
		}
		f.requestErr = e
		status, header, body := putFake(t, srv, map[string]string{"Authorization": "Bearer tok"})
		what := e.Kind.String() + "/" + e.Code
		if want := seed002Status(e); status != want {
			t.Errorf("%s: status %d, want %d (%s)", what, status, want, body)
			continue
		}
		var doc struct {
			Errors []struct {
				ID, Status, Code, Title, Detail string
			} `json:"errors"`
		}
		if err := json.Unmarshal(body, &doc); err != nil || len(doc.Errors) != 1 || header.Get("Content-Type") != pace.ContentType {
			t.Errorf("%s: not a JSON:API error document: %s %s", what, header.Get("Content-Type"), body)
			continue
		}
		got := doc.Errors[0]
		if got.Status != strconv.Itoa(status) || got.Code == "" || got.Title == "" || got.ID == "" {
			t.Errorf("%s: error object %+v", what, got)
		}
		if e.Kind != latch.KindInvalid && got.Detail == e.Message {
			t.Errorf("%s: the use case's text reached the wire: %q", what, got.Detail)
		}
		if status == 401 && header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", what)
		}
	}
}

// TestSeed002Words: the seed's own wording for the missing linked identity
// comes from the surface, whatever text the use case carries.
func TestSeed002Words(t *testing.T) {
	f := &fakeAccounts{requestErr: &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeMissingLinkedIdentity, Message: "the service's words"}}
	status, _, body := putFake(t, serveFake(t, f), map[string]string{"Authorization": "Bearer tok"})
	var doc struct {
		Errors []struct{ Code, Title, Detail string } `json:"errors"`
	}
	_ = json.Unmarshal(body, &doc)
	if status != 401 || len(doc.Errors) != 1 || doc.Errors[0].Code != "missing-linked-identity" ||
		doc.Errors[0].Detail != "Linked identity is needed to access this resource, please check why the user does not have a linked identity" {
		t.Fatalf("%d %s", status, body)
	}
}

// TestSeed002OrderOfChecks: the token is checked before the use case runs;
// a refused token never asks for an email.
func TestSeed002OrderOfChecks(t *testing.T) {
	for _, c := range []struct {
		name   string
		header map[string]string
		auth   error
	}{
		{"no token", nil, nil},
		{"two tokens", map[string]string{"Authorization": "Bearer a b"}, nil},
		{"a refused token", map[string]string{"Authorization": "Bearer tok"}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken}},
	} {
		f := &fakeAccounts{authErr: c.auth, requestErr: &latch.Error{Kind: latch.KindConflict, Code: latch.CodePasswordAlreadySet}}
		if status, _, body := putFake(t, serveFake(t, f), c.header); status != 401 || f.requested != 0 {
			t.Errorf("%s: %d %s, use case ran %d times", c.name, status, body, f.requested)
		}
	}
}
