package onelogin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/onelogin"
	"github.com/latchid/latch/internal/testenv"
)

// fakeAccounts is seed 001's use cases in memory: each answers what the
// test set, so these tests show what the surface alone does with it.
type fakeAccounts struct {
	admin    account.Admin
	authErr  error
	setErr   error
	setInput *account.AdminSetPasswordInput
	pair     account.ClientTokenPair
	tokenErr error
}

func (f *fakeAccounts) AuthenticateClient(context.Context, string) (account.Admin, error) {
	return f.admin, f.authErr
}

func (f *fakeAccounts) AdminSetPassword(_ context.Context, _ account.Admin, in account.AdminSetPasswordInput) error {
	f.setInput = &in
	return f.setErr
}

func (f *fakeAccounts) IssueClientToken(context.Context, string, string) (account.ClientTokenPair, error) {
	return f.pair, f.tokenErr
}

func (f *fakeAccounts) RefreshClientToken(context.Context, string) (account.ClientTokenPair, error) {
	return f.pair, f.tokenErr
}

var _ onelogin.Accounts = (*account.Service)(nil)

func newFake(scope latch.Scope) *fakeAccounts {
	return &fakeAccounts{admin: account.Admin{Client: &latch.Client{ID: "c1", Scope: scope}, TenantID: latch.DefaultTenantID}}
}

func serveFake(t *testing.T, f *fakeAccounts) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	onelogin.New(f, log).Register(mux)
	srv := httptest.NewServer(httpx.Middleware(log, nil, mux))
	t.Cleanup(srv.Close)
	return srv
}

func callFake(t *testing.T, srv *httptest.Server, method, path string, header map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
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

// seed001Status is the status seed 001 gives each kind and code
// (shared/seeds/README.md, 001).
func seed001Status(e *latch.Error) int {
	switch e.Kind {
	case latch.KindInvalid:
		if e.Code == httpx.CodeBodyTooLarge {
			return 413
		}
		return 400
	case latch.KindUnauthenticated:
		return 401
	case latch.KindForbidden:
		if e.Code == latch.CodeInsufficientScope || e.Code == latch.CodeNotClientToken {
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

// TestEveryErrorHasASeed001Answer hands the surface every kind and code a
// use case can return: each gets its status in the seed's envelope, with
// the envelope's code equal to the HTTP status and a message in words.
func TestEveryErrorHasASeed001Answer(t *testing.T) {
	f := newFake(latch.ScopeManageAll)
	srv := serveFake(t, f)
	for _, e := range testenv.EveryError() {
		if e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable {
			e.RetryAfter = 3 * time.Second
		}
		f.setErr = e
		status, header, body := callFake(t, srv, "PUT", setPath(7), seedHeaders("tok"), `{"password":"a","password_confirmation":"a"}`)
		what := e.Kind.String() + "/" + e.Code
		if want := seed001Status(e); status != want {
			t.Errorf("%s: status %d, want %d (%s)", what, status, want, body)
			continue
		}
		var out struct {
			Status struct {
				Error   bool   `json:"error"`
				Code    int    `json:"code"`
				Type    string `json:"type"`
				Message any    `json:"message"`
			} `json:"status"`
		}
		if err := json.Unmarshal(body, &out); err != nil || !out.Status.Error || out.Status.Code != status || out.Status.Type == "" || out.Status.Message == nil {
			t.Errorf("%s: not the seed's envelope: %s", what, body)
			continue
		}
		if msg, ok := out.Status.Message.(string); ok && (msg == "" || msg == e.Code || msg == e.Message) {
			t.Errorf("%s: message %q is not the seed's own text", what, msg)
		}
		if (e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable) && header.Get("Retry-After") != "3" {
			t.Errorf("%s: Retry-After %q", what, header.Get("Retry-After"))
		}
	}
}

// TestSeed001OrderOfChecks is seed 001's order of checks as far as the
// surface runs it (shared/seeds/README.md, 001: Authorization format ->
// token -> scope -> id -> Content-Type -> JSON, then the use case's:
// parameters -> mismatch -> user -> tenant -> policy, which
// account.TestNewPasswordOrders tables). Every request has two faults;
// the first in the order wins, and the use case is not reached.
func TestSeed001OrderOfChecks(t *testing.T) {
	authFailure := &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken}
	good := `{"password":"a","password_confirmation":"a"}`
	cases := []struct {
		name   string
		header map[string]string
		path   string
		body   string
		auth   error
		scope  latch.Scope
		golden string
	}{
		{"Authorization format beats a bad token", map[string]string{"Authorization": "token:x", "Content-Type": "application/json"}, setPath(7), good, authFailure, latch.ScopeManageAll, "bad_authorization"},
		{"token beats scope", seedHeaders("tok"), setPath(7), good, authFailure, latch.ScopeReadUsers, "auth_failure"},
		{"scope beats id", seedHeaders("tok"), "/api/1/users/set_password_clear_text/x", good, nil, latch.ScopeManageUsers, "insufficient"},
		{"id beats Content-Type", map[string]string{"Authorization": "bearer:tok", "Content-Type": "text/plain"}, "/api/1/users/set_password_clear_text/-1", good, nil, latch.ScopeManageAll, "bad_id"},
		{"Content-Type beats JSON", map[string]string{"Authorization": "bearer:tok", "Content-Type": "text/plain"}, setPath(7), `{`, nil, latch.ScopeManageAll, "content_type"},
		{"JSON beats the parameters", seedHeaders("tok"), setPath(7), `{"password":`, nil, latch.ScopeManageAll, "invalid_json"},
	}
	for _, c := range cases {
		f := newFake(c.scope)
		f.authErr = c.auth
		srv := serveFake(t, f)
		status, _, body := callFake(t, srv, "PUT", c.path, c.header, c.body)
		want := seedAnswer(t, c.golden)
		if status != want.status || !bytes.Equal(body, want.body) {
			t.Errorf("%s: %d %s, want %d %s", c.name, status, body, want.status, want.body)
		}
		if f.setInput != nil {
			t.Errorf("%s: the use case ran", c.name)
		}
	}
	// Past the surface's checks the use case decides, and its answer is
	// translated: the parameters' failure is the seed's "missing".
	f := newFake(latch.ScopeManageAll)
	f.setErr = &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeRequired, Field: "password_confirmation"}
	srv := serveFake(t, f)
	status, _, body := callFake(t, srv, "PUT", setPath(7), seedHeaders("tok"), `{"password":"a"}`)
	if want := seedAnswer(t, "missing"); status != want.status || !bytes.Equal(body, want.body) {
		t.Errorf("missing: %d %s, want %d %s", status, body, want.status, want.body)
	}
	if f.setInput == nil || f.setInput.User.Number != 7 || f.setInput.Confirmation != nil || *f.setInput.Password != "a" {
		t.Errorf("the use case got %+v", f.setInput)
	}
}

type goldenAnswer struct {
	status int
	body   []byte
}

// seedAnswer reads testdata/<name>.json, the seed's exact answer that the
// end-to-end tests compare against too, byte for byte.
func seedAnswer(t *testing.T, name string) goldenAnswer {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Status struct {
			Code int `json:"code"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("golden %s: %v", name, err)
	}
	return goldenAnswer{status: g.Status.Code, body: b}
}
