// Package royalti serves seed 003 (Royalti's sign-up by email and "Set
// Password" with the verification token), in its success/error shapes.
package royalti

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// Surface is the seed-003 HTTP surface.
type Surface struct {
	accounts Accounts
	adapt    httpx.Adapter
}

// Accounts is what seed 003 asks of the use cases (account.Service).
type Accounts interface {
	SignUp(ctx context.Context, in account.SignUpInput) error
	SetFirstPassword(ctx context.Context, verifyToken, password string) (account.SetFirstPasswordResult, error)
	Identities(ctx context.Context, userID string) ([]latch.Identity, error)
}

// New returns the surface.
func New(accounts Accounts, log *slog.Logger) *Surface {
	return &Surface{accounts: accounts, adapt: httpx.Adapter{Log: log, Write: writeError}}
}

// Register adds the surface's routes to mux.
func (s *Surface) Register(mux httpx.Mux) {
	mux.Handle("POST /auth/signup", s.adapt.Handle(s.signUp))
	mux.Handle("POST /auth/setpassword", s.adapt.Handle(s.setPassword))
}

type signUpRequest struct {
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

type success struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	Data    any    `json:"data"`
}

// signUp answers the same for a new email and for one that has an
// account (which is sent a notice instead of a verification link).
func (s *Surface) signUp(w http.ResponseWriter, r *http.Request) error {
	var req signUpRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := s.accounts.SignUp(httpx.Context(r), account.SignUpInput{Email: req.Email, FirstName: req.FirstName, LastName: req.LastName}); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, "application/json", success{
		Success: true, Message: "Verification email sent. Check your inbox to verify your email and set your password.",
		Data: map[string]string{"email": req.Email},
	})
	return nil
}

type setPasswordRequest struct {
	Password *string `json:"password"`
}

// User is the seed's User object.
type User struct {
	ID              string    `json:"id"`
	Email           string    `json:"email"`
	FirstName       string    `json:"firstName"`
	LastName        string    `json:"lastName"`
	IsVerified      bool      `json:"isVerified"`
	IsEmailVerified bool      `json:"isEmailVerified"`
	HasPassword     bool      `json:"hasPassword"`
	IsActive        bool      `json:"isActive"`
	IsAdmin         bool      `json:"isAdmin"`
	GoogleID        *string   `json:"googleId"`
	LinkedinID      *string   `json:"linkedinId"`
	FacebookID      *string   `json:"facebookId"`
	Provider        string    `json:"provider"`
	ProviderID      *string   `json:"providerId"`
	ProfilePicture  *string   `json:"profilePicture"`
	CreatedAt       time.Time `json:"createdAt"`
	UpdatedAt       time.Time `json:"updatedAt"`
}

func userOf(u latch.User, ids []latch.Identity, hasPassword bool) User {
	out := User{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, IsVerified: u.Verified, IsEmailVerified: u.Verified,
		HasPassword: hasPassword, IsActive: u.Active, IsAdmin: u.Admin, Provider: "email", CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
	if u.ProfilePicture != "" {
		out.ProfilePicture = &u.ProfilePicture
	}
	for i := range ids {
		subject := &ids[i].Subject
		switch ids[i].Provider {
		case latch.ProviderGoogle:
			out.GoogleID = subject
		case latch.ProviderLinkedIn:
			out.LinkedinID = subject
		case latch.ProviderFacebook:
			out.FacebookID = subject
		}
	}
	// The primary provider is the first linked one, for an account that
	// was made by a provider sign-in; "email" otherwise.
	if len(ids) > 0 && !hasPassword {
		switch ids[0].Provider {
		case latch.ProviderGoogle, latch.ProviderLinkedIn, latch.ProviderFacebook:
			out.Provider, out.ProviderID = string(ids[0].Provider), &ids[0].Subject
		}
	}
	return out
}

// setPassword is POST /auth/setpassword with the verification token.
func (s *Surface) setPassword(w http.ResponseWriter, r *http.Request) error {
	raw, err := httpx.BearerToken(r)
	if err != nil {
		return &latch.Error{Kind: latch.KindUnauthenticated, Code: httpx.CodeMissingToken, Message: "No token provided"}
	}
	var req setPasswordRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Password == nil || *req.Password == "" {
		return latch.FieldError("password", latch.CodeRequired, "The password field is required.")
	}
	ctx := httpx.Context(r)
	res, err := s.accounts.SetFirstPassword(ctx, raw, *req.Password)
	if err != nil {
		return err
	}
	ids, err := s.accounts.Identities(ctx, res.User.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", success{
		Success: true, Message: "Password set successfully",
		Data: struct {
			Token        string `json:"token"`
			RefreshToken string `json:"refreshToken"`
			User         User   `json:"user"`
		}{res.Pair.AccessToken, res.Pair.RefreshToken, userOf(res.User, ids, true)},
	})
	return nil
}

