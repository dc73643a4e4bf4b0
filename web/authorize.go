package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// Latch as an OpenID Provider (issue 15): the authorization endpoint's
// pages. GET or POST /oauth2/authorize checks an app's request
// (account.ParseAuthorizeRequest) and account.DecideAuthorize says what
// comes next for the browser's session: the login page, the consent page
// (POST /oauth2/consent), a page saying the account cannot sign in to the
// app, or the code, sent to the app's redirect URI.
//
// Between the pages the request travels sealed (authorizeFlow), in the
// forms' hidden input "authorize" and, for a provider sign-in, in the
// PKCE cookie of /login/complete; each step re-checks the app and decides
// again, so a request sealed minutes ago cannot outlive a revoked app.

// AuthorizePath is the authorization endpoint (discovery's
// authorization_endpoint is PublicURL+AuthorizePath).
const AuthorizePath = "/oauth2/authorize"

// ConsentPath is where the consent page's form posts.
const ConsentPath = "/oauth2/consent"

// authorizePurpose is the Sealer purpose of an authorizeFlow.
const authorizePurpose = "authorize"

// authorizeFlow is an authorization request on its way through the pages.
type authorizeFlow struct {
	Request account.AuthorizeRequest `json:"r"`
	// Expires is the use cases' FlowDeadline when the request arrived:
	// a sealed request replayed after it is refused, however often the
	// pages sealed it again.
	Expires time.Time `json:"e"`
	// UserID is the user a consent page was shown to: its Allow answers
	// for that user only, not for whoever signed in since in another tab.
	UserID string `json:"u,omitempty"`
	// AppName is the app's name when the request arrived, for the sign-in
	// and sign-up pages ("to continue to ...").
	AppName string `json:"n,omitempty"`
}

func (p *Pages) sealFlow(f authorizeFlow) (string, error) {
	plain, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	return p.cfg.Sealer.Seal(authorizePurpose, plain)
}

// openFlow opens a sealed authorizeFlow; ok is false when it is tampered
// with, sealed for another purpose, or past its deadline.
func (p *Pages) openFlow(sealed string) (f authorizeFlow, ok bool) {
	if sealed == "" {
		return authorizeFlow{}, false
	}
	plain, err := p.cfg.Sealer.Open(authorizePurpose, sealed)
	if err != nil || json.Unmarshal(plain, &f) != nil {
		return authorizeFlow{}, false
	}
	if f.Request.AppID == "" || f.Expires.IsZero() || !p.cfg.Accounts.FlowLive(f.Expires) {
		return authorizeFlow{}, false
	}
	return f, true
}

// now is the use cases' clock (a test's injected one included), read
// through FlowDeadline: a request's IssuedAt is compared with the
// session's AuthTime and a consent's GrantedAt, which that clock wrote.
func (p *Pages) now() time.Time {
	return p.cfg.Accounts.FlowDeadline().Add(-account.SignInFlowTTL)
}

// flowExpired is the page of a sealed request that did not open.
func (p *Pages) flowExpired() (string, *view) {
	return p.message(http.StatusBadRequest, "Sign-in problem", "This sign-in request expired or is not valid. Go back to the app and sign in again.")
}

// origin is the scheme and host of an absolute URL, for CSP form-action:
// after a form POST the browser follows a redirect to the app, and
// form-action is enforced on that redirect too.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// hasSessionCookie reports whether the request carries the web session's
// cookie at all. A cross-site POST (an app's form to /oauth2/authorize or
// /oauth2/logout) does not: the cookie is SameSite=Lax, which browsers
// send across sites on a top-level GET only.
func (p *Pages) hasSessionCookie(r *http.Request) bool {
	_, err := r.Cookie(httpx.CookieName(sessionCookie, p.secure))
	return err == nil
}

