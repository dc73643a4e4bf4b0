package native

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/oidc"
	"github.com/latchid/latch/token"
)

// OAuthConfig is what the provider sign-in flow needs.
type OAuthConfig struct {
	Providers []oidc.Provider
	Sealer    httpx.Sealer
	// SecureCookies makes the flow cookie Secure and __Host- prefixed
	// (httpx.SecureCookies of LATCH_PUBLIC_URL: https, or http on a
	// loopback host).
	SecureCookies bool
	// ErrorPage writes a flow error that cannot go back to the app as a
	// page: web.Pages.ProviderError, in the pages' own layout with a way
	// back (api.NewHandler wires it). Nil writes the message as plain
	// text, for a surface served without the pages.
	ErrorPage ErrorPageWriter
}

// ErrorPageWriter writes a provider sign-in's error page with status and
// message (Latch's own words: never a provider's or a query's). app is the
// sign-in of the app the flow belongs to (its checked redirect_to,
// code_challenge and state), or nil when none is known, for the page's way
// back.
type ErrorPageWriter func(w http.ResponseWriter, r *http.Request, status int, message string, app url.Values)

const (
	flowCookie  = "latch_oauth"
	flowPurpose = "oauth-flow"
)

// flowState is what the browser carries, sealed, from the start of a
// provider sign-in to its callback.
type flowState struct {
	Provider      string    `json:"p"`
	State         string    `json:"s"`
	Nonce         string    `json:"n"`
	Verifier      string    `json:"v"`
	RedirectTo    string    `json:"r"`
	AppState      string    `json:"a,omitempty"`
	CodeChallenge string    `json:"c"`
	Expires       time.Time `json:"e"`
}

// oauthStart is GET /v1/oauth/{provider}/start?redirect_to=…&code_challenge=…[&state=…]:
// it remembers the flow in a sealed cookie and sends the browser to the
// provider.
func (s *Surface) oauthStart(w http.ResponseWriter, r *http.Request) error {
	p, ok := s.providers[r.PathValue("provider")]
	if !ok {
		// The name is not repeated: this is a page on Latch's origin, and
		// the path is whatever a link says.
		return &latch.Error{Kind: latch.KindNotFound, Code: latch.CodeNotFound, Message: "no sign-in provider of that name is configured"}
	}
	q := r.URL.Query()
	redirect, err := s.accounts.AllowedRedirect(q.Get("redirect_to"))
	if err != nil {
		return err
	}
	challenge := q.Get("code_challenge")
	if err := account.CheckCodeChallenge(challenge, q.Get("code_challenge_method")); err != nil {
		return err
	}
	f := flowState{Provider: p.Name(), State: token.Random(), Nonce: token.Random(), Verifier: token.Random(),
		RedirectTo: redirect.String(), AppState: q.Get("state"), CodeChallenge: challenge, Expires: s.accounts.FlowDeadline()}
	authURL, err := p.AuthCodeURL(r.Context(), f.State, f.Nonce, f.Verifier)
	if err != nil {
		return err
	}
	plain, _ := json.Marshal(f)
	sealed, err := s.oauth.Sealer.Seal(flowPurpose, plain)
	if err != nil {
		return latch.Internal(err)
	}
	// Lax: the provider's redirect to the callback is a cross-site
	// navigation.
	http.SetCookie(w, s.flowCookie(sealed, int(account.SignInFlowTTL.Seconds())))
	http.Redirect(w, r, authURL, http.StatusFound)
	return nil
}

