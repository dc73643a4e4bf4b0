package account

import (
	"context"
	"net/url"

	"github.com/latchid/latch"
	"github.com/latchid/latch/token"
)

// linkPrefix marks set-password and recovery link tokens.
const linkPrefix = "lpl_"

// SetPasswordPath is the page a set-password or recovery link opens.
const SetPasswordPath = "/set-password"

// VerifyPath is the page a sign-up's verification link opens.
const VerifyPath = "/verify"

// RequestPasswordLink emails a signed-in user without a password a link to
// set one (seed 002). Each request sends a fresh link and invalidates the
// older ones; the link is single use and lives LinkTTL.
func (s *Service) RequestPasswordLink(ctx context.Context, p Principal) error {
	if err := AuthorizeUser(p, latch.ScopeUserUpdate); err != nil {
		return err
	}
	if s.cfg.MailOff {
		return errMailDisabled()
	}
	if has, err := s.HasPassword(ctx, p.User.ID); err != nil {
		return err
	} else if has {
		return errPasswordAlreadySet()
	}
	ids, err := s.store.IdentitiesByUser(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeMissingLinkedIdentity, Message: "The account has no linked sign-in provider identity: only such an account may ask for a set-password email."}
	}
	if err := s.limitMail(ctx, p.User.ID); err != nil {
		return err
	}
	return s.sendLink(ctx, p.User, latch.LinkSetPassword, latch.MailSetPassword)
}

// sendLink stores a new link for user (superseding older ones of the
// purpose) and puts its email in the outbox, in one transaction.
func (s *Service) sendLink(ctx context.Context, user latch.User, purpose, template string) error {
	raw, hash := token.NewOpaque(linkPrefix)
	now := s.now()
	link := latch.PasswordLink{Hash: hash, UserID: user.ID, Purpose: purpose, CreatedAt: now, ExpiresAt: now.Add(s.cfg.LinkTTL)}
	m, err := s.newMail(user.Email, template, map[string]string{
		"link": s.url(SetPasswordPath, url.Values{"token": {raw}}), "email": user.Email, "first_name": user.FirstName,
		"expires": humanDuration(s.cfg.LinkTTL),
	})
	if err != nil {
		return err
	}
	if err := s.store.CreatePasswordLink(ctx, link, m); err != nil {
		return err
	}
	s.mailQueued(&m)
	return nil
}

func errPasswordAlreadySet() error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodePasswordAlreadySet, Message: "Password is already set"}
}

func errInvalidLink() error {
	return &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidLink, Field: "token",
		Message: "This link is invalid, expired or already used. Ask for a new one."}
}

// LinkInfo is what the set-password page shows before the person types.
type LinkInfo struct {
	User    latch.User
	Purpose string
	Rules   string
}

// PasswordLinkInfo checks a link without using it up.
func (s *Service) PasswordLinkInfo(ctx context.Context, raw string) (LinkInfo, error) {
	_, user, link, err := s.liveLink(ctx, raw)
	if err != nil {
		return LinkInfo{}, err
	}
	return LinkInfo{User: user, Purpose: link.Purpose, Rules: s.PasswordRules(ctx, user.TenantID)}, nil
}

func (s *Service) liveLink(ctx context.Context, raw string) ([]byte, latch.User, latch.PasswordLink, error) {
	if !token.LooksOpaque(raw, linkPrefix) {
		return nil, latch.User{}, latch.PasswordLink{}, errInvalidLink()
	}
	hash := token.HashOpaque(raw)
	link, err := s.store.PasswordLink(ctx, hash)
	if latch.IsKind(err, latch.KindNotFound) || (err == nil && !link.Live(s.now())) {
		return nil, latch.User{}, latch.PasswordLink{}, errInvalidLink()
	}
	if err != nil {
		return nil, latch.User{}, latch.PasswordLink{}, err
	}
	user, err := s.store.UserByID(ctx, link.UserID)
	if latch.IsKind(err, latch.KindNotFound) || (err == nil && !user.Active) {
		return nil, latch.User{}, latch.PasswordLink{}, errInvalidLink()
	}
	if err != nil {
		return nil, latch.User{}, latch.PasswordLink{}, err
	}
	return hash, user, link, nil
}

// SetPasswordWithLinkInput is the set-password form (page or API).
type SetPasswordWithLinkInput struct {
	Token        string
	Password     string
	Confirmation *string
}

// SetPasswordWithLink sets a password with a link from an email (seed
// 002's link, or recovery). The link is used up in the same transaction
// as the password write, the email counts as verified, and a "your
// password was set" email goes out. A recovery link replaces the password
// and ends every session of the account (whoever asked is signed in
// nowhere it trusts); a set-password link gives a first password and ends
// none (shared/seeds/README.md, 002: nothing was compromised, and the
// person is usually signed in where they asked for the link).
func (s *Service) SetPasswordWithLink(ctx context.Context, in SetPasswordWithLinkInput) error {
	hash, user, link, err := s.liveLink(ctx, in.Token)
	if err != nil {
		return err
	}
	var pol latch.PasswordPolicy
	pw, err := checkNewPassword(newPassword{
		Password: in.Password, Confirmation: in.Confirmation, MaxLength: s.cfg.Policy.MaxLength, Email: user.Email,
	}, orderLink, map[passwordCheck]passwordStep{
		stepLoad: s.loadPolicy(ctx, user.TenantID, &pol),
		// The link proves the email: the history may be told.
		stepHistory: func(_ *newPassword, pw string) ([]latch.Error, error) {
			return s.checkHistory(ctx, user, pw, pol)
		},
	})
	if err != nil {
		return err
	}
	newHash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return latch.AsError(err)
	}
	ev := s.userEvent(ctx, user, latch.AuditPasswordSet)
	ev.Details = map[string]string{"via": "link", "purpose": link.Purpose}
	if link.Purpose == latch.LinkRecovery {
		ev.Action = latch.AuditPasswordReset
	}
	m, err := s.passwordSetNotice(user)
	if err != nil {
		return err
	}
	// A recovery link replaces the password; a set-password link (seed
	// 002) only gives a first one, and finds a password set meanwhile.
	recovery := link.Purpose == latch.LinkRecovery
	err = s.changePassword(ctx, user, latch.PasswordChange{
		UserID: user.ID, NewHash: newHash, Overwrite: recovery, KeepSessions: !recovery, LinkHash: hash, Verify: true,
		At: s.now(), Audit: &ev, Mail: m,
	})
	switch {
	case latch.IsKind(err, latch.KindNotFound):
		// Used by a concurrent request, or superseded, since we looked.
		return errInvalidLink()
	case latch.IsKind(err, latch.KindConflict):
		return errPasswordAlreadySet()
	case err == nil:
		s.mailQueued(m)
		// Whoever completed the link reads the account's email: their
		// address is spared the per-account sign-in cap from now on.
		s.rememberAddress(ctx, user.Email, s.addressKey(latch.ClientIP(ctx)))
	}
	return err
}

// passwordSetNotice is the "your password was set" email, or nil when mail
// is off.
func (s *Service) passwordSetNotice(user latch.User) (*latch.MailMessage, error) {
	if s.cfg.MailOff {
		return nil, nil
	}
	m, err := s.newMail(user.Email, latch.MailPasswordSet, map[string]string{
		"email": user.Email, "first_name": user.FirstName, "login_url": s.url("/login", nil), "recover_url": s.url("/recover", nil),
	})
	return &m, err
}