// authorize is GET and POST /oauth2/authorize (OpenID Connect Core
// §3.1.2.1: a POST's parameters are its form body, never its query).
func (p *Pages) authorize(w http.ResponseWriter, r *http.Request) (string, *view) {
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		if !parseForm(w, r) {
			return p.message(http.StatusBadRequest, "Sign-in problem", "The app's sign-in request could not be read.")
		}
		params = r.PostForm
	}
	var app latch.App
	// The client is looked up only when named once: anything else is
	// refused by ParseAuthorizeRequest without a store read.
	if ids := params["client_id"]; len(ids) == 1 && ids[0] != "" {
		var err error
		if app, err = p.cfg.Accounts.AuthorizeApp(r.Context(), ids[0]); err != nil {
			return p.authorizeFailed(w, r, err)
		}
	}
	// auth_time has whole seconds (Core §2), and the stores keep
	// microseconds, not the clock's nanoseconds: a sign-in in the
	// request's own second counts as made for it (prompt=login, max_age),
	// so that a sign-in just made never loops back to the form.
	req, refused := account.ParseAuthorizeRequest(params, app, p.now().Truncate(time.Second))
	if refused != nil {
		return p.authorizeError(w, r, refused)
	}
	flow := authorizeFlow{Request: req, Expires: p.cfg.Accounts.FlowDeadline(), AppName: app.Name}
	if r.Method == http.MethodPost && !p.hasSessionCookie(r) {
		// The app's cross-site form came without the session cookie
		// (SameSite=Lax): go on in a top-level GET, which has it, rather
		// than ask a signed-in person to sign in again.
		sealed, err := p.sealFlow(flow)
		if err != nil {
			return p.wentWrong(w, r, "sealing an authorization request", err)
		}
		http.Redirect(w, r, "/login?"+url.Values{"authorize": {sealed}}.Encode(), http.StatusSeeOther)
		return "", nil
	}
	return p.resume(w, r, flow, &app)
}

// resume decides what flow leads to for the browser's session. app is the
// request's app when the caller has just read it, else nil.
func (p *Pages) resume(w http.ResponseWriter, r *http.Request, flow authorizeFlow, app *latch.App) (string, *view) {
	pr, signedIn, unavailable := p.principal(w, r)
	if unavailable {
		return p.unavailable("Sign-in problem")
	}
	if !signedIn {
		return p.decide(w, r, flow, app, nil)
	}
	return p.decide(w, r, flow, app, &pr)
}

// authorizeSession is the browser's session as DecideAuthorize sees it.
// A session made before auth_time was recorded authenticated when it was
// made; one without amr is of unknown methods.
func authorizeSession(pr account.Principal) account.AuthorizeSession {
	return account.AuthorizeSession{UserID: pr.User.ID, TenantID: pr.User.TenantID, AuthTime: authTime(pr.Session), AMR: pr.Session.AMR}
}

func authTime(s latch.Session) time.Time {
	if s.AuthTime.IsZero() {
		return s.CreatedAt
	}
	return s.AuthTime
}

// decide reads the app (unless given) and the signed-in user's consent to
// it, decides, and acts on the decision.
func (p *Pages) decide(w http.ResponseWriter, r *http.Request, flow authorizeFlow, app *latch.App, pr *account.Principal) (string, *view) {
	if app == nil {
		a, err := p.cfg.Accounts.AuthorizeApp(r.Context(), flow.Request.AppID)
		if err != nil {
			return p.authorizeFailed(w, r, err)
		}
		app = &a
	}
	var session *account.AuthorizeSession
	var consent *latch.AppConsent
	if pr != nil {
		s := authorizeSession(*pr)
		session = &s
		if app.ID != "" {
			var err error
			if consent, err = p.cfg.Accounts.ConsentOf(r.Context(), pr.User.ID, app.ID); err != nil {
				return p.authorizeFailed(w, r, err)
			}
		}
	}
	return p.act(w, r, flow, *app, pr, account.DecideAuthorize(flow.Request, *app, session, consent, p.now()))
}

