package native

import (
	"crypto/subtle"
	"encoding/json"
	"html/template"
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
}

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
	c, err := r.Cookie(httpx.CookieName(flowCookie, s.oauth.SecureCookies))
	if err != nil {
		return expired
	}
	plain, err := s.oauth.Sealer.Open(flowPurpose, c.Value)
	if err != nil {
		return expired
	}
	var f flowState
	if json.Unmarshal(plain, &f) != nil || !s.accounts.FlowLive(f.Expires) || f.Provider != r.PathValue("provider") {
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

var errorPage = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign-in problem</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto; padding: 0 1rem">
<h1>Sign-in problem</h1><p>{{.Message}}</p><p><small>Reference: {{.RequestID}}</small></p>
</body></html>
`))

// writeErrorPage shows a browser a flow error as a page, never a 500
// with details.
func writeErrorPage(w http.ResponseWriter, _ *http.Request, err *latch.Error) {
	status := statusOf(err)
	if status == http.StatusUnauthorized {
		// A refused code or token at the provider: a bad request from the
		// browser's point of view, not an HTTP authentication challenge.
		status = http.StatusBadRequest
	}
	msg := err.Message
	if err.Kind == latch.KindInternal {
		msg = "Something went wrong on our side. Try again in a moment."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(status)
	_ = errorPage.Execute(w, struct{ Message, RequestID string }{msg, httpx.RequestID(w)})
}
