package account

import (
	"cmp"
	"context"

	"github.com/latchid/latch"
)

// LinkOutcome is what a sign-in through a provider does.
type LinkOutcome int

const (
	// OutcomeCreate makes a new passwordless account with the identity.
	OutcomeCreate LinkOutcome = iota + 1
	// OutcomeSignIn signs in the account the identity is already linked to.
	OutcomeSignIn
	// OutcomeLink links the identity to the existing account with the same
	// email, then signs it in.
	OutcomeLink
	// OutcomeClaim gives an unfinished sign-up with the same email (never
	// verified, no password, no identity) to the person the provider
	// verified the email of, then signs it in.
	OutcomeClaim
	// OutcomeRefuse signs nobody in.
	OutcomeRefuse
)

func (o LinkOutcome) String() string {
	switch o {
	case OutcomeCreate:
		return "create"
	case OutcomeSignIn:
		return "sign in"
	case OutcomeLink:
		return "link"
	case OutcomeClaim:
		return "claim"
	case OutcomeRefuse:
		return "refuse"
	}
	return "unknown"
}

// LinkDecision is DecideLink's answer: the outcome, the account it applies
// to (sign in, link, claim), or why it refuses.
type LinkDecision struct {
	Outcome LinkOutcome
	User    latch.User
	Code    string // for OutcomeRefuse
	Reason  string // for OutcomeRefuse, safe to show
}

// EmailMatch is the account that has the email a provider sign-in
// carries.
type EmailMatch struct {
	User latch.User
	// Unfinished: a sign-up nobody finished (never verified, no password,
	// no linked identity, not an administrator). Whoever made it never
	// showed control of the address, so it must not keep the address from
	// the person who can.
	Unfinished bool
}

// Codes of refused provider sign-ins.
const (
	CodeProviderEmailMissing = "provider_email_missing"
	CodeEmailNotLinkable     = "email_not_linkable"
	// CodeProviderEmailUnverified: a first sign-in whose email the
	// provider has not verified makes no account.
	CodeProviderEmailUnverified = "provider_email_unverified"
	// CodeProviderWrongTenant: the identity belongs to an account of a
	// tenant that this provider does not serve.
	CodeProviderWrongTenant = "provider_wrong_tenant"
)

// DecideLink decides what a provider sign-in does, from what the provider
// says (ext, which also names the tenant the provider serves) and the
// accounts found by that identity and by that email (nil when none). It is
// a pure function so every case is a row of a table test.
//
// Who may assert what:
//   - The identity (issuer, subject) is the provider's word, and decides.
//   - An email match is linked only when the provider verified the email
//     AND the account's owner proved control of it to Latch (a Latch link
//     opened, or a provider that verified it): an email that an API client
//     or an operator merely marked verified proves nothing about the
//     person, and linking on it would let whoever made that account own
//     the real person's sign-in.
//   - A provider serves one tenant: it never signs in, links or claims an
//     account of another.
//   - An unfinished sign-up is claimed by a provider-verified owner rather
//     than blocking them forever.
//   - No new account holds an address its provider did not verify, and no
//     administrator's account is ever linked or claimed by email: an
//     administrator links a provider from their own account.
func DecideLink(ext latch.ExternalIdentity, byIdentity *latch.User, byEmail *EmailMatch) LinkDecision {
	tenant := cmp.Or(ext.TenantID, latch.DefaultTenantID)
	notLinkable := func() LinkDecision {
		return refuse(CodeEmailNotLinkable, "an account with this email exists; sign in to it first, then link this provider from your account page")
	}
	switch {
	case byIdentity != nil && byIdentity.TenantID != tenant:
		return refuse(CodeProviderWrongTenant, "this sign-in provider cannot sign in to this account")
	case byIdentity != nil && !byIdentity.Active:
		return refuse(latch.CodeAccountInactive, "this account is deactivated")
	case byIdentity != nil:
		// The identity decides, even if the email at the provider changed.
		return LinkDecision{Outcome: OutcomeSignIn, User: *byIdentity}
	case ext.Email == "":
		return refuse(CodeProviderEmailMissing, "the provider did not share a usable email address")
	case byEmail == nil && !ext.EmailVerified:
		// A new account would hold an address nobody proved: whoever
		// the provider let type it would own it before its owner came.
		return refuse(CodeProviderEmailUnverified, "the provider has not verified this email address; verify it there first, or sign up with your email")
	case byEmail == nil:
		return LinkDecision{Outcome: OutcomeCreate}
	case byEmail.User.TenantID != tenant || !ext.EmailVerified || byEmail.User.Admin:
		// Another tenant's account answers as any unlinkable one does:
		// the refusal tells nothing about where the account lives.
		return notLinkable()
	case !byEmail.User.Active:
		return refuse(latch.CodeAccountInactive, "this account is deactivated")
	case byEmail.Unfinished && !byEmail.User.Verified:
		return LinkDecision{Outcome: OutcomeClaim, User: byEmail.User}
	case !byEmail.User.VerifiedBy.Proven():
		return notLinkable()
	}
	return LinkDecision{Outcome: OutcomeLink, User: byEmail.User}
}

