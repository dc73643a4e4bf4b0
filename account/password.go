package account

import (
	"context"
	"errors"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

// SetOwnPasswordInput is a signed-in user's request to set or change their
// password. CurrentPassword is nil when the field was not sent.
type SetOwnPasswordInput struct {
	Password        string
	Confirmation    *string
	CurrentPassword *string
}

// AuthorizeUser refuses tokens that do not act for a user (project
// tokens) or that lack scope. Surfaces call it before reading a request
// body, so a wrong token is answered as such whatever the body holds.
func AuthorizeUser(p Principal, scope string) error {
	if p.Session.Kind == latch.KindProject {
		return &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeNotUserToken, Message: "this token does not act for a user"}
	}
	if !p.Session.HasScope(scope) {
		return &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "the token lacks the " + scope + " permission"}
	}
	return nil
}

// SetOwnPassword sets the caller's first password, or changes it when one
// exists (then CurrentPassword must be given and correct). Every other
// session of the account is revoked; the caller's stays valid.
//
// Two concurrent first-time calls cannot both succeed: the store writes a
// first password only while none exists, and the loser is told to send
// current_password, exactly as if it had come second.
func (s *Service) SetOwnPassword(ctx context.Context, p Principal, in SetOwnPasswordInput) error {
	if err := AuthorizeUser(p, latch.ScopeUserUpdate); err != nil {
		return err
	}
	pw := password.Normalize(in.Password)
	cred, err := s.store.Credential(ctx, p.User.ID)
	hasPassword := err == nil
	if err != nil && !latch.IsKind(err, latch.KindNotFound) {
		return err
	}

	var failed []latch.Error
	if err := s.cfg.Policy.Check(pw, p.User.Email); err != nil {
		failed = append(failed, details(err)...)
	}
	if in.Confirmation == nil || *in.Confirmation == "" {
		failed = append(failed, *latch.FieldError("password_confirmation", latch.CodeRequired, "The password confirmation field is required."))
	} else if password.Normalize(*in.Confirmation) != pw {
		failed = append(failed, *latch.FieldError("password", latch.CodePasswordMismatch, "The password field confirmation does not match."))
	}
	if hasPassword && (in.CurrentPassword == nil || *in.CurrentPassword == "") {
		failed = append(failed, *errCurrentPasswordRequired())
	}
	if len(failed) > 0 {
		return invalid(failed)
	}

	previous := ""
	if hasPassword {
		// A stolen access token must not become a way to guess the
		// password: wrong current passwords are limited per account.
		failures := "current-password-failures:" + p.User.ID
		if err := s.limit(ctx, failures, s.cfg.LoginFailures, 0); err != nil {
			return err
		}
		current := password.Normalize(*in.CurrentPassword)
		ok := false
		if !s.cfg.Policy.TooLong(current) {
			if ok, _, err = s.hasher.Verify(ctx, current, cred.Hash); err != nil {
				return latch.AsError(err)
			}
		}
		if !ok {
			if err := s.limit(ctx, failures, s.cfg.LoginFailures, 1); err != nil && !latch.IsKind(err, latch.KindTooMany) {
				return err
			}
			return errCurrentPasswordWrong()
		}
		previous = cred.Hash
	}
	newHash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return latch.AsError(err)
	}
	err = s.store.ChangePassword(ctx, latch.PasswordChange{
		UserID: p.User.ID, PreviousHash: previous, NewHash: newHash, KeepSessionID: p.Session.ID, At: s.now(),
	})
	if latch.IsKind(err, latch.KindConflict) {
		// Someone else set or changed the password between our read and our
		// write: what the caller knew as current is no longer current.
		if hasPassword {
			return errCurrentPasswordWrong()
		}
		return invalid([]latch.Error{*errCurrentPasswordRequired()})
	}
	return err
}

func errCurrentPasswordRequired() *latch.Error {
	return latch.FieldError("current_password", latch.CodeCurrentPasswordNeeded, "The current password field is required.")
}

func errCurrentPasswordWrong() error {
	return invalid([]latch.Error{*latch.FieldError("current_password", latch.CodeCurrentPasswordWrong, "The password is incorrect.")})
}

// invalid folds several field failures into one Invalid error whose headline
// is the first.
func invalid(failed []latch.Error) error {
	e := failed[0]
	e.Details = failed
	return &e
}

// details lists the individual failures inside err.
func details(err error) []latch.Error {
	var le *latch.Error
	if !errors.As(err, &le) {
		return []latch.Error{*latch.Internal(err)}
	}
	if len(le.Details) > 0 {
		return le.Details
	}
	return []latch.Error{*le}
}
