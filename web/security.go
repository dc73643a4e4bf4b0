package web

// The account page's security section (issue 16): the person's second
// factors listed, an authenticator app or a passkey added, a factor
// removed, new recovery codes shown once; and the step-up a sensitive
// change of an account with a factor asks for first.

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// factorRow is one factor of the account page.
type factorRow struct {
	ID, Name, Kind        string
	Added, AddedISO       string
	LastUsed, LastUsedISO string
	Confirmed             bool
}

func kindWords(k latch.FactorKind) string {
	switch k {
	case latch.FactorTOTP:
		return "authenticator app"
	case latch.FactorWebAuthn:
		return "passkey"
	}
	return string(k)
}

// factorList fills in v's factors (or why they are not listed) and the
// passkey script the section's "Add a passkey" needs.
func (p *Pages) factorList(r *http.Request, pr account.Principal, v *view) {
	v.Scripts, v.PasskeyOptions = true, "/account/passkeys/options"
	fs, err := p.cfg.Accounts.MyFactors(r.Context(), pr)
	if err != nil {
		v.FactorsError = "Your second factors cannot be listed right now."
		return
	}
	for _, f := range fs {
		row := factorRow{ID: f.ID, Name: f.Name, Kind: kindWords(f.Kind), Added: f.CreatedAt.UTC().Format("2 January 2006"),
			AddedISO: f.CreatedAt.UTC().Format(time.RFC3339), Confirmed: f.ConfirmedAt != nil}
		if f.LastUsedAt != nil {
			row.LastUsed, row.LastUsedISO = f.LastUsedAt.UTC().Format("2 January 2006"), f.LastUsedAt.UTC().Format(time.RFC3339)
		}
		v.Factors = append(v.Factors, row)
	}
}

// factorNotice is the account page's notice after a factor change.
func factorNotice(q url.Values) string {
	switch q.Get("factor") {
	case "added":
		return "Second factor added. You will be asked for it when you sign in."
	case "removed":
		return "Second factor removed."
	case "confirmed":
		return "Confirmed. You can now change your password."
	}
	return ""
}

// signedInOrAway is the principal of the page's session; when there is
// none it answers (the sign-in page, or 503) and ok is false.
func (p *Pages) signedInOrAway(w http.ResponseWriter, r *http.Request) (pr account.Principal, page string, v *view, ok bool) {
	if !parseForm(w, r) {
		page, v = p.message(http.StatusBadRequest, "Account", "This form could not be read. Open your account page again.")
		return
	}
	pr, signedIn, unavailable := p.principal(w, r)
	if unavailable {
		page, v = p.unavailable("Account")
		return
	}
	if !signedIn {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	return pr, "", nil, true
}

// accountFailed answers a security form's error that is not its own:
// an outage, a limit, the step-up, or something unexpected.
func (p *Pages) accountFailed(w http.ResponseWriter, r *http.Request, pr account.Principal, err error, then, factorID string) (string, *view) {
	if httpx.ClientGone(r) {
		return "", nil
	}
	if down(w, err) {
		return p.unavailable("Account")
	}
	le := latch.AsError(err)
	switch {
	case le.Kind == latch.KindForbidden && le.Code == latch.CodeStepUpRequired:
		return p.stepUpPage(w, r, pr, then, factorID, "", "", 0)
	case le.Kind == latch.KindTooMany:
		httpx.SetRetryAfter(w, le)
		return p.message(http.StatusTooManyRequests, "Account", "Too many attempts. Wait a minute and try again.")
	case le.Kind == latch.KindNotFound:
		return p.accountWithError(r, pr, http.StatusNotFound, "That second factor is not one of yours any more. Nothing was changed.")
	case le.Kind == latch.KindInvalid:
		return p.accountWithError(r, pr, http.StatusBadRequest, "Nothing was changed: "+le.Message+".")
	case le.Kind == latch.KindConflict:
		return p.accountWithError(r, pr, http.StatusConflict, "Nothing was changed: "+le.Message+".")
	case le.Kind == latch.KindForbidden:
		return p.accountWithError(r, pr, http.StatusForbidden, "Your account cannot make this change. Ask your administrator.")
	case le.Kind == latch.KindUnavailable:
		return p.message(http.StatusServiceUnavailable, "Account", "This cannot be done right now: "+le.Message+".")
	}
	p.cfg.Log.ErrorContext(r.Context(), "account security", "request_id", httpx.RequestID(w), "err", err)
	return p.message(http.StatusInternalServerError, "Account", "Something went wrong on our side. Try again in a moment.")
}

func (p *Pages) accountWithError(r *http.Request, pr account.Principal, status int, text string) (string, *view) {
	v := p.accountView(r, pr)
	v.status, v.Error = status, text
	return "account.html", v
}

// totpPage shows a TOTP enrolment: its QR code and secret (when e has
// them: not when a wrong code shows the form again) and the form of its
// first code, posting to action. The QR code is a data: URL, which this
// page's CSP alone allows: an image runs nothing, and the secret is never
// kept anywhere to serve it from a route of its own.
func (p *Pages) totpPage(w http.ResponseWriter, r *http.Request, e account.TOTPEnrolment, action string, flow *authorizeFlow, fieldErrors map[string]string, status int) (string, *view) {
	v := &view{Title: "Add an authenticator app", Action: action, FieldErrors: fieldErrors, status: status, Hidden: map[string]string{"factor_id": e.FactorID}}
	v.noStore, v.Secret = true, e.Secret
	if v.FieldErrors == nil {
		v.FieldErrors = map[string]string{}
	}
	if len(v.FieldErrors) > 0 {
		v.Error = "Not confirmed: see below."
	}
	if len(e.QRPNG) > 0 {
		v.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRPNG))
	}
	if flow != nil {
		sealed, err := p.sealFlow(*flow)
		if err != nil {
			return p.wentWrong(w, r, "sealing an authorization request", err)
		}
		v.Hidden["authorize"] = sealed
		v.AppName = flow.AppName
	}
	return "totp.html", v
}

