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

// AuthorizePasswordChange is AuthorizeUser for SetOwnPassword: the token
// needs user:update, or must be the password:change token a sign-in hands
// out when an administrator asked for a new password.
func AuthorizePasswordChange(p Principal) error {
	if forcedChange(p) {
		return nil
	}
	return AuthorizeUser(p, latch.ScopeUserUpdate)
}

func forcedChange(p Principal) bool {
	return p.Session.Kind == latch.KindSession && p.Session.HasScope(latch.ScopePasswordChange)
}

// SetOwnPassword sets the caller's first password, or changes it when one
// exists (then CurrentPassword must be given and correct). A change
// revokes every other session of the account, the caller's stays valid; a
// first password revokes none (it replaces nothing, so nothing was
// compromised: shared/seeds/README.md, 002).
//
// Two concurrent first-time calls cannot both succeed: the store writes a
// first password only while none exists, and the loser is told to send
// current_password, exactly as if it had come second.
//
// The token a sign-in hands out when the password must be changed (scope
// password:change) may call this too, without current_password (it was
// just proven); the new password must differ from the current one, and
// every session, that token's included, ends: the user signs in again.
func (s *Service) SetOwnPassword(ctx context.Context, p Principal, in SetOwnPasswordInput) error {
	if err := AuthorizePasswordChange(p); err != nil {
		return err
	}
	// On an account with a second factor, a change needs a recent factor
	// check (StepUp); the password:change token of such an account was
	// handed out by CompleteMFA, so it has one.
	if err := s.requireFreshFactor(ctx, p); err != nil {
		return err
	}
	forcedChange := forcedChange(p)
	var cred latch.Credential
	hasPassword := false
	failures := "current-password-failures:" + p.User.ID
	// chargeFailure counts a wrong current password, or a new password
	// refused by the history, against the account: a stolen access token
	// must not become a way to guess the password.
	chargeFailure := func() error {
		if err := s.limit(ctx, failures, s.cfg.LoginFailures, 1); err != nil && !latch.IsKind(err, latch.KindTooMany) {
			return err
		}
		return nil
	}
	var pol latch.PasswordPolicy
	previous := ""
	pw, err := checkNewPassword(newPassword{
		Password: in.Password, Confirmation: in.Confirmation, CurrentPassword: in.CurrentPassword,
		MaxLength: s.cfg.Policy.MaxLength, Email: p.User.Email,
	}, orderOwn, map[passwordCheck]passwordStep{
		stepLoad: func(np *newPassword, _ string) ([]latch.Error, error) {
			c, err := s.store.Credential(ctx, p.User.ID)
			if err != nil && !latch.IsKind(err, latch.KindNotFound) {
				return nil, err
			}
			cred, hasPassword = c, err == nil
			np.MustProveCurrent = hasPassword && !forcedChange
			return s.loadPolicy(ctx, p.User.TenantID, &pol)(np, "")
		},
		// Whether the new password is the current one or in the history
		// is told only once the caller has proven who it is
		// (current_password, or the change token), and within the
		// per-account limit.
		stepCurrent: func(_ *newPassword, _ string) ([]latch.Error, error) {
			if err := s.limit(ctx, failures, s.cfg.LoginFailures, 0); err != nil {
				return nil, err
			}
			if forcedChange {
				previous = cred.Hash
				return nil, nil
			}
			if !hasPassword {
				return nil, nil
			}
			current := password.Normalize(*in.CurrentPassword)
			ok := false
			if !s.cfg.Policy.TooLong(current) {
				var err error
				if ok, _, err = s.hasher.Verify(ctx, current, cred.Hash); err != nil {
					return nil, latch.AsError(err)
				}
			}
			if !ok {
				if err := chargeFailure(); err != nil {
					return nil, err
				}
				return nil, errCurrentPasswordWrong()
			}
			previous = cred.Hash
			return nil, nil
		},
		stepHistory: func(_ *newPassword, pw string) ([]latch.Error, error) {
			history, err := s.checkHistory(ctx, p.User, pw, pol)
			if err != nil {
				return nil, err
			}
			if len(history) == 0 && forcedChange && hasPassword {
				same, err := s.hasher.MatchesAny(ctx, pw, []string{cred.Hash})
				if err != nil {
					return nil, latch.AsError(err)
				}
				if same {
					history = []latch.Error{failure("password", latch.CodePolicyHistory, "The new password must differ from the current one.")}
				}
			}
			if len(history) > 0 {
				if err := chargeFailure(); err != nil {
					return nil, err
				}
			}
			return history, nil
		},
	})
	if err != nil {
		return err
	}
	newHash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return latch.AsError(err)
	}
	keep := p.Session.ID
	if forcedChange {
		keep = ""
	}
	ev := s.userEvent(ctx, p.User, latch.AuditPasswordChange)
	if !hasPassword {
		ev.Action = latch.AuditPasswordSet
	}
	err = s.changePassword(ctx, p.User, latch.PasswordChange{
		UserID: p.User.ID, PreviousHash: previous, NewHash: newHash, KeepSessionID: keep, KeepSessions: !hasPassword,
		At: s.now(), Audit: &ev,
	})
	if err == nil {
		// The caller holds a session and set the password (knowing the
		// current one, if any): as much as a sign-in proves.
		s.rememberAddress(ctx, p.User.Email, s.addressKey(latch.ClientIP(ctx)))
	}
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

// changePassword runs the store's password change and, once it is done,
// starts the account's failure count again.
func (s *Service) changePassword(ctx context.Context, user latch.User, pc latch.PasswordChange) error {
	// A change revokes sessions or verifies the email (the Principal's
	// user): this replica forgets the user's sessions at once, even
	// after an error (a timeout may hide a commit).
	err := s.store.ChangePassword(ctx, pc)
	s.sessions.forgetUser(pc.UserID)
	if err != nil {
		return err
	}
	s.resetAccountFailures(ctx, user.Email)
	return nil
}
