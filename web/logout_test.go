package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// logoutParams is an app's logout request.
func logoutParams(hint bool) url.Values {
	q := url.Values{"client_id": {"app-notes"}, "post_logout_redirect_uri": {rpLoggedOut}, "state": {"bye-1"}}
	if hint {
		q.Set("id_token_hint", "an.id.token")
	}
	return q
}

var rpRedirect = rpLoggedOut + "&state=bye-1"

// sessionCleared reports whether rec deletes the web session cookie.
func sessionCleared(rec interface{ Result() *http.Response }) bool {
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-latch_web" && c.MaxAge < 0 {
			return true
		}
	}
	return false
}

// TestEndSession: an app's logout request is checked first (a bad one is
// an error page, no redirect, nothing ended); the hint's own user is
// signed out at once and sent back; anyone else, or a request without a
// hint, is asked first; a browser with no session is sent back at once.
func TestEndSession(t *testing.T) {
	t.Run("invalid request", func(t *testing.T) {
		fx := newOPFixture(t)
		fx.f.CheckEndSessionFn = func(context.Context, account.EndSessionRequest) (account.EndSession, error) {
			return account.EndSession{}, &latch.Error{Kind: latch.KindInvalid, Code: "invalid_request", Message: "post_logout_redirect_uri is not registered for this app"}
		}
		for _, req := range []*http.Request{pageGet("/oauth2/logout?"+logoutParams(true).Encode(), fx.sessionCookie()), formPost("/oauth2/logout", logoutParams(true), fx.sessionCookie())} {
			rec := fx.serve(req)
			if rec.Code != 400 || rec.Header().Get("Location") != "" || sessionCleared(rec) ||
				!strings.Contains(rec.Body.String(), "This sign-out request is not valid: post_logout_redirect_uri is not registered for this app.") {
				t.Errorf("%s: %d %q\n%s", req.Method, rec.Code, rec.Header().Get("Location"), rec.Body)
			}
			checkAccessible(t, rec.Body.String())
		}
		if len(fx.ended) != 0 {
			t.Errorf("ended %v", fx.ended)
		}
	})
	t.Run("a parameter twice", func(t *testing.T) {
		fx := newOPFixture(t)
		q := logoutParams(true)
		q.Add("post_logout_redirect_uri", "https://evil.example/")
		rec := fx.serve(pageGet("/oauth2/logout?"+q.Encode(), fx.sessionCookie()))
		if rec.Code != 400 || rec.Header().Get("Location") != "" || len(fx.endRequests) != 0 {
			t.Errorf("%d %q", rec.Code, rec.Header().Get("Location"))
		}
	})
	t.Run("the hint's user", func(t *testing.T) {
		fx := newOPFixture(t)
		fx.endSession = account.EndSession{App: fx.app, RedirectURL: rpRedirect, HintUserID: "u-ada"}
		rec := fx.serve(pageGet("/oauth2/logout?"+logoutParams(true).Encode(), fx.sessionCookie()))
		if rec.Code != 303 || rec.Header().Get("Location") != rpRedirect || !sessionCleared(rec) || len(fx.ended) != 1 || fx.ended[0].Session.ID != "s-browser" {
			t.Errorf("%d %q cleared %v ended %v", rec.Code, rec.Header().Get("Location"), sessionCleared(rec), fx.ended)
		}
		want := account.EndSessionRequest{IDTokenHint: "an.id.token", ClientID: "app-notes", PostLogoutRedirectURI: rpLoggedOut, State: "bye-1"}
		if len(fx.endRequests) != 1 || fx.endRequests[0] != want {
			t.Errorf("CheckEndSession got %+v, want %+v", fx.endRequests, want)
		}
		// Without a post-logout URI: Latch's own page says so.
		fx.endSession.RedirectURL = ""
		rec = fx.serve(pageGet("/oauth2/logout?"+logoutParams(true).Encode(), fx.sessionCookie()))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "You are signed out of Latch.") || !sessionCleared(rec) || len(fx.ended) != 2 {
			t.Errorf("without a redirect: %d\n%s", rec.Code, rec.Body)
		}
	})
	t.Run("no session", func(t *testing.T) {
		fx := newOPFixture(t)
		fx.endSession = account.EndSession{App: fx.app, RedirectURL: rpRedirect, HintUserID: "u-ada"}
		rec := fx.serve(pageGet("/oauth2/logout?" + logoutParams(true).Encode()))
		if rec.Code != 303 || rec.Header().Get("Location") != rpRedirect || len(fx.ended) != 0 {
			t.Errorf("%d %q ended %v", rec.Code, rec.Header().Get("Location"), fx.ended)
		}
	})
	for _, c := range []struct {
		name string
		hint string
	}{{"no hint", ""}, {"another user's hint", "u-bob"}} {
		t.Run(c.name, func(t *testing.T) {
			fx := newOPFixture(t)
			fx.endSession = account.EndSession{App: fx.app, RedirectURL: rpRedirect, HintUserID: c.hint}
			rec := fx.serve(pageGet("/oauth2/logout?"+logoutParams(c.hint != "").Encode(), fx.sessionCookie()))
			body := rec.Body.String()
			if rec.Code != 200 || len(fx.ended) != 0 || sessionCleared(rec) || !strings.Contains(body, "Sign out of Latch?") ||
				!strings.Contains(body, `name="decision" value="logout"`) || !strings.Contains(body, "ada@example.com") || !strings.Contains(body, `href="/account"`) {
				t.Fatalf("confirmation page: %d ended %v\n%s", rec.Code, fx.ended, body)
			}
			if !allowsFormTo(rec, appOrigin) {
				t.Errorf("form-action %v does not allow the app's origin", formAction(rec))
			}
			checkAccessible(t, body)
			m := regexpLogout.FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("no sealed request:\n%s", body)
			}
			sealed := htmlUnescape(m[1])
			confirm := url.Values{"logout": {sealed}, "decision": {"logout"}}

			// From another site: refused, nothing ended.
			req := formPost("/oauth2/logout", confirm, fx.sessionCookie())
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			req.Header.Set("Origin", appOrigin)
			if rec := fx.serve(req); rec.Code != 403 || len(fx.ended) != 0 || sessionCleared(rec) {
				t.Errorf("cross-site confirmation: %d ended %v", rec.Code, fx.ended)
			}
			// Changed, or too late: refused, nothing ended.
			if rec := fx.serve(formPost("/oauth2/logout", url.Values{"logout": {tamper(sealed)}, "decision": {"logout"}}, fx.sessionCookie())); rec.Code != 400 || len(fx.ended) != 0 {
				t.Errorf("changed confirmation: %d ended %v", rec.Code, fx.ended)
			}
			later := fx.now
			fx.now = fx.now.Add(account.SignInFlowTTL + time.Second)
			if rec := fx.serve(formPost("/oauth2/logout", confirm, fx.sessionCookie())); rec.Code != 400 || len(fx.ended) != 0 {
				t.Errorf("late confirmation: %d ended %v", rec.Code, fx.ended)
			}
			fx.now = later

			rec = fx.serve(formPost("/oauth2/logout", confirm, fx.sessionCookie()))
			if rec.Code != 303 || rec.Header().Get("Location") != rpRedirect || !sessionCleared(rec) || len(fx.ended) != 1 {
				t.Errorf("confirmed: %d %q ended %v\n%s", rec.Code, rec.Header().Get("Location"), fx.ended, rec.Body)
			}
			// The request was checked again on confirmation.
			if len(fx.endRequests) != 2 || fx.endRequests[1] != fx.endRequests[0] {
				t.Errorf("CheckEndSession calls %+v", fx.endRequests)
			}
		})
	}
}

