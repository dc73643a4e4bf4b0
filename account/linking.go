package account

import (
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
	case OutcomeRefuse:
		return "refuse"
	}
	return "unknown"
}

// LinkDecision is DecideLink's answer: the outcome, the account it applies
// to (sign in, link), or why it refuses.
type LinkDecision struct {
	Outcome LinkOutcome
	User    latch.User
	Code    string // for OutcomeRefuse
	Reason  string // for OutcomeRefuse, safe to show
}

// Codes of refused provider sign-ins.
const (
	CodeProviderEmailMissing = "provider_email_missing"
	CodeEmailNotLinkable     = "email_not_linkable"
)

// DecideLink decides what a provider sign-in does, from what the provider
// says and the accounts found by that identity and by that email (nil when
// none). It is a pure function so every case is a row of a table test.
//
// An email match is linked only when both the provider and Latch have
// verified that email: otherwise whoever controls an unverified address at
// a provider (or signed up here with someone else's address) would take
// over the other's account.
func DecideLink(ext latch.ExternalIdentity, byIdentity, byEmail *latch.User) LinkDecision {
	switch {
	case byIdentity != nil && !byIdentity.Active:
		return refuse(latch.CodeAccountInactive, "this account is deactivated")
	case byIdentity != nil:
		// The identity decides, even if the email at the provider changed.
		return LinkDecision{Outcome: OutcomeSignIn, User: *byIdentity}
	case ext.Email == "":
		return refuse(CodeProviderEmailMissing, "the provider did not share an email address")
	case byEmail == nil:
		return LinkDecision{Outcome: OutcomeCreate}
	case !ext.EmailVerified || !byEmail.Verified:
		return refuse(CodeEmailNotLinkable, "an account with this email exists; sign in to it first, then link this provider from your account page")
	case !byEmail.Active:
		return refuse(latch.CodeAccountInactive, "this account is deactivated")
	}
	return LinkDecision{Outcome: OutcomeLink, User: *byEmail}
}

func refuse(code, reason string) LinkDecision {
	return LinkDecision{Outcome: OutcomeRefuse, Code: code, Reason: reason}
}

// decideLinkFromStore looks up the two candidate accounts and decides.
func (s *Service) decideLinkFromStore(ctx context.Context, ext latch.ExternalIdentity) (LinkDecision, error) {
	var byIdentity, byEmail *latch.User
	u, err := s.store.UserByIdentity(ctx, ext.Provider, ext.Subject)
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
			byEmail = &u
		case !latch.IsKind(err, latch.KindNotFound):
			return LinkDecision{}, err
		}
	}
	return DecideLink(ext, byIdentity, byEmail), nil
}

// SignInWithIdentity signs in the person a provider vouched for (see
// ResolveIdentity) and starts a session.
func (s *Service) SignInWithIdentity(ctx context.Context, ext latch.ExternalIdentity) (latch.User, TokenPair, error) {
	user, err := s.ResolveIdentity(ctx, ext)
	if err != nil {
		return latch.User{}, TokenPair{}, err
	}
	ev := s.userEvent(ctx, user, latch.AuditLoginSuccess)
	ev.Details = map[string]string{"method": string(ext.Provider)}
	pair, err := s.startSession(ctx, user, latch.KindSession, latch.SessionScopes(), s.cfg.SessionTTL, true, "", &ev)
	return user, pair, err
}

// ResolveIdentity returns the account of the person a provider vouched
// for: it creates a passwordless account, finds the linked one, or links a
// verified email match, as DecideLink says.
func (s *Service) ResolveIdentity(ctx context.Context, ext latch.ExternalIdentity) (latch.User, error) {
	if ext.Provider == "" || ext.Subject == "" {
		return latch.User{}, latch.Errorf(latch.KindInvalid, latch.CodeInvalidRequest, "the provider sent no subject")
	}
	// Two first sign-ins of one identity may race; the loser of the
	// create (or link) finds the winner's account on the second pass.
	for attempt := 0; ; attempt++ {
		d, err := s.decideLinkFromStore(ctx, ext)
		if err != nil {
			return latch.User{}, err
		}
		user, err := s.applyLink(ctx, ext, d)
		if latch.IsKind(err, latch.KindConflict) && attempt == 0 {
			continue
		}
		return user, err
	}
}

func (s *Service) applyLink(ctx context.Context, ext latch.ExternalIdentity, d LinkDecision) (latch.User, error) {
	now := s.now()
	identity := func(userID string) (latch.Identity, error) {
		id, err := newID()
		return latch.Identity{ID: id, UserID: userID, Provider: ext.Provider, Subject: ext.Subject, Email: ext.Email, CreatedAt: now}, err
	}
	switch d.Outcome {
	case OutcomeSignIn:
		return d.User, nil
	case OutcomeLink:
		ident, err := identity(d.User.ID)
		if err != nil {
			return latch.User{}, latch.Internal(err)
		}
		if err := s.store.AddIdentity(ctx, ident); err != nil {
			return latch.User{}, err
		}
		return d.User, nil
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
		return s.store.CreateUser(ctx, latch.NewUser{
			User: latch.User{ID: id, Email: email, FirstName: ext.FirstName, LastName: ext.LastName, ProfilePicture: ext.Picture,
				Verified: ext.EmailVerified, Active: true, CreatedAt: now, UpdatedAt: now},
			Identity: &ident,
		})
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