func refuse(code, reason string) LinkDecision {
	return LinkDecision{Outcome: OutcomeRefuse, Code: code, Reason: reason}
}

// decideLinkFromStore looks up the candidate accounts and decides.
func (s *Service) decideLinkFromStore(ctx context.Context, ext latch.ExternalIdentity) (LinkDecision, error) {
	var byIdentity *latch.User
	var byEmail *EmailMatch
	u, err := s.store.UserByIdentity(ctx, ext.Issuer, ext.Subject)
	switch {
	case err == nil:
		byIdentity = &u
	case !latch.IsKind(err, latch.KindNotFound):
		return LinkDecision{}, err
	}
	if byIdentity == nil && ext.Email != "" {
		u, err := s.store.UserByEmail(ctx, ext.Email)
		switch {
		case err == nil:
			byEmail = &EmailMatch{User: u}
			if ext.EmailVerified && !u.Verified && u.Active && !u.Admin {
				if byEmail.Unfinished, err = s.unfinished(ctx, u); err != nil {
					return LinkDecision{}, err
				}
			}
		case !latch.IsKind(err, latch.KindNotFound):
			return LinkDecision{}, err
		}
	}
	return DecideLink(ext, byIdentity, byEmail), nil
}

// unfinished reports whether u is a sign-up nobody finished: never
// verified, no password, no linked identity.
func (s *Service) unfinished(ctx context.Context, u latch.User) (bool, error) {
	if u.Verified {
		return false, nil
	}
	has, err := s.HasPassword(ctx, u.ID)
	if err != nil || has {
		return false, err
	}
	ids, err := s.store.IdentitiesByUser(ctx, u.ID)
	if err != nil {
		return false, err
	}
	return len(ids) == 0, nil
}

// SignInWithIdentity signs in the person a provider vouched for (see
// ResolveIdentity) and starts a session. An account whose password an
// administrator asked to be changed gets the password-change session
// only, with password_change_required, as a password sign-in does.
func (s *Service) SignInWithIdentity(ctx context.Context, ext latch.ExternalIdentity) (_ latch.User, _ TokenPair, err error) {
	defer func() { s.cfg.Observer.Login(LoginProvider, result(err)) }()
	user, err := s.ResolveIdentity(ctx, ext)
	if err != nil {
		return latch.User{}, TokenPair{}, err
	}
	ev := s.userEvent(ctx, user, latch.AuditLoginSuccess)
	ev.Details = map[string]string{"method": string(ext.Provider)}
	pair, err := s.startProviderSession(ctx, user, &ev)
	return user, pair, err
}

// startProviderSession starts the session of a provider sign-in: an
// ordinary one, or, when the account's password must be changed first,
// one that can only change it (and the error that says so). A provider
// sign-in is no way around an administrator's change_at_next_login.
func (s *Service) startProviderSession(ctx context.Context, user latch.User, ev *latch.AuditEvent) (TokenPair, error) {
	// An account with a second factor gets the pending session of the
	// factor step first.
	if pair, done, err := s.factorStep(ctx, user, []string{AMRFederated}, "", ev); done {
		return pair, err
	}
	cred, err := s.store.Credential(ctx, user.ID)
	switch {
	case err == nil && cred.MustChange:
		ev.Action = latch.AuditLoginChangeRequired
		pair, err := s.startSession(ctx, user, latch.KindSession, []string{latch.ScopePasswordChange}, passwordChangeTTL, false, "", []string{AMRFederated}, ev)
		if err != nil {
			return TokenPair{}, err
		}
		return pair, errPasswordChangeRequired()
	case err != nil && !latch.IsKind(err, latch.KindNotFound):
		return TokenPair{}, err
	}
	return s.startSession(ctx, user, latch.KindSession, latch.SessionScopes(), s.cfg.SessionTTL, true, "", []string{AMRFederated}, ev)
}

