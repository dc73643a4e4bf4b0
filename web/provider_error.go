package web

import (
	"net/http"
	"net/url"

	"github.com/latchid/latch/api/httpx"
)

// ProviderError writes the page of a provider sign-in that failed before
// it could go back to where it started (api/native's /v1/oauth/.../start
// and .../callback call it through native.OAuthConfig.ErrorPage): the
// pages' own layout, status and message as the API chose them, the
// request's id for a report, and a way back. The way back is the sign-in
// page of the app the flow belongs to (app holds its redirect_to,
// code_challenge and state, already checked by the API), so that the
// person starts again where the app sent them; without an app, or for a
// flow that Latch's own sign-in page started, it is /login.
func (p *Pages) ProviderError(w http.ResponseWriter, r *http.Request, status int, message string, app url.Values) {
	v := &view{Title: "Sign-in problem", Error: message, status: status, Reference: httpx.RequestID(w), Back: "/login", BackLabel: "Back to sign in"}
	if redirect := app.Get("redirect_to"); redirect != "" && redirect != p.cfg.PublicURL+CompletePath && app.Get("code_challenge") != "" {
		back := url.Values{"redirect_to": {redirect}, "code_challenge": {app.Get("code_challenge")}}
		if state := app.Get("state"); state != "" {
			back.Set("state", state)
		}
		v.Back, v.BackLabel = "/login?"+back.Encode(), "Start again"
	}
	p.page(func(http.ResponseWriter, *http.Request) (string, *view) { return "message.html", v })(w, r)
}
