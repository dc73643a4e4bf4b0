package openid

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// revoke is POST /oauth2/revoke (RFC 7009): an app revokes one of its own
// tokens. Clients authenticate as at the token endpoint; a public app
// sends its client_id alone (§2.1 lets it revoke its own tokens).
//
// Every token is answered 200 with an empty body once the use case has
// returned, that is once the revocation is stored: an unknown, expired or
// invalid token, and another app's (left alone), too (§2.2). Any
// token_type_hint is accepted and only orders the lookup: §2.2.1 lets the
// server search every type, so Latch never answers
// unsupported_token_type for a hint.
func (s *Surface) revoke(w http.ResponseWriter, r *http.Request) error {
	f, err := readForm(w, r)
	if err != nil {
		return err
	}
	auth, err := clientAuth(r, f)
	if err != nil {
		return err
	}
	if f.get("token") == "" {
		return invalidRequest("token is required")
	}
	ctx := httpx.Context(r)
	app, err := s.accounts.AuthenticateAppClient(ctx, auth)
	if err != nil {
		return err
	}
	if err := s.accounts.RevokeAppToken(ctx, app, f.get("token"), f.get("token_type_hint")); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}

// introspectionResponse is RFC 7662 §2.2's answer. Inactive, it is
// {"active":false} and nothing else (§2.2: nothing more may be said of a
// token that is not active).
type introspectionResponse struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Username  string   `json:"username,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	ExpiresAt int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  audience `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	JWTID     string   `json:"jti,omitempty"`
	// SessionID is the grant the token belongs to (as the access
	// token's sid claim).
	SessionID string `json:"sid,omitempty"`
}

// audience is aud as JWT writes it (RFC 7519 §4.1.3, which RFC 7662 §2.2
// refers to): one audience as a string, several as an array.
type audience []string

func (a audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return jsonString(a[0]), nil
	}
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = string(jsonString(v))
	}
	return []byte("[" + strings.Join(parts, ",") + "]"), nil
}

// introspect is POST /oauth2/introspect (RFC 7662) for confidential apps.
//
// §2.1 requires the endpoint be protected, and discovery lists only the
// secret methods for it: a request without a client secret (a public
// app's client_id alone, or nothing) is 401 invalid_client, as §2.3 says
// of credentials that do not authenticate, before any lookup. A use case
// that still refuses the app (unauthorized_client) is answered the same
// way. A token that is not active, another app's included, is
// {"active":false} with 200.
func (s *Surface) introspect(w http.ResponseWriter, r *http.Request) error {
	f, err := readForm(w, r)
	if err != nil {
		return err
	}
	auth, err := clientAuth(r, f)
	if err != nil {
		return err
	}
	if !auth.SecretGiven {
		return invalidClient("introspection requires client authentication with a secret")
	}
	if f.get("token") == "" {
		return invalidRequest("token is required")
	}
	ctx := httpx.Context(r)
	app, err := s.accounts.AuthenticateAppClient(ctx, auth)
	if err != nil {
		return err
	}
	in, err := s.accounts.IntrospectAppToken(ctx, app, f.get("token"), f.get("token_type_hint"))
	if err != nil {
		if le := latch.AsError(err); le.Code == account.TokenUnauthorizedClient && !serverState(le) {
			return invalidClient("introspection is for confidential apps")
		}
		return err
	}
	out := introspectionResponse{Active: in.Active}
	if in.Active {
		out = introspectionResponse{
			Active: true, Scope: strings.Join(in.Scopes, " "), ClientID: in.ClientID, Username: in.Username,
			TokenType: in.TokenType, ExpiresAt: unix(in.ExpiresAt), IssuedAt: unix(in.IssuedAt), NotBefore: unix(in.NotBefore),
			Subject: in.Subject, Audience: audience(in.Audience), Issuer: in.Issuer, JWTID: in.JWTID, SessionID: in.GrantID,
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, "application/json", out)
	return nil
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return b
}

// unix is a NumericDate (seconds since the epoch); 0, left out, for the
// zero time.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