// ResolveIdentity returns the account of the person a provider vouched
// for: it creates a passwordless account, finds the linked one, links a
// proven email match or claims an unfinished sign-up, as DecideLink says.
func (s *Service) ResolveIdentity(ctx context.Context, ext latch.ExternalIdentity) (latch.User, error) {
	if ext.Provider == "" || ext.Issuer == "" || ext.Subject == "" {
		return latch.User{}, latch.Errorf(latch.KindInvalid, latch.CodeInvalidRequest, "the provider sent no subject")
	}
	if ext.Email != "" {
		// Only the canonical form is compared, stored or linked: an
		// address that has none (a look-alike, an invisible character) is
		// no address Latch can use, whatever the provider says of it.
		email, err := parseEmail(ext.Email)
		if err != nil {
			email = ""
		}
		ext.Email = email
	}
	// Two first sign-ins of one identity may race; the loser of the
	// create (or link, or claim) finds the winner's account on the
	// second pass.
	for attempt := 0; ; attempt++ {
		d, err := s.decideLinkFromStore(ctx, ext)
		if err != nil {
			return latch.User{}, err
		}
		user, err := s.applyLink(ctx, ext, d)
		if latch.IsKind(err, latch.KindConflict) && attempt == 0 {
			continue
		}
		if err == nil {
			// The provider vouched for the person at this address (the
			// callback is the browser's request): the password cap spares
			// it (see rememberAddress).
			s.rememberAddress(ctx, user.Email, s.addressKey(latch.ClientIP(ctx)))
		}
		return user, err
	}
}

func (s *Service) applyLink(ctx context.Context, ext latch.ExternalIdentity, d LinkDecision) (latch.User, error) {
	now := s.now()
	identity := func(userID string) (latch.Identity, error) {
		id, err := newID()
		return latch.Identity{ID: id, UserID: userID, Provider: ext.Provider, Issuer: ext.Issuer, Subject: ext.Subject, Email: ext.Email, CreatedAt: now}, err
	}
	linkEvent := func(u latch.User, how string) *latch.AuditEvent {
		ev := s.userEvent(ctx, u, latch.AuditIdentityLink)
		ev.Details = map[string]string{"provider": string(ext.Provider), "issuer": ext.Issuer, "how": how}
		return &ev
	}
	switch d.Outcome {
	case OutcomeSignIn:
		return d.User, nil
	case OutcomeLink:
		ident, err := identity(d.User.ID)
		if err != nil {
			return latch.User{}, latch.Internal(err)
		}
		if err := s.store.AddIdentity(ctx, ident, linkEvent(d.User, "verified_email")); err != nil {
			return latch.User{}, err
		}
		return d.User, nil
	case OutcomeClaim:
		ident, err := identity(d.User.ID)
		if err != nil {
			return latch.User{}, latch.Internal(err)
		}
		first, last, err := cleanNames(ext.FirstName, ext.LastName)
		if err != nil {
			first, last = "", ""
		}
		claimed, err := s.store.ClaimUnfinishedUser(ctx, ident, latch.User{FirstName: first, LastName: last, ProfilePicture: ext.Picture},
			linkEvent(d.User, "claimed_unfinished_sign_up"))
		// The claim revoked every session of the account.
		s.sessions.forgetUser(d.User.ID)
		return claimed, err
	case OutcomeCreate:
		email, err := parseEmail(ext.Email)
		if err != nil {
			return latch.User{}, err
		}
		id, err := newID()
		if err != nil {
			return latch.User{}, latch.Internal(err)
		}
		ident, err := identity(id)
		if err != nil {
			return latch.User{}, latch.Internal(err)
		}
		u := latch.User{ID: id, TenantID: cmp.Or(ext.TenantID, latch.DefaultTenantID), Email: email,
			FirstName: ext.FirstName, LastName: ext.LastName, ProfilePicture: ext.Picture,
			Active: true, CreatedAt: now, UpdatedAt: now}
		if ext.EmailVerified {
			u.Verified, u.VerifiedBy = true, latch.EmailVerifiedByProvider
		}
		return s.store.CreateUser(ctx, latch.NewUser{User: u, Identity: &ident})
	}
	return latch.User{}, &latch.Error{Kind: latch.KindForbidden, Code: d.Code, Message: d.Reason}
}

// MyIdentities lists the caller's linked identities.
func (s *Service) MyIdentities(ctx context.Context, p Principal) ([]latch.Identity, error) {
	if err := AuthorizeUser(p, latch.ScopeUserRead); err != nil {
		return nil, err
	}
	return s.store.IdentitiesByUser(ctx, p.User.ID)
}

// UnlinkIdentity removes one of the caller's identities, unless it is the
// account's last way to sign in (then Conflict, CodeLastSignInMethod).
func (s *Service) UnlinkIdentity(ctx context.Context, p Principal, identityID string) error {
	if err := AuthorizeUser(p, latch.ScopeUserUpdate); err != nil {
		return err
	}
	return s.store.RemoveIdentity(ctx, p.User.ID, identityID)
}
