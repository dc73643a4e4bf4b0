// Package web serves Latch's own pages: /login (for apps, which receive a
// one-time code, and for Latch's own account page) and /account, where a
// signed-in person sees their linked sign-ins and sets or changes their
// password. As an OpenID Provider (issue 15) they are also the
// authorization endpoint's sign-in and consent pages (/oauth2/authorize,
// authorize.go), RP-initiated logout (/oauth2/logout, logout.go) and the
// account page's apps with access (apps.go).
// Pages are html/template, need no JavaScript, and send strict
// security headers; every state-changing POST goes through Go's
// cross-origin protection (see stateChanging).
package web

import (
	"crypto/subtle"
	"embed"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/token"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/latch.css
var stylesheet []byte

//go:embed static/passkeys.js
var passkeysScript []byte

var templates = template.Must(template.New("pages").Funcs(template.FuncMap{"field": newField}).ParseFS(templateFiles, "templates/*.html"))

// DefaultProduct is the name the pages give the product when
// Config.Product is empty.
const DefaultProduct = "Latch"

// Config is what the pages need.
type Config struct {
	Accounts  Accounts
	Sealer    httpx.Sealer
	Providers []string // configured provider names, for the buttons
	PublicURL string   // where people reach Latch; decides Secure, __Host- cookies (httpx.SecureCookies)
	// Product is the name in every page's title and header: the same
	// setting as the emails' (LATCH_PRODUCT_NAME, else LATCH_MAIL_FROM's
	// display name), so a person sees one name in both.
	Product string
	Log     *slog.Logger
}

// Pages serves the pages.
type Pages struct {
	cfg         Config
	secure      bool // cookies are Secure and __Host- prefixed
	crossOrigin *httpx.CrossSiteGuard
	product     string
}

// New returns the pages.
func New(cfg Config) *Pages {
	// Behind a proxy that rewrites Host, the browser's Origin is the
	// public one, which then no longer equals the request's Host: it is
	// trusted.
	p := &Pages{cfg: cfg, secure: httpx.SecureCookies(cfg.PublicURL), crossOrigin: httpx.NewCrossSiteGuard([]string{cfg.PublicURL}),
		product: strings.Join(strings.Fields(cfg.Product), " ")}
	if p.product == "" {
		p.product = DefaultProduct
	}
	if cfg.PublicURL != "" && !p.secure && cfg.Log != nil {
		cfg.Log.Warn("LATCH_PUBLIC_URL is plain http on a host that is not loopback: the pages' cookies cannot be Secure or __Host-; serve Latch over https", "public_url", cfg.PublicURL)
	}
	return p
}

// CompletePath is where a provider sign-in started from /login for
// Latch's own account page comes back with its code; it must be allowed
// as a redirect (cmd/latch adds PublicURL+CompletePath to the allow-list).
const CompletePath = "/login/complete"

// Register adds the routes to mux.
func (p *Pages) Register(mux httpx.Mux) {
	mux.HandleFunc("GET /login", p.page(p.loginPage))
	mux.Handle("POST /login", p.stateChanging(p.loginSubmit))
	mux.HandleFunc("GET "+CompletePath, p.page(p.loginComplete))
	mux.HandleFunc("GET /signup", p.page(p.signUpPage))
	mux.Handle("POST /signup", p.stateChanging(p.signUpSubmit))
	mux.HandleFunc("GET /account", p.page(p.accountPage))
	mux.Handle("POST /account/password", p.stateChanging(p.setPassword))
	mux.Handle("POST /logout", p.stateChanging(p.logout))
	mux.Handle("POST /account/apps/revoke", p.stateChanging(p.revokeApp))
	// An app's authorization and logout requests arrive from the app's
	// site, a POST too (Core §3.1.2.1, RP-Initiated Logout §2): they are
	// not stateChanging; the forms of their pages are.
	mux.HandleFunc("GET "+AuthorizePath, p.page(p.authorize))
	mux.HandleFunc("POST "+AuthorizePath, p.page(p.authorize))
	mux.Handle("POST "+ConsentPath, p.stateChanging(p.consentSubmit))
	mux.HandleFunc("GET "+EndSessionPath, p.page(p.endSession))
	mux.HandleFunc("POST "+EndSessionPath, p.page(p.endSession))
	p.registerLinks(mux)
	mux.HandleFunc("GET /static/latch.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		_, _ = w.Write(stylesheet)
	})
	mux.HandleFunc("GET /static/passkeys.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(passkeysScript)
	})
	p.registerFactors(mux)
}

