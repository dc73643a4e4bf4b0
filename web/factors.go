package web

// Second factors on the pages (issue 16): the factor step of /login (and
// the enrolment a tenant's policy forces), passwordless sign-in with a
// passkey, and the passkey ceremonies' options. The account page's
// security section is security.go.
//
// The mfa token of a sign-in waiting for its factor is kept sealed in a
// short-lived HttpOnly cookie, never in the page; an OpenID app's request
// travels on as the sealed authorize input, as on /login. A passkey
// ceremony's state is kept sealed in a cookie too, between its options
// (fetched by static/passkeys.js) and the form the script then submits.

import (
	"encoding/json"
	"html/template"
	"net/http"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// Cookies of the second factors.
const (
	mfaCookie     = "latch_mfa"     // the mfa token, sealed
	passkeyCookie = "latch_passkey" // a passkey ceremony's state, sealed for its use
)

// Sealer purposes: a ceremony begun for one use is refused by another.
const (
	mfaPurpose             = "web-mfa"
	passkeySignInPurpose   = "passkey-sign-in"
	passkeyMFAPurpose      = "passkey-mfa"
	passkeyRegisterPurpose = "passkey-register"
	passkeyStepUpPurpose   = "passkey-step-up"
	passkeyEnrolPurpose    = "passkey-enrol" // a registration at a sign-in's forced enrolment
)

// passkeyCeremonyTTL bounds the ceremony cookie: a person choosing a
// passkey in the browser's dialog.
const passkeyCeremonyTTL = 5 * time.Minute

// mfaView is what the factor pages add to a view.
type mfaView struct {
	// UsernameAutocomplete is the sign-in email's autocomplete: with
	// "webauthn" when the page offers passkeys (conditional UI).
	UsernameAutocomplete string
	PasskeySignIn        bool // /login offers "Sign in with a passkey"
	Scripts              bool // the page loads static/passkeys.js (and its CSP allows it)
	// The factor step's and the step-up's offers.
	OfferTOTP, OfferPasskey, OfferRecovery bool
	PasskeyOptions                         string // where the page's passkey form fetches its options
	// The account page's factors; FactorsError says why they are not
	// listed.
	Factors      []factorRow
	FactorsError string
	// A TOTP enrolment: its QR code (a data: URL, see page), the secret
	// for typing in, and where its confirmation posts.
	QR     template.URL
	Secret string
	// RecoveryCodes are new recovery codes, shown once.
	RecoveryCodes []string
	noStore       bool
}

// needsFactor reports whether a sign-in answered that its second factor
// (or the enrolment of one) comes next.
func needsFactor(err error) bool {
	le := latch.AsError(err)
	return le != nil && le.Kind == latch.KindForbidden && (le.Code == latch.CodeMFARequired || le.Code == latch.CodeMFAEnrolmentRequired)
}

// mfaState is the mfa cookie's content.
type mfaState struct {
	Token string `json:"t"`
}

// startFactorStep keeps pair's mfa token in its cookie and shows the
// factor step (or the enrolment) for it; flow is the app's request the
// sign-in is for, resumed once the step is passed.
func (p *Pages) startFactorStep(w http.ResponseWriter, r *http.Request, pair account.TokenPair, flow *authorizeFlow) (string, *view) {
	if pair.AccessToken == "" {
		return p.wentWrong(w, r, "factor step", latch.Internal(errNoMFAToken))
	}
	plain, _ := json.Marshal(mfaState{Token: pair.AccessToken})
	sealed, err := p.cfg.Sealer.Seal(mfaPurpose, plain)
	if err != nil {
		return p.wentWrong(w, r, "sealing the mfa token", err)
	}
	// Strict: the step's forms are Latch's own; no other site leads here.
	http.SetCookie(w, p.cookie(mfaCookie, sealed, int(account.MFATokenTTL.Seconds()), http.SameSiteStrictMode))
	// The session cookie of whoever was signed in before is not the
	// person now signing in.
	http.SetCookie(w, p.cookie(sessionCookie, "", -1, http.SameSiteLaxMode))
	return p.factorPage(w, r, pair.AccessToken, flow, "", nil, 0)
}

var errNoMFAToken = &latch.Error{Kind: latch.KindInternal, Code: latch.CodeInternal, Message: "a sign-in answered mfa_required without an mfa token"}

// mfaToken is the mfa token of the request's cookie, or "".
func (p *Pages) mfaToken(r *http.Request) string {
	c, err := r.Cookie(httpx.CookieName(mfaCookie, p.secure))
	if err != nil {
		return ""
	}
	plain, err := p.cfg.Sealer.Open(mfaPurpose, c.Value)
	var s mfaState
	if err != nil || json.Unmarshal(plain, &s) != nil {
		return ""
	}
	return s.Token
}

// factorFlow is the app's request a factor form carries, if any; ok is
// false when one is carried and does not open.
func (p *Pages) factorFlow(r *http.Request) (flow *authorizeFlow, ok bool) {
	sealed := r.FormValue("authorize")
	if sealed == "" {
		return nil, true
	}
	f, ok := p.openFlow(sealed)
	if !ok {
		return nil, false
	}
	return &f, true
}

// stepExpired is the page of a factor step whose token is gone.
func (p *Pages) stepExpired(w http.ResponseWriter) (string, *view) {
	http.SetCookie(w, p.cookie(mfaCookie, "", -1, http.SameSiteStrictMode))
	return p.message(http.StatusBadRequest, "Sign-in problem", "This sign-in step expired. Sign in again.")
}

// factorPage shows the factor step of token (or, when the tenant's policy
// asks for a factor the account does not have, its enrolment).
func (p *Pages) factorPage(w http.ResponseWriter, r *http.Request, token string, flow *authorizeFlow, notice string, fieldErrors map[string]string, status int) (string, *view) {
	ch, err := p.cfg.Accounts.MFAChallengeOf(r.Context(), token)
	if err != nil {
		return p.factorFailed(w, r, err)
	}
	v := &view{Title: "Second step", Email: ch.Email, Notice: notice, FieldErrors: fieldErrors, status: status, Hidden: map[string]string{}}
	v.noStore = true
	if v.FieldErrors == nil {
		v.FieldErrors = map[string]string{}
	}
	if len(v.FieldErrors) > 0 {
		v.Error = "Not signed in: see below."
	}
	if flow != nil {
		sealed, err := p.sealFlow(*flow)
		if err != nil {
			return p.wentWrong(w, r, "sealing an authorization request", err)
		}
		v.Hidden["authorize"] = sealed
		v.AppName = flow.AppName
		v.formTarget = origin(flow.Request.RedirectURI)
	}
	if ch.Enrol {
		v.Title = "Set up a second step"
		v.Scripts, v.PasskeyOptions = true, "/login/enrol/passkey/options"
		return "enrol.html", v
	}
	for _, f := range ch.Factors {
		switch f {
		case account.FactorTOTP:
			v.OfferTOTP = true
		case account.FactorPasskey:
			v.OfferPasskey, v.Scripts, v.PasskeyOptions = true, true, "/login/factor/passkey/options"
		case account.FactorRecoveryCode:
			v.OfferRecovery = true
		}
	}
	return "factor.html", v
}

// factorStepPage is GET /login/factor: the step again (after an
// enrolment, or a reload).
func (p *Pages) factorStepPage(w http.ResponseWriter, r *http.Request) (string, *view) {
	token := p.mfaToken(r)
	if token == "" {
		return p.stepExpired(w)
	}
	flow, ok := p.factorFlow(r)
	if !ok {
		return p.flowExpired()
	}
	return p.factorPage(w, r, token, flow, "", nil, 0)
}

// proofOf reads a factor proof from a form: a passkey's response (with
// the ceremony of the cookie sealed for purpose), a recovery code, or a
// TOTP code, and the input a wrong one is shown under.
func (p *Pages) proofOf(r *http.Request, purpose string) (proof account.FactorProof, input string) {
	if resp := r.PostFormValue("passkey_response"); resp != "" {
		return account.FactorProof{PasskeyCeremony: p.ceremony(r, purpose), PasskeyResponse: []byte(resp)}, ""
	}
	if _, ok := r.PostForm["recovery_code"]; ok {
		return account.FactorProof{RecoveryCode: r.PostFormValue("recovery_code")}, "recovery_code"
	}
	return account.FactorProof{TOTPCode: r.PostFormValue("code")}, "code"
}

// wrongProof is the text under the input of a refused proof.
func wrongProof(input string) string {
	switch input {
	case "recovery_code":
		return "That recovery code is wrong or was used already."
	case "code":
		return "That code is wrong or was used already. Enter the code your app shows now."
	}
	return ""
}

// isWrongProof reports whether err refuses the proof itself (not the
// token, not a limit).
func isWrongProof(err error) bool {
	le := latch.AsError(err)
	return le != nil && (le.Code == account.CodeInvalidMFACode || le.Code == latch.CodeInvalidCredentials ||
		(le.Kind == latch.KindInvalid && le.Code != latch.CodeInvalidToken))
}

// factorSubmit is POST /login/factor: the proof, then a web session, then
// /account or the app's request.
func (p *Pages) factorSubmit(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Sign-in problem", "This form could not be read. Sign in again.")
	}
	token := p.mfaToken(r)
	if token == "" {
		return p.stepExpired(w)
	}
	flow, ok := p.factorFlow(r)
	if !ok {
		return p.flowExpired()
	}
	proof, input := p.proofOf(r, passkeyMFAPurpose)
	pair, err := p.cfg.Accounts.CompleteMFA(httpx.Context(r), token, proof, httpx.ClientIP(r))
	if err == nil {
		http.SetCookie(w, p.cookie(mfaCookie, "", -1, http.SameSiteStrictMode))
		return p.signedIn(w, r, pair, flow)
	}
	if httpx.ClientGone(r) {
		return "", nil
	}
	if isWrongProof(err) {
		if input == "" {
			// A passkey: there is no input to put the error under, so it
			// is the form's own error.
			name, v := p.factorPage(w, r, token, flow, "", nil, http.StatusUnauthorized)
			if v != nil && name == "factor.html" {
				v.Error = "That passkey was not accepted. Try again, or use another way."
			}
			return name, v
		}
		return p.factorPage(w, r, token, flow, "", map[string]string{input: wrongProof(input)}, http.StatusUnauthorized)
	}
	return p.factorFailed(w, r, err)
}

