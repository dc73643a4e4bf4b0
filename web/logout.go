package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// Signing out: the account page's POST /logout, and GET or POST
// /oauth2/logout, an app's RP-initiated logout (OpenID Connect
// RP-Initiated Logout 1.0). Both end the browser's session and every app
// grant made from it (account.Service.EndBrowserSession).

// EndSessionPath is the RP-initiated logout endpoint (discovery's
// end_session_endpoint is PublicURL+EndSessionPath).
const EndSessionPath = "/oauth2/logout"

// logoutPurpose is the Sealer purpose of a sealedLogout.
const logoutPurpose = "logout"

// sealedLogout is a logout request the confirmation page carries.
type sealedLogout struct {
	Request account.EndSessionRequest `json:"r"`
	Expires time.Time                 `json:"e"`
}

// endBrowserSession signs pr's browser out. When it fails, the session is
// still live and the person is told so (name and v are the page to
// show); the cookie stays, so that they can try again.
func (p *Pages) endBrowserSession(w http.ResponseWriter, r *http.Request, pr account.Principal) (name string, v *view, failed bool) {
	err := p.cfg.Accounts.EndBrowserSession(httpx.Context(r), pr)
	if err == nil {
		return "", nil, false
	}
	le := latch.AsError(err)
	switch {
	case le.Kind == latch.KindUnauthenticated || le.Kind == latch.KindNotFound:
		// Ended already (elsewhere, or by an administrator).
		return "", nil, false
	case httpx.ClientGone(r):
		return "", nil, true
	case down(w, err):
		name, v = p.unavailable("Sign out")
	case le.Kind == latch.KindUnavailable || le.Kind == latch.KindTooMany:
		name, v = p.message(http.StatusServiceUnavailable, "Sign out", "You are still signed in: signing out cannot be done right now. Try again in a minute.")
	default:
		p.cfg.Log.ErrorContext(r.Context(), "page sign-out", "request_id", httpx.RequestID(w), "err", err)
		name, v = p.message(http.StatusInternalServerError, "Sign out", "You are still signed in: something went wrong on our side. Try again in a moment.")
	}
	v.Back, v.BackLabel = "/account", "Back to your account"
	return name, v, true
}

func (p *Pages) clearWebSession(w http.ResponseWriter) {
	http.SetCookie(w, p.cookie(sessionCookie, "", -1, http.SameSiteLaxMode))
}

// logout is the account page's Sign out, and the consent and wrong-account
// pages' "sign in as someone else", whose form carries the app's request
// (authorize): after signing out, the login page for it.
func (p *Pages) logout(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Account", "This form could not be read. Open your account page again.")
	}
	pr, ok, unavailable := p.principal(w, r)
	if unavailable {
		return p.unavailable("Sign out")
	}
	if ok {
		if name, v, failed := p.endBrowserSession(w, r, pr); failed {
			return name, v
		}
	}
	p.clearWebSession(w)
	next := "/login"
	if sealed := r.PostFormValue("authorize"); sealed != "" {
		if _, live := p.openFlow(sealed); live {
			next = "/login?" + url.Values{"authorize": {sealed}}.Encode()
		}
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return "", nil
}

// endSessionParams are the parameters of a logout request (§2).
var endSessionParams = []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"}

// endSession is GET and POST /oauth2/logout. An app's request is checked
// (CheckEndSession; a bad one shows an error and redirects nowhere). The
// browser is signed out at once when its session is the hint's user's;
// otherwise (no hint, another user) the person is asked first (§2: the
// request may be forged), on a page whose form posts back here with
// decision=logout.
func (p *Pages) endSession(w http.ResponseWriter, r *http.Request) (string, *view) {
	form := r.URL.Query()
	if r.Method == http.MethodPost {
		if !parseForm(w, r) {
			return p.message(http.StatusBadRequest, "Sign out", "The sign-out request could not be read.")
		}
		if _, confirmed := r.PostForm["decision"]; confirmed {
			// The confirmation page's own form: only from Latch's page,
			// or any site could sign the person out.
			if p.crossOrigin.Check(r) != nil {
				return p.refuseCrossOrigin(w, r)
			}
			return p.endSessionConfirmed(w, r)
		}
		form = r.PostForm
	}
	var req account.EndSessionRequest
	for _, name := range endSessionParams {
		if len(form[name]) > 1 {
			return p.message(http.StatusBadRequest, "Sign out", "This sign-out request is not valid: "+name+" is given more than once.")
		}
	}
	req = account.EndSessionRequest{IDTokenHint: form.Get("id_token_hint"), ClientID: form.Get("client_id"),
		PostLogoutRedirectURI: form.Get("post_logout_redirect_uri"), State: form.Get("state"), UILocales: form.Get("ui_locales")}
	es, err := p.cfg.Accounts.CheckEndSession(r.Context(), req)
	if err != nil {
		return p.endSessionFailed(w, r, err)
	}
	if r.Method == http.MethodPost && !p.hasSessionCookie(r) {
		// An app's cross-site form comes without the session cookie
		// (SameSite=Lax): the same request as a top-level GET has it.
		// Without this, a signed-in browser would be told it is signed
		// out while its session lives on.
		q := url.Values{}
		for _, name := range endSessionParams {
			if v := form.Get(name); v != "" {
				q.Set(name, v)
			}
		}
		http.Redirect(w, r, EndSessionPath+"?"+q.Encode(), http.StatusSeeOther)
		return "", nil
	}
	pr, signedIn, unavailable := p.principal(w, r)
	if unavailable {
		return p.unavailable("Sign out")
	}
	if !signedIn {
		p.clearWebSession(w)
		return p.signedOut(w, r, es)
	}
	if es.HintUserID == "" || es.HintUserID != pr.User.ID {
		return p.confirmLogout(w, r, req, es, pr)
	}
	if name, v, failed := p.endBrowserSession(w, r, pr); failed {
		return name, v
	}
	p.clearWebSession(w)
	return p.signedOut(w, r, es)
}