// view is what every template gets.
type view struct {
	Title, Error, Notice string
	Product              string // set by page for every view
	Email                string
	FirstName, LastName  string // the sign-up form's, kept when it is shown again
	Providers            []providerButton
	Hidden               map[string]string
	User                 latch.User
	Identities           []latch.Identity
	HasPassword          bool
	Rules                string
	FieldErrors          map[string]string
	Action               string // where the form posts
	// SignInURL and SignUpURL link /login and /signup to each other,
	// with an app's sign-in parameters when the page serves an app.
	SignInURL, SignUpURL string
	// Back is the message page's way back ("/login" when empty).
	Back      string
	BackLabel string
	// Reference is the request id a message page shows, so that a
	// person's report can be found in the log.
	Reference string
	// AppName is the app of an authorization or logout request; Scopes
	// what it asks for, in words (the consent page).
	AppName string
	Scopes  []string
	// Apps are the account page's apps with access; AppsError says why
	// they are not listed.
	Apps      []appRow
	AppsError string
	// Second factors (factors.go): the factor step's offers, the account
	// page's factors, a TOTP enrolment, new recovery codes.
	mfaView
	status     int
	formTarget string // an extra origin forms may lead to (CSP form-action)
}

// field is one labelled input of a form, for the "field" template: its
// error, when it has one, is tied to it (aria-invalid, and
// aria-describedby naming the error's id), as is the password rules'
// paragraph for a new password, so that a screen reader reads them with
// the input.
type field struct {
	ID, Label, Type, Autocomplete string
	Value, Error                  string
	Required                      bool
	DescribedBy                   string
	InputMode                     string // "numeric" for a one-time code
}

// newField is the template function "field": the input called id of v's
// form. Its value is the one v kept for it (emails and names, never a
// password); optional inputs are those not required.
func newField(v *view, id, label, typ, autocomplete string, required bool) field {
	f := field{ID: id, Label: label, Type: typ, Autocomplete: autocomplete, Required: required, Error: v.FieldErrors[id]}
	if autocomplete == "one-time-code" {
		f.InputMode = "numeric"
	}
	switch id {
	case "email":
		f.Value = v.Email
	case "first_name":
		f.Value = v.FirstName
	case "last_name":
		f.Value = v.LastName
	}
	var describedBy []string
	if f.Error != "" {
		describedBy = append(describedBy, id+"-error")
	}
	if autocomplete == "new-password" && v.Rules != "" {
		describedBy = append(describedBy, "rules")
	}
	f.DescribedBy = strings.Join(describedBy, " ")
	return f
}

// formFields are the inputs of the form that template name shows: a
// field error for one of them is shown next to it; any other error is
// the form's own.
func formFields(name string) []string {
	switch name {
	case "login.html":
		return []string{"email", "password"}
	case "factor.html", "stepup.html":
		return []string{"code", "recovery_code"}
	case "totp.html":
		return []string{"code"}
	case "signup.html":
		return []string{"email", "first_name", "last_name"}
	case "recover.html":
		return []string{"email"}
	case "setpassword.html":
		return []string{"password", "password_confirmation"}
	case "account.html":
		return []string{"current_password", "password", "password_confirmation", "totp_name", "passkey_name"}
	}
	return nil
}

// showFieldErrors puts le's field errors (its own and its details') next
// to the inputs of form name that they are about, the first for each
// input, and reports whether any was shown there.
func showFieldErrors(v *view, name string, le *latch.Error) bool {
	if v.FieldErrors == nil {
		v.FieldErrors = map[string]string{}
	}
	shown := false
	for _, d := range append([]latch.Error{*le}, le.Details...) {
		if _, seen := v.FieldErrors[d.Field]; seen || d.Field == "" || !slices.Contains(formFields(name), d.Field) {
			continue
		}
		v.FieldErrors[d.Field] = d.Message
		shown = true
	}
	return shown
}

type providerButton struct{ Name, Label, URL string }

