package native

import (
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// tokenRequest is the union of the grants' parameters (RFC 6749 §4.3, §6).
// Password-grant clients send "username"; "email" is accepted as a synonym.
type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	Code         string `json:"code"`
	CodeVerifier string `json:"code_verifier"`
	RedirectURI  string `json:"redirect_uri"`
	Username     string `json:"username"`
	Email        string `json:"email"`
	Password     string `json:"password"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// token is POST /v1/token. It takes RFC 6749's form-encoded body and, for
// clients that prefer it, the same parameters as a JSON object.
func (s *Surface) token(w http.ResponseWriter, r *http.Request) error {
	req, err := decodeTokenRequest(w, r)
	if err != nil {
		return err
	}
	var pair account.TokenPair
	switch req.GrantType {
	case "password":
		user := req.Username
		if user == "" {
			user = req.Email
		}
		pair, err = s.accounts.Login(r.Context(), account.LoginInput{Email: user, Password: req.Password, ClientIP: httpx.ClientIP(r)})
	case "authorization_code":
		if req.Code == "" || req.CodeVerifier == "" {
			return oauthError(latch.KindInvalid, latch.CodeInvalidRequest, "code and code_verifier are required")
		}
		pair, err = s.accounts.RedeemAuthorizationCode(r.Context(), req.Code, req.CodeVerifier, req.RedirectURI)
	case "refresh_token":
		if req.RefreshToken == "" {
			return oauthError(latch.KindInvalid, latch.CodeInvalidRequest, "refresh_token is required")
		}
		pair, err = s.accounts.Refresh(r.Context(), req.RefreshToken)
	case "":
		return oauthError(latch.KindInvalid, latch.CodeInvalidRequest, "grant_type is required")
	default:
		return oauthError(latch.KindInvalid, latch.CodeUnsupportedGrantType, "grant_type must be password, refresh_token or authorization_code")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, http.StatusOK, "application/json", tokenResponse{
		AccessToken: pair.AccessToken, TokenType: "Bearer", ExpiresIn: int64(pair.ExpiresIn.Seconds()),
		RefreshToken: pair.RefreshToken, Scope: strings.Join(pair.Scopes, " "),
	})
	return nil
}

func oauthError(kind latch.Kind, code, msg string) error {
	return &latch.Error{Kind: kind, Code: code, Message: msg}
}

// decodeTokenRequest reads a form or JSON body. Form parameters may not be
// repeated (RFC 6749 §3.2).
func decodeTokenRequest(w http.ResponseWriter, r *http.Request) (tokenRequest, error) {
	var req tokenRequest
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch {
	case mt == "application/x-www-form-urlencoded":
		body, err := httpx.ReadBody(w, r)
		if err != nil {
			return req, err
		}
		return parseTokenForm(string(body))
	case httpx.IsJSONContentType(r):
		err := httpx.DecodeJSON(w, r, &req)
		return req, err
	}
	return req, oauthError(latch.KindInvalid, latch.CodeUnsupportedContentType, "send application/x-www-form-urlencoded or application/json")
}

func parseTokenForm(body string) (tokenRequest, error) {
	var req tokenRequest
	values, err := url.ParseQuery(body)
	if err != nil {
		return req, oauthError(latch.KindInvalid, latch.CodeInvalidRequest, "the form body is malformed")
	}
	for name, v := range values {
		if len(v) > 1 {
			return req, oauthError(latch.KindInvalid, latch.CodeInvalidRequest, "parameter "+name+" is repeated")
		}
	}
	req.GrantType = values.Get("grant_type")
	req.Username = values.Get("username")
	req.Email = values.Get("email")
	req.Password = values.Get("password")
	req.RefreshToken = values.Get("refresh_token")
	req.Code = values.Get("code")
	req.CodeVerifier = values.Get("code_verifier")
	req.RedirectURI = values.Get("redirect_uri")
	req.Scope = values.Get("scope")
	return req, nil
}