// act does what d says.
func (p *Pages) act(w http.ResponseWriter, r *http.Request, flow authorizeFlow, app latch.App, pr *account.Principal, d account.AuthorizeDecision) (string, *view) {
	switch d.Outcome {
	case account.AuthorizeLogin:
		flow.UserID = ""
		return p.renderLogin(w, r, loginFlow{Authorize: &flow}, flow.Request.LoginHint, "", 0)
	case account.AuthorizeConsent:
		return p.consentPage(w, r, flow, app, *pr)
	case account.AuthorizeIssueCode:
		return p.issueCode(w, r, flow.Request, *pr)
	case account.AuthorizeWrongTenant:
		return p.wrongAccount(w, r, flow, app, *pr)
	}
	return p.authorizeError(w, r, d.Error)
}

// authorizeError answers a refused request: at the app's redirect URI
// when the error may go there, else on Latch's own page, in words for the
// app's developer (the person cannot fix it).
func (p *Pages) authorizeError(w http.ResponseWriter, r *http.Request, e *account.AuthorizeError) (string, *view) {
	if target, ok := e.RedirectURL(p.cfg.PublicURL); ok {
		http.Redirect(w, r, target, http.StatusSeeOther)
		return "", nil
	}
	return p.message(http.StatusBadRequest, "Sign-in problem",
		"The app's sign-in request cannot be accepted: "+e.Description+" ("+e.Code+"). "+
			"Latch does not send the browser back to an app or address it cannot verify. If you develop this app, check its client_id and redirect_uri against its registration.")
}

// issueCode issues the code of an approved request and sends the browser
// to the app with it.
func (p *Pages) issueCode(w http.ResponseWriter, r *http.Request, req account.AuthorizeRequest, pr account.Principal) (string, *view) {
	code, err := p.cfg.Accounts.IssueAppCode(httpx.Context(r), account.AppCodeRequest{
		Request: req, UserID: pr.User.ID, AuthTime: authTime(pr.Session), AMR: pr.Session.AMR, ParentSessionID: pr.Session.ID,
	})
	if err != nil {
		return p.authorizeFailed(w, r, err)
	}
	http.Redirect(w, r, req.CodeRedirectURL(code, p.cfg.PublicURL), http.StatusSeeOther)
	return "", nil
}

// authorizeFailed answers a use case's error on the authorization pages.
// Nothing redirects to the app: an outage is not the app's error, and an
// error made up for it would tell the app the person refused.
func (p *Pages) authorizeFailed(w http.ResponseWriter, r *http.Request, err error) (string, *view) {
	if httpx.ClientGone(r) {
		return "", nil
	}
	if down(w, err) {
		return p.unavailable("Sign-in problem")
	}
	switch le := latch.AsError(err); le.Kind {
	case latch.KindTooMany:
		return p.message(http.StatusTooManyRequests, "Sign-in problem", "Too many attempts. Wait a minute and try again.")
	case latch.KindUnavailable:
		return p.message(http.StatusServiceUnavailable, "Sign-in problem", "This cannot be done right now: "+le.Message+".")
	case latch.KindForbidden:
		return p.message(http.StatusForbidden, "Sign-in problem", "This account cannot sign in to this app. Ask your administrator, or sign in with another account.")
	case latch.KindInvalid, latch.KindNotFound, latch.KindUnauthenticated, latch.KindConflict:
		return p.message(http.StatusBadRequest, "Sign-in problem", "This sign-in request is no longer valid. Go back to the app and sign in again.")
	}
	return p.wentWrong(w, r, "authorization page", err)
}

// wentWrong logs an internal failure and answers 500.
func (p *Pages) wentWrong(w http.ResponseWriter, r *http.Request, what string, err error) (string, *view) {
	p.cfg.Log.ErrorContext(r.Context(), what, "request_id", httpx.RequestID(w), "err", err)
	return p.message(http.StatusInternalServerError, "Something went wrong", "Something went wrong on our side. Try again in a moment.")
}

// scopeWords says what a scope lets an app do, for the consent page and
// the account page.
func scopeWords(scope string) string {
	switch scope {
	case latch.AppScopeOpenID:
		return "know who you are"
	case latch.AppScopeEmail:
		return "see your email address"
	case latch.AppScopeProfile:
		return "see your name"
	case latch.AppScopeOfflineAccess:
		return "stay signed in, and keep access when you are away"
	}
	return scope
}