// page wraps a handler that renders a view (or redirects and returns nil)
// with the pages' security headers.
func (p *Pages) page(h func(w http.ResponseWriter, r *http.Request) (string, *view)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, v := h(w, r)
		if v == nil {
			return
		}
		formAction := "'self'"
		if v.formTarget != "" {
			formAction += " " + v.formTarget
		}
		hd := w.Header()
		// Script only on the pages with a passkey ceremony, and only
		// Latch's own file; a data: image only on the page that shows a
		// TOTP enrolment's QR code (an image runs nothing).
		script, img := "", "img-src 'self'"
		if v.Scripts {
			script = "script-src 'self'; connect-src 'self'; "
		}
		if v.QR != "" {
			img += " data:"
		}
		hd.Set("Content-Security-Policy", "default-src 'none'; "+script+"style-src 'self'; "+img+"; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
		if v.noStore {
			// A secret, recovery codes, or a step that holds a token:
			// never kept by a cache or the back button's copy.
			hd.Set("Cache-Control", "no-store")
		}
		hd.Set("X-Frame-Options", "DENY")
		// Not the service's no-referrer: with it, browsers send "Origin:
		// null" on the page's own form POSTs (Fetch, "append a request
		// Origin header"), which stateChanging refuses. strict-origin
		// keeps the real Origin, and a Referer is never more than the
		// origin: a link's token in /set-password?token=... never reaches
		// a log through the stylesheet's or the form's request.
		hd.Set("Referrer-Policy", "strict-origin")
		hd.Set("Content-Type", "text/html; charset=utf-8")
		v.Product = p.product
		status := v.status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		if err := templates.ExecuteTemplate(w, name, v); err != nil {
			p.cfg.Log.Error("rendering a page", "page", name, "err", err)
		}
	}
}

func (p *Pages) message(status int, title, msg string) (string, *view) {
	return "message.html", &view{Title: title, Error: msg, status: status}
}

// unavailableText is what a page says while a dependency (the database)
// cannot serve: nothing is wrong with what the person did.
const unavailableText = "Latch cannot do this right now. Nothing was changed: try again in a minute."

// down reports whether err means a dependency cannot serve right now (the
// database unreachable or too slow; not overload, not mail switched off,
// which have texts of their own). It sets Retry-After on w when so.
func down(w http.ResponseWriter, err error) bool {
	le := latch.AsError(err)
	if le == nil || le.Kind != latch.KindUnavailable || le.Code != latch.CodeDatabaseUnavailable {
		return false
	}
	httpx.SetRetryAfter(w, le)
	return true
}

// unavailable is the page of a request that could not be served because
// the database is down: 503, Retry-After (set by down), the page's shape.
func (p *Pages) unavailable(title string) (string, *view) {
	return p.message(http.StatusServiceUnavailable, title, unavailableText)
}

// Cookies of the pages, __Host- prefixed when they can be Secure (see
// cookie).
const (
	sessionCookie = "latch_web"
	pkceCookie    = "latch_login"
)

// cookie returns the pages' cookie called name: __Host-name, Secure,
// Path=/ and no Domain when LATCH_PUBLIC_URL allows Secure cookies, so no
// sibling subdomain or plain-http page can plant or overwrite it; HttpOnly
// always. maxAge < 0 deletes it.
func (p *Pages) cookie(name, value string, maxAge int, sameSite http.SameSite) *http.Cookie {
	return &http.Cookie{Name: httpx.CookieName(name, p.secure), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: p.secure, SameSite: sameSite}
}

// stateChanging serves a POST that changes something (signs in or out,
// sets a password, sends mail) only when the browser says it comes from
// Latch's own pages: httpx.CrossSiteGuard refuses what fetch metadata
// (Sec-Fetch-Site) or, for older browsers, an Origin that is not this host
// marks as cross-origin, and an opaque ("null") origin, as the
// credential endpoints of the API do.
//
// The forms carry no CSRF token: every browser Latch supports sends
// Sec-Fetch-Site or Origin on a cross-origin POST, so a token (even one
// bound to the session) would refuse nothing more, and requests with
// neither header are not from a browser's cross-site form. SameSite
// cookies (Lax session, __Host- prefix) stay as a second layer.
func (p *Pages) stateChanging(h func(w http.ResponseWriter, r *http.Request) (string, *view)) http.Handler {
	serve, refuse := p.page(h), p.page(p.refuseCrossOrigin)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.crossOrigin.Check(r) != nil {
			refuse(w, r)
			return
		}
		serve.ServeHTTP(w, r)
	})
}

func (p *Pages) refuseCrossOrigin(w http.ResponseWriter, r *http.Request) (string, *view) {
	return p.message(http.StatusForbidden, "Not accepted", "This form was sent from another site, so it was not accepted. Open the page on Latch and send it from there.")
}

// parseForm reads a bounded form body.
func parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, httpx.MaxBodyBytes)
	return r.ParseForm() == nil
}