// factorFailed answers what is not a wrong proof on the factor step.
func (p *Pages) factorFailed(w http.ResponseWriter, r *http.Request, err error) (string, *view) {
	if httpx.ClientGone(r) {
		return "", nil
	}
	if down(w, err) {
		return p.unavailable("Sign-in problem")
	}
	switch le := latch.AsError(err); le.Kind {
	case latch.KindUnauthenticated:
		return p.stepExpired(w)
	case latch.KindTooMany:
		httpx.SetRetryAfter(w, le)
		return p.message(http.StatusTooManyRequests, "Sign-in problem", "Too many attempts. Wait a minute and try again.")
	case latch.KindUnavailable:
		return p.message(http.StatusServiceUnavailable, "Sign-in problem", "This cannot be done right now: "+le.Message+".")
	case latch.KindForbidden:
		return p.message(http.StatusForbidden, "Sign-in problem", "This account cannot sign in this way. Ask your administrator.")
	case latch.KindInvalid, latch.KindNotFound, latch.KindConflict:
		return p.message(http.StatusBadRequest, "Sign-in problem", "This sign-in step cannot go on. Sign in again.")
	}
	return p.wentWrong(w, r, "factor step", err)
}

// signedIn starts the web session of pair and goes on: to the app's
// request, else to /account.
func (p *Pages) signedIn(w http.ResponseWriter, r *http.Request, pair account.TokenPair, flow *authorizeFlow) (string, *view) {
	if err := p.startWebSession(w, pair); err != nil {
		return p.wentWrong(w, r, "starting a web session", err)
	}
	if flow != nil {
		return p.resumeSignedIn(w, r, *flow, pair)
	}
	http.Redirect(w, r, "/account", http.StatusSeeOther)
	return "", nil
}

