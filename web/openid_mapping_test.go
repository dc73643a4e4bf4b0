package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// The OpenID Provider pages' answers to the use cases' errors, as
// TestEveryErrorOnEveryPage checks the others': a page, never a redirect
// to the app (an outage is not the app's error, and a made-up one would
// tell the app the person refused), 503 with Retry-After while the
// database is down, 500 saying only that something went wrong.

// authorizeAnswer is the authorization pages' (the app's and the
// consent's lookups, the consent, the code).
func authorizeAnswer(e *latch.Error) answer {
	if dbDown(e) {
		return answer{503, tryAgain}
	}
	return map[latch.Kind]answer{
		latch.KindInvalid:         {400, "This sign-in request is no longer valid."},
		latch.KindUnauthenticated: {400, "This sign-in request is no longer valid."},
		latch.KindNotFound:        {400, "This sign-in request is no longer valid."},
		latch.KindConflict:        {400, "This sign-in request is no longer valid."},
		latch.KindForbidden:       {403, "This account cannot sign in to this app."},
		latch.KindTooMany:         {429, "Too many attempts."},
		latch.KindUnavailable:     {503, "This cannot be done right now: " + e.Message},
		latch.KindInternal:        {500, wentWrong},
	}[e.Kind]
}

// endSessionAnswer is an app's logout request's, when CheckEndSession
// refuses it: a request that does not check out says why.
func endSessionAnswer(e *latch.Error) answer {
	if dbDown(e) {
		return answer{503, tryAgain}
	}
	invalid := answer{400, "This sign-out request is not valid: " + strings.TrimSuffix(e.Message, ".") + ". Nothing was changed."}
	return map[latch.Kind]answer{
		latch.KindInvalid:         invalid,
		latch.KindUnauthenticated: invalid,
		latch.KindForbidden:       invalid,
		latch.KindNotFound:        invalid,
		latch.KindConflict:        invalid,
		latch.KindTooMany:         {429, "Too many attempts."},
		latch.KindUnavailable:     {503, "This cannot be done right now: " + e.Message},
		latch.KindInternal:        {500, wentWrong},
	}[e.Kind]
}

// signOutAnswer is Sign out's, when EndBrowserSession fails: the person
// is still signed in and told so. A session that has ended already
// (Unauthenticated, NotFound) is signed out: to the sign-in page.
func signOutAnswer(e *latch.Error) answer {
	if dbDown(e) {
		return answer{503, tryAgain}
	}
	return map[latch.Kind]answer{
		latch.KindUnauthenticated: {303, ""},
		latch.KindNotFound:        {303, ""},
		latch.KindTooMany:         {503, "You are still signed in: signing out cannot be done right now."},
		latch.KindUnavailable:     {503, "You are still signed in: signing out cannot be done right now."},
		latch.KindInvalid:         {500, "You are still signed in: something went wrong on our side."},
		latch.KindForbidden:       {500, "You are still signed in: something went wrong on our side."},
		latch.KindConflict:        {500, "You are still signed in: something went wrong on our side."},
		latch.KindInternal:        {500, "You are still signed in: something went wrong on our side."},
	}[e.Kind]
}

// revokeAnswer is the account page's Remove access's.
func revokeAnswer(e *latch.Error) answer {
	if dbDown(e) {
		return answer{503, tryAgain}
	}
	return map[latch.Kind]answer{
		latch.KindNotFound:        {404, "That app has no access to your account."},
		latch.KindInvalid:         {400, "The access was not removed: " + strings.TrimSuffix(e.Message, ".") + "."},
		latch.KindConflict:        {400, "The access was not removed: " + strings.TrimSuffix(e.Message, ".") + "."},
		latch.KindForbidden:       {403, "The access was not removed: this account may not change it."},
		latch.KindUnauthenticated: {403, "The access was not removed: this account may not change it."},
		latch.KindTooMany:         {429, "Too many attempts."},
		latch.KindUnavailable:     {503, "This cannot be done right now: " + strings.TrimSuffix(e.Message, ".") + "."},
		latch.KindInternal:        {500, wentWrong},
	}[e.Kind]
}