// loginFlow is the app flow's parameters, or none for Latch's own account
// page. Authorize is an OpenID Provider's authorization request instead
// (authorize.go): the page signs in with a web session, then resumes it.
type loginFlow struct {
	RedirectTo, CodeChallenge, State string
	Authorize                        *authorizeFlow
}

func (f loginFlow) forApp() bool { return f.RedirectTo != "" }

// pkceState is the verifier and state of a provider sign-in that Latch's
// own pages start, kept sealed in a cookie until /login/complete.
type pkceState struct {
	Verifier string    `json:"v"`
	State    string    `json:"s"`
	Expires  time.Time `json:"e"`
	// Authorize is the authorization request the sign-in is for, resumed
	// at /login/complete; nil for Latch's own account page.
	Authorize *authorizeFlow `json:"z,omitempty"`
}

// maxCookieValue bounds the PKCE cookie: browsers keep a cookie's name and
// value up to 4096 bytes and silently drop a longer one.
const maxCookieValue = 4000

func (p *Pages) loginPage(w http.ResponseWriter, r *http.Request) (string, *view) {
	q := r.URL.Query()
	if q.Has("authorize") {
		// An app's request, resumed (after a cross-site POST, or from
		// the sign-up page's link): signed in, it goes on at once.
		flow, ok := p.openFlow(q.Get("authorize"))
		if !ok {
			return p.flowExpired()
		}
		return p.resume(w, r, flow, nil)
	}
	f := loginFlow{RedirectTo: q.Get("redirect_to"), CodeChallenge: q.Get("code_challenge"), State: q.Get("state")}
	return p.renderLogin(w, r, f, "", "", 0)
}

func (p *Pages) renderLogin(w http.ResponseWriter, r *http.Request, f loginFlow, email, errMsg string, status int) (string, *view) {
	v := &view{Title: "Sign in", Email: email, Error: errMsg, status: status, FieldErrors: map[string]string{}}
	if problem := p.offerSignIns(w, f, v); problem != nil {
		return "message.html", problem
	}
	// A passkey signs in to Latch's own pages and to an OpenID app's
	// request; the legacy app flow's code is for a password only.
	v.UsernameAutocomplete = "username"
	if !f.forApp() {
		v.PasskeySignIn, v.Scripts, v.UsernameAutocomplete = true, true, "username webauthn"
	}
	return "login.html", v
}

// offerSignIns fills in what /login and /signup both offer: the provider
// buttons, the app's parameters as the form's hidden inputs, and the
// links between the two pages, all for the app flow f (or, without one,
// for Latch's own account page, whose PKCE state it seals in a cookie).
// An app's link that does not check out gives the message page to show
// instead.
func (p *Pages) offerSignIns(w http.ResponseWriter, f loginFlow, v *view) *view {
	v.Hidden = map[string]string{}
	v.SignInURL, v.SignUpURL = "/login", "/signup"
	start := url.Values{}
	if f.Authorize != nil {
		sealed, err := p.sealFlow(*f.Authorize)
		if err != nil {
			_, problem := p.message(http.StatusInternalServerError, "Sign-in problem", "Something went wrong on our side. Try again in a moment.")
			return problem
		}
		v.Hidden = map[string]string{"authorize": sealed}
		v.AppName = f.Authorize.AppName
		v.formTarget = origin(f.Authorize.Request.RedirectURI)
		resume := url.Values{"authorize": {sealed}}.Encode()
		v.SignInURL, v.SignUpURL = "/login?"+resume, "/signup?"+resume
	}
	if f.forApp() {
		target, err := p.cfg.Accounts.AllowedRedirect(f.RedirectTo)
		if err != nil {
			_, problem := p.message(http.StatusBadRequest, "Sign-in problem", "This sign-in link is not valid: "+latch.AsError(err).Message+".")
			return problem
		}
		if err := account.CheckCodeChallenge(f.CodeChallenge, ""); err != nil {
			_, problem := p.message(http.StatusBadRequest, "Sign-in problem", "This sign-in link is not valid: "+latch.AsError(err).Message+".")
			return problem
		}
		v.formTarget = target.Scheme + "://" + target.Host
		start.Set("redirect_to", f.RedirectTo)
		start.Set("code_challenge", f.CodeChallenge)
		if f.State != "" {
			start.Set("state", f.State)
		}
		v.Hidden = map[string]string{"redirect_to": f.RedirectTo, "code_challenge": f.CodeChallenge, "state": f.State}
		v.SignInURL, v.SignUpURL = "/login?"+start.Encode(), "/signup?"+start.Encode()
	} else {
		// Latch's own page is a client of its own flow: a PKCE verifier
		// and state of its own, kept sealed until /login/complete.
		ps := pkceState{Verifier: token.Random(), State: token.Random(), Expires: p.cfg.Accounts.FlowDeadline(), Authorize: f.Authorize}
		plain, _ := json.Marshal(ps)
		sealed, err := p.cfg.Sealer.Seal("web-login", plain)
		if err != nil {
			_, problem := p.message(http.StatusInternalServerError, "Sign-in problem", "Something went wrong on our side. Try again in a moment.")
			return problem
		}
		if len(sealed)+len(httpx.CookieName(pkceCookie, p.secure)) > maxCookieValue {
			// An app's request too long for a cookie (state, nonce and
			// login_hint may each have 1 KiB) could not be resumed after
			// a provider sign-in: the password form only.
			p.cfg.Log.Info("an authorization request is too long to resume after a provider sign-in: the login page offers no provider", "app_id", f.Authorize.Request.AppID)
			return nil
		}
		// Lax: /login/complete is reached by a redirect from the provider.
		http.SetCookie(w, p.cookie(pkceCookie, sealed, int(account.SignInFlowTTL.Seconds()), http.SameSiteLaxMode))
		start.Set("redirect_to", p.cfg.PublicURL+CompletePath)
		start.Set("code_challenge", token.S256(ps.Verifier))
		start.Set("state", ps.State)
	}
	for _, name := range p.cfg.Providers {
		v.Providers = append(v.Providers, providerButton{Name: name, Label: label(name), URL: "/v1/oauth/" + url.PathEscape(name) + "/start?" + start.Encode()})
	}
	return nil
}