// confirmLogout asks the signed-in person whether to sign out.
func (p *Pages) confirmLogout(w http.ResponseWriter, r *http.Request, req account.EndSessionRequest, es account.EndSession, pr account.Principal) (string, *view) {
	plain, err := json.Marshal(sealedLogout{Request: req, Expires: p.cfg.Accounts.FlowDeadline()})
	if err != nil {
		return p.wentWrong(w, r, "sealing a logout request", err)
	}
	sealed, err := p.cfg.Sealer.Seal(logoutPurpose, plain)
	if err != nil {
		return p.wentWrong(w, r, "sealing a logout request", err)
	}
	v := &view{Title: "Sign out of " + p.product + "?", User: pr.User, AppName: es.App.Name, Hidden: map[string]string{"logout": sealed}}
	if es.RedirectURL != "" {
		v.formTarget = origin(es.RedirectURL)
	}
	return "logout.html", v
}

// endSessionConfirmed is the confirmation page's form: the request is
// checked again (the app may have been revoked since), the browser signed
// out, and sent where the app asked.
func (p *Pages) endSessionConfirmed(w http.ResponseWriter, r *http.Request) (string, *view) {
	var sl sealedLogout
	plain, err := p.cfg.Sealer.Open(logoutPurpose, r.PostFormValue("logout"))
	if err != nil || json.Unmarshal(plain, &sl) != nil || sl.Expires.IsZero() || !p.cfg.Accounts.FlowLive(sl.Expires) {
		return p.message(http.StatusBadRequest, "Sign out", "This sign-out request expired or is not valid. Nothing was changed. Sign out from your account page, or from the app again.")
	}
	if r.PostFormValue("decision") != "logout" {
		return p.message(http.StatusBadRequest, "Sign out", "This form could not be read. Nothing was changed.")
	}
	es, err := p.cfg.Accounts.CheckEndSession(r.Context(), sl.Request)
	if err != nil {
		return p.endSessionFailed(w, r, err)
	}
	pr, signedIn, unavailable := p.principal(w, r)
	if unavailable {
		return p.unavailable("Sign out")
	}
	if signedIn {
		if name, v, failed := p.endBrowserSession(w, r, pr); failed {
			return name, v
		}
	}
	p.clearWebSession(w)
	return p.signedOut(w, r, es)
}

// signedOut sends the browser where the app asked, or says it is signed
// out.
func (p *Pages) signedOut(w http.ResponseWriter, r *http.Request, es account.EndSession) (string, *view) {
	if es.RedirectURL != "" {
		http.Redirect(w, r, es.RedirectURL, http.StatusSeeOther)
		return "", nil
	}
	return "done.html", &view{Title: "Signed out", Notice: "You are signed out of " + p.product + "."}
}

// endSessionFailed answers CheckEndSession's error.
func (p *Pages) endSessionFailed(w http.ResponseWriter, r *http.Request, err error) (string, *view) {
	if httpx.ClientGone(r) {
		return "", nil
	}
	if down(w, err) {
		return p.unavailable("Sign out")
	}
	switch le := latch.AsError(err); le.Kind {
	case latch.KindInvalid, latch.KindUnauthenticated, latch.KindForbidden, latch.KindNotFound, latch.KindConflict:
		return p.message(http.StatusBadRequest, "Sign out", "This sign-out request is not valid: "+strings.TrimSuffix(le.Message, ".")+". Nothing was changed. If you develop the app that sent it, check its id_token_hint, client_id and post_logout_redirect_uri.")
	case latch.KindTooMany:
		return p.message(http.StatusTooManyRequests, "Sign out", "Too many attempts. Wait a minute and try again.")
	case latch.KindUnavailable:
		return p.message(http.StatusServiceUnavailable, "Sign out", "This cannot be done right now: "+le.Message+".")
	}
	return p.wentWrong(w, r, "page logout request", err)
}