// pendingPrincipal is the principal of the mfa token of an enrolment step.
func (p *Pages) pendingPrincipal(w http.ResponseWriter, r *http.Request) (pr account.Principal, token string, page string, v *view) {
	token = p.mfaToken(r)
	if token == "" {
		page, v = p.stepExpired(w)
		return
	}
	pr, err := p.cfg.Accounts.Authenticate(r.Context(), token)
	if err != nil {
		page, v = p.factorFailed(w, r, err)
	}
	return
}

// enrolSubmit is POST /login/enrol: a TOTP factor for the account whose
// tenant requires one, shown with its QR code.
func (p *Pages) enrolSubmit(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Sign-in problem", "This form could not be read. Sign in again.")
	}
	pr, _, page, v := p.pendingPrincipal(w, r)
	if v != nil {
		return page, v
	}
	flow, ok := p.factorFlow(r)
	if !ok {
		return p.flowExpired()
	}
	e, err := p.cfg.Accounts.EnrolTOTP(httpx.Context(r), pr, "")
	if err != nil {
		return p.factorFailed(w, r, err)
	}
	return p.totpPage(w, r, e, "/login/enrol/confirm", flow, nil, 0)
}

// enrolConfirm is POST /login/enrol/confirm: the enrolment's first code;
// then the factor step, with the app's next code.
func (p *Pages) enrolConfirm(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Sign-in problem", "This form could not be read. Sign in again.")
	}
	pr, token, page, v := p.pendingPrincipal(w, r)
	if v != nil {
		return page, v
	}
	flow, ok := p.factorFlow(r)
	if !ok {
		return p.flowExpired()
	}
	id := r.PostFormValue("factor_id")
	err := p.cfg.Accounts.ConfirmTOTP(httpx.Context(r), pr, id, r.PostFormValue("code"))
	if err == nil || latch.IsCode(err, latch.CodeFactorConfirmed) {
		return p.factorPage(w, r, token, flow, "Your authenticator app is set up. Enter the next code it shows to finish signing in.", nil, 0)
	}
	if isWrongProof(err) {
		return p.totpPage(w, r, account.TOTPEnrolment{FactorID: id}, "/login/enrol/confirm", flow, map[string]string{"code": wrongProof("code")}, http.StatusUnauthorized)
	}
	return p.factorFailed(w, r, err)
}