func label(name string) string {
	switch name {
	case "google":
		return "Google"
	case "github":
		return "GitHub"
	}
	return strings.ToUpper(name[:1]) + name[1:]
}

// loginSubmit checks a password from the form. For an app it hands back a
// one-time code; for Latch's own pages it starts a web session.
func (p *Pages) loginSubmit(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Sign-in problem", "This form could not be read. Open the sign-in page again.")
	}
	if _, ok := r.PostForm["authorize"]; ok {
		return p.authorizeLoginSubmit(w, r)
	}
	f := loginFlow{RedirectTo: r.PostFormValue("redirect_to"), CodeChallenge: r.PostFormValue("code_challenge"), State: r.PostFormValue("state")}
	email := r.PostFormValue("email")
	in := account.LoginInput{Email: email, Password: r.PostFormValue("password"), ClientIP: httpx.ClientIP(r)}
	if f.forApp() {
		target, err := p.cfg.Accounts.AllowedRedirect(f.RedirectTo)
		if err != nil {
			return p.renderLogin(w, r, f, email, "", 0)
		}
		user, verified, err := p.cfg.Accounts.AuthenticatePassword(httpx.Context(r), in)
		if err != nil {
			return p.loginFailed(w, r, f, email, err)
		}
		code, err := p.cfg.Accounts.IssueAuthorizationCode(r.Context(), user, f.CodeChallenge, f.RedirectTo, verified)
		if err != nil {
			return p.loginFailed(w, r, f, email, err)
		}
		q := target.Query()
		q.Set("code", code)
		if f.State != "" {
			q.Set("state", f.State)
		}
		target.RawQuery = q.Encode()
		http.Redirect(w, r, target.String(), http.StatusSeeOther)
		return "", nil
	}
	pair, err := p.cfg.Accounts.Login(httpx.Context(r), in)
	if needsFactor(err) {
		return p.startFactorStep(w, r, pair, nil)
	}
	if err != nil {
		return p.loginFailed(w, r, f, email, err)
	}
	if err := p.startWebSession(w, pair); err != nil {
		return p.message(http.StatusInternalServerError, "Sign-in problem", "Something went wrong on our side. Try again in a moment.")
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return "", nil
}