func scopesInWords(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		out = append(out, scopeWords(s))
	}
	return out
}

// consentPage asks pr whether app may have the request's scopes.
func (p *Pages) consentPage(w http.ResponseWriter, r *http.Request, flow authorizeFlow, app latch.App, pr account.Principal) (string, *view) {
	flow.UserID = pr.User.ID
	sealed, err := p.sealFlow(flow)
	if err != nil {
		return p.wentWrong(w, r, "sealing an authorization request", err)
	}
	return "consent.html", &view{Title: "Allow " + app.Name + "?", AppName: app.Name, User: pr.User, Scopes: scopesInWords(flow.Request.Scopes),
		Hidden: map[string]string{"authorize": sealed}, formTarget: origin(flow.Request.RedirectURI)}
}

// wrongAccount is the page of a signed-in account of another tenant than
// the app's: no code, no redirect, and a way to sign in as someone else.
func (p *Pages) wrongAccount(w http.ResponseWriter, r *http.Request, flow authorizeFlow, app latch.App, pr account.Principal) (string, *view) {
	flow.UserID = ""
	sealed, err := p.sealFlow(flow)
	if err != nil {
		return p.wentWrong(w, r, "sealing an authorization request", err)
	}
	return "wrongaccount.html", &view{Title: "This account cannot sign in to " + app.Name, AppName: app.Name, User: pr.User,
		Hidden: map[string]string{"authorize": sealed}, status: http.StatusForbidden}
}

// consentSubmit is the consent page's form: Allow remembers the consent
// and issues the code; Deny sends access_denied to the app.
func (p *Pages) consentSubmit(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Sign-in problem", "This form could not be read. Go back to the app and sign in again.")
	}
	flow, ok := p.openFlow(r.PostFormValue("authorize"))
	if !ok {
		return p.flowExpired()
	}
	decision := r.PostFormValue("decision")
	if decision != "allow" && decision != "deny" {
		return p.message(http.StatusBadRequest, "Sign-in problem", "This form could not be read: choose Allow or Deny.")
	}
	app, err := p.cfg.Accounts.AuthorizeApp(r.Context(), flow.Request.AppID)
	if err != nil {
		return p.authorizeFailed(w, r, err)
	}
	req := flow.Request
	if decision == "deny" {
		// A refusal goes to the app only while the app and its redirect
		// URI still check out.
		if d := account.DecideAuthorize(req, app, nil, nil, p.now()); d.Outcome == account.AuthorizeFail && !d.Error.Redirect {
			return p.authorizeError(w, r, d.Error)
		}
		return p.authorizeError(w, r, account.DenyAuthorize(req))
	}
	pr, signedIn, unavailable := p.principal(w, r)
	if unavailable {
		return p.unavailable("Sign-in problem")
	}
	if !signedIn {
		return p.decide(w, r, flow, &app, nil)
	}
	if pr.User.ID != flow.UserID {
		// Someone else signed in since the page was shown: ask them.
		return p.decide(w, r, flow, &app, &pr)
	}
	// Decided as if the consent were given: only when that leads to the
	// code is it recorded (a revoked app, an account moved to another
	// tenant, a max_age passed meanwhile lead elsewhere, consent unsaved).
	session := authorizeSession(pr)
	given := &latch.AppConsent{UserID: pr.User.ID, AppID: app.ID, Scopes: req.Scopes, GrantedAt: p.now()}
	if d := account.DecideAuthorize(req, app, &session, given, p.now()); d.Outcome != account.AuthorizeIssueCode {
		return p.act(w, r, flow, app, &pr, d)
	}
	if _, err := p.cfg.Accounts.GrantConsent(httpx.Context(r), pr.User.ID, app.ID, req.Scopes); err != nil {
		return p.authorizeFailed(w, r, err)
	}
	return p.issueCode(w, r, req, pr)
}