// enrolPasskey is POST /login/enrol/passkey: a passkey registered for the
// account whose tenant requires a factor; then the factor step, where the
// passkey finishes the sign-in.
func (p *Pages) enrolPasskey(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Sign-in problem", "This form could not be read. Sign in again.")
	}
	pr, token, page, v := p.pendingPrincipal(w, r)
	if v != nil {
		return page, v
	}
	flow, ok := p.factorFlow(r)
	if !ok {
		return p.flowExpired()
	}
	resp := r.PostFormValue("passkey_response")
	if resp == "" {
		return p.factorPage(w, r, token, flow, "", nil, http.StatusBadRequest)
	}
	_, err := p.cfg.Accounts.FinishPasskeyRegistration(httpx.Context(r), pr, r.PostFormValue("passkey_name"), p.ceremony(r, passkeyEnrolPurpose), []byte(resp))
	http.SetCookie(w, p.cookie(passkeyCookie, "", -1, http.SameSiteStrictMode))
	if err == nil {
		return p.factorPage(w, r, token, flow, "Your passkey is set up. Use it to finish signing in.", nil, 0)
	}
	if le := latch.AsError(err); le.Kind == latch.KindInvalid || (le.Kind == latch.KindUnauthenticated && le.Code != latch.CodeInvalidToken) {
		name, v := p.factorPage(w, r, token, flow, "", nil, http.StatusUnprocessableEntity)
		if v != nil && v.status == http.StatusUnprocessableEntity {
			v.Error = "No passkey was added: the browser's answer was not accepted. Try again."
		}
		return name, v
	}
	return p.factorFailed(w, r, err)
}

// passkeySignIn is POST /login/passkey: the assertion the script got for
// BeginPasskeySignIn's options, then a web session.
func (p *Pages) passkeySignIn(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Sign-in problem", "This form could not be read. Open the sign-in page again.")
	}
	flow, ok := p.factorFlow(r)
	if !ok {
		return p.flowExpired()
	}
	f := loginFlow{Authorize: flow}
	resp := r.PostFormValue("passkey_response")
	if resp == "" {
		return p.renderLogin(w, r, f, "", "Signing in with a passkey needs JavaScript. Sign in with your email and password instead.", http.StatusBadRequest)
	}
	pair, err := p.cfg.Accounts.FinishPasskeySignIn(httpx.Context(r), p.ceremony(r, passkeySignInPurpose), []byte(resp), httpx.ClientIP(r))
	http.SetCookie(w, p.cookie(passkeyCookie, "", -1, http.SameSiteStrictMode))
	if needsFactor(err) {
		return p.startFactorStep(w, r, pair, flow)
	}
	if err != nil {
		if le := latch.AsError(err); le.Kind == latch.KindUnauthenticated || le.Kind == latch.KindInvalid {
			return p.renderLogin(w, r, f, "", "That passkey did not sign you in. Try again, or sign in with your email and password.", http.StatusUnauthorized)
		}
		return p.loginFailed(w, r, f, "", err)
	}
	return p.signedIn(w, r, pair, flow)
}

// ceremony is the passkey ceremony of the request's cookie sealed for
// purpose, or "" (which the Finish call refuses).
func (p *Pages) ceremony(r *http.Request, purpose string) string {
	c, err := r.Cookie(httpx.CookieName(passkeyCookie, p.secure))
	if err != nil {
		return ""
	}
	plain, err := p.cfg.Sealer.Open(purpose, c.Value)
	if err != nil {
		return ""
	}
	return string(plain)
}

