package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/token"
)

// The pages' answers to the use cases' errors. On every page an internal
// error is a 500 saying only that something went wrong on Latch's side,
// and the database being down is a 503 with Retry-After saying to try
// again; what else each kind means is the page's own (a refused sign-in
// is 401 on the sign-in form, a refused link is "link not valid"), with a
// few codes refining their own kind. Nothing else is a 500, except on the
// forms whose use cases never answer that kind (noted per page).

const (
	wentWrong   = "Something went wrong on our side."
	tryAgain    = "Latch cannot do this right now. Nothing was changed: try again in a minute."
	badLinkText = "This link is invalid, expired or already used."
)

// answer is what a page shows for an error: its status and a text it
// contains ("" when the error's own message is expected).
type answer struct {
	status int
	says   string
}

// dbDown is the database unavailable: the one Unavailable that every page
// answers with Retry-After and the same text.
func dbDown(e *latch.Error) bool {
	return e.Kind == latch.KindUnavailable && e.Code == latch.CodeDatabaseUnavailable
}

// signInAnswer is the sign-in form's (POST /login, for Latch's own pages
// and for an app). Unavailable other than the database (hashing
// overloaded, limits that cannot be checked) reads as "too many attempts"
// there. NotFound and Conflict come from no sign-in use case.
func signInAnswer(e *latch.Error) answer {
	switch {
	case dbDown(e):
		return answer{503, tryAgain}
	case e.Kind == latch.KindForbidden && e.Code == latch.CodePasswordChangeRequired:
		return answer{403, "Your administrator requires a new password"}
	}
	return map[latch.Kind]answer{
		latch.KindInvalid:         {400, ""},
		latch.KindUnauthenticated: {401, "That email and password do not match an account."},
		latch.KindForbidden:       {401, "That email and password do not match an account."},
		latch.KindTooMany:         {429, "Too many attempts."},
		latch.KindUnavailable:     {429, "Too many attempts."},
		latch.KindNotFound:        {500, wentWrong},
		latch.KindConflict:        {500, wentWrong},
		latch.KindInternal:        {500, wentWrong},
	}[e.Kind]
}

// formAnswer is a form's that re-renders with the error next to its field
// (recover, set password with a link, verify). Unauthenticated,
// Forbidden, NotFound and Conflict come from none of their use cases but
// the ones the pages answer first (an invalid link, a password already
// set).
func formAnswer(e *latch.Error, invalidSays string) answer {
	if dbDown(e) {
		return answer{503, tryAgain}
	}
	return map[latch.Kind]answer{
		latch.KindInvalid:         {422, invalidSays},
		latch.KindTooMany:         {429, "Too many attempts."},
		latch.KindUnavailable:     {503, "This cannot be done right now: " + e.Message + "."},
		latch.KindUnauthenticated: {500, wentWrong},
		latch.KindForbidden:       {500, wentWrong},
		latch.KindNotFound:        {500, wentWrong},
		latch.KindConflict:        {500, wentWrong},
		latch.KindInternal:        {500, wentWrong},
	}[e.Kind]
}

// linkAnswer is a link page's (GET /set-password, /verify) when the link
// does not check out: a refused or unknown link is "not valid".
func linkAnswer(e *latch.Error) answer {
	if dbDown(e) {
		return answer{503, tryAgain}
	}
	return map[latch.Kind]answer{
		latch.KindInvalid:         {400, badLinkText},
		latch.KindUnauthenticated: {400, badLinkText},
		latch.KindNotFound:        {400, badLinkText},
		latch.KindTooMany:         {429, "Too many attempts."},
		latch.KindUnavailable:     {503, "This cannot be done right now: " + e.Message + "."},
		latch.KindForbidden:       {500, wentWrong},
		latch.KindConflict:        {500, wentWrong},
		latch.KindInternal:        {500, wentWrong},
	}[e.Kind]
}

// accountFormAnswer is the account page's password form's. Unauthenticated
// and the rest come from SetOwnPassword only for a session that the page
// had just found live.
func accountFormAnswer(e *latch.Error) answer {
	if dbDown(e) {
		return answer{503, tryAgain}
	}
	return map[latch.Kind]answer{
		latch.KindInvalid:         {422, ""},
		latch.KindTooMany:         {429, "Too many attempts."},
		latch.KindUnavailable:     {503, "This cannot be done right now: " + e.Message + "."},
		latch.KindUnauthenticated: {500, wentWrong},
		latch.KindForbidden:       {500, wentWrong},
		latch.KindNotFound:        {500, wentWrong},
		latch.KindConflict:        {500, wentWrong},
		latch.KindInternal:        {500, wentWrong},
	}[e.Kind]
}

