// Package devopness serves seed 000 (Devopness's "Set Password for OAuth
// Users" and user login) exactly as documented, in Laravel's JSON shapes.
package devopness

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// Surface is the seed-000 HTTP surface.
type Surface struct {
	accounts  Accounts
	adapt     httpx.Adapter
	crossSite *httpx.CrossSiteGuard
}

// Accounts is what seed 000 asks of the use cases (account.Service).
type Accounts interface {
	Authenticate(ctx context.Context, accessToken string) (account.Principal, error)
	SetOwnPassword(ctx context.Context, p account.Principal, in account.SetOwnPasswordInput) error
	Login(ctx context.Context, in account.LoginInput) (account.TokenPair, error)
	TrustedOrigins() []string
}

// New returns the surface.
func New(accounts Accounts, log *slog.Logger) *Surface {
	return &Surface{accounts: accounts, adapt: httpx.Adapter{Log: log, Write: writeError}, crossSite: httpx.NewCrossSiteGuard(accounts.TrustedOrigins())}
}

// Register adds the surface's routes to mux.
func (s *Surface) Register(mux httpx.Mux) {
	mux.Handle("POST /users/me/password", s.adapt.Handle(s.setPassword))
	mux.Handle("POST /users/login", s.adapt.Handle(s.login))
}

type setPasswordRequest struct {
	Password             *string `json:"password"`
	PasswordConfirmation *string `json:"password_confirmation"`
	CurrentPassword      *string `json:"current_password"`
}

func (s *Surface) setPassword(w http.ResponseWriter, r *http.Request) error {
	if !httpx.AcceptsJSON(r) {
		return errNotAcceptable()
	}
	raw, err := httpx.BearerToken(r)
	if err != nil {
		return err
	}
	p, err := s.accounts.Authenticate(r.Context(), raw)
	if err != nil {
		return err
	}
	if err := account.AuthorizePasswordChange(p); err != nil {
		return err
	}
	var req setPasswordRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	err = s.accounts.SetOwnPassword(httpx.Context(r), p, account.SetOwnPasswordInput{
		Password: deref(req.Password), Confirmation: req.PasswordConfirmation, CurrentPassword: req.CurrentPassword,
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type loginRequest struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

type loginResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (s *Surface) login(w http.ResponseWriter, r *http.Request) error {
	// Before anything is counted: a page elsewhere must not spend its
	// visitors' sign-in attempts (403, not in the seed: servers never
	// see it).
	if err := s.crossSite.Check(r); err != nil {
		return err
	}
	if !httpx.AcceptsJSON(r) {
		return errNotAcceptable()
	}
	var req loginRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	pair, err := s.accounts.Login(httpx.Context(r), account.LoginInput{Email: deref(req.Email), Password: deref(req.Password), ClientIP: httpx.ClientIP(r)})
	if latch.IsCode(err, latch.CodePasswordChangeRequired) {
		// Not in the seed: an administrator asked for a new password. The
		// token can only be used to POST /users/me/password.
		httpx.WriteJSON(w, http.StatusForbidden, "application/json", struct {
			Message     string `json:"message"`
			ChangeToken string `json:"password_change_token"`
			ExpiresIn   int64  `json:"expires_in"`
		}{"Password change required.", pair.AccessToken, int64(pair.ExpiresIn.Seconds())})
		return nil
	}
	if latch.IsCode(err, latch.CodeMFARequired) || latch.IsCode(err, latch.CodeMFAEnrolmentRequired) {
		// Not in the seed: the account has a second factor (or must enrol
		// one), which this contract has no step for. The seed's 403, and
		// never tokens: the factor step is /v1/token's (the pending
		// session, whose token is not handed out, ends by itself).
		return &latch.Error{Kind: latch.KindForbidden, Code: latch.AsError(err).Code, Message: "Forbidden"}
	}
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", loginResponse{
		TokenType: "Bearer", ExpiresIn: int64(pair.ExpiresIn.Seconds()), AccessToken: pair.AccessToken, RefreshToken: pair.RefreshToken,
	})
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// decode insists on a JSON Content-Type, as the seed documents, then reads
// the body.
func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if !httpx.IsJSONContentType(r) {
		return &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeUnsupportedContentType, Field: "content_type",
			Message: "The request body must be sent as application/json."}
	}
	return httpx.DecodeJSON(w, r, dst)
}
