package openid

import (
	"net/http"
	"strings"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// The grant types of the token endpoint (discovery's
// grant_types_supported).
const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantClientCredentials = "client_credentials"
)

// tokenResponse is RFC 6749 §5.1's answer, with OpenID Connect Core
// §3.1.3.3's id_token.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// token is POST /oauth2/token (RFC 6749 §3.2): the authorization_code
// (§4.1.3, RFC 7636 §4.5), refresh_token (§6) and client_credentials
// (§4.4) grants.
//
// The request is checked in this order: the body (readForm), how the
// client authenticated (clientAuth: its syntax only), grant_type and the
// grant's required parameters, then the client's credentials
// (AuthenticateAppClient, which counts failures), then the grant. So a
// malformed request is refused without a store read, and a request that
// is well formed but fails authentication is invalid_client whatever the
// grant.
func (s *Surface) token(w http.ResponseWriter, r *http.Request) error {
	f, err := readForm(w, r)
	if err != nil {
		return err
	}
	auth, err := clientAuth(r, f)
	if err != nil {
		return err
	}
	grant := f.get("grant_type")
	var scopes []string
	switch grant {
	case grantAuthorizationCode:
		if f.get("code") == "" {
			return invalidRequest("code is required")
		}
	case grantRefreshToken:
		if f.get("refresh_token") == "" {
			return invalidRequest("refresh_token is required")
		}
		if scopes, err = scopeList(f.get("scope")); err != nil {
			return err
		}
	case grantClientCredentials:
		if scopes, err = scopeList(f.get("scope")); err != nil {
			return err
		}
	case "":
		return invalidRequest("grant_type is required")
	default:
		return &latch.Error{Kind: latch.KindInvalid, Code: account.TokenUnsupportedGrantType,
			Message: "grant_type must be authorization_code, refresh_token or client_credentials"}
	}

	ctx := httpx.Context(r)
	app, err := s.accounts.AuthenticateAppClient(ctx, auth)
	if err != nil {
		return err
	}
	var tokens account.AppTokens
	switch grant {
	case grantAuthorizationCode:
		tokens, err = s.accounts.ExchangeAppCode(ctx, account.AppCodeExchange{
			App: app, Code: f.get("code"), CodeVerifier: f.get("code_verifier"), RedirectURI: f.get("redirect_uri"),
		})
	case grantRefreshToken:
		tokens, err = s.accounts.RefreshAppGrant(ctx, app, f.get("refresh_token"), scopes)
	case grantClientCredentials:
		tokens, err = s.accounts.AppClientCredentials(ctx, app, scopes)
	}
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	httpx.WriteJSON(w, http.StatusOK, "application/json", tokenResponse{
		AccessToken:  tokens.AccessToken,
		TokenType:    "Bearer",
		ExpiresIn:    seconds(tokens.ExpiresIn),
		RefreshToken: tokens.RefreshToken,
		IDToken:      tokens.IDToken,
		Scope:        strings.Join(tokens.Scopes, " "),
	})
	return nil
}

// seconds is expires_in: whole seconds, rounded down (a client that
// refreshes at expiry is then never late), and never negative.
func seconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(d / time.Second)
}