func (p *Pages) loginFailed(w http.ResponseWriter, r *http.Request, f loginFlow, email string, err error) (string, *view) {
	le := latch.AsError(err)
	switch {
	case httpx.ClientGone(r):
		return "", nil // nobody to answer
	case down(w, err):
		return p.renderLogin(w, r, f, email, unavailableText, http.StatusServiceUnavailable)
	case le.Kind == latch.KindForbidden && le.Code == latch.CodePasswordChangeRequired:
		return p.renderLogin(w, r, f, email, "Your administrator requires a new password before you sign in: use \"Forgot your password?\" to choose one.", http.StatusForbidden)
	case le.Kind == latch.KindForbidden && (le.Code == latch.CodeMFARequired || le.Code == latch.CodeMFAEnrolmentRequired):
		// An app's legacy code flow has no factor step: the account's
		// second factor is asked for on Latch's own pages only.
		return p.renderLogin(w, r, f, email, "This account uses a second factor, which this app's sign-in cannot ask for. Sign in to the app another way, or ask its developer.", http.StatusForbidden)
	}
	switch le.Kind {
	case latch.KindUnauthenticated, latch.KindForbidden:
		return p.renderLogin(w, r, f, email, "That email and password do not match an account.", http.StatusUnauthorized)
	case latch.KindInvalid:
		name, v := p.renderLogin(w, r, f, email, le.Message, http.StatusBadRequest)
		if name == "login.html" && showFieldErrors(v, name, le) {
			v.Error = "Not signed in: see below."
		}
		return name, v
	case latch.KindTooMany, latch.KindUnavailable:
		return p.renderLogin(w, r, f, email, "Too many attempts. Wait a minute and try again.", http.StatusTooManyRequests)
	}
	p.cfg.Log.ErrorContext(r.Context(), "page sign-in", "request_id", httpx.RequestID(w), "err", err)
	return p.message(http.StatusInternalServerError, "Sign-in problem", "Something went wrong on our side. Try again in a moment.")
}