// passkeyOptions serves a ceremony's options as JSON to the page's
// script (a same-origin POST, guarded as the forms are): begin's options
// as they are, its ceremony kept sealed for purpose in a cookie. An error
// is {"error": text} with the status a page would have.
func (p *Pages) passkeyOptions(purpose string, begin func(w http.ResponseWriter, r *http.Request) (account.PasskeyChallenge, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if p.crossOrigin.Check(r) != nil {
			writeJSONError(w, http.StatusForbidden, "This request was sent from another site.")
			return
		}
		ch, err := begin(w, r)
		if err == nil {
			var sealed string
			if sealed, err = p.cfg.Sealer.Seal(purpose, []byte(ch.Ceremony)); err == nil && len(sealed) > maxCookieValue {
				err = latch.Internal(errCeremonyTooLong)
			}
			if err == nil {
				http.SetCookie(w, p.cookie(passkeyCookie, sealed, int(passkeyCeremonyTTL.Seconds()), http.SameSiteStrictMode))
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write(ch.Options)
				return
			}
		}
		if httpx.ClientGone(r) {
			return
		}
		if down(w, err) {
			writeJSONError(w, http.StatusServiceUnavailable, unavailableText)
			return
		}
		switch le := latch.AsError(err); le.Kind {
		case latch.KindUnauthenticated:
			writeJSONError(w, http.StatusUnauthorized, "This page has expired. Reload it and try again.")
		case latch.KindTooMany:
			httpx.SetRetryAfter(w, le)
			writeJSONError(w, http.StatusTooManyRequests, "Too many attempts. Wait a minute and try again.")
		case latch.KindForbidden:
			writeJSONError(w, http.StatusForbidden, "Passkeys cannot be used here.")
		case latch.KindUnavailable:
			writeJSONError(w, http.StatusServiceUnavailable, "This cannot be done right now. Try again in a minute.")
		default:
			p.cfg.Log.ErrorContext(r.Context(), "passkey options", "request_id", httpx.RequestID(w), "err", err)
			writeJSONError(w, http.StatusInternalServerError, "Something went wrong on our side. Try again in a moment.")
		}
	})
}

var errCeremonyTooLong = &latch.Error{Kind: latch.KindInternal, Code: latch.CodeInternal, Message: "a passkey ceremony is too long for its cookie"}

func writeJSONError(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": text})
}

// registerFactors adds the second factors' routes.
func (p *Pages) registerFactors(mux httpx.Mux) {
	mux.HandleFunc("GET /login/factor", p.page(p.factorStepPage))
	mux.Handle("POST /login/factor", p.stateChanging(p.factorSubmit))
	mux.Handle("POST /login/enrol", p.stateChanging(p.enrolSubmit))
	mux.Handle("POST /login/enrol/confirm", p.stateChanging(p.enrolConfirm))
	mux.Handle("POST /login/passkey", p.stateChanging(p.passkeySignIn))
	mux.Handle("POST /login/passkey/options", p.passkeyOptions(passkeySignInPurpose, func(w http.ResponseWriter, r *http.Request) (account.PasskeyChallenge, error) {
		return p.cfg.Accounts.BeginPasskeySignIn(httpx.Context(r), httpx.ClientIP(r))
	}))
	mux.Handle("POST /login/factor/passkey/options", p.passkeyOptions(passkeyMFAPurpose, func(w http.ResponseWriter, r *http.Request) (account.PasskeyChallenge, error) {
		token := p.mfaToken(r)
		if token == "" {
			return account.PasskeyChallenge{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "no factor step"}
		}
		return p.cfg.Accounts.BeginMFAPasskey(httpx.Context(r), token)
	}))
	mux.Handle("POST /login/enrol/passkey", p.stateChanging(p.enrolPasskey))
	mux.Handle("POST /login/enrol/passkey/options", p.passkeyOptions(passkeyEnrolPurpose, func(w http.ResponseWriter, r *http.Request) (account.PasskeyChallenge, error) {
		token := p.mfaToken(r)
		if token == "" {
			return account.PasskeyChallenge{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "no factor step"}
		}
		pr, err := p.cfg.Accounts.Authenticate(r.Context(), token)
		if err != nil {
			return account.PasskeyChallenge{}, err
		}
		return p.cfg.Accounts.BeginPasskeyRegistration(httpx.Context(r), pr)
	}))
	p.registerSecurity(mux)
}
