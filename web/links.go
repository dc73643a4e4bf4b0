package web

import (
	"net/http"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/royalti"
)

// The pages a link from an email opens: /set-password (seed 002's link and
// recovery), /verify (a sign-up's verification) and /recover (ask for a
// recovery link). Their forms call the same use cases as the APIs.

func (p *Pages) registerLinks(mux httpx.Mux) {
	mux.HandleFunc("GET "+account.SetPasswordPath, p.page(p.setPasswordPage))
	mux.Handle("POST "+account.SetPasswordPath, p.stateChanging(p.setPasswordSubmit))
	mux.HandleFunc("GET "+account.VerifyPath, p.page(p.verifyPage))
	mux.Handle("POST "+account.VerifyPath, p.stateChanging(p.verifySubmit))
	mux.HandleFunc("GET /recover", p.page(p.recoverPage))
	mux.Handle("POST /recover", p.stateChanging(p.recoverSubmit))
}

func (p *Pages) badLink() (string, *view) {
	return p.message(http.StatusBadRequest, "Link not valid", "This link is invalid, expired or already used. Ask for a new one.")
}

func (p *Pages) passwordForm(title, action, tok, email, rules string) *view {
	return &view{Title: title, Email: email, Rules: rules, Action: action, Hidden: map[string]string{"token": tok}, FieldErrors: map[string]string{}}
}

func (p *Pages) setPasswordPage(w http.ResponseWriter, r *http.Request) (string, *view) {
	tok := r.URL.Query().Get("token")
	info, err := p.cfg.Accounts.PasswordLinkInfo(r.Context(), tok)
	if err != nil {
		return p.linkFailed(w, r, err)
	}
	return "setpassword.html", p.passwordForm("Set your password", account.SetPasswordPath, tok, info.User.Email, info.Rules)
}

func (p *Pages) setPasswordSubmit(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Set your password", "This form could not be read. Open the link from your email again.")
	}
	tok := r.PostFormValue("token")
	confirmation := r.PostFormValue("password_confirmation")
	err := p.cfg.Accounts.SetPasswordWithLink(httpx.Context(r), account.SetPasswordWithLinkInput{
		Token: tok, Password: r.PostFormValue("password"), Confirmation: &confirmation,
	})
	if err == nil {
		return "done.html", &view{Title: "Password set", Notice: "Your password is set. Sign in with your email and your new password."}
	}
	if latch.IsKind(err, latch.KindInvalid) && latch.IsCode(err, latch.CodeInvalidLink) {
		return p.badLink()
	}
	if latch.IsKind(err, latch.KindConflict) && latch.IsCode(err, latch.CodePasswordAlreadySet) {
		return p.message(http.StatusConflict, "Password already set", "This account has a password already. Sign in, or use \"Forgot your password?\" on the sign-in page.")
	}
	info, ierr := p.cfg.Accounts.PasswordLinkInfo(r.Context(), tok)
	if ierr != nil {
		return p.linkFailed(w, r, ierr)
	}
	return p.formFailed(w, r, err, "setpassword.html", p.passwordForm("Set your password", account.SetPasswordPath, tok, info.User.Email, info.Rules))
}

func (p *Pages) verifyPage(w http.ResponseWriter, r *http.Request) (string, *view) {
	tok := r.URL.Query().Get("token")
	user, err := p.cfg.Accounts.VerificationUser(r.Context(), tok)
	if err != nil {
		return p.linkFailed(w, r, err)
	}
	if has, err := p.cfg.Accounts.HasPassword(r.Context(), user.ID); err != nil {
		return p.linkFailed(w, r, err)
	} else if has {
		return "done.html", &view{Title: "Email verified", Notice: "Your email is verified and your password is set. Sign in."}
	}
	return "setpassword.html", p.passwordForm("Verify your email", account.VerifyPath, tok, user.Email, p.verifyRules(r, user))
}

func (p *Pages) verifyRules(r *http.Request, user latch.User) string {
	return "At least 8 characters, with a number and a special character. " + p.cfg.Accounts.PasswordRules(r.Context(), user.TenantID)
}