// oauthCallback is GET /v1/oauth/{provider}/callback: it checks the flow,
// redeems the provider's code, finds or makes the account and sends the
// browser back to the app with a one-time code. Until the flow is known
// good, errors are pages; after that they go back to the app as OAuth
// error parameters.
func (s *Surface) oauthCallback(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, s.flowCookie("", -1))
	expired := latch.Errorf(latch.KindInvalid, "flow_invalid", "This sign-in expired or was started in another browser. Start again.")
	f, ok := s.openFlow(r)
	if !ok || !s.accounts.FlowLive(f.Expires) {
		return expired
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		return expired
	}
	p := s.providers[f.Provider]
	back := func(params url.Values) error {
		u, _ := url.Parse(f.RedirectTo)
		v := u.Query()
		for k, vs := range params {
			v[k] = vs
		}
		if f.AppState != "" {
			v.Set("state", f.AppState)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
		return nil
	}
	if e := q.Get("error"); e != "" || p == nil {
		return back(url.Values{"error": {"access_denied"}, "error_description": {"the sign-in at the provider was cancelled or refused"}})
	}
	ext, err := p.Exchange(r.Context(), q.Get("code"), f.Verifier, f.Nonce)
	if err != nil {
		return err
	}
	user, err := s.accounts.ResolveIdentity(httpx.Context(r), ext)
	if latch.IsKind(err, latch.KindForbidden) {
		// error_code is the refusing rule's stable code: Latch's own
		// /login/complete shows its text for it, never error_description.
		le := latch.AsError(err)
		return back(url.Values{"error": {"access_denied"}, "error_code": {le.Code}, "error_description": {le.Message}})
	}
	if err != nil {
		return err
	}
	code, err := s.accounts.IssueAuthorizationCode(r.Context(), user, f.CodeChallenge, f.RedirectTo, "")
	if err != nil {
		return err
	}
	return back(url.Values{"code": {code}})
}

// flowCookie is the sealed flow's cookie: __Host- (Secure, Path=/, no
// Domain) when it can be Secure, so a sibling subdomain cannot plant a
// flow of its own choosing; maxAge < 0 deletes it.
func (s *Surface) flowCookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: httpx.CookieName(flowCookie, s.oauth.SecureCookies), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.oauth.SecureCookies, SameSite: http.SameSiteLaxMode}
}

// openFlow reads the sealed flow of the callback's request, when it
// belongs to the callback's provider; whether it is still live is the
// caller's question.
func (s *Surface) openFlow(r *http.Request) (flowState, bool) {
	var f flowState
	c, err := r.Cookie(httpx.CookieName(flowCookie, s.oauth.SecureCookies))
	if err != nil {
		return f, false
	}
	plain, err := s.oauth.Sealer.Open(flowPurpose, c.Value)
	if err != nil || json.Unmarshal(plain, &f) != nil || f.Provider != r.PathValue("provider") {
		return flowState{}, false
	}
	return f, true
}

// startApp is the app whose sign-in a start request is, when its
// parameters check out (as oauthStart checks them), for the error page's
// way back.
func (s *Surface) startApp(r *http.Request) url.Values {
	q := r.URL.Query()
	if _, err := s.accounts.AllowedRedirect(q.Get("redirect_to")); err != nil {
		return nil
	}
	if account.CheckCodeChallenge(q.Get("code_challenge"), q.Get("code_challenge_method")) != nil {
		return nil
	}
	return url.Values{"redirect_to": {q.Get("redirect_to")}, "code_challenge": {q.Get("code_challenge")}, "state": {q.Get("state")}}
}

// callbackApp is the app of the callback's flow, when its sealed cookie
// opens: it was checked when the flow started. An expired flow still
// names its app, so the person can start again there.
func (s *Surface) callbackApp(r *http.Request) url.Values {
	f, ok := s.openFlow(r)
	if !ok {
		return nil
	}
	return url.Values{"redirect_to": {f.RedirectTo}, "code_challenge": {f.CodeChallenge}, "state": {f.AppState}}
}

// errorPage returns the surface's writer of flow errors as pages for a
// route whose app (for the way back) app finds.
func (s *Surface) errorPage(app func(*http.Request) url.Values) httpx.ErrorWriter {
	return func(w http.ResponseWriter, r *http.Request, err *latch.Error) {
		status := statusOf(err)
		if status == http.StatusUnauthorized {
			// A refused code or token at the provider: a bad request from
			// the browser's point of view, not an HTTP authentication
			// challenge.
			status = http.StatusBadRequest
		}
		msg := err.Message
		if err.Kind == latch.KindInternal {
			msg = "Something went wrong on our side. Try again in a moment."
		}
		if s.oauth.ErrorPage == nil {
			http.Error(w, "Sign-in problem: "+msg, status)
			return
		}
		s.oauth.ErrorPage(w, r, status, msg, app(r))
	}
}
