package openid_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/openid"
	"github.com/latchid/latch/internal/testenv"
)

// The use cases implement what the surface asks of them, and so does the
// fake the translation tests use.
var (
	_ openid.Accounts = (*account.Service)(nil)
	_ openid.Accounts = (*fakeAccounts)(nil)
)

// fakeAccounts is openid.Accounts in memory, for tests of the surface's
// translation alone: each method answers what the test's function for it
// returns. A method the test set no function for fails the test when the
// surface calls it, so a test also says which use cases a request
// reaches (a malformed one reaches none).
type fakeAccounts struct {
	t                       *testing.T
	AuthenticateAppClientFn func(ctx context.Context, auth account.AppClientAuth) (latch.App, error)
	ExchangeAppCodeFn       func(ctx context.Context, in account.AppCodeExchange) (account.AppTokens, error)
	RefreshAppGrantFn       func(ctx context.Context, app latch.App, refreshToken string, scopes []string) (account.AppTokens, error)
	AppClientCredentialsFn  func(ctx context.Context, app latch.App, scopes []string) (account.AppTokens, error)
	AppUserInfoFn           func(ctx context.Context, accessToken string) (account.UserInfo, error)
	RevokeAppTokenFn        func(ctx context.Context, app latch.App, tok, hint string) error
	IntrospectAppTokenFn    func(ctx context.Context, app latch.App, tok, hint string) (account.Introspection, error)
}

func (f *fakeAccounts) unexpected(name string) {
	f.t.Helper()
	f.t.Errorf("the surface called %s, which this test did not expect", name)
}

var errUnexpected = &latch.Error{Kind: latch.KindInternal, Code: latch.CodeInternal, Message: "unexpected call"}

func (f *fakeAccounts) AuthenticateAppClient(ctx context.Context, auth account.AppClientAuth) (latch.App, error) {
	if f.AuthenticateAppClientFn == nil {
		f.unexpected("AuthenticateAppClient")
		return latch.App{}, errUnexpected
	}
	return f.AuthenticateAppClientFn(ctx, auth)
}

func (f *fakeAccounts) ExchangeAppCode(ctx context.Context, in account.AppCodeExchange) (account.AppTokens, error) {
	if f.ExchangeAppCodeFn == nil {
		f.unexpected("ExchangeAppCode")
		return account.AppTokens{}, errUnexpected
	}
	return f.ExchangeAppCodeFn(ctx, in)
}

func (f *fakeAccounts) RefreshAppGrant(ctx context.Context, app latch.App, refreshToken string, scopes []string) (account.AppTokens, error) {
	if f.RefreshAppGrantFn == nil {
		f.unexpected("RefreshAppGrant")
		return account.AppTokens{}, errUnexpected
	}
	return f.RefreshAppGrantFn(ctx, app, refreshToken, scopes)
}

func (f *fakeAccounts) AppClientCredentials(ctx context.Context, app latch.App, scopes []string) (account.AppTokens, error) {
	if f.AppClientCredentialsFn == nil {
		f.unexpected("AppClientCredentials")
		return account.AppTokens{}, errUnexpected
	}
	return f.AppClientCredentialsFn(ctx, app, scopes)
}

func (f *fakeAccounts) AppUserInfo(ctx context.Context, accessToken string) (account.UserInfo, error) {
	if f.AppUserInfoFn == nil {
		f.unexpected("AppUserInfo")
		return account.UserInfo{}, errUnexpected
	}
	return f.AppUserInfoFn(ctx, accessToken)
}

func (f *fakeAccounts) RevokeAppToken(ctx context.Context, app latch.App, tok, hint string) error {
	if f.RevokeAppTokenFn == nil {
		f.unexpected("RevokeAppToken")
		return errUnexpected
	}
	return f.RevokeAppTokenFn(ctx, app, tok, hint)
}

func (f *fakeAccounts) IntrospectAppToken(ctx context.Context, app latch.App, tok, hint string) (account.Introspection, error) {
	if f.IntrospectAppTokenFn == nil {
		f.unexpected("IntrospectAppToken")
		return account.Introspection{}, errUnexpected
	}
	return f.IntrospectAppTokenFn(ctx, app, tok, hint)
}

// The apps the fake authenticates.
var (
	confidentialApp = latch.App{ID: "c0ffee", Name: "Server app", Type: latch.AppConfidential}
	publicApp       = latch.App{ID: "5pa", Name: "Browser app", Type: latch.AppPublic}
)

// authenticates makes the fake's AuthenticateAppClient accept every
// client, answering app, and record what it was given.
func (f *fakeAccounts) authenticates(app latch.App, got *account.AppClientAuth) *fakeAccounts {
	f.AuthenticateAppClientFn = func(_ context.Context, auth account.AppClientAuth) (latch.App, error) {
		if got != nil {
			*got = auth
		}
		return app, nil
	}
	return f
}

// testIssuer is the issuer of the translation tests' surface.
const testIssuer = "https://id.example"

// serve mounts the surface over accounts on a mux behind the service's
// middleware, as api.NewHandler does, with issuer as its issuer.
func serve(t *testing.T, accounts openid.Accounts, issuer string) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	log := slog.New(slog.DiscardHandler)
	openid.New(accounts, openid.Config{Issuer: issuer, IDTokenAlgs: []string{"RS256"}}, log).Register(mux)
	return httpx.Middleware(log, nil, mux)
}

// answer is a response, read.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body as an object, failing the test if it is not one.
func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, a.body)
	}
	return m
}

// call sends one request; header values of "" are left out. The client
// address is 192.0.2.1.
func call(h http.Handler, method, target string, header map[string]string, body string) answer {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.RemoteAddr = "192.0.2.1:4711"
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return answer{status: res.StatusCode, header: res.Header, body: b}
}

var formHeader = map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

// withHeader is formHeader plus name: value.
func withHeader(name, value string) map[string]string {
	return map[string]string{"Content-Type": "application/x-www-form-urlencoded", name: value}
}

// everyTokenError is every error a use case may return to the surface:
// testenv.EveryError (each code with each kind) and the OAuth codes of
// account.Token* with each kind.
func everyTokenError() []*latch.Error {
	out := testenv.EveryError()
	for _, code := range []string{account.TokenInvalidRequest, account.TokenInvalidClient, account.TokenInvalidGrant, account.TokenUnauthorizedClient,
		account.TokenUnsupportedGrantType, account.TokenInvalidScope, account.TokenUnsupportedTokenType} {
		for _, kind := range testenv.EveryKind() {
			out = append(out, &latch.Error{Kind: kind, Code: code, Message: `Words "quoted" \ of the service for ` + code + " – with a dash."})
		}
	}
	return out
}
