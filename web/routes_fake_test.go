package web_test

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/token"
)

// TestSignInFormAnswers: the sign-in form hands what was typed to Login
// and answers each outcome with its status, its text and the email kept in
// the form; only a success starts a web session.
func TestSignInFormAnswers(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		status     int
		says       string
		retryAfter string
	}{
		{"signed in", nil, 303, "", ""},
		{"wrong password", &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidCredentials, Message: "wrong email or password"},
			401, "That email and password do not match an account.", ""},
		{"deactivated", &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeAccountInactive, Message: "this account is deactivated"},
			401, "That email and password do not match an account.", ""},
		{"not an email", latch.FieldError("email", latch.CodeInvalidEmail, "Enter an email address."), 400, "Enter an email address.", ""},
		{"too many", &latch.Error{Kind: latch.KindTooMany, Code: latch.CodeRateLimited, Message: "too many attempts; try again later", RetryAfter: time.Minute},
			429, "Too many attempts. Wait a minute and try again.", ""},
		{"database down", &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "the database is unavailable", RetryAfter: 3 * time.Second},
			503, "Latch cannot do this right now. Nothing was changed: try again in a minute.", "3"},
		{"password change required", &latch.Error{Kind: latch.KindForbidden, Code: latch.CodePasswordChangeRequired, Message: "the password must be changed before signing in"},
			403, `Your administrator requires a new password before you sign in: use "Forgot your password?" to choose one.`, ""},
		{"internal", latch.Internal(context.DeadlineExceeded), 500, "Something went wrong on our side. Try again in a moment.", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got account.LoginInput
			f := &fakeAccounts{t: t, LoginFn: func(_ context.Context, in account.LoginInput) (account.TokenPair, error) {
				got = in
				if c.err != nil {
					return account.TokenPair{}, c.err
				}
				return account.TokenPair{AccessToken: "access", RefreshToken: "lrt_refresh"}, nil
			}}
			if c.err != nil {
				// The form is shown again, with the provider button.
				f.FlowDeadlineFn = func() time.Time { return flowDeadline }
			}
			req := formPost("/login", url.Values{"email": {"ada@example.com"}, "password": {"typed password"}})
			req.RemoteAddr = "198.51.100.4:5555"
			rec, panicked := serveFake(fakePages(f), req)
			if panicked != nil {
				t.Fatalf("panic: %v", panicked)
			}
			if want := (account.LoginInput{Email: "ada@example.com", Password: "typed password", ClientIP: "198.51.100.4"}); got != want {
				t.Errorf("Login got %+v, want %+v", got, want)
			}
			body := html.UnescapeString(rec.Body.String())
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d:\n%s", rec.Code, c.status, body)
			}
			session := cookieNamed(rec, "__Host-latch_web")
			if c.err == nil {
				if rec.Header().Get("Location") != "/account" || session == nil || session.Value == "" {
					t.Errorf("signed in: Location %q, session %v", rec.Header().Get("Location"), session)
				}
				return
			}
			if session != nil {
				t.Errorf("a refused sign-in set a session cookie: %v", session)
			}
			if !strings.Contains(body, c.says) {
				t.Errorf("the page does not say %q:\n%s", c.says, body)
			}
			if c.status != 500 && !strings.Contains(body, `value="ada@example.com"`) {
				t.Errorf("the form lost the email:\n%s", body)
			}
			if ra := rec.Header().Get("Retry-After"); ra != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", ra, c.retryAfter)
			}
		})
	}
}

var challengeInButton = regexp.MustCompile(`code_challenge=([A-Za-z0-9_-]+)`)

// TestLoginCompleteAsksTheUseCases: Latch's own sign-in page seals the
// use cases' FlowDeadline with its PKCE verifier, and /login/complete asks
// FlowLive about exactly that deadline: a dead flow is "expired" and
// redeems nothing; a live one redeems the code with the verifier whose
// challenge the provider button carried, and starts a web session.
func TestLoginCompleteAsksTheUseCases(t *testing.T) {
	for _, live := range []bool{false, true} {
		var asked []time.Time
		var redeemed []string
		f := &fakeAccounts{t: t,
			FlowDeadlineFn: func() time.Time { return flowDeadline },
			FlowLiveFn: func(d time.Time) bool {
				asked = append(asked, d)
				return live
			},
			RedeemAuthorizationCodeFn: func(_ context.Context, code, verifier, redirectURI string) (account.TokenPair, error) {
				redeemed = append(redeemed, code, verifier, redirectURI)
				return account.TokenPair{AccessToken: "access", RefreshToken: "lrt_refresh"}, nil
			},
		}
		h := fakePages(f)
		rec, _ := serveFake(h, pageGet("/login"))
		pkce := cookieNamed(rec, "__Host-latch_login")
		state, challenge := stateInButton.FindStringSubmatch(rec.Body.String()), challengeInButton.FindStringSubmatch(rec.Body.String())
		if pkce == nil || pkce.MaxAge != 600 || state == nil || challenge == nil {
			t.Fatalf("sign-in page: cookie %v, state %v, challenge %v", pkce, state, challenge)
		}
		rec, panicked := serveFake(h, pageGet("/login/complete?"+url.Values{"code": {"one-time"}, "state": {state[1]}}.Encode(), pkce))
		if panicked != nil {
			t.Fatalf("live=%v: panic: %v", live, panicked)
		}
		if len(asked) != 1 || !asked[0].Equal(flowDeadline) {
			t.Errorf("live=%v: FlowLive asked about %v, want once about %v", live, asked, flowDeadline)
		}
		if !live {
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), "This sign-in expired or was started in another browser.") || redeemed != nil {
				t.Errorf("a dead flow: %d, redeemed %v:\n%s", rec.Code, redeemed, rec.Body)
			}
			continue
		}
		if rec.Code != 303 || rec.Header().Get("Location") != "/account" || cookieNamed(rec, "__Host-latch_web") == nil {
			t.Errorf("a live flow: %d %v", rec.Code, rec.Header())
		}
		if len(redeemed) != 3 || redeemed[0] != "one-time" || token.S256(redeemed[1]) != challenge[1] || redeemed[2] != fakePublicURL+"/login/complete" {
			t.Errorf("redeemed %v, want the code, the verifier of %s and %s/login/complete", redeemed, challenge[1], fakePublicURL)
		}
	}
}
