package openid

import (
	"encoding/base64"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// form is a request's application/x-www-form-urlencoded body (RFC 6749
// §3.2, RFC 7009 §2.1, RFC 7662 §2.1), each parameter at most once.
type form url.Values

// get is a parameter's value; "" when it is absent or empty, which RFC
// 6749 §3.1 says are the same.
func (f form) get(name string) string { return url.Values(f).Get(name) }

// readForm reads the body of a POST to the token, revocation or
// introspection endpoint. Parameters travel in the body only: the query
// string is not read (a secret or a token there would end up in logs).
//
// Another content type, a body that is not UTF-8 or not a form, and a
// parameter given twice are invalid_request; a body over
// httpx.MaxBodyBytes is invalid_request with 413.
func readForm(w http.ResponseWriter, r *http.Request) (form, error) {
	if !isForm(r) {
		return nil, invalidRequest("the request body must be application/x-www-form-urlencoded")
	}
	body, err := httpx.ReadBody(w, r)
	if err != nil {
		return nil, err
	}
	return parseForm(string(body))
}

func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

func parseForm(body string) (form, error) {
	values, err := url.ParseQuery(body)
	if err != nil {
		return nil, invalidRequest("the form body is malformed")
	}
	for name, v := range values {
		if len(v) > 1 {
			return nil, invalidRequest(paramName(name) + " is given more than once")
		}
	}
	return form(values), nil
}

// paramName names a parameter in an error description: the endpoints'
// own by name; any other is the client's text, which is not echoed (a
// mangled body can put a secret where a name goes).
func paramName(name string) string {
	switch name {
	case "grant_type", "code", "code_verifier", "redirect_uri", "refresh_token", "scope", "client_id", "client_secret",
		"token", "token_type_hint", "access_token":
		return "parameter " + name
	}
	return "a parameter"
}

// clientAuth reads how the client authenticated (RFC 6749 §2.3.1):
//
//   - client_secret_basic: Authorization: Basic with the client id and
//     secret each form-urlencoded (§2.3.1: "%3A" is a colon of the
//     secret, "+" a space) before base64; a client_id in the body too
//     must be the same one;
//   - client_secret_post: client_id and client_secret in the body;
//   - none (a public app): client_id in the body only.
//
// Using both Basic and client_secret, naming two different clients, a
// secret without a client id, or several Authorization headers is
// invalid_request. No client id at all, an Authorization header of
// another scheme (an unsupported method), and Basic credentials that do
// not decode are invalid_client (401): authentication was tried and
// failed. Whether the secret is right, or whether this app may use none,
// is AuthenticateAppClient's to say.
func clientAuth(r *http.Request, f form) (account.AppClientAuth, error) {
	auth := account.AppClientAuth{ClientIP: httpx.ClientIP(r)}
	postID, postSecret := f.get("client_id"), f.get("client_secret")
	headers := r.Header.Values("Authorization")
	switch len(headers) {
	case 0:
		if postID == "" {
			if postSecret != "" {
				return auth, invalidRequest("client_secret is given without client_id")
			}
			return auth, invalidClient("client authentication is required: client_secret_basic, client_secret_post or client_id alone for a public app")
		}
		auth.ClientID, auth.Secret, auth.SecretGiven = postID, postSecret, postSecret != ""
		return auth, nil
	case 1:
	default:
		return auth, invalidRequest("more than one Authorization header")
	}
	scheme, encoded, _ := strings.Cut(strings.TrimSpace(headers[0]), " ")
	if !strings.EqualFold(scheme, "Basic") {
		return auth, invalidClient("the Authorization header's scheme is not Basic")
	}
	id, secret, err := decodeBasic(strings.TrimSpace(encoded))
	if err != nil {
		return auth, err
	}
	if postSecret != "" {
		return auth, invalidRequest("use one client authentication method: the Authorization header or client_secret in the body, not both")
	}
	if postID != "" && postID != id {
		return auth, invalidRequest("client_id in the body is not the client of the Authorization header")
	}
	auth.ClientID, auth.Secret, auth.SecretGiven = id, secret, true
	return auth, nil
}

// decodeBasic decodes client_secret_basic's credentials: base64 of
// form-urlencoded id ":" form-urlencoded secret. The id's own colons are
// encoded, so the first colon is the separator.
func decodeBasic(encoded string) (id, secret string, err error) {
	raw, decodeErr := base64.StdEncoding.DecodeString(encoded)
	if decodeErr != nil {
		return "", "", invalidClient("the Basic credentials are not base64")
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", invalidClient("the Basic credentials have no colon between client id and secret")
	}
	id, idErr := url.QueryUnescape(rawID)
	secret, secretErr := url.QueryUnescape(rawSecret)
	if idErr != nil || secretErr != nil {
		return "", "", invalidClient("the Basic credentials are not form-urlencoded (RFC 6749 section 2.3.1)")
	}
	if id == "" {
		return "", "", invalidClient("the Basic credentials name no client")
	}
	return id, secret, nil
}

// scopeList reads a scope parameter (RFC 6749 §3.3): scope tokens of
// printable ASCII other than '"' and '\', separated by spaces. A
// malformed one is invalid_scope. Empty is nil: none asked.
func scopeList(raw string) ([]string, error) {
	var out []string
	for _, tok := range strings.Split(raw, " ") {
		if tok == "" {
			continue // several spaces: lenient, nothing is lost
		}
		for _, c := range tok {
			if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return nil, scopeError("scope holds a character RFC 6749 section 3.3 does not allow")
			}
		}
		out = append(out, tok)
	}
	return out, nil
}
