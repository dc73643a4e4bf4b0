package web

import (
	"net/http"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// /signup: sign-up by email in a browser, through the same use case as
// seed 003's POST /auth/signup (account.Service.SignUp), so it answers as
// that API does: the same page, as fast, whether or not the email has an
// account. A new address is sent a link to /verify, where the person sets
// a first password; an address with an account is sent a notice instead.
// The provider buttons are /login's: a provider sign-in makes the account
// as well.

func (p *Pages) signUpPage(w http.ResponseWriter, r *http.Request) (string, *view) {
	q := r.URL.Query()
	f := loginFlow{RedirectTo: q.Get("redirect_to"), CodeChallenge: q.Get("code_challenge"), State: q.Get("state")}
	if q.Has("authorize") {
		// From the sign-in page of an app's request: the provider
		// buttons resume it, "Sign in" leads back to it. A sign-up by
		// email goes on in the verification email, without it.
		flow, ok := p.openFlow(q.Get("authorize"))
		if !ok {
			return p.flowExpired()
		}
		f = loginFlow{Authorize: &flow}
	}
	return p.renderSignUp(w, f, &view{})
}

// renderSignUp shows the sign-up form v (what was typed, an error) with
// the sign-ins the page offers for flow f.
func (p *Pages) renderSignUp(w http.ResponseWriter, f loginFlow, v *view) (string, *view) {
	v.Title = "Create your account"
	if v.FieldErrors == nil {
		v.FieldErrors = map[string]string{}
	}
	if problem := p.offerSignIns(w, f, v); problem != nil {
		return "message.html", problem
	}
	return "signup.html", v
}

func (p *Pages) signUpSubmit(w http.ResponseWriter, r *http.Request) (string, *view) {
	if !parseForm(w, r) {
		return p.message(http.StatusBadRequest, "Create your account", "This form could not be read. Open the sign-up page again.")
	}
	f := loginFlow{RedirectTo: r.PostFormValue("redirect_to"), CodeChallenge: r.PostFormValue("code_challenge"), State: r.PostFormValue("state")}
	if flow, ok := p.openFlow(r.PostFormValue("authorize")); ok {
		// Kept for the form shown again; a request that expired is
		// dropped, the sign-up itself does not need it.
		f = loginFlow{Authorize: &flow}
	}
	in := account.SignUpInput{Email: r.PostFormValue("email"), FirstName: r.PostFormValue("first_name"), LastName: r.PostFormValue("last_name")}
	err := p.cfg.Accounts.SignUp(httpx.Context(r), in)
	if err == nil {
		// The words do not depend on whether the address has an account:
		// either way an email is on its way to it, with a link to verify
		// it and set a password or with a way to sign in.
		return "done.html", &view{Title: "Check your email", Notice: "We are sending an email to " + in.Email +
			". Open the link in it to verify your address and choose your password. If the address has an account already, the email says how to sign in."}
	}
	name, form := p.formFailed(w, r, err, "signup.html", &view{Email: in.Email, FirstName: in.FirstName, LastName: in.LastName, FieldErrors: map[string]string{}})
	if form == nil {
		return name, nil // the client went away
	}
	return p.renderSignUp(w, f, form)
}
