package latch

import "context"

// UserStore keeps the users and the outside identities linked to them.
type UserStore interface {
	// CreateUser stores a user (assigning Number), and its identity and
	// password if given. A duplicate email (case-insensitive) or a
	// duplicate (provider, subject) is a Conflict.
	CreateUser(ctx context.Context, nu NewUser) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	// UserByEmail looks the email up case-insensitively.
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByNumber(ctx context.Context, number int64) (User, error)
	ListUsers(ctx context.Context, q UserQuery) ([]User, error)
	UpdateUser(ctx context.Context, u UserUpdate) (User, error)
	// DeleteUser deletes the user with everything that is theirs.
	DeleteUser(ctx context.Context, id string, audit *AuditEvent) error

	IdentitiesByUser(ctx context.Context, userID string) ([]Identity, error)
	// UserByIdentity finds the user an outside identity (issuer, subject)
	// is linked to.
	UserByIdentity(ctx context.Context, issuer, subject string) (User, error)
	// AddIdentity links an identity to an existing user; an (issuer,
	// subject) linked already is a Conflict (CodeIdentityTaken), an
	// unknown user NotFound. audit, if not nil, is appended in the same
	// transaction.
	AddIdentity(ctx context.Context, ident Identity, audit *AuditEvent) error
	// ClaimUnfinishedUser gives an account that was never finished (not
	// verified, no password, no identity, not an administrator) to the
	// person a provider verified the email of: it links ident, marks the
	// email verified by the provider, replaces the profile with claim's
	// names and picture and revokes every session, in one transaction.
	// If the account is no longer unfinished the answer is Conflict and
	// nothing is written.
	ClaimUnfinishedUser(ctx context.Context, ident Identity, claim User, audit *AuditEvent) (User, error)
	// LegacyIdentityCount counts, per provider type, the identities stored
	// before Latch recorded issuers (Issuer "").
	LegacyIdentityCount(ctx context.Context) (map[Provider]int, error)
	// AttributeLegacyIdentities gives every identity of type provider
	// without an issuer the issuer given, and returns how many. An
	// (issuer, subject) that exists already is a Conflict and nothing is
	// written.
	AttributeLegacyIdentities(ctx context.Context, provider Provider, issuer string) (int, error)
	// RemoveIdentity unlinks the user's identity with identityID, unless
	// it is the user's last way to sign in (no password, no other
	// identity): that is a Conflict with CodeLastSignInMethod. An identity
	// of another user is NotFound.
	RemoveIdentity(ctx context.Context, userID, identityID string) error
}
