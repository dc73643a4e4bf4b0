package openid

import (
	"net/http"
	"strings"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// errorBody is RFC 6749 §5.2's error response (also the body of
// userinfo's errors, which RFC 6750 leaves open).
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// The answers of the server's own state, the same on every endpoint.
const (
	descUnavailable   = "the service is briefly unavailable; try again after Retry-After seconds"
	descTooMany       = "too many requests; try again after Retry-After seconds"
	descInvalidGrant  = "the authorization code or refresh token is invalid, expired, revoked or was issued to another client"
	descInvalidClient = "client authentication failed"
)

// defaultRetryAfter is sent with a 429 or 503 whose error did not say
// when to try again: the header is what tells a client it may.
const defaultRetryAfter = "1"

// oauthAnswer is how the token, revocation and introspection endpoints
// answer err (RFC 6749 §5.2):
//
//   - the server's state decides first, whatever the code: Internal is
//     500 server_error (nothing of the error shown; the adapter logs it
//     with the request id); Unavailable (database_unavailable,
//     overloaded) is 503 temporarily_unavailable and TooMany
//     (rate_limited) 429 temporarily_unavailable, both with Retry-After.
//     RFC 6749 defines temporarily_unavailable for the authorization
//     endpoint only, and slow_down is the device flow's; an OAuth
//     client's error switch knows temporarily_unavailable, and the
//     status and Retry-After say the rest;
//   - a body over httpx.MaxBodyBytes is 413 invalid_request;
//   - invalid_client is 401, always with WWW-Authenticate: Basic
//     realm="latch": §5.2 requires it when the client tried Basic, and
//     HTTP requires a challenge on every 401; its description is the same
//     for every cause;
//   - the other OAuth codes the use cases set (account.Token*) are 400
//     with that code;
//   - anything else by kind: Invalid is invalid_request, and a refusal
//     (Unauthenticated, Forbidden, NotFound, Conflict: a grant gone,
//     changed or not this client's) is invalid_grant. None is a 500.
func oauthAnswer(err *latch.Error) (status int, body errorBody) {
	switch err.Kind {
	case latch.KindInternal:
		return http.StatusInternalServerError, errorBody{Error: "server_error"}
	case latch.KindUnavailable:
		return http.StatusServiceUnavailable, errorBody{"temporarily_unavailable", descUnavailable}
	case latch.KindTooMany:
		return http.StatusTooManyRequests, errorBody{"temporarily_unavailable", descTooMany}
	}
	switch err.Code {
	case httpx.CodeBodyTooLarge:
		return http.StatusRequestEntityTooLarge, errorBody{"invalid_request", description(err.Message)}
	case account.TokenInvalidClient:
		return http.StatusUnauthorized, errorBody{"invalid_client", descInvalidClient}
	case account.TokenInvalidRequest, account.TokenInvalidGrant, account.TokenUnauthorizedClient,
		account.TokenUnsupportedGrantType, account.TokenInvalidScope, account.TokenUnsupportedTokenType:
		return http.StatusBadRequest, errorBody{err.Code, description(err.Message)}
	}
	if err.Kind == latch.KindInvalid {
		return http.StatusBadRequest, errorBody{"invalid_request", description(err.Message)}
	}
	return http.StatusBadRequest, errorBody{"invalid_grant", descInvalidGrant}
}

// serverState reports whether err tells the server's state (Internal,
// Unavailable, TooMany), which decides the answer whatever the code.
func serverState(err *latch.Error) bool {
	return err.Kind == latch.KindInternal || err.Kind == latch.KindUnavailable || err.Kind == latch.KindTooMany
}

func writeOAuthError(w http.ResponseWriter, _ *http.Request, err *latch.Error) {
	status, body := oauthAnswer(err)
	h := w.Header()
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="latch"`)
	}
	setRetryAfterDefault(w, status)
	// An error of the token endpoint is no more cacheable than a token.
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	httpx.WriteJSON(w, status, "application/json", body)
}

func setRetryAfterDefault(w http.ResponseWriter, status int) {
	if (status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", defaultRetryAfter)
	}
}

// codeNoToken (Unauthenticated) is a userinfo request that carried no
// access token at all: RFC 6750 §3.1's challenge without an error code.
const codeNoToken = httpx.CodeMissingToken

// writeBearerError answers a userinfo request as RFC 6750 §3 says: the
// challenge in WWW-Authenticate, and the same error as a JSON body.
//
//   - no token at all: 401 with `Bearer realm="latch"`, no error code
//     (§3.1: the client may not know authentication is needed), no body;
//   - a token that is not a live app access token of a user (and a
//     refusal that says the grant or the user is gone): 401
//     invalid_token;
//   - a token without the openid scope: 403 insufficient_scope, naming
//     the scope needed;
//   - a malformed request (the token sent twice or in the query, a body
//     that cannot be read): 400 invalid_request (413 for a body over
//     httpx.MaxBodyBytes);
//   - the server's state: 500, 503 and 429 as oauthAnswer, with no
//     challenge (the token was not judged).
func writeBearerError(w http.ResponseWriter, _ *http.Request, err *latch.Error) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	challenge := func(code, desc string, extra ...string) {
		v := `Bearer realm="latch", error="` + code + `"`
		if desc != "" {
			v += `, error_description="` + desc + `"`
		}
		for _, e := range extra {
			v += ", " + e
		}
		h.Set("WWW-Authenticate", v)
	}
	var status int
	var body errorBody
	switch {
	case serverState(err):
		status, body = oauthAnswer(err)
		setRetryAfterDefault(w, status)
	case err.Kind == latch.KindUnauthenticated && err.Code == codeNoToken:
		h.Set("WWW-Authenticate", `Bearer realm="latch"`)
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusUnauthorized)
		return
	case err.Kind == latch.KindForbidden:
		status, body = http.StatusForbidden, errorBody{"insufficient_scope", "the access token was not granted the openid scope"}
		challenge(body.Error, body.Description, `scope="openid"`)
	case err.Kind == latch.KindInvalid:
		status, body = http.StatusBadRequest, errorBody{"invalid_request", description(err.Message)}
		if err.Code == httpx.CodeBodyTooLarge {
			status = http.StatusRequestEntityTooLarge
		}
		challenge(body.Error, body.Description)
	default: // Unauthenticated, NotFound, Conflict
		status, body = http.StatusUnauthorized, errorBody{"invalid_token", "the access token is invalid, expired or revoked"}
		challenge(body.Error, body.Description)
	}
	httpx.WriteJSON(w, status, "application/json", body)
}

// description makes msg fit error_description: RFC 6749 §5.2 and RFC
// 6750 §3 allow printable ASCII other than '"' and '\' (so that it can be
// quoted in a challenge). Latch's messages are English ASCII; anything
// else is replaced rather than dropped, so that the text stays readable.
func description(msg string) string {
	var b strings.Builder
	for _, c := range msg {
		switch {
		case c == '"':
			b.WriteByte('\'')
		case c == '\\':
			b.WriteByte('/')
		case c >= 0x20 && c <= 0x7e:
			b.WriteRune(c)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

func invalidRequest(msg string) error {
	return &latch.Error{Kind: latch.KindInvalid, Code: account.TokenInvalidRequest, Message: msg}
}

func invalidClient(msg string) error {
	return &latch.Error{Kind: latch.KindUnauthenticated, Code: account.TokenInvalidClient, Message: msg}
}

func scopeError(msg string) error {
	return &latch.Error{Kind: latch.KindInvalid, Code: account.TokenInvalidScope, Message: msg}
}