// loginComplete finishes a provider sign-in started from Latch's own login
// page: it redeems the code with the verifier it kept and starts a web
// session.
func (p *Pages) loginComplete(w http.ResponseWriter, r *http.Request) (string, *view) {
	http.SetCookie(w, p.cookie(pkceCookie, "", -1, http.SameSiteLaxMode))
	q := r.URL.Query()
	if q.Get("error") != "" {
		return p.message(http.StatusForbidden, "Sign-in problem", completeError(q.Get("error"), q.Get("error_code")))
	}
	c, err := r.Cookie(httpx.CookieName(pkceCookie, p.secure))
	var ps pkceState
	if err == nil {
		if plain, err := p.cfg.Sealer.Open("web-login", c.Value); err == nil {
			_ = json.Unmarshal(plain, &ps)
		}
	}
	if ps.Verifier == "" || !p.cfg.Accounts.FlowLive(ps.Expires) || subtle.ConstantTimeCompare([]byte(ps.State), []byte(q.Get("state"))) != 1 {
		return p.message(http.StatusBadRequest, "Sign-in problem", "This sign-in expired or was started in another browser. Start again.")
	}
	pair, err := p.cfg.Accounts.RedeemAuthorizationCode(httpx.Context(r), q.Get("code"), ps.Verifier, p.cfg.PublicURL+CompletePath)
	if needsFactor(err) {
		if ps.Authorize != nil && !p.cfg.Accounts.FlowLive(ps.Authorize.Expires) {
			return p.flowExpired()
		}
		return p.startFactorStep(w, r, pair, ps.Authorize)
	}
	if latch.IsKind(err, latch.KindForbidden) && latch.IsCode(err, latch.CodePasswordChangeRequired) {
		// A provider sign-in is no way around the administrator's
		// change_at_next_login; the page has no form for the change-only
		// token, so it points to the same way out as the password form.
		return p.message(http.StatusForbidden, "Sign-in problem", "Your administrator requires a new password before you sign in: use \"Forgot your password?\" on the sign-in page to choose one.")
	}
	if err != nil {
		switch le := latch.AsError(err); {
		case down(w, err), le.Kind == latch.KindUnavailable:
			// Not "expired": the code may still be good once the
			// database (or whatever else was down) is back.
			return p.unavailable("Sign-in problem")
		case le.Kind == latch.KindTooMany:
			return p.message(http.StatusTooManyRequests, "Sign-in problem", "Too many attempts. Wait a minute and try again.")
		case le.Kind == latch.KindInternal:
			p.cfg.Log.ErrorContext(r.Context(), "page sign-in complete", "request_id", httpx.RequestID(w), "err", err)
			return p.message(http.StatusInternalServerError, "Sign-in problem", "Something went wrong on our side. Try again in a moment.")
		}
		return p.message(http.StatusBadRequest, "Sign-in problem", "This sign-in expired. Start again.")
	}
	if err := p.startWebSession(w, pair); err != nil {
		return p.message(http.StatusInternalServerError, "Sign-in problem", "Something went wrong on our side. Try again in a moment.")
	}
	if ps.Authorize != nil {
		if !p.cfg.Accounts.FlowLive(ps.Authorize.Expires) {
			return p.flowExpired()
		}
		return p.resumeSignedIn(w, r, *ps.Authorize, pair)
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return "", nil
}

// authorizeLoginSubmit is the login form of an app's authorization
// request: a password sign-in with a web session, as for Latch's own
// pages, then the request goes on (consent, or the code).
func (p *Pages) authorizeLoginSubmit(w http.ResponseWriter, r *http.Request) (string, *view) {
	flow, ok := p.openFlow(r.PostFormValue("authorize"))
	if !ok {
		return p.flowExpired()
	}
	f := loginFlow{Authorize: &flow}
	email := r.PostFormValue("email")
	pair, err := p.cfg.Accounts.Login(httpx.Context(r), account.LoginInput{Email: email, Password: r.PostFormValue("password"), ClientIP: httpx.ClientIP(r)})
	if needsFactor(err) {
		return p.startFactorStep(w, r, pair, &flow)
	}
	if err != nil {
		return p.loginFailed(w, r, f, email, err)
	}
	if err := p.startWebSession(w, pair); err != nil {
		return p.message(http.StatusInternalServerError, "Sign-in problem", "Something went wrong on our side. Try again in a moment.")
	}
	return p.resumeSignedIn(w, r, flow, pair)
}

// resumeSignedIn resumes flow for the web session just started with pair:
// its AuthTime is at or after the request's IssuedAt, so prompt=login and
// max_age are answered.
func (p *Pages) resumeSignedIn(w http.ResponseWriter, r *http.Request, flow authorizeFlow, pair account.TokenPair) (string, *view) {
	pr, err := p.cfg.Accounts.Authenticate(r.Context(), pair.AccessToken)
	if err != nil {
		return p.authorizeFailed(w, r, err)
	}
	return p.decide(w, r, flow, nil, &pr)
}

// completeError is the text /login/complete shows for a provider sign-in
// that came back with an error. The page is on Latch's origin, so it shows
// only Latch's own words, chosen by the codes Latch's callback sends
// (error_code, the refusing rule's code, else the OAuth error): a
// reflected error_description would let anyone who sends a link write on
// Latch's page ("your account is locked, call ...").
func completeError(oauthError, code string) string {
	switch code {
	case latch.CodeAccountInactive:
		return "This account is deactivated. Ask your administrator."
	case account.CodeEmailNotLinkable:
		return "An account with this email already exists, and this sign-in cannot be added to it automatically. Sign in the way you did before, then link it from your account page."
	case account.CodeProviderEmailUnverified:
		return "The provider has not verified your email address. Verify it there first, or sign up with your email."
	case account.CodeProviderWrongTenant:
		return "This sign-in provider cannot sign in to this account. Sign in the way you did before."
	case account.CodeProviderEmailMissing:
		return "The provider did not share a verified email address, which Latch needs to sign you in. Choose another way to sign in."
	}
	if oauthError == "access_denied" {
		return "The sign-in was cancelled or refused. Start again, or choose another way to sign in."
	}
	return "The sign-in did not complete. Start again."
}

// webSession is what the browser keeps, sealed, for Latch's own pages: an
// ordinary session's tokens.
type webSession struct {
	Access  string `json:"a"`
	Refresh string `json:"r"`
}

func (p *Pages) startWebSession(w http.ResponseWriter, pair account.TokenPair) error {
	plain, _ := json.Marshal(webSession{Access: pair.AccessToken, Refresh: pair.RefreshToken})
	sealed, err := p.cfg.Sealer.Seal("web-session", plain)
	if err != nil {
		return err
	}
	// Lax, not Strict: a link to /account from an email or an app then
	// finds the person signed in; POSTs are guarded by stateChanging.
	http.SetCookie(w, p.cookie(sessionCookie, sealed, 0, http.SameSiteLaxMode))
	return nil
}

// principal returns the signed-in person, refreshing an expired access
// token with the session's refresh token; ok is false when nobody is
// signed in (or the session was revoked).
// principal is the signed-in person of the page's session cookie. With
// the database down it reports unavailable (and sets Retry-After): the
// person is still signed in, and must not be sent to the sign-in page.
func (p *Pages) principal(w http.ResponseWriter, r *http.Request) (pr account.Principal, ok, unavailable bool) {
	c, err := r.Cookie(httpx.CookieName(sessionCookie, p.secure))
	if err != nil {
		return account.Principal{}, false, false
	}
	plain, err := p.cfg.Sealer.Open("web-session", c.Value)
	var s webSession
	if err != nil || json.Unmarshal(plain, &s) != nil {
		return account.Principal{}, false, false
	}
	pr, err = p.cfg.Accounts.Authenticate(r.Context(), s.Access)
	if err == nil {
		return pr, true, false
	}
	if down(w, err) {
		return account.Principal{}, false, true
	}
	pair, err := p.cfg.Accounts.Refresh(r.Context(), s.Refresh)
	if down(w, err) {
		return account.Principal{}, false, true
	}
	if err != nil || p.startWebSession(w, pair) != nil {
		return account.Principal{}, false, false
	}
	pr, err = p.cfg.Accounts.Authenticate(r.Context(), pair.AccessToken)
	if down(w, err) {
		return account.Principal{}, false, true
	}
	return pr, err == nil, false
}

func (p *Pages) accountView(r *http.Request, pr account.Principal) *view {
	v := &view{Title: "Your account", User: pr.User, Rules: p.cfg.Accounts.PasswordRules(r.Context(), pr.User.TenantID), FieldErrors: map[string]string{}}
	v.Identities, _ = p.cfg.Accounts.MyIdentities(r.Context(), pr)
	v.HasPassword, _ = p.cfg.Accounts.HasPassword(r.Context(), pr.User.ID)
	p.appsList(r, pr, v)
	p.factorList(r, pr, v)
	return v
}

func (p *Pages) accountPage(w http.ResponseWriter, r *http.Request) (string, *view) {
	pr, ok, unavailable := p.principal(w, r)
	if unavailable {
		return p.unavailable("Your account")
	}
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return "", nil
	}
	v := p.accountView(r, pr)
	switch q := r.URL.Query(); {
	case q.Get("saved") == "1":
		v.Notice = "Your password is saved. You can now sign in with your email and password."
	case q.Get("revoked") == "1":
		v.Notice = "Access removed. The app must ask for your permission the next time you sign in to it."
	default:
		v.Notice = factorNotice(q)
	}
	return "account.html", v
}

