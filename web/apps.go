package web

import (
	"net/http"
	"strings"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// The account page's "Apps with access": the apps the person let use
// their account (account.Service.MyApps), each with a form to take the
// access back (POST /account/apps/revoke, account.Service.RevokeConsent).

// appRow is one app of the account page's list.
type appRow struct {
	ID, Name string
	Access   string // what the granted scopes allow, in words
	Since    string // when, for people
	SinceISO string // when, for <time datetime>
}

// appsList fills in v's apps of pr; when they cannot be read, the page
// says so in their place (the rest of the page still works).
func (p *Pages) appsList(r *http.Request, pr account.Principal, v *view) {
	apps, err := p.cfg.Accounts.MyApps(r.Context(), pr.User.ID)
	if err != nil {
		v.AppsError = "The apps could not be listed right now. Try again in a minute."
		return
	}
	for _, a := range apps {
		at := a.Consent.GrantedAt.UTC()
		v.Apps = append(v.Apps, appRow{ID: a.AppID, Name: a.Name, Access: strings.Join(scopesInWords(a.Consent.Scopes), "; "),
			Since: at.Format("2 January 2006"), SinceISO: at.Format("2006-01-02")})
	}
}

// revokeApp is an app's "Remove access" button.
func (p *Pages) revokeApp(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Your account", "This form could not be read. Open your account page again.")
	}
	pr, ok, unavailable := p.principal(w, r)
	if unavailable {
		return p.unavailable("Your account")
	}
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return "", nil
	}
	appID := r.PostFormValue("app_id")
	if appID == "" {
		v := p.accountView(r, pr)
		v.status, v.Error = http.StatusBadRequest, "No app was chosen: use the Remove access button of an app."
		return "account.html", v
	}
	err := p.cfg.Accounts.RevokeConsent(httpx.Context(r), pr.User.ID, appID)
	if err == nil {
		http.Redirect(w, r, "/account?revoked=1", http.StatusSeeOther)
		return "", nil
	}
	if httpx.ClientGone(r) {
		return "", nil
	}
	if down(w, err) {
		return p.unavailable("Your account")
	}
	v := p.accountView(r, pr)
	switch le := latch.AsError(err); le.Kind {
	case latch.KindNotFound:
		v.status, v.Error = http.StatusNotFound, "That app has no access to your account."
	case latch.KindInvalid, latch.KindConflict:
		v.status, v.Error = http.StatusBadRequest, "The access was not removed: "+strings.TrimSuffix(le.Message, ".")+"."
	case latch.KindForbidden, latch.KindUnauthenticated:
		v.status, v.Error = http.StatusForbidden, "The access was not removed: this account may not change it."
	case latch.KindTooMany:
		v.status, v.Error = http.StatusTooManyRequests, "Too many attempts. Wait a minute and try again."
	case latch.KindUnavailable:
		v.status, v.Error = http.StatusServiceUnavailable, "This cannot be done right now: "+strings.TrimSuffix(le.Message, ".")+"."
	default:
		p.cfg.Log.ErrorContext(r.Context(), "page revoke app", "request_id", httpx.RequestID(w), "err", err)
		v.status, v.Error = http.StatusInternalServerError, "Something went wrong on our side. Try again in a moment."
	}
	return "account.html", v
}
