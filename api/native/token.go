package native

import (
	"encoding/json"
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
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	// The mfa grant: the mfa token and one proof. passkey_credential is
	// the credential's JSON (an object, or in a form a string holding it).
	MFAToken          string          `json:"mfa_token"`
	TOTPCode          string          `json:"totp_code"`
	RecoveryCode      string          `json:"recovery_code"`
	PasskeyCeremony   string          `json:"passkey_ceremony"`
	PasskeyCredential json.RawMessage `json:"passkey_credential"`
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
//
// A browser's cross-site request is refused first: the endpoint takes a
// form, so any page could otherwise post it from its visitors' browsers
// and use up their limits.
func (s *Surface) token(w http.ResponseWriter, r *http.Request) error {
	if err := s.crossSite.Check(r); err != nil {
		return err
	}
	req, err := decodeTokenRequest(w, r)
	if err != nil {
		return err
	}
	var pair account.TokenPair
	ctx := httpx.Context(r)
	switch req.GrantType {
	case "password":
		user := req.Username
		if user == "" {
			user = req.Email
		}
		pair, err = s.accounts.Login(ctx, account.LoginInput{Email: user, Password: req.Password, ClientIP: httpx.ClientIP(r)})
		if latch.IsCode(err, latch.CodePasswordChangeRequired) {
			return writePasswordChangeRequired(w, pair)
		}
		if isMFAStep(err) {
			return s.writeMFARequired(w, r, pair, err)
		}
	case "mfa":
		pair, err = s.mfaGrant(w, r, req)
		if latch.IsCode(err, latch.CodePasswordChangeRequired) {
			return writePasswordChangeRequired(w, pair)
		}
	case "client_credentials":
		return s.clientCredentials(w, r, req)
	case "authorization_code":
		if req.Code == "" || req.CodeVerifier == "" || req.RedirectURI == "" {
			return oauthError(latch.KindInvalid, latch.CodeInvalidRequest, "code, code_verifier and redirect_uri (the redirect_to the code was sent to) are required")
		}
		pair, err = s.accounts.RedeemAuthorizationCode(ctx, req.Code, req.CodeVerifier, req.RedirectURI)
		if latch.IsCode(err, latch.CodePasswordChangeRequired) {
			return writePasswordChangeRequired(w, pair)
		}
		if isMFAStep(err) {
			return s.writeMFARequired(w, r, pair, err)
		}
	case "refresh_token":
		if req.RefreshToken == "" {
			return oauthError(latch.KindInvalid, latch.CodeInvalidRequest, "refresh_token is required")
		}
		pair, err = s.accounts.Refresh(r.Context(), req.RefreshToken)
	case "":
		return oauthError(latch.KindInvalid, latch.CodeInvalidRequest, "grant_type is required")
	default:
		return oauthError(latch.KindInvalid, latch.CodeUnsupportedGrantType, "grant_type must be password, mfa, refresh_token, authorization_code or client_credentials")
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

// writePasswordChangeRequired answers a sign-in whose password an
// administrator asked to be changed: no session, but a token that can only
// set a new password (PUT /v1/me/password).
func writePasswordChangeRequired(w http.ResponseWriter, pair account.TokenPair) error {
	httpx.WriteJSON(w, http.StatusForbidden, "application/json", struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		ChangeToken string `json:"password_change_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}{"password_change_required", "the password must be changed before signing in: PUT /v1/me/password with password_change_token as Bearer",
		pair.AccessToken, int64(pair.ExpiresIn.Seconds())})
	return nil
}

// clientCredentials is RFC 6749 §4.4: an API client authenticates with
// HTTP Basic (or client_id and client_secret in the body, §2.3.1) and gets
// an access token for the administration API.
func (s *Surface) clientCredentials(w http.ResponseWriter, r *http.Request, req tokenRequest) error {
	id, secret, basic := r.BasicAuth()
	if basic && (req.ClientID != "" || req.ClientSecret != "") {
		return oauthError(latch.KindInvalid, latch.CodeInvalidRequest, "use one client authentication method")
	}
	if !basic {
		id, secret = req.ClientID, req.ClientSecret
	}
	if id == "" || secret == "" {
		return &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidClient, Message: "client authentication is required"}
	}
	pair, err := s.accounts.IssueClientToken(httpx.Context(r), id, secret)
	if err != nil {
		return err
	}
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, http.StatusOK, "application/json", tokenResponse{
		AccessToken: pair.AccessToken, TokenType: "Bearer", ExpiresIn: int64(pair.ExpiresIn.Seconds()),
		Scope: account.ScopeClaim(pair.Client.Scope),
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
	req.ClientID = values.Get("client_id")
	req.ClientSecret = values.Get("client_secret")
	req.MFAToken = values.Get("mfa_token")
	req.TOTPCode = values.Get("totp_code")
	req.RecoveryCode = values.Get("recovery_code")
	req.PasskeyCeremony = values.Get("passkey_ceremony")
	if c := values.Get("passkey_credential"); c != "" {
		req.PasskeyCredential, _ = json.Marshal(c)
	}
	return req, nil
}