// TestEndSessionCrossSitePost: an app's cross-site POST arrives without
// the SameSite=Lax session cookie; it is repeated as a top-level GET
// (which has it) instead of telling a signed-in browser it is signed out.
func TestEndSessionCrossSitePost(t *testing.T) {
	fx := newOPFixture(t)
	fx.endSession = account.EndSession{App: fx.app, RedirectURL: rpRedirect, HintUserID: "u-ada"}
	req := formPost("/oauth2/logout?ignored=1", logoutParams(true))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", appOrigin)
	rec := fx.serve(req)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if rec.Code != 303 || loc.Path != "/oauth2/logout" || loc.Query().Encode() != logoutParams(true).Encode() || len(fx.ended) != 0 {
		t.Fatalf("%d %q ended %v", rec.Code, rec.Header().Get("Location"), fx.ended)
	}
	rec = fx.serve(pageGet(loc.String(), fx.sessionCookie()))
	if rec.Code != 303 || rec.Header().Get("Location") != rpRedirect || len(fx.ended) != 1 {
		t.Errorf("the GET that follows: %d %q ended %v", rec.Code, rec.Header().Get("Location"), fx.ended)
	}
}

// TestSignOutFailures: when the session cannot be ended, the person is
// told they are still signed in: no redirect, the cookie kept.
func TestSignOutFailures(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		status int
		retry  string
	}{
		{"database down", &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "the database is unavailable", RetryAfter: time.Second}, 503, "1"},
		{"internal", latch.Internal(context.DeadlineExceeded), 500, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			fx := newOPFixture(t)
			fx.endSession = account.EndSession{App: fx.app, RedirectURL: rpRedirect, HintUserID: "u-ada"}
			fx.f.EndBrowserSessionFn = func(context.Context, account.Principal) error { return c.err }
			for _, req := range []*http.Request{
				pageGet("/oauth2/logout?"+logoutParams(true).Encode(), fx.sessionCookie()),
				formPost("/logout", url.Values{}, fx.sessionCookie()),
			} {
				rec := fx.serve(req)
				if rec.Code != c.status || rec.Header().Get("Location") != "" || sessionCleared(rec) || rec.Header().Get("Retry-After") != c.retry {
					t.Errorf("%s %s: %d %q cleared %v Retry-After %q", req.Method, req.URL.Path, rec.Code, rec.Header().Get("Location"), sessionCleared(rec), rec.Header().Get("Retry-After"))
				}
			}
		})
	}
	// Already ended elsewhere: signed out all the same.
	fx := newOPFixture(t)
	fx.f.EndBrowserSessionFn = func(context.Context, account.Principal) error {
		return &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "revoked"}
	}
	if rec := fx.serve(formPost("/logout", url.Values{}, fx.sessionCookie())); rec.Code != 303 || rec.Header().Get("Location") != "/login" || !sessionCleared(rec) {
		t.Errorf("a session ended already: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

// TestAccountSignOutEndsTheBrowserSession: the account page's Sign out
// ends the browser's session with its app grants (EndBrowserSession).
func TestAccountSignOutEndsTheBrowserSession(t *testing.T) {
	fx := newOPFixture(t)
	rec := fx.serve(formPost("/logout", url.Values{}, fx.sessionCookie()))
	if rec.Code != 303 || rec.Header().Get("Location") != "/login" || !sessionCleared(rec) || len(fx.ended) != 1 || fx.ended[0].Session.ID != "s-browser" {
		t.Errorf("%d %q ended %v", rec.Code, rec.Header().Get("Location"), fx.ended)
	}
	// Signed out already: nothing to end.
	rec = fx.serve(formPost("/logout", url.Values{}))
	if rec.Code != 303 || len(fx.ended) != 1 {
		t.Errorf("without a session: %d ended %v", rec.Code, fx.ended)
	}
}

var regexpLogout = regexp.MustCompile(`name="logout" value="([^"]+)"`)
