package account

import (
	"context"
	"net/url"

	"github.com/latchid/latch"
)

// verifyPurpose is the purpose of a sign-up's verification token.
const verifyPurpose = "verify-email"

// SignUpInput is a sign-up by email (seed 003).
type SignUpInput struct {
	Email     string
	FirstName string
	LastName  string
}

// SignUp starts an account by email: it answers as soon as the request is
// recorded (a job), then signUp creates an unverified account without a
// password and emails it a verification link (a signed token, LinkTTL)
// with which the person sets their first password. For an email that
// already has an account, that address gets a notice instead, and the
// caller sees exactly the same answer, as fast: nobody learns from sign-up
// which emails have accounts. A request that could not be recorded is
// Unavailable (try again).
func (s *Service) SignUp(ctx context.Context, in SignUpInput) error {
	email, err := parseEmail(in.Email)
	if err != nil {
		return err
	}
	first, last, err := cleanNames(in.FirstName, in.LastName)
	if err != nil {
		return err
	}
	if s.cfg.MailOff {
		return errMailDisabled()
	}
	return s.recordForAddress(ctx, latch.JobSignUp, jobData{Email: email, FirstName: first, LastName: last})
}

// signUp is the work of a sign-up request (see SignUp).
func (s *Service) signUp(ctx context.Context, email, first, last string) error {
	existing, err := s.store.UserByEmail(ctx, email)
	switch {
	case err == nil:
		return s.signUpAgain(ctx, existing)
	case !latch.IsKind(err, latch.KindNotFound):
		return err
	}
	err = s.createSignUp(ctx, email, first, last)
	if latch.IsCode(err, latch.CodeEmailTaken) {
		// Signed up concurrently: the other request made the account.
		existing, err := s.store.UserByEmail(ctx, email)
		if err != nil {
			return err
		}
		return s.signUpAgain(ctx, existing)
	}
	return err
}

func (s *Service) createSignUp(ctx context.Context, email, first, last string) error {
	id, err := newID()
	if err != nil {
		return latch.Internal(err)
	}
	now := s.now()
	u := latch.User{ID: id, TenantID: latch.DefaultTenantID, Email: email, FirstName: first, LastName: last, Active: true, CreatedAt: now, UpdatedAt: now}
	m, err := s.verificationMail(u)
	if err != nil {
		return err
	}
	ev := s.userEvent(ctx, u, latch.AuditUserCreate)
	ev.ActorType, ev.ActorID = latch.ActorAnonymous, ""
	ev.Details = map[string]string{"via": "sign-up", "email": email}
	if _, err := s.store.CreateUser(ctx, latch.NewUser{User: u, Audit: &ev, Mail: &m}); err != nil {
		return err
	}
	s.mailQueued(&m)
	return nil
}

// verificationMail is the email with a sign-up's verification link. The
// name typed at sign-up is not in it: whoever signs up chooses it, and the
// address may be somebody else's.
func (s *Service) verificationMail(u latch.User) (latch.MailMessage, error) {
	now := s.now()
	verifyToken, err := s.keys.SignPurpose(verifyPurpose, u.ID, now, now.Add(s.cfg.LinkTTL))
	if err != nil {
		return latch.MailMessage{}, latch.Internal(err)
	}
	return s.newMail(u.Email, latch.MailVerifyEmail, map[string]string{
		"link": s.url(VerifyPath, url.Values{"token": {verifyToken}}), "email": u.Email, "expires": humanDuration(s.cfg.LinkTTL),
	})
}

// signUpAgain answers a sign-up for an email that has an account. A
// sign-up that was never finished (not verified, no password, no linked
// identity) gets a fresh verification link: its first email may have been
// lost, or the account made by somebody else, and the owner must still be
// able to sign up. Any other account gets a notice. Both are limited per
// account, silently.
func (s *Service) signUpAgain(ctx context.Context, u latch.User) error {
	if !u.Verified && u.Active {
		has, err := s.HasPassword(ctx, u.ID)
		if err != nil {
			return err
		}
		ids, err := s.store.IdentitiesByUser(ctx, u.ID)
		if err != nil {
			return err
		}
		if !has && len(ids) == 0 {
			return s.withinAccountMailLimit(ctx, u.ID, func() error {
				m, err := s.verificationMail(u)
				if err != nil {
					return err
				}
				if err := s.store.EnqueueMail(ctx, m); err != nil {
					return err
				}
				s.mailQueued(&m)
				return nil
			})
		}
	}
	return s.signUpNotice(ctx, u)
}

// signUpNotice tells the owner of an existing account that someone tried
// to sign up with their address (limited per account, silently).
func (s *Service) signUpNotice(ctx context.Context, u latch.User) error {
	return s.withinAccountMailLimit(ctx, u.ID, func() error {
		m, err := s.newMail(u.Email, latch.MailSignupExists, map[string]string{
			"email": u.Email, "first_name": u.FirstName, "login_url": s.url("/login", nil), "recover_url": s.url("/recover", nil),
		})
		if err != nil {
			return err
		}
		if err := s.store.EnqueueMail(ctx, m); err != nil {
			return err
		}
		s.mailQueued(&m)
		return nil
	})
}