// completeAnswer is /login/complete's when the code it redeems is
// refused: whatever the client did wrong reads as an expired sign-in.
func completeAnswer(e *latch.Error) answer {
	switch {
	case e.Kind == latch.KindForbidden && e.Code == latch.CodePasswordChangeRequired:
		return answer{403, "Your administrator requires a new password"}
	case e.Kind == latch.KindUnavailable:
		return answer{503, tryAgain}
	case e.Kind == latch.KindTooMany:
		return answer{429, "Too many attempts."}
	case e.Kind == latch.KindInternal:
		return answer{500, wentWrong}
	}
	return answer{400, "This sign-in expired. Start again."}
}

var stateInButton = regexp.MustCompile(`state=([A-Za-z0-9_-]+)`)

// TestEveryErrorOnEveryPage hands every error (every kind crossed with
// every code) to each page that maps use-case errors, through its route,
// and checks the status, that the answer is an HTML page saying what the
// table says, Retry-After while the database is down, and that an
// internal error shows nothing of itself.
// nextSteps are the Forbidden codes that lead to a page of their own.
var nextSteps = []string{latch.CodeMFARequired, latch.CodeMFAEnrolmentRequired, latch.CodeStepUpRequired}

func TestEveryErrorOnEveryPage(t *testing.T) {
	var current *latch.Error
	fail := func() error { return current }
	user := latch.User{ID: "u1", Email: "ada@example.com", TenantID: latch.DefaultTenantID}
	challenge := token.S256("an app's verifier")
	f := &fakeAccounts{t: t,
		LoginFn: func(_ context.Context, in account.LoginInput) (account.TokenPair, error) {
			if in.Password == "the right one" { // signInForSession's
				return account.TokenPair{AccessToken: "access", RefreshToken: "lrt_refresh"}, nil
			}
			return account.TokenPair{}, fail()
		},
		AuthenticatePasswordFn: func(context.Context, account.LoginInput) (latch.User, string, error) { return latch.User{}, "", fail() },
		AllowedRedirectFn:      func(raw string) (*url.URL, error) { return url.Parse(raw) },
		FlowDeadlineFn:         func() time.Time { return flowDeadline },
		FlowLiveFn:             func(time.Time) bool { return true },
		RedeemAuthorizationCodeFn: func(context.Context, string, string, string) (account.TokenPair, error) {
			return account.TokenPair{}, fail()
		},
		AuthenticateFn: func(_ context.Context, tok string) (account.Principal, error) {
			return account.Principal{User: user}, nil
		},
		MyIdentitiesFn:        func(context.Context, account.Principal) ([]latch.Identity, error) { return nil, nil },
		MyAppsFn:              func(context.Context, string) ([]account.MyApp, error) { return nil, nil },
		HasPasswordFn:         func(context.Context, string) (bool, error) { return true, nil },
		PasswordRulesFn:       func(context.Context, string) string { return "At least 8 characters." },
		SetOwnPasswordFn:      func(context.Context, account.Principal, account.SetOwnPasswordInput) error { return fail() },
		RequestRecoveryFn:     func(context.Context, string) error { return fail() },
		SetPasswordWithLinkFn: func(context.Context, account.SetPasswordWithLinkInput) error { return fail() },
		PasswordLinkInfoFn: func(_ context.Context, tok string) (account.LinkInfo, error) {
			if tok == "broken" {
				return account.LinkInfo{}, fail()
			}
			return account.LinkInfo{User: user, Rules: "At least 8 characters."}, nil
		},
		VerificationUserFn:     func(context.Context, string) (latch.User, error) { return user, nil },
		VerifyAndSetPasswordFn: func(context.Context, string, string) error { return fail() },
		SignUpFn:               func(context.Context, account.SignUpInput) error { return fail() },
	}
	h := fakePages(f)

	// A web session, for the account page's form.
	rec, _ := serveFake(h, formPost("/login", url.Values{"email": {"ada@example.com"}, "password": {"the right one"}}))
	session := cookieNamed(rec, "__Host-latch_web")
	if rec.Code != 303 || session == nil {
		t.Fatalf("sign-in for a session: %d %v", rec.Code, rec.Result().Cookies())
	}
	// A provider sign-in started from Latch's own sign-in page, for
	// /login/complete: its PKCE cookie and the state its button carries.
	rec, _ = serveFake(h, pageGet("/login"))
	pkce := cookieNamed(rec, "__Host-latch_login")
	m := stateInButton.FindStringSubmatch(rec.Body.String())
	if pkce == nil || m == nil {
		t.Fatalf("sign-in page: %v\n%s", rec.Result().Cookies(), rec.Body)
	}
	completeURL := "/login/complete?" + url.Values{"code": {"c"}, "state": {m[1]}}.Encode()

	pages := []struct {
		name    string
		request func() *http.Request
		want    func(e *latch.Error) answer
	}{
		{"sign-in for Latch's pages", func() *http.Request {
			return formPost("/login", url.Values{"email": {"ada@example.com"}, "password": {"a wrong one"}})
		}, signInAnswer},
		{"sign-in for an app", func() *http.Request {
			return formPost("/login", url.Values{"email": {"ada@example.com"}, "password": {"a wrong one"},
				"redirect_to": {"https://app.example/cb"}, "code_challenge": {challenge}})
		}, signInAnswer},
		{"recover", func() *http.Request {
			return formPost("/recover", url.Values{"email": {"ada@example.com"}})
		}, func(e *latch.Error) answer { return formAnswer(e, "") }},
		{"set-password link", func() *http.Request {
			return pageGet(account.SetPasswordPath + "?token=broken")
		}, linkAnswer},
		{"set password with a link", func() *http.Request {
			return formPost(account.SetPasswordPath, url.Values{"token": {"t"}, "password": {"p"}, "password_confirmation": {"p"}})
		}, func(e *latch.Error) answer {
			switch {
			case e.Kind == latch.KindInvalid && e.Code == latch.CodeInvalidLink:
				return answer{400, badLinkText}
			case e.Kind == latch.KindConflict && e.Code == latch.CodePasswordAlreadySet:
				return answer{409, "This account has a password already."}
			}
			return formAnswer(e, "Not saved: see below.")
		}},
		{"verify and set a password", func() *http.Request {
			return formPost(account.VerifyPath, url.Values{"token": {"t"}, "password": {"p"}, "password_confirmation": {"p"}})
		}, func(e *latch.Error) answer {
			if e.Kind == latch.KindConflict && e.Code == latch.CodePasswordAlreadySet {
				return answer{200, "Your email is verified and your password is set."}
			}
			return formAnswer(e, "Not saved: see below.")
		}},
		{"account password form", func() *http.Request {
			return formPost("/account/password", url.Values{"password": {"p"}, "password_confirmation": {"p"}}, session)
		}, accountFormAnswer},
		{"sign-in complete", func() *http.Request { return pageGet(completeURL, pkce) }, completeAnswer},
		{"sign-up", func() *http.Request {
			return formPost("/signup", url.Values{"email": {"ada@example.com"}, "first_name": {"Ada"}})
		}, func(e *latch.Error) answer { return formAnswer(e, "") }},
	}
	for _, page := range pages {
		t.Run(page.name, func(t *testing.T) {
			for _, e := range testenv.EveryError() {
				if e.Kind == latch.KindForbidden && slices.Contains(nextSteps, e.Code) {
					// Not a refusal but the next step (the factor
					// step, its enrolment, a step-up): each has its
					// own page, tested in factors_test.go and
					// security_test.go.
					continue
				}
				if e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable {
					e.RetryAfter = 1500 * time.Millisecond
				}
				current = e
				rec, panicked := serveFake(h, page.request())
				name := e.Kind.String() + "/" + e.Code
				if panicked != nil {
					t.Errorf("%s: panic: %v", name, panicked)
					continue
				}
				want := page.want(e)
				body := html.UnescapeString(rec.Body.String())
				if rec.Code != want.status {
					t.Errorf("%s: status %d, want %d", name, rec.Code, want.status)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("%s: Content-Type %q", name, ct)
				}
				says := want.says
				if says == "" {
					says = e.Message
				}
				if !strings.Contains(body, says) {
					t.Errorf("%s: the page does not say %q:\n%s", name, says, body)
				}
				if e.Kind == latch.KindInternal && strings.Contains(body, e.Message) {
					t.Errorf("%s: the page shows the internal error's message", name)
				}
				checkAccessible(t, rec.Body.String())
				wantRetry := ""
				if dbDown(e) {
					wantRetry = "2" // 1.5 s, rounded up
				}
				if got := rec.Header().Get("Retry-After"); got != wantRetry {
					t.Errorf("%s: Retry-After %q, want %q", name, got, wantRetry)
				}
			}
		})
	}
}
