package web_test

import (
	"context"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// appsFixture is an opFixture whose user gave Notes access, for the
// account page.
func appsFixture(t *testing.T) (*opFixture, *[][2]string) {
	fx := newOPFixture(t)
	var revoked [][2]string
	granted := time.Date(2031, 4, 1, 23, 30, 0, 0, time.UTC)
	fx.f.MyIdentitiesFn = func(context.Context, account.Principal) ([]latch.Identity, error) { return nil, nil }
	fx.f.HasPasswordFn = func(context.Context, string) (bool, error) { return true, nil }
	fx.f.PasswordRulesFn = func(context.Context, string) string { return "At least 8 characters." }
	fx.f.MyAppsFn = func(_ context.Context, userID string) ([]account.MyApp, error) {
		if userID != "u-ada" {
			t.Errorf("MyApps of %q", userID)
		}
		if len(revoked) > 0 {
			return nil, nil
		}
		return []account.MyApp{{AppID: "app-notes", Name: "Notes", Consent: latch.AppConsent{UserID: "u-ada", AppID: "app-notes",
			Scopes: []string{"openid", "email"}, GrantedAt: granted}}}, nil
	}
	fx.f.RevokeConsentFn = func(_ context.Context, userID, appID string) error {
		revoked = append(revoked, [2]string{userID, appID})
		return nil
	}
	return fx, &revoked
}

// TestAppsWithAccess: the account page lists the apps the person let in,
// what they may do and since when, each with a Remove access button that
// withdraws the consent and comes back with a notice.
func TestAppsWithAccess(t *testing.T) {
	fx, revoked := appsFixture(t)
	rec := fx.serve(pageGet("/account", fx.sessionCookie()))
	body := html.UnescapeString(rec.Body.String())
	for _, want := range []string{"Apps with access", "<strong>Notes</strong>: know who you are; see your email address.", `<time datetime="2031-04-01">1 April 2031</time>`,
		`action="/account/apps/revoke"`, `name="app_id" value="app-notes"`, `aria-label="Remove access of Notes"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the account page does not show %q", want)
		}
	}
	if rec.Code != 200 {
		t.Fatalf("%d\n%s", rec.Code, body)
	}
	checkAccessible(t, rec.Body.String())

	rec = fx.serve(formPost("/account/apps/revoke", url.Values{"app_id": {"app-notes"}}, fx.sessionCookie()))
	if rec.Code != 303 || rec.Header().Get("Location") != "/account?revoked=1" || len(*revoked) != 1 || (*revoked)[0] != [2]string{"u-ada", "app-notes"} {
		t.Fatalf("revoke: %d %q revoked %v", rec.Code, rec.Header().Get("Location"), *revoked)
	}
	rec = fx.serve(pageGet("/account?revoked=1", fx.sessionCookie()))
	body = rec.Body.String()
	if !strings.Contains(body, "Access removed. The app must ask for your permission the next time you sign in to it.") || strings.Contains(body, "app-notes") {
		t.Errorf("after revoking:\n%s", body)
	}

	// Signed out: to the sign-in page, nothing revoked.
	rec = fx.serve(formPost("/account/apps/revoke", url.Values{"app_id": {"app-notes"}}))
	if rec.Code != 303 || rec.Header().Get("Location") != "/login" || len(*revoked) != 1 {
		t.Errorf("signed out: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	// From another site: refused.
	req := formPost("/account/apps/revoke", url.Values{"app_id": {"app-notes"}}, fx.sessionCookie())
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	if rec := fx.serve(req); rec.Code != 403 || len(*revoked) != 1 {
		t.Errorf("cross-site: %d", rec.Code)
	}
	// No app named: said so, nothing asked.
	rec = fx.serve(formPost("/account/apps/revoke", url.Values{}, fx.sessionCookie()))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "No app was chosen") || len(*revoked) != 1 {
		t.Errorf("no app_id: %d\n%s", rec.Code, rec.Body)
	}
}

// TestAppsListUnavailable: when the apps cannot be read, the account page
// still works and says so where the list would be.
func TestAppsListUnavailable(t *testing.T) {
	fx, _ := appsFixture(t)
	fx.f.MyAppsFn = func(context.Context, string) ([]account.MyApp, error) {
		return nil, &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "down", RetryAfter: time.Second}
	}
	rec := fx.serve(pageGet("/account", fx.sessionCookie()))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "The apps could not be listed right now.") || !strings.Contains(rec.Body.String(), `id="save-password"`) {
		t.Errorf("%d\n%s", rec.Code, rec.Body)
	}
}
