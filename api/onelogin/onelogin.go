// Package onelogin serves seed 001 (OneLogin's "Set Password by ID Using
// Cleartext" and the "Generate Token" call it needs) exactly as documented:
// every response is {"status":{"error","code","type","message"}}.
package onelogin

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// Surface is the seed-001 HTTP surface.
type Surface struct {
	accounts Accounts
	adapt    httpx.Adapter
}

// Accounts is what seed 001 asks of the use cases (account.Service).
type Accounts interface {
	AuthenticateClient(ctx context.Context, accessToken string) (account.Admin, error)
	AdminSetPassword(ctx context.Context, a account.Admin, in account.AdminSetPasswordInput) error
	IssueClientToken(ctx context.Context, clientID, secret string) (account.ClientTokenPair, error)
	RefreshClientToken(ctx context.Context, refreshToken string) (account.ClientTokenPair, error)
}

// New returns the surface.
func New(accounts Accounts, log *slog.Logger) *Surface {
	return &Surface{accounts: accounts, adapt: httpx.Adapter{Log: log, Write: writeError}}
}

// Register adds the surface's routes to mux.
func (s *Surface) Register(mux httpx.Mux) {
	mux.Handle("POST /auth/oauth2/v2/token", s.adapt.Handle(s.token))
	// {id...} also matches an empty or multi-segment id, which is then
	// answered as the seed's "ID is incorrect" rather than a bare 404.
	mux.Handle("PUT /api/1/users/set_password_clear_text/{id...}", s.adapt.Handle(s.setPassword))
}

// The seed's exact messages.
const (
	msgSuccess         = "Success"
	msgAuthorization   = "Authorization Information is incorrect"
	msgContentType     = "Content Type is not specified or specified incorrectly. Content-Type header must be set to application/json"
	msgMismatch        = "password and password_confirmation must be same"
	msgMissing         = "setting password requires these parameters => password password_confirmation "
	msgPolicy          = "Validation failed: Your password could not be reset because your new password did not meet directory password policy requirements (length, complexity, or history)."
	msgInvalidJSON     = "Input JSON is not valid"
	msgInsufficient    = "Insufficient Permission"
	msgAuthFailure     = "Authentication Failure"
	msgForbidden       = "user is not authorized to access this User"
	msgGrantType       = "grant_type is incorrect/absent"
	typeBadRequest     = "bad request"
	typeInvalidRequest = "Invalid Request"
	typeUnauthorized   = "Unauthorized"
	typeForbidden      = "forbidden"
	typeNotFound       = "not found"
	codeBadID          = "onelogin_bad_id"
	codeBadAuthHeader  = "onelogin_bad_authorization"
)

// status is the seed's envelope.
type status struct {
	Error   bool   `json:"error"`
	Code    int    `json:"code"`
	Type    string `json:"type"`
	Message any    `json:"message"`
}

type envelope struct {
	Status status `json:"status"`
}

type attributeMessage struct {
	Attribute   string `json:"attribute"`
	Description string `json:"description"`
}

func write(w http.ResponseWriter, code int, typ string, message any) {
	httpx.WriteJSON(w, code, "application/json", envelope{Status: status{Error: code >= 400, Code: code, Type: typ, Message: message}})
}

// writeError maps a use-case error to the seed's envelope and texts.
func writeError(w http.ResponseWriter, r *http.Request, e *latch.Error) {
	switch e.Kind {
	case latch.KindInvalid:
		switch {
		case e.Code == codeBadID:
			write(w, http.StatusBadRequest, typeBadRequest, attributeMessage{Attribute: "id", Description: "ID is incorrect"})
		case e.Code == codeBadAuthHeader:
			write(w, http.StatusBadRequest, typeBadRequest, msgAuthorization)
		case e.Code == latch.CodeUnsupportedContentType:
			write(w, http.StatusBadRequest, typeBadRequest, msgContentType)
		case e.Code == latch.CodeUnsupportedGrantType:
			write(w, http.StatusBadRequest, typeBadRequest, msgGrantType)
		case e.Code == httpx.CodeBodyTooLarge:
			write(w, http.StatusRequestEntityTooLarge, "payload too large", "Request body is larger than 1 MiB")
		case e.Code == latch.CodePasswordMismatch:
			write(w, http.StatusBadRequest, typeBadRequest, msgMismatch)
		case e.Code == latch.CodeRequired:
			write(w, http.StatusBadRequest, typeBadRequest, msgMissing)
		case strings.HasPrefix(e.Code, "policy_"):
			write(w, http.StatusBadRequest, typeInvalidRequest, msgPolicy)
		default:
			// Undecodable bodies and wrong field types.
			write(w, http.StatusBadRequest, typeBadRequest, msgInvalidJSON)
		}
	case latch.KindUnauthenticated:
		write(w, http.StatusUnauthorized, typeUnauthorized, msgAuthFailure)
	case latch.KindForbidden:
		switch e.Code {
		case latch.CodeInsufficientScope:
			write(w, http.StatusUnauthorized, typeUnauthorized, msgInsufficient)
		case latch.CodeNotClientToken:
			write(w, http.StatusUnauthorized, typeUnauthorized, msgAuthFailure)
		default:
			write(w, http.StatusForbidden, typeForbidden, msgForbidden)
		}
	case latch.KindNotFound:
		write(w, http.StatusNotFound, typeNotFound, "User for id "+r.PathValue("id")+" was not found")
	case latch.KindConflict:
		// Not in the seed: another request changed the user at the same
		// moment. The seed's envelope, with the status's own words as
		// type, like its other errors; trying again is safe.
		write(w, http.StatusConflict, "conflict", "The user was changed by another request at the same time; try again")
	case latch.KindTooMany:
		write(w, http.StatusTooManyRequests, "too many requests", "Too many requests; try again later")
	case latch.KindUnavailable:
		// The seed lists no 503; its envelope, with the status's own
		// words as type, like its other errors.
		msg := "The service is busy; try again later"
		if e.Code == latch.CodeDatabaseUnavailable {
			msg = "The service is temporarily unavailable; try again later"
		}
		write(w, http.StatusServiceUnavailable, "service unavailable", msg)
	default:
		write(w, http.StatusInternalServerError, "internal server error", "Internal Server Error")
	}
}