// addTOTP is POST /account/totp: a new TOTP factor, shown with its QR
// code and secret for the app.
func (p *Pages) addTOTP(w http.ResponseWriter, r *http.Request) (string, *view) {
	pr, page, v, ok := p.signedInOrAway(w, r)
	if !ok {
		return page, v
	}
	e, err := p.cfg.Accounts.EnrolTOTP(httpx.Context(r), pr, r.PostFormValue("totp_name"))
	if le := latch.AsError(err); le != nil && le.Kind == latch.KindInvalid {
		v := p.accountView(r, pr)
		v.status, v.Error, v.FieldErrors["totp_name"] = http.StatusUnprocessableEntity, "No authenticator app was added: see below.", le.Message
		return "account.html", v
	}
	if err != nil {
		return p.accountFailed(w, r, pr, err, "", "")
	}
	return p.totpPage(w, r, e, "/account/totp/confirm", nil, nil, 0)
}

// confirmTOTP is POST /account/totp/confirm: the app's first code.
func (p *Pages) confirmTOTP(w http.ResponseWriter, r *http.Request) (string, *view) {
	pr, page, v, ok := p.signedInOrAway(w, r)
	if !ok {
		return page, v
	}
	id := r.PostFormValue("factor_id")
	err := p.cfg.Accounts.ConfirmTOTP(httpx.Context(r), pr, id, r.PostFormValue("code"))
	if err == nil || latch.IsCode(err, latch.CodeFactorConfirmed) {
		http.Redirect(w, r, "/account?factor=added", http.StatusSeeOther)
		return "", nil
	}
	if isWrongProof(err) {
		return p.totpPage(w, r, account.TOTPEnrolment{FactorID: id}, "/account/totp/confirm", nil, map[string]string{"code": wrongProof("code")}, http.StatusUnauthorized)
	}
	return p.accountFailed(w, r, pr, err, "", "")
}