func TestEveryErrorOnTheOpenIDPages(t *testing.T) {
	var current *latch.Error
	fail := func() error { return current }
	fx, _ := appsFixture(t)
	// The consent page's sealed request, before any use case fails.
	consentSealed := sealedRequest(t, fx.serve(pageGet("/oauth2/authorize?"+authorizeParams().Encode(), fx.sessionCookie())))
	firstParty := fx.app
	firstParty.FirstParty = true
	app := fx.app

	pages := []struct {
		name  string
		setUp func() // makes the page's use case fail
		req   func() *http.Request
		want  func(*latch.Error) answer
	}{
		{"authorize: the app", func() {
			fx.f.AuthorizeAppFn = func(context.Context, string) (latch.App, error) { return latch.App{}, fail() }
		}, func() *http.Request {
			return pageGet("/oauth2/authorize?" + authorizeParams("prompt", "none").Encode())
		}, authorizeAnswer},
		{"authorize: the consent", func() {
			fx.f.ConsentOfFn = func(context.Context, string, string) (*latch.AppConsent, error) { return nil, fail() }
		}, func() *http.Request {
			return pageGet("/oauth2/authorize?"+authorizeParams("prompt", "none").Encode(), fx.sessionCookie())
		}, authorizeAnswer},
		{"authorize: the code", func() {
			fx.app = firstParty
			fx.f.IssueAppCodeFn = func(context.Context, account.AppCodeRequest) (string, error) { return "", fail() }
		}, func() *http.Request {
			return pageGet("/oauth2/authorize?"+authorizeParams().Encode(), fx.sessionCookie())
		}, authorizeAnswer},
		{"consent: allow", func() {
			fx.f.GrantConsentFn = func(context.Context, string, string, []string) (latch.AppConsent, error) {
				return latch.AppConsent{}, fail()
			}
		}, func() *http.Request {
			return formPost("/oauth2/consent", url.Values{"authorize": {consentSealed}, "decision": {"allow"}}, fx.sessionCookie())
		}, authorizeAnswer},
		{"logout request", func() {
			fx.f.CheckEndSessionFn = func(context.Context, account.EndSessionRequest) (account.EndSession, error) {
				return account.EndSession{}, fail()
			}
		}, func() *http.Request {
			return pageGet("/oauth2/logout?"+logoutParams(true).Encode(), fx.sessionCookie())
		}, endSessionAnswer},
		{"sign out", func() {
			fx.f.EndBrowserSessionFn = func(context.Context, account.Principal) error { return fail() }
		}, func() *http.Request { return formPost("/logout", url.Values{}, fx.sessionCookie()) }, signOutAnswer},
		{"remove access", func() {
			fx.f.RevokeConsentFn = func(context.Context, string, string) error { return fail() }
		}, func() *http.Request {
			return formPost("/account/apps/revoke", url.Values{"app_id": {"app-notes"}}, fx.sessionCookie())
		}, revokeAnswer},
	}
	for _, page := range pages {
		t.Run(page.name, func(t *testing.T) {
			fx.app = app
			page.setUp()
			for _, e := range testenv.EveryError() {
				if e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable {
					e.RetryAfter = 1500 * time.Millisecond
				}
				current = e
				rec, panicked := serveFake(fx.h, page.req())
				name := e.Kind.String() + "/" + e.Code
				if panicked != nil {
					t.Errorf("%s: panic: %v", name, panicked)
					continue
				}
				want := page.want(e)
				if rec.Code != want.status {
					t.Errorf("%s: status %d, want %d", name, rec.Code, want.status)
				}
				if want.status == 303 {
					continue
				}
				if loc := rec.Header().Get("Location"); loc != "" {
					t.Errorf("%s: redirected to %s", name, loc)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("%s: Content-Type %q", name, ct)
				}
				body := html.UnescapeString(rec.Body.String())
				if !strings.Contains(body, want.says) {
					t.Errorf("%s: the page does not say %q:\n%s", name, want.says, body)
				}
				if e.Kind == latch.KindInternal && strings.Contains(body, e.Message) {
					t.Errorf("%s: the page shows the internal error's message", name)
				}
				checkAccessible(t, rec.Body.String())
				wantRetry := ""
				if dbDown(e) {
					wantRetry = "2"
				}
				if got := rec.Header().Get("Retry-After"); got != wantRetry {
					t.Errorf("%s: Retry-After %q, want %q", name, got, wantRetry)
				}
			}
			if len(fx.codes) != 0 {
				t.Errorf("a code was issued: %+v", fx.codes)
			}
		})
	}
}
