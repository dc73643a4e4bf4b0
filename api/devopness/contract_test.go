package devopness_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/devopness"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/internal/testenv"
)

// fakeAccounts is seed 000's use cases in memory: each answers what the
// test set, so these tests show what the surface alone does with it.
type fakeAccounts struct {
	principal account.Principal
	authErr   error
	setErr    error
	setInput  *account.SetOwnPasswordInput
	pair      account.TokenPair
	loginErr  error
}

func (f *fakeAccounts) Authenticate(context.Context, string) (account.Principal, error) {
	return f.principal, f.authErr
}

func (f *fakeAccounts) SetOwnPassword(_ context.Context, _ account.Principal, in account.SetOwnPasswordInput) error {
	f.setInput = &in
	return f.setErr
}

func (f *fakeAccounts) Login(context.Context, account.LoginInput) (account.TokenPair, error) {
	return f.pair, f.loginErr
}

func (f *fakeAccounts) TrustedOrigins() []string { return nil }

var _ devopness.Accounts = (*account.Service)(nil)

func newFake() *fakeAccounts {
	return &fakeAccounts{principal: account.Principal{
		User:    latch.User{ID: "u1", Email: "a@example.com"},
		Session: latch.Session{ID: "s1", Kind: latch.KindSession, Scopes: latch.SessionScopes()},
	}}
}

func serve(t *testing.T, f *fakeAccounts) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	devopness.New(f, log).Register(mux)
	srv := httptest.NewServer(httpx.Middleware(log, nil, mux))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, path string, header map[string]string, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

var jsonRequest = map[string]string{"Authorization": "Bearer tok", "Content-Type": "application/json", "Accept": "application/json"}

// seed000Status is the status seed 000 gives each kind
// (shared/seeds/README.md, 000; Laravel's own for what it does not list).
func seed000Status(e *latch.Error) int {
	switch e.Kind {
	case latch.KindInvalid:
		if e.Code == httpx.CodeBodyTooLarge {
			return 413
		}
		return 422
	case latch.KindUnauthenticated:
		return 401
	case latch.KindForbidden:
		if e.Code == latch.CodeAccountInactive {
			return 401
		}
		return 403
	case latch.KindNotFound:
		return 404
	case latch.KindConflict:
		return 409
	case latch.KindTooMany:
		return 429
	case latch.KindUnavailable:
		return 503
	}
	return 500
}

// TestEveryErrorHasASeed000Answer hands the surface every kind and code a
// use case can return and checks that each gets its status in Laravel's
// shape: {"message"} and, for a validation failure, {"errors": {field:
// [text]}} in words, never a code; nothing internal leaks.
func TestEveryErrorHasASeed000Answer(t *testing.T) {
	f := newFake()
	srv := serve(t, f)
	for _, e := range testenv.EveryError() {
		f.setErr = e
		if e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable {
			e.RetryAfter = 2 * time.Second
		}
		status, header, body := call(t, srv, "/users/me/password", jsonRequest, `{"password":"a","password_confirmation":"a"}`)
		what := e.Kind.String() + "/" + e.Code
		if want := seed000Status(e); status != want {
			t.Errorf("%s: status %d, want %d (%s)", what, status, want, body)
			continue
		}
		var out struct {
			Message string              `json:"message"`
			Errors  map[string][]string `json:"errors"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil || out.Message == "" || header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: not Laravel's shape: %s %q", what, header.Get("Content-Type"), body)
			continue
		}
		if status == 422 {
			if out.Message != "Validation failed" || len(out.Errors) == 0 {
				t.Errorf("%s: validation body %s", what, body)
			}
			for field, texts := range out.Errors {
				for _, text := range texts {
					if text == "" || text == e.Code || !strings.HasSuffix(text, ".") {
						t.Errorf("%s: errors[%s] = %q, not a sentence", what, field, text)
					}
				}
			}
		}
		if e.Kind == latch.KindInternal && strings.Contains(body, e.Message) {
			t.Errorf("%s: the internal message leaked: %s", what, body)
		}
		if (e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable) && header.Get("Retry-After") != "2" {
			t.Errorf("%s: Retry-After %q", what, header.Get("Retry-After"))
		}
	}
}

// TestSeed000Words: the seed's own wording comes from the surface, by
// code, whatever text the use case carries.
func TestSeed000Words(t *testing.T) {
	f := newFake()
	srv := serve(t, f)
	rule := func(field, code string, params map[string]string) latch.Error {
		return latch.Error{Kind: latch.KindInvalid, Code: code, Field: field, Message: "the service's words", Params: params}
	}
	f.setErr = &latch.Error{Kind: latch.KindInvalid, Code: latch.CodePolicyLength, Field: "password", Details: []latch.Error{
		rule("password", latch.CodePolicyLength, map[string]string{"min": "10"}),
		rule("password_confirmation", latch.CodePasswordMismatch, nil),
		rule("current_password", latch.CodeRequired, nil),
	}}
	_, _, body := call(t, srv, "/users/me/password", jsonRequest, `{}`)
	want := `{"message":"Validation failed","errors":{"current_password":["The current password field is required."],` +
		`"password":["The password must be at least 10 characters.","The password field confirmation does not match."]}}`
	if strings.TrimSpace(body) != want {
		t.Fatalf("body:\n%s\nwant:\n%s", body, want)
	}
}

// TestSeed000OrderOfChecks: the surface's own checks come before the use
// case's, in the seed's order (Accept, then the token, then its
// permission, then the body), whichever faults a request has at once.
func TestSeed000OrderOfChecks(t *testing.T) {
	unauthenticated := &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken}
	project := account.Principal{Session: latch.Session{Kind: latch.KindProject, Scopes: latch.SessionScopes()}}
	cases := []struct {
		name    string
		header  map[string]string
		body    string
		auth    error
		project bool
		want    int
	}{
		{"Accept excludes JSON, and no token", map[string]string{"Accept": "text/html"}, `{`, nil, false, 406},
		{"no token, and a bad body", map[string]string{"Content-Type": "application/json"}, `{`, nil, false, 401},
		{"a bad token, and a bad body", jsonRequest, `{`, unauthenticated, false, 401},
		{"a project token, and a bad body", jsonRequest, `{`, nil, true, 403},
		{"a good token, and a bad body", jsonRequest, `{`, nil, false, 422},
		{"a good token, and a form body", map[string]string{"Authorization": "Bearer t", "Content-Type": "application/x-www-form-urlencoded"}, `password=x`, nil, false, 422},
	}
	for _, c := range cases {
		f := newFake()
		f.authErr = c.auth
		if c.project {
			f.principal = project
		}
		srv := serve(t, f)
		if status, _, body := call(t, srv, "/users/me/password", c.header, c.body); status != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, status, body, c.want)
		}
		if f.setInput != nil {
			t.Errorf("%s: the use case ran", c.name)
		}
	}
}