// addPasskey is POST /account/passkeys: the credential the script got for
// BeginPasskeyRegistration's options, stored under its name.
func (p *Pages) addPasskey(w http.ResponseWriter, r *http.Request) (string, *view) {
	pr, page, v, ok := p.signedInOrAway(w, r)
	if !ok {
		return page, v
	}
	resp := r.PostFormValue("passkey_response")
	if resp == "" {
		return p.accountWithError(r, pr, http.StatusBadRequest, "Adding a passkey needs JavaScript, and a browser that supports passkeys.")
	}
	_, err := p.cfg.Accounts.FinishPasskeyRegistration(httpx.Context(r), pr, r.PostFormValue("passkey_name"), p.ceremony(r, passkeyRegisterPurpose), []byte(resp))
	http.SetCookie(w, p.cookie(passkeyCookie, "", -1, http.SameSiteStrictMode))
	if err == nil {
		http.Redirect(w, r, "/account?factor=added", http.StatusSeeOther)
		return "", nil
	}
	if le := latch.AsError(err); le.Kind == latch.KindInvalid || le.Kind == latch.KindUnauthenticated {
		v := p.accountView(r, pr)
		v.status = http.StatusUnprocessableEntity
		if le.Field == "name" {
			v.Error, v.FieldErrors["passkey_name"] = "No passkey was added: see below.", le.Message
		} else {
			v.Error = "No passkey was added: the browser's answer was not accepted. Try again."
		}
		return "account.html", v
	}
	return p.accountFailed(w, r, pr, err, "", "")
}

// removeFactor is POST /account/factors/remove.
func (p *Pages) removeFactor(w http.ResponseWriter, r *http.Request) (string, *view) {
	pr, page, v, ok := p.signedInOrAway(w, r)
	if !ok {
		return page, v
	}
	id := r.PostFormValue("factor_id")
	return p.doRemoveFactor(w, r, pr, id)
}

func (p *Pages) doRemoveFactor(w http.ResponseWriter, r *http.Request, pr account.Principal, id string) (string, *view) {
	if err := p.cfg.Accounts.RemoveFactor(httpx.Context(r), pr, id); err != nil {
		return p.accountFailed(w, r, pr, err, stepUpRemove, id)
	}
	http.Redirect(w, r, "/account?factor=removed", http.StatusSeeOther)
	return "", nil
}

// newRecoveryCodes is POST /account/recovery-codes.
func (p *Pages) newRecoveryCodes(w http.ResponseWriter, r *http.Request) (string, *view) {
	pr, page, v, ok := p.signedInOrAway(w, r)
	if !ok {
		return page, v
	}
	return p.doNewRecoveryCodes(w, r, pr)
}

func (p *Pages) doNewRecoveryCodes(w http.ResponseWriter, r *http.Request, pr account.Principal) (string, *view) {
	codes, err := p.cfg.Accounts.RegenerateRecoveryCodes(httpx.Context(r), pr)
	if err != nil {
		return p.accountFailed(w, r, pr, err, stepUpRecoveryCodes, "")
	}
	v := &view{Title: "Your recovery codes"}
	v.RecoveryCodes, v.noStore = codes, true
	return "recoverycodes.html", v
}

// What a step-up is for: the change redone once it passes.
const (
	stepUpPassword      = "password" // the person types the new password again
	stepUpRemove        = "remove"
	stepUpRecoveryCodes = "recovery_codes"
)

// stepUpPage asks for a factor again before the change then (of factor
// id, for a removal) is made; input and its error say why a proof was
// refused.
func (p *Pages) stepUpPage(w http.ResponseWriter, r *http.Request, pr account.Principal, then, factorID, input, inputError string, status int) (string, *view) {
	v := &view{Title: "Confirm it is you", Action: "/account/step-up", status: status, FieldErrors: map[string]string{},
		Hidden: map[string]string{"then": then}}
	if status == 0 {
		v.status = http.StatusForbidden
	}
	if factorID != "" {
		v.Hidden["factor_id"] = factorID
	}
	if input != "" {
		v.FieldErrors[input], v.Error = inputError, "Not confirmed: see below."
	} else if inputError != "" {
		v.Error = inputError
	}
	v.noStore = true
	fs, err := p.cfg.Accounts.MyFactors(r.Context(), pr)
	v.OfferRecovery = true
	if err != nil {
		v.OfferTOTP = true // the form that works without a script
	}
	for _, f := range fs {
		switch {
		case f.ConfirmedAt == nil:
		case f.Kind == latch.FactorTOTP:
			v.OfferTOTP = true
		case f.Kind == latch.FactorWebAuthn:
			v.OfferPasskey, v.Scripts, v.PasskeyOptions = true, true, "/account/step-up/passkey/options"
		}
	}
	return "stepup.html", v
}

