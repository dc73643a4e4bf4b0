package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/token"
	"github.com/latchid/latch/web"
)

// The OpenID Provider's pages over the fake use cases: an app, a user with
// a web session, and a clock the fixture moves (FlowDeadline and FlowLive
// read it, as the use cases' do).

const (
	appCallback = "https://notes.example/callback"
	appOrigin   = "https://notes.example"
	rpLoggedOut = "https://notes.example/bye?from=latch"
	// wrongPassword and rightPassword are what the fake Login refuses
	// and accepts.
	rightPassword = "the right one"
)

var appChallenge = token.S256("the app's verifier")

type opFixture struct {
	t    *testing.T
	f    *fakeAccounts
	h    http.Handler
	now  time.Time
	app  latch.App
	user latch.User
	// session is the web session Authenticate answers with; signIns
	// counts Login calls and moves its AuthTime to now.
	session latch.Session
	consent *latch.AppConsent
	// What the pages asked of the use cases.
	codes       []account.AppCodeRequest
	granted     [][]string
	ended       []account.Principal
	endRequests []account.EndSessionRequest
	appLookups  []string
	endSession  account.EndSession
}

func newOPFixture(t *testing.T) *opFixture {
	fx := &opFixture{t: t, now: time.Date(2031, 5, 6, 7, 8, 9, 500, time.UTC)}
	fx.app = latch.App{ID: "app-notes", TenantID: latch.DefaultTenantID, Name: "Notes", Type: latch.AppPublic,
		RedirectURIs: []string{appCallback}, PostLogoutRedirectURIs: []string{rpLoggedOut}, Scopes: latch.AppScopes()}
	fx.user = latch.User{ID: "u-ada", Email: "ada@example.com", TenantID: latch.DefaultTenantID, Active: true}
	fx.session = latch.Session{ID: "s-browser", UserID: fx.user.ID, CreatedAt: fx.now.Add(-time.Hour), AuthTime: fx.now.Add(-time.Hour), AMR: []string{account.AMRPassword}}
	fx.f = &fakeAccounts{t: t,
		FlowDeadlineFn: func() time.Time { return fx.now.Add(account.SignInFlowTTL) },
		FlowLiveFn:     func(d time.Time) bool { return !fx.now.After(d) },
		AuthorizeAppFn: func(_ context.Context, id string) (latch.App, error) {
			fx.appLookups = append(fx.appLookups, id)
			if id != fx.app.ID {
				return latch.App{}, nil
			}
			return fx.app, nil
		},
		ConsentOfFn: func(_ context.Context, userID, appID string) (*latch.AppConsent, error) {
			if fx.consent == nil || fx.consent.UserID != userID || fx.consent.AppID != appID {
				return nil, nil
			}
			c := *fx.consent
			return &c, nil
		},
		GrantConsentFn: func(_ context.Context, userID, appID string, scopes []string) (latch.AppConsent, error) {
			fx.granted = append(fx.granted, append([]string{userID, appID}, scopes...))
			fx.consent = &latch.AppConsent{UserID: userID, AppID: appID, Scopes: scopes, GrantedAt: fx.now}
			return *fx.consent, nil
		},
		IssueAppCodeFn: func(_ context.Context, in account.AppCodeRequest) (string, error) {
			fx.codes = append(fx.codes, in)
			return "the-code", nil
		},
		LoginFn: func(_ context.Context, in account.LoginInput) (account.TokenPair, error) {
			if in.Password != rightPassword {
				return account.TokenPair{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidCredentials, Message: "wrong email or password"}
			}
			fx.session = latch.Session{ID: "s-new", UserID: fx.user.ID, CreatedAt: fx.now, AuthTime: fx.now, AMR: []string{account.AMRPassword}}
			return account.TokenPair{AccessToken: "access", RefreshToken: "lrt_refresh"}, nil
		},
		AuthenticateFn: func(_ context.Context, tok string) (account.Principal, error) {
			if tok != "access" {
				return account.Principal{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid or expired access token"}
			}
			return account.Principal{User: fx.user, Session: fx.session}, nil
		},
		RefreshFn: func(context.Context, string) (account.TokenPair, error) {
			return account.TokenPair{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid refresh token"}
		},
		EndBrowserSessionFn: func(_ context.Context, p account.Principal) error {
			fx.ended = append(fx.ended, p)
			return nil
		},
		CheckEndSessionFn: func(_ context.Context, req account.EndSessionRequest) (account.EndSession, error) {
			fx.endRequests = append(fx.endRequests, req)
			return fx.endSession, nil
		},
	}
	mux := http.NewServeMux()
	web.New(web.Config{Accounts: fx.f, Sealer: macSealer{}, Providers: []string{"acme"}, PublicURL: fakePublicURL,
		Log: slog.New(slog.DiscardHandler)}).Register(mux)
	fx.h = mux
	return fx
}

// macSealer is an httpx.Sealer whose values anyone can read (as
// plainSealer's) but nobody can change without the key: like the real
// AEAD, a changed value does not open. Tests use the key to seal what the
// pages would refuse for other reasons (expired, another purpose).
type macSealer struct{}

var macKey = []byte("the fake sealer's key")

func (macSealer) mac(purpose string, plain []byte) string {
	m := hmac.New(sha256.New, macKey)
	m.Write([]byte(purpose + "\x00"))
	m.Write(plain)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s macSealer) Seal(purpose string, plain []byte) (string, error) {
	return base64.RawURLEncoding.EncodeToString(plain) + "." + s.mac(purpose, plain), nil
}

func (s macSealer) Open(purpose, sealed string) ([]byte, error) {
	body, mac, ok := strings.Cut(sealed, ".")
	plain, err := base64.RawURLEncoding.DecodeString(body)
	if !ok || err != nil || !hmac.Equal([]byte(mac), []byte(s.mac(purpose, plain))) {
		return nil, errors.New("sealed value is invalid")
	}
	return plain, nil
}

// sessionCookie is the browser's web session cookie (the fake
// Authenticate knows its access token).
func (fx *opFixture) sessionCookie() *http.Cookie {
	plain, _ := json.Marshal(map[string]string{"a": "access", "r": "lrt_refresh"})
	sealed, _ := macSealer{}.Seal("web-session", plain)
	return &http.Cookie{Name: "__Host-latch_web", Value: sealed}
}

// authorizeParams is a good authorization request of the fixture's app.
func authorizeParams(change ...string) url.Values {
	q := url.Values{"client_id": {"app-notes"}, "redirect_uri": {appCallback}, "response_type": {"code"}, "scope": {"openid email offline_access"},
		"state": {"st-1"}, "nonce": {"n-1"}, "code_challenge": {appChallenge}, "code_challenge_method": {"S256"}}
	for i := 0; i+1 < len(change); i += 2 {
		if change[i+1] == "" {
			q.Del(change[i])
		} else {
			q.Set(change[i], change[i+1])
		}
	}
	return q
}

func (fx *opFixture) serve(req *http.Request) *httptest.ResponseRecorder {
	fx.t.Helper()
	rec, panicked := serveFake(fx.h, req)
	if panicked != nil {
		fx.t.Fatalf("%s %s: panic: %v", req.Method, req.URL, panicked)
	}
	return rec
}

var hiddenAuthorize = regexp.MustCompile(`name="authorize" value="([^"]+)"`)

// sealedRequest is the sealed request a page carries in its forms.
func sealedRequest(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	m := hiddenAuthorize.FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("the page carries no sealed request: %d\n%s", rec.Code, rec.Body)
	}
	return htmlUnescape(m[1])
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

// openSealed reads what the pages sealed for purpose.
func openSealed(t *testing.T, purpose, sealed string) map[string]any {
	t.Helper()
	plain, err := macSealer{}.Open(purpose, sealed)
	if err != nil {
		t.Fatalf("open %q: %v", sealed, err)
	}
	var out map[string]any
	if err := json.Unmarshal(plain, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// formAction is the page's CSP form-action sources.
func formAction(rec *httptest.ResponseRecorder) []string {
	for _, directive := range strings.Split(rec.Header().Get("Content-Security-Policy"), ";") {
		if f := strings.Fields(directive); len(f) > 0 && f[0] == "form-action" {
			return f[1:]
		}
	}
	return nil
}

func allowsFormTo(rec *httptest.ResponseRecorder, origin string) bool {
	return slices.Contains(formAction(rec), origin)
}

// seal seals v with the key, for values the pages must refuse for what
// they say (another purpose, a request without an app or deadline).
func seal(purpose string, v any) string {
	plain, _ := json.Marshal(v)
	s, _ := macSealer{}.Seal(purpose, plain)
	return s
}

// tamper changes one character of a sealed value's plaintext, keeping
// its MAC: what someone without the key can do.
func tamper(sealed string) string {
	body, mac, _ := strings.Cut(sealed, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(body)
	i := strings.Index(string(raw), "app-notes")
	if i < 0 {
		i = len(raw) / 2
	}
	raw[i] = 'X'
	return base64.RawURLEncoding.EncodeToString(raw) + "." + mac
}
