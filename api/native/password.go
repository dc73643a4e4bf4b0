package native

import (
	"net/http"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

type linkPasswordRequest struct {
	Token                string  `json:"token"`
	Password             string  `json:"password"`
	PasswordConfirmation *string `json:"password_confirmation"`
}

// setPasswordWithLink is POST /v1/password/set: the API twin of the
// /set-password page, one use case for both.
func (s *Surface) setPasswordWithLink(w http.ResponseWriter, r *http.Request) error {
	var req linkPasswordRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	err := s.accounts.SetPasswordWithLink(httpx.Context(r), account.SetPasswordWithLinkInput{
		Token: req.Token, Password: req.Password, Confirmation: req.PasswordConfirmation,
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// recover is POST /v1/recover: always 202 for a well-formed email, at the
// same speed whether or not it has an account.
func (s *Surface) recover(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Email string `json:"email"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if err := s.accounts.RequestRecovery(httpx.Context(r), req.Email); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
