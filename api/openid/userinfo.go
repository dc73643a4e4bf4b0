package openid

import (
	"net/http"
	"strings"

	"github.com/latchid/latch"
	"github.com/latchid/latch/api/httpx"
)

// userInfoResponse is Core §5.3.2's answer: sub always, the rest only
// when the token's scopes allow it and the value is not empty.
type userInfoResponse struct {
	Subject       string `json:"sub"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
	GivenName     string `json:"given_name,omitempty"`
	FamilyName    string `json:"family_name,omitempty"`
	// UpdatedAt is seconds since the epoch (Core §5.1).
	UpdatedAt *int64 `json:"updated_at,omitempty"`
}

// userinfo is GET and POST /oauth2/userinfo (Core §5.3): the claims of the
// user an app's access token was issued for.
func (s *Surface) userinfo(w http.ResponseWriter, r *http.Request) error {
	tok, err := bearerToken(w, r)
	if err != nil {
		return err
	}
	info, err := s.accounts.AppUserInfo(r.Context(), tok)
	if err != nil {
		return err
	}
	out := userInfoResponse{Subject: info.Subject, Email: info.Email, EmailVerified: info.EmailVerified,
		Name: info.Name, GivenName: info.GivenName, FamilyName: info.FamilyName}
	if info.UpdatedAt != nil && !info.UpdatedAt.IsZero() {
		t := info.UpdatedAt.Unix()
		out.UpdatedAt = &t
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, "application/json", out)
	return nil
}

// bearerToken finds the access token of a userinfo request (RFC 6750 §2):
// in the Authorization header (§2.1), or, for a POST with a form body, in
// its access_token parameter (§2.2). Never in the query string (§2.3,
// which the RFC discourages: URLs end up in logs and histories): a
// request that puts it there is refused, not served.
//
// A request with no token at all is codeNoToken (401 without an error
// code); an Authorization header of another scheme counts as no token
// (§3.1: an unsupported authentication method). The token in two places,
// twice in the form, several Authorization headers, or a Bearer header
// with no token, are invalid_request.
func bearerToken(w http.ResponseWriter, r *http.Request) (string, error) {
	malformed := func(msg string) error {
		return &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Message: msg}
	}
	if r.URL.Query().Has("access_token") {
		return "", malformed("send the access token in the Authorization header, not in the query string")
	}
	var header, body string
	var headerGiven, bodyGiven bool
	switch values := r.Header.Values("Authorization"); len(values) {
	case 0:
	case 1:
		scheme, rest, _ := strings.Cut(strings.TrimSpace(values[0]), " ")
		if strings.EqualFold(scheme, "Bearer") {
			header, headerGiven = strings.TrimSpace(rest), true
			if header == "" || strings.ContainsAny(header, " \t") {
				return "", malformed("the Authorization header must be Bearer followed by one token")
			}
		}
	default:
		return "", malformed("more than one Authorization header")
	}
	if r.Method == http.MethodPost && isForm(r) {
		raw, err := httpx.ReadBody(w, r)
		if err != nil {
			return "", err
		}
		f, err := parseForm(string(raw))
		if err != nil {
			return "", err
		}
		_, bodyGiven = f["access_token"]
		body = f.get("access_token")
	}
	switch {
	case headerGiven && bodyGiven:
		return "", malformed("send the access token once: in the Authorization header or in the body, not both")
	case headerGiven:
		return header, nil
	case body != "":
		return body, nil
	}
	return "", &latch.Error{Kind: latch.KindUnauthenticated, Code: codeNoToken, Message: "no access token"}
}