func decode(w http.ResponseWriter, r *http.Request, dst any) error {
	if !httpx.IsJSONContentType(r) {
		return &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeUnsupportedContentType, Message: "Content-Type must be application/json"}
	}
	return httpx.DecodeJSON(w, r, dst)
}

type errorBody struct {
	Success bool        `json:"success"`
	Error   errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details,omitempty"`
}

func writeError(w http.ResponseWriter, _ *http.Request, e *latch.Error) {
	status, d := http.StatusInternalServerError, errorDetail{Code: "INTERNAL_ERROR", Message: "Internal server error"}
	switch e.Kind {
	case latch.KindInvalid:
		status = http.StatusBadRequest
		switch e.Code {
		case httpx.CodeBodyTooLarge:
			status, d = http.StatusRequestEntityTooLarge, errorDetail{Code: "PAYLOAD_TOO_LARGE", Message: e.Message}
		case httpx.CodeInvalidJSON, httpx.CodeEmptyBody, httpx.CodeInvalidUTF8, httpx.CodeWrongType, latch.CodeUnsupportedContentType:
			d = errorDetail{Code: "INVALID_REQUEST", Message: e.Message}
		default:
			d = errorDetail{Code: "VALIDATION_ERROR", Message: "Validation failed"}
			if e.Field == "password" || hasPasswordDetail(e) {
				d.Message = "Password validation failed"
			}
			for _, f := range e.Details {
				d.Details = append(d.Details, RuleText(f))
			}
			if len(d.Details) == 0 {
				d.Details = []string{RuleText(*e)}
			}
		}
	case latch.KindUnauthenticated:
		// An invalid or expired verification token is the seed's 400; no
		// token at all is its 401.
		status, d = http.StatusBadRequest, errorDetail{Code: "INVALID_TOKEN", Message: "Invalid or expired token"}
		if e.Code == httpx.CodeMissingToken {
			status, d = http.StatusUnauthorized, errorDetail{Code: "UNAUTHORIZED", Message: "No token provided"}
		}
	case latch.KindForbidden:
		// Not in the seed (no use case of its returns it today): the
		// standard status in the seed's shape, not a 500.
		status, d = http.StatusForbidden, errorDetail{Code: "FORBIDDEN", Message: "This account may not do this"}
	case latch.KindConflict:
		status, d = http.StatusBadRequest, errorDetail{Code: "PASSWORD_ALREADY_SET", Message: "User already has a password set"}
	case latch.KindNotFound:
		status, d = http.StatusNotFound, errorDetail{Code: "USER_NOT_FOUND", Message: "User not found"}
	case latch.KindTooMany:
		status, d = http.StatusTooManyRequests, errorDetail{Code: "TOO_MANY_REQUESTS", Message: "Too many requests; try again later"}
	case latch.KindUnavailable:
		status, d = http.StatusServiceUnavailable, errorDetail{Code: "SERVICE_UNAVAILABLE", Message: "The service is busy or email is not configured; try again later"}
		if e.Code == latch.CodeDatabaseUnavailable {
			d.Message = "The service is temporarily unavailable; try again later"
		}
	}
	httpx.WriteJSON(w, status, "application/json", errorBody{Error: d})
}

// RuleText is seed 003's wording of a failed password rule
// (shared/seeds/README.md, 003: "minimum 8 characters, at least one number
// and one special character"); the rules the seed does not word (the
// tenant's policy) read as the service's own text.
func RuleText(e latch.Error) string {
	if e.Field != "password" {
		return e.Message
	}
	switch e.Code {
	case latch.CodeRequired:
		return "Password is required"
	case latch.CodePolicyLength:
		if n := e.Params["min"]; n != "" {
			return "Password must be at least " + n + " characters long"
		}
	case latch.CodePolicyDigit:
		return "Password must contain at least one number"
	case latch.CodePolicySpecial:
		if e.Params["specials"] == "" {
			// The seed's rule: any symbol (password.IsSpecial).
			return "Password must contain at least one special character"
		}
	}
	return e.Message
}

func hasPasswordDetail(e *latch.Error) bool {
	for _, d := range e.Details {
		if d.Field == "password" {
			return true
		}
	}
	return false
}