func (p *Pages) verifySubmit(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Verify your email", "This form could not be read. Open the link from your email again.")
	}
	tok := r.PostFormValue("token")
	user, err := p.cfg.Accounts.VerificationUser(r.Context(), tok)
	if err != nil {
		return p.linkFailed(w, r, err)
	}
	form := p.passwordForm("Verify your email", account.VerifyPath, tok, user.Email, p.verifyRules(r, user))
	if pw := r.PostFormValue("password"); pw != r.PostFormValue("password_confirmation") {
		form.status, form.Error = http.StatusUnprocessableEntity, "The password was not saved."
		form.FieldErrors["password_confirmation"] = "The two passwords do not match."
		return "setpassword.html", form
	}
	if err := p.cfg.Accounts.VerifyAndSetPassword(httpx.Context(r), tok, r.PostFormValue("password")); err != nil {
		if latch.IsKind(err, latch.KindConflict) && latch.IsCode(err, latch.CodePasswordAlreadySet) {
			return "done.html", &view{Title: "Email verified", Notice: "Your email is verified and your password is set. Sign in."}
		}
		return p.formFailed(w, r, seed003Words(err), "setpassword.html", form)
	}
	return "done.html", &view{Title: "Email verified", Notice: "Your email is verified and your password is set. Sign in with your email and your new password."}
}

func (p *Pages) recoverPage(w http.ResponseWriter, r *http.Request) (string, *view) {
	return "recover.html", &view{Title: "Forgot your password?", FieldErrors: map[string]string{}}
}

func (p *Pages) recoverSubmit(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Forgot your password?", "This form could not be read. Open the page again.")
	}
	email := r.PostFormValue("email")
	err := p.cfg.Accounts.RequestRecovery(httpx.Context(r), email)
	if err == nil {
		return "done.html", &view{Title: "Check your email", Notice: "If " + email + " has an account with a password, it will get a link to choose a new one within a few minutes. The link works once, for 24 hours."}
	}
	return p.formFailed(w, r, err, "recover.html", &view{Title: "Forgot your password?", Email: email, FieldErrors: map[string]string{}})
}

// seed003Words words err's failed rules as seed 003 does: this page is the
// seed's sign-up flow in a browser, and says what its API says
// (royalti.RuleText, the one wording).
func seed003Words(err error) error {
	le := latch.AsError(err)
	if le.Kind != latch.KindInvalid {
		return err
	}
	out := *le
	out.Message = royalti.RuleText(out)
	out.Details = make([]latch.Error, len(le.Details))
	for i, d := range le.Details {
		d.Message = royalti.RuleText(d)
		out.Details[i] = d
	}
	return &out
}

// linkFailed answers a page whose link did not check out.
func (p *Pages) linkFailed(w http.ResponseWriter, r *http.Request, err error) (string, *view) {
	switch latch.AsError(err).Kind {
	case latch.KindInvalid, latch.KindUnauthenticated, latch.KindNotFound:
		return p.badLink()
	}
	if httpx.ClientGone(r) {
		return "", nil
	}
	if down(w, err) {
		return p.unavailable("Try again in a minute")
	}
	switch le := latch.AsError(err); le.Kind {
	case latch.KindTooMany:
		return p.message(http.StatusTooManyRequests, "Try again later", "Too many attempts. Wait a while and try again.")
	case latch.KindUnavailable:
		return p.message(http.StatusServiceUnavailable, "Try again in a minute", "This cannot be done right now: "+le.Message+".")
	}
	p.cfg.Log.ErrorContext(r.Context(), "link page", "request_id", httpx.RequestID(w), "err", err)
	return p.message(http.StatusInternalServerError, "Something went wrong", "Something went wrong on our side. Try again in a moment.")
}

// invalidSummary is what the form page name says above its inputs when
// some of them are refused; each input's own error is next to it.
func invalidSummary(name string) string {
	if name == "signup.html" {
		return "Not signed up: see below."
	}
	return "Not saved: see below."
}

// formFailed re-renders form with the error next to its field.
func (p *Pages) formFailed(w http.ResponseWriter, r *http.Request, err error, name string, form *view) (string, *view) {
	if httpx.ClientGone(r) {
		return "", nil
	}
	if down(w, err) {
		form.status, form.Error = http.StatusServiceUnavailable, unavailableText
		return name, form
	}
	le := latch.AsError(err)
	switch le.Kind {
	case latch.KindInvalid:
		form.status, form.Error = http.StatusUnprocessableEntity, invalidSummary(name)
		if !showFieldErrors(form, name, le) || name == "recover.html" {
			// An error about no input of the form (or the one input of
			// /recover) is the form's own.
			form.Error = le.Message
		}
	case latch.KindTooMany:
		form.status, form.Error = http.StatusTooManyRequests, "Too many attempts. Wait a while and try again."
	case latch.KindUnavailable:
		form.status, form.Error = http.StatusServiceUnavailable, "This cannot be done right now: "+le.Message+"."
	default:
		p.cfg.Log.ErrorContext(r.Context(), "page form", "request_id", httpx.RequestID(w), "err", err)
		form.status, form.Error = http.StatusInternalServerError, "Something went wrong on our side. Try again in a moment."
	}
	return name, form
}