// VerificationUser checks a sign-up's verification token and returns its
// account (the verify page shows it before the person types).
func (s *Service) VerificationUser(ctx context.Context, verifyToken string) (latch.User, error) {
	claims, err := s.keys.VerifyPurpose(verifyToken, verifyPurpose)
	if err != nil {
		return latch.User{}, err
	}
	user, err := s.store.UserByID(ctx, claims.Subject)
	if err != nil {
		return latch.User{}, err
	}
	if !user.Active {
		return latch.User{}, errUnauthenticated(nil)
	}
	return user, nil
}

// SetFirstPasswordResult is what setting a first password with a
// verification token gives.
type SetFirstPasswordResult struct {
	User latch.User
	Pair TokenPair
}

// SetFirstPassword sets the first password of a signed-up account with its
// verification token (seed 003): the email becomes verified, the person
// is signed in, and a "your password was set" email goes out. A second
// use of the token finds a password already set.
//
// An account with a second factor is refused (Forbidden mfa_required)
// before anything is written: the token proves the email, not the factor,
// so it cannot sign the person in, and a seed surface has no factor step
// to offer; the password can be set from a signed-in session instead.
func (s *Service) SetFirstPassword(ctx context.Context, verifyToken, pw string) (SetFirstPasswordResult, error) {
	if u, err := s.VerificationUser(ctx, verifyToken); err == nil {
		has, err := s.hasConfirmedFactor(ctx, u.ID)
		if err != nil {
			return SetFirstPasswordResult{}, err
		}
		if has {
			return SetFirstPasswordResult{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeMFARequired,
				Message: "this account has a second factor: set the password from a signed-in session"}
		}
	}
	user, hash, err := s.setFirstPassword(ctx, verifyToken, pw)
	if err != nil {
		return SetFirstPasswordResult{}, err
	}
	login := s.userEvent(ctx, user, latch.AuditLoginSuccess)
	login.Details = map[string]string{"method": "password", "via": "verification"}
	pair, err := s.startSession(ctx, user, latch.KindSession, latch.SessionScopes(), s.cfg.SessionTTL, true, hash, []string{AMRPassword}, &login)
	if err != nil {
		return SetFirstPasswordResult{}, err
	}
	return SetFirstPasswordResult{User: user, Pair: pair}, nil
}

// VerifyAndSetPassword is SetFirstPassword without the sign-in: the
// /verify page sends the person to /login instead.
func (s *Service) VerifyAndSetPassword(ctx context.Context, verifyToken, pw string) error {
	_, _, err := s.setFirstPassword(ctx, verifyToken, pw)
	return err
}

// setFirstPassword sets the first password and returns the account and
// the hash stored.
func (s *Service) setFirstPassword(ctx context.Context, verifyToken, pw string) (latch.User, string, error) {
	user, err := s.VerificationUser(ctx, verifyToken)
	if err != nil {
		return latch.User{}, "", err
	}
	errAlreadySet := errPasswordAlreadySet()
	if has, err := s.HasPassword(ctx, user.ID); err != nil {
		return latch.User{}, "", err
	} else if has {
		return latch.User{}, "", errAlreadySet
	}
	var pol latch.PasswordPolicy
	pw, err = checkNewPassword(newPassword{
		Password: pw, MaxLength: s.cfg.Policy.MaxLength, Email: user.Email, FlowRules: seed003Rules,
	}, orderFirst, map[passwordCheck]passwordStep{stepLoad: s.loadPolicy(ctx, user.TenantID, &pol)})
	if err != nil {
		return latch.User{}, "", err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return latch.User{}, "", latch.AsError(err)
	}
	ev := s.userEvent(ctx, user, latch.AuditPasswordSet)
	ev.Details = map[string]string{"via": "verification"}
	m, err := s.passwordSetNotice(user)
	if err != nil {
		return latch.User{}, "", err
	}
	// A first password ends no session (shared/seeds/README.md, 002).
	err = s.changePassword(ctx, user, latch.PasswordChange{UserID: user.ID, NewHash: hash, KeepSessions: true, Verify: true, At: s.now(), Audit: &ev, Mail: m})
	if latch.IsKind(err, latch.KindConflict) {
		return latch.User{}, "", errAlreadySet
	}
	if err != nil {
		return latch.User{}, "", err
	}
	// The emailed token proved the person here: the password cap spares
	// this address (see rememberAddress).
	s.rememberAddress(ctx, user.Email, s.addressKey(latch.ClientIP(ctx)))
	s.mailQueued(m)
	if user, err = s.store.UserByID(ctx, user.ID); err != nil {
		return latch.User{}, "", err
	}
	return user, hash, nil
}
