package royalti_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/royalti"
	"github.com/latchid/latch/internal/testenv"
)

// fakeAccounts is seed 003's use cases in memory.
type fakeAccounts struct {
	signUpErr error
	setErr    error
	setCalls  int
	result    account.SetFirstPasswordResult
}

func (f *fakeAccounts) SignUp(context.Context, account.SignUpInput) error { return f.signUpErr }

func (f *fakeAccounts) SetFirstPassword(context.Context, string, string) (account.SetFirstPasswordResult, error) {
	f.setCalls++
	return f.result, f.setErr
}

func (f *fakeAccounts) Identities(context.Context, string) ([]latch.Identity, error) { return nil, nil }

var _ royalti.Accounts = (*account.Service)(nil)

func serveFake(t *testing.T, f *fakeAccounts) *httptest.Server {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	royalti.New(f, log).Register(mux)
	srv := httptest.NewServer(httpx.Middleware(log, nil, mux))
	t.Cleanup(srv.Close)
	return srv
}

func postFake(t *testing.T, srv *httptest.Server, path string, header map[string]string, body string) (int, http.Header, []byte) {
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
	return res.StatusCode, res.Header, b
}

var withToken = map[string]string{"Authorization": "Bearer vt", "Content-Type": "application/json"}

// seed003Status is the status seed 003 gives each kind and code
// (shared/seeds/README.md, 003).
func seed003Status(e *latch.Error) int {
	switch e.Kind {
	case latch.KindInvalid:
		if e.Code == httpx.CodeBodyTooLarge {
			return 413
		}
		return 400
	case latch.KindUnauthenticated:
		if e.Code == httpx.CodeMissingToken {
			return 401
		}
		return 400 // an invalid or expired token is the seed's 400
	case latch.KindForbidden:
		return 403
	case latch.KindConflict:
		return 400 // "password already set"
	case latch.KindNotFound:
		return 404
	case latch.KindTooMany:
		return 429
	case latch.KindUnavailable:
		return 503
	}
	return 500
}

// TestEveryErrorHasASeed003Answer hands the surface every kind and code a
// use case can return: each gets its status in the seed's
// {"success":false,"error":{code,message[,details]}} shape.
func TestEveryErrorHasASeed003Answer(t *testing.T) {
	f := &fakeAccounts{}
	srv := serveFake(t, f)
	for _, e := range testenv.EveryError() {
		if e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable {
			e.RetryAfter = time.Second
		}
		f.setErr = e
		status, header, body := postFake(t, srv, "/auth/setpassword", withToken, `{"password":"x"}`)
		what := e.Kind.String() + "/" + e.Code
		if want := seed003Status(e); status != want {
			t.Errorf("%s: status %d, want %d (%s)", what, status, want, body)
			continue
		}
		var out struct {
			Success *bool `json:"success"`
			Error   struct {
				Code    string   `json:"code"`
				Message string   `json:"message"`
				Details []string `json:"details"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &out); err != nil || out.Success == nil || *out.Success || out.Error.Code == "" ||
			out.Error.Code != strings.ToUpper(out.Error.Code) || out.Error.Message == "" || header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: not the seed's error shape: %s", what, body)
			continue
		}
		if e.Kind == latch.KindInternal && strings.Contains(string(body), e.Message) {
			t.Errorf("%s: the internal message leaked: %s", what, body)
		}
		if out.Error.Code == "VALIDATION_ERROR" && len(out.Error.Details) == 0 {
			t.Errorf("%s: a validation error without details: %s", what, body)
		}
	}
}

// TestSeed003Words: the seed's wording of its own rules comes from the
// surface, by code and Params; the tenant's other rules read as the
// service's text.
func TestSeed003Words(t *testing.T) {
	rule := func(code string, params map[string]string) latch.Error {
		return latch.Error{Kind: latch.KindInvalid, Code: code, Field: "password", Message: "Words of the service for " + code + ".", Params: params}
	}
	f := &fakeAccounts{setErr: &latch.Error{Kind: latch.KindInvalid, Code: latch.CodePolicyLength, Field: "password", Details: []latch.Error{
		rule(latch.CodePolicyLength, map[string]string{"min": "8"}),
		rule(latch.CodePolicyDigit, nil),
		rule(latch.CodePolicySpecial, nil),
		rule(latch.CodePolicyEmail, nil),
		rule(latch.CodePolicySpecialInvalid, map[string]string{"specials": "!@"}),
	}}}
	_, _, body := postFake(t, serveFake(t, f), "/auth/setpassword", withToken, `{"password":"x"}`)
	var out struct {
		Error struct {
			Code, Message string
			Details       []string
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &out)
	want := []string{"Password must be at least 8 characters long", "Password must contain at least one number",
		"Password must contain at least one special character", "Words of the service for policy_email.", "Words of the service for policy_special_invalid."}
	if out.Error.Code != "VALIDATION_ERROR" || out.Error.Message != "Password validation failed" || !slices.Equal(out.Error.Details, want) {
		t.Fatalf("%s", body)
	}
}

// TestSeed003OrderOfChecks: no token (401) before the body; a bad body
// before the use case; an empty password is the surface's "required"
// without asking the use case.
func TestSeed003OrderOfChecks(t *testing.T) {
	for _, c := range []struct {
		name   string
		header map[string]string
		body   string
		status int
		code   string
	}{
		{"no token, and a bad body", map[string]string{"Content-Type": "text/plain"}, `{`, 401, "UNAUTHORIZED"},
		{"a token, and a bad Content-Type", map[string]string{"Authorization": "Bearer vt", "Content-Type": "text/plain"}, `{"password":"x"}`, 400, "INVALID_REQUEST"},
		{"a token, and bad JSON", withToken, `{"password":`, 400, "INVALID_REQUEST"},
		{"a token, and no password", withToken, `{}`, 400, "VALIDATION_ERROR"},
	} {
		f := &fakeAccounts{setErr: &latch.Error{Kind: latch.KindConflict, Code: latch.CodePasswordAlreadySet}}
		status, _, body := postFake(t, serveFake(t, f), "/auth/setpassword", c.header, c.body)
		if status != c.status || !strings.Contains(string(body), `"code":"`+c.code+`"`) || f.setCalls != 0 {
			t.Errorf("%s: %d %s (use case ran %d times), want %d %s", c.name, status, body, f.setCalls, c.status, c.code)
		}
	}
}