func invalid(code string) error { return &latch.Error{Kind: latch.KindInvalid, Code: code} }

// accessToken reads "Authorization: bearer:<token>", the seed's form, or
// the standard "Bearer <token>".
func accessToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", invalid(codeBadAuthHeader)
	}
	v := strings.TrimSpace(values[0])
	var tok string
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer:") {
		tok = strings.TrimSpace(v[7:])
	} else if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		tok = strings.TrimSpace(v[7:])
	}
	if tok == "" || strings.ContainsAny(tok, " \t,") {
		return "", invalid(codeBadAuthHeader)
	}
	return tok, nil
}

type setPasswordRequest struct {
	Password             *string `json:"password"`
	PasswordConfirmation *string `json:"password_confirmation"`
	ValidatePolicy       *bool   `json:"validate_policy"`
}

// setPassword is PUT /api/1/users/set_password_clear_text/:id.
func (s *Surface) setPassword(w http.ResponseWriter, r *http.Request) error {
	raw, err := accessToken(r)
	if err != nil {
		return err
	}
	ctx := httpx.Context(r)
	admin, err := s.accounts.AuthenticateClient(ctx, raw)
	if err != nil {
		return err
	}
	if err := admin.Authorize(account.OpSetPassword); err != nil {
		return err
	}
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		return err
	}
	if !httpx.IsJSONContentType(r) {
		return invalid(latch.CodeUnsupportedContentType)
	}
	var req setPasswordRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	err = s.accounts.AdminSetPassword(ctx, admin, account.AdminSetPasswordInput{
		User: account.UserRef{Number: id}, Password: req.Password, Confirmation: req.PasswordConfirmation,
		ValidatePolicy: req.ValidatePolicy != nil && *req.ValidatePolicy,
	})
	if err != nil {
		return err
	}
	write(w, http.StatusOK, "success", msgSuccess)
	return nil
}

// parseID accepts a positive decimal integer that fits in int64.
func parseID(s string) (int64, error) {
	if s == "" || len(s) > 19 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, invalid(codeBadID)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, invalid(codeBadID)
	}
	return n, nil
}

type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	CreatedAt    string `json:"created_at"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	AccountID    int64  `json:"account_id"`
}

// token is POST /auth/oauth2/v2/token: the client-credentials grant with
// the seed's "client_id:<id>, client_secret:<secret>" header (HTTP Basic is
// accepted too), and the refresh grant, which needs no client header.
func (s *Surface) token(w http.ResponseWriter, r *http.Request) error {
	if !httpx.IsJSONContentType(r) {
		return invalid(latch.CodeUnsupportedContentType)
	}
	var req tokenRequest
	if err := httpx.DecodeJSON(w, r, &req); err != nil {
		return err
	}
	ctx := httpx.Context(r)
	var pair account.ClientTokenPair
	var err error
	switch req.GrantType {
	case "client_credentials":
		id, secret, ok := clientCredentials(r)
		if !ok {
			return invalid(codeBadAuthHeader)
		}
		pair, err = s.accounts.IssueClientToken(ctx, id, secret)
	case "refresh_token":
		pair, err = s.accounts.RefreshClientToken(ctx, req.RefreshToken)
	default:
		return invalid(latch.CodeUnsupportedGrantType)
	}
	if err != nil {
		return err
	}
	w.Header().Set("Pragma", "no-cache")
	httpx.WriteJSON(w, http.StatusOK, "application/json", tokenResponse{
		AccessToken: pair.AccessToken, CreatedAt: pair.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"),
		ExpiresIn: int64(pair.ExpiresIn / time.Second), RefreshToken: pair.RefreshToken, TokenType: "bearer",
		AccountID: pair.Tenant.Number,
	})
	return nil
}

// clientCredentials reads "client_id:<id>, client_secret:<secret>" or
// "Basic base64(id:secret)".
func clientCredentials(r *http.Request) (id, secret string, ok bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", "", false
	}
	v := strings.TrimSpace(values[0])
	if len(v) > 6 && strings.EqualFold(v[:6], "basic ") {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v[6:]))
		if err != nil {
			return "", "", false
		}
		id, secret, ok = strings.Cut(string(raw), ":")
		return id, secret, ok && id != "" && secret != ""
	}
	for _, part := range strings.Split(v, ",") {
		name, value, found := strings.Cut(strings.TrimSpace(part), ":")
		if !found {
			return "", "", false
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "client_id":
			id = strings.TrimSpace(value)
		case "client_secret":
			secret = strings.TrimSpace(value)
		default:
			return "", "", false
		}
	}
	return id, secret, id != "" && secret != ""
}