// stepUp is POST /account/step-up: the factor checked again, the web
// session replaced by the fresh one, and the change redone.
func (p *Pages) stepUp(w http.ResponseWriter, r *http.Request) (string, *view) {
	pr, page, v, ok := p.signedInOrAway(w, r)
	if !ok {
		return page, v
	}
	then, factorID := r.PostFormValue("then"), r.PostFormValue("factor_id")
	proof, input := p.proofOf(r, passkeyStepUpPurpose)
	pair, err := p.cfg.Accounts.StepUp(httpx.Context(r), pr, proof)
	if proof.PasskeyResponse != nil {
		http.SetCookie(w, p.cookie(passkeyCookie, "", -1, http.SameSiteStrictMode))
	}
	if err != nil {
		if httpx.ClientGone(r) {
			return "", nil
		}
		if isWrongProof(err) {
			msg := wrongProof(input)
			if input == "" {
				msg = "That passkey was not accepted. Try again."
			}
			return p.stepUpPage(w, r, pr, then, factorID, input, msg, http.StatusUnauthorized)
		}
		if latch.IsKind(err, latch.KindUnauthenticated) {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return "", nil
		}
		return p.accountFailed(w, r, pr, err, "", "")
	}
	if err := p.startWebSession(w, pair); err != nil {
		return p.wentWrong(w, r, "starting a web session", err)
	}
	fresh, err := p.cfg.Accounts.Authenticate(r.Context(), pair.AccessToken)
	if err != nil {
		return p.accountFailed(w, r, pr, err, "", "")
	}
	switch then {
	case stepUpRemove:
		return p.doRemoveFactor(w, r, fresh, factorID)
	case stepUpRecoveryCodes:
		return p.doNewRecoveryCodes(w, r, fresh)
	}
	// A password is never carried through the step: it is typed again.
	http.Redirect(w, r, "/account?factor=confirmed#password-section", http.StatusSeeOther)
	return "", nil
}

// registerSecurity adds the account page's security routes.
func (p *Pages) registerSecurity(mux httpx.Mux) {
	mux.Handle("POST /account/totp", p.stateChanging(p.addTOTP))
	mux.Handle("POST /account/totp/confirm", p.stateChanging(p.confirmTOTP))
	mux.Handle("POST /account/passkeys", p.stateChanging(p.addPasskey))
	mux.Handle("POST /account/factors/remove", p.stateChanging(p.removeFactor))
	mux.Handle("POST /account/recovery-codes", p.stateChanging(p.newRecoveryCodes))
	mux.Handle("POST /account/step-up", p.stateChanging(p.stepUp))
	signedIn := func(begin func(r *http.Request, pr account.Principal) (account.PasskeyChallenge, error)) func(w http.ResponseWriter, r *http.Request) (account.PasskeyChallenge, error) {
		return func(w http.ResponseWriter, r *http.Request) (account.PasskeyChallenge, error) {
			pr, ok, unavailable := p.principal(w, r)
			if unavailable {
				return account.PasskeyChallenge{}, &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "the database is unavailable"}
			}
			if !ok {
				return account.PasskeyChallenge{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "not signed in"}
			}
			return begin(r, pr)
		}
	}
	mux.Handle("POST /account/passkeys/options", p.passkeyOptions(passkeyRegisterPurpose, signedIn(func(r *http.Request, pr account.Principal) (account.PasskeyChallenge, error) {
		return p.cfg.Accounts.BeginPasskeyRegistration(httpx.Context(r), pr)
	})))
	mux.Handle("POST /account/step-up/passkey/options", p.passkeyOptions(passkeyStepUpPurpose, signedIn(func(r *http.Request, pr account.Principal) (account.PasskeyChallenge, error) {
		return p.cfg.Accounts.BeginStepUpPasskey(httpx.Context(r), pr)
	})))
}