// setPassword is the account page's form; the same use case as seed 000.
func (p *Pages) setPassword(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Account", "This form could not be read. Open your account page again.")
	}
	pr, ok, unavailable := p.principal(w, r)
	if unavailable {
		return p.unavailable("Account")
	}
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return "", nil
	}
	field := func(name string) *string {
		if _, sent := r.PostForm[name]; !sent {
			return nil
		}
		v := r.PostFormValue(name)
		return &v
	}
	err := p.cfg.Accounts.SetOwnPassword(httpx.Context(r), pr, account.SetOwnPasswordInput{
		Password: r.PostFormValue("password"), Confirmation: field("password_confirmation"), CurrentPassword: field("current_password"),
	})
	if err == nil {
		http.Redirect(w, r, "/account?saved=1", http.StatusSeeOther)
		return "", nil
	}
	if httpx.ClientGone(r) {
		return "", nil
	}
	if down(w, err) {
		return p.unavailable("Account")
	}
	if latch.IsKind(err, latch.KindForbidden) && latch.IsCode(err, latch.CodeStepUpRequired) {
		return p.stepUpPage(w, r, pr, stepUpPassword, "", "", "", 0)
	}
	v := p.accountView(r, pr)
	le := latch.AsError(err)
	switch le.Kind {
	case latch.KindInvalid:
		v.status = http.StatusUnprocessableEntity
		v.Error = "The password was not saved."
		if !showFieldErrors(v, "account.html", le) {
			// About no input of the form: the form's own error says it.
			v.Error += " " + le.Message
		}
	case latch.KindTooMany:
		v.status, v.Error = http.StatusTooManyRequests, "Too many attempts. Wait a minute and try again."
	case latch.KindUnavailable:
		// Hashing overloaded, limits that cannot be checked: nothing is
		// wrong with the form, and nothing was saved.
		v.status, v.Error = http.StatusServiceUnavailable, "This cannot be done right now: "+le.Message+"."
	default:
		p.cfg.Log.ErrorContext(r.Context(), "page set password", "request_id", httpx.RequestID(w), "err", err)
		v.status, v.Error = http.StatusInternalServerError, "Something went wrong on our side. Try again in a moment."
	}
	return "account.html", v
}
