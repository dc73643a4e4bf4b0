// Package latch holds Latch's domain: the types every other package speaks
// (users, identities, credentials, sessions, signing keys), the Store
// interface the storage backends implement, and the Error type the use cases
// return and each HTTP surface maps to its own wire shape.
//
// This package performs no I/O: it must not import net/http, database/sql or
// any other package that talks to the outside world (see deps_test.go).
package latch

import (
	"strings"
	"time"
)

// DefaultTenantID is the tenant every user belongs to until tenants are
// managed explicitly. It is created by the first migration.
const DefaultTenantID = "00000000-0000-0000-0000-000000000001"

// User is an account. ID is a UUIDv7; Number is a small integer that some
// surfaces (seed 001) use to address users.
type User struct {
	ID             string
	Number         int64
	TenantID       string
	Email          string // as given at creation; compared case-insensitively
	FirstName      string
	LastName       string
	ProfilePicture string
	Verified       bool // the email address is known to belong to the user
	// VerifiedBy says whose word made Verified true: only a proof of
	// control by the person (a Latch link, a provider that verified the
	// address) may ever link an outside identity to the account.
	VerifiedBy EmailVerification
	Active     bool
	Admin      bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// EmailVerification records how a user's email came to be known as
// theirs. Verified is true exactly when it is not EmailUnverified.
type EmailVerification string

const (
	EmailUnverified EmailVerification = ""
	// EmailVerifiedByLink: the person opened a link (or used a token) that
	// Latch emailed to the address.
	EmailVerifiedByLink EmailVerification = "link"
	// EmailVerifiedByProvider: a sign-in provider that verified the
	// address signed the person in; that identity is on the account.
	EmailVerifiedByProvider EmailVerification = "provider"
	// EmailAsserted: an operator or an API client said the address is
	// verified. It shows as verified, but proves nothing about the person.
	EmailAsserted EmailVerification = "asserted"
	// EmailVerifiedLegacy: verified before Latch recorded how (migration
	// 00005); treated like EmailAsserted.
	EmailVerifiedLegacy EmailVerification = "legacy"
)

// Proven reports whether the person showed control of the address (a
// Latch link or a provider's verification), as opposed to someone
// asserting it: only then may a provider sign-in link by email.
func (v EmailVerification) Proven() bool {
	return v == EmailVerifiedByLink || v == EmailVerifiedByProvider
}

// ParseEmailVerification returns the EmailVerification named s, or false.
func ParseEmailVerification(s string) (EmailVerification, bool) {
	switch v := EmailVerification(s); v {
	case EmailUnverified, EmailVerifiedByLink, EmailVerifiedByProvider, EmailAsserted, EmailVerifiedLegacy:
		return v, true
	}
	return "", false
}

// Provider is the type of an outside identity provider. It says how Latch
// talks to it and how surfaces show it, never whose identity a subject is:
// that is the Issuer's (see Identity).
type Provider string

// The provider types Latch knows by name. Any other OIDC issuer is
// ProviderOIDC.
const (
	ProviderGoogle   Provider = "google"
	ProviderGitHub   Provider = "github"
	ProviderLinkedIn Provider = "linkedin"
	ProviderFacebook Provider = "facebook"
	ProviderOIDC     Provider = "oidc"
)

// ParseProvider returns the Provider named s, or false.
func ParseProvider(s string) (Provider, bool) {
	switch p := Provider(strings.ToLower(s)); p {
	case ProviderGoogle, ProviderGitHub, ProviderLinkedIn, ProviderFacebook, ProviderOIDC:
		return p, true
	}
	return "", false
}

// WellKnownIssuer is the issuer of a provider type that has one public
// instance (Google's OIDC issuer, github.com's API, ...), or "" for
// ProviderOIDC. It is where identities of that type stored before Latch
// recorded issuers belong when no provider of the type is configured.
func WellKnownIssuer(p Provider) string {
	switch p {
	case ProviderGoogle:
		return "https://accounts.google.com"
	case ProviderGitHub:
		return "https://api.github.com"
	case ProviderLinkedIn:
		return "https://www.linkedin.com/oauth"
	case ProviderFacebook:
		return "https://www.facebook.com"
	}
	return ""
}

// ProviderInstance is one configured sign-in provider as Latch's data sees
// it: the name it is configured under (which may change), its type, the
// issuer its identities belong to, and the tenant its sign-ins land in.
type ProviderInstance struct {
	Name     string
	Type     Provider
	Issuer   string // the OIDC issuer; for GitHub its API URL
	TenantID string // "" is the default tenant
}

// Identity links a user to an account at an outside provider. An identity
// is (Issuer, Subject), unique across all users: a subject means something
// only at the issuer that assigned it (OpenID Connect Core §2), so two
// providers of one type (two OIDC issuers, GitHub and a GitHub Enterprise)
// never share identities, and renaming a provider in configuration moves
// nobody.
type Identity struct {
	ID     string
	UserID string
	// Provider is the provider's type (google, github, oidc, ...).
	Provider Provider
	// Issuer is the provider instance: its OIDC issuer URL, or for GitHub
	// its API URL. "" only on rows stored before Latch recorded issuers,
	// until start-up attributes them (see LegacyIdentityCount).
	Issuer    string
	Subject   string
	Email     string
	CreatedAt time.Time
}

// ExternalIdentity is what an outside provider (Google, GitHub, any OIDC
// issuer) says about the person signing in, and what Latch's configuration
// says about that provider: the issuer it is bound to and the tenant it
// serves.
type ExternalIdentity struct {
	Provider      Provider
	Issuer        string // the provider instance (see Identity)
	TenantID      string // the tenant the provider serves; "" is the default
	Subject       string // the provider's stable user id at Issuer
	Email         string
	EmailVerified bool // the provider vouches that the person owns Email
	FirstName     string
	LastName      string
	Picture       string
}

// Credential is a user's password, as a PHC-formatted hash. A user has at
// most one.
type Credential struct {
	UserID string
	Hash   string
	// MustChange: the password was set by an administrator who asked for
	// it to be changed at the next sign-in.
	MustChange bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// TokenKind says what an access token was issued for.
type TokenKind string

const (
	// KindSession is what a sign-in hands a user: it acts for the user.
	KindSession TokenKind = "session"
	// KindPersonal is a personal access token with explicit scopes.
	KindPersonal TokenKind = "personal"
	// KindProject is a project-scoped API token; user endpoints refuse it.
	KindProject TokenKind = "project"
	// KindApp is an app's grant (issue 15): a session with an AppID, made
	// from an app's authorization code. Its tokens are the OpenID family's
	// (token.SignAppAccess), never Latch's own access tokens, and its
	// refresh tokens are refused by Latch's own refresh: an app's grant
	// does not act on Latch's API.
	KindApp TokenKind = "app"
)

// ParseTokenKind returns the TokenKind named s, or false.
func ParseTokenKind(s string) (TokenKind, bool) {
	switch k := TokenKind(s); k {
	case KindSession, KindPersonal, KindProject, KindClient, KindApp:
		return k, true
	}
	return "", false
}

// Scopes carried by user tokens.
const (
	ScopeUserRead   = "user:read"
	ScopeUserUpdate = "user:update"
	// ScopePasswordChange is the only scope of the short-lived token a
	// sign-in hands out when the password must be changed first.
	ScopePasswordChange = "password:change"
	// ScopeMFAPending is the only scope of the short-lived token a
	// sign-in hands out when the account has a second factor: its only
	// use is completing the sign-in with that factor.
	ScopeMFAPending = "mfa:pending"
)

// SessionScopes returns the scopes of a token handed out at sign-in (a
// fresh slice each time: sessions must not share one).
func SessionScopes() []string { return []string{ScopeUserRead, ScopeUserUpdate} }

// Session is one grant of access: a sign-in, a personal access token or a
// project token. Every access token names its session (the "sid" claim), so
// revoking the session refuses its tokens at once.
type Session struct {
	ID        string
	UserID    string
	Kind      TokenKind
	Scopes    []string
	CreatedAt time.Time
	ExpiresAt time.Time  // the end of the session: no refresh past it
	RevokedAt *time.Time // nil while the session is live
	// AppID is the app the session is a grant to (made from its
	// authorization code), empty for Latch's own sessions. Deleting the
	// app deletes its sessions.
	AppID string
	// AuthTime is when the user last authenticated (OIDC auth_time); zero
	// when not recorded (native sessions before issue 15).
	AuthTime time.Time
	// AMR lists the authentication methods used (OIDC amr, RFC 8176).
	AMR []string
	// ParentSessionID is the browser session the grant came from, empty
	// for none: ending that session can end its grants.
	ParentSessionID string
}

// Live reports whether the session may still be used at now.
func (s Session) Live(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt)
}

// HasScope reports whether the session grants scope.
func (s Session) HasScope(scope string) bool {
	for _, have := range s.Scopes {
		if have == scope {
			return true
		}
	}
	return false
}

// SigningKey is a key that signs access tokens. Private is the PKCS#8 DER
// encoding of the private key.
//
// A key signs from ActivatesAt (from when it is stored, if nil) until a
// newer one replaces it (RotatedAt, the newer one's activation); it then
// still verifies, and is published, until RetireAt, when every token it
// signed has expired. From RetireAt on it is retired: it verifies nothing
// and may be deleted. Before ActivatesAt it is announced: published, so
// relying parties that cache the key set know it before it signs.
type SigningKey struct {
	ID          string
	Algorithm   string // "ES256", "EdDSA" or "RS256"
	Private     []byte
	CreatedAt   time.Time
	ActivatesAt *time.Time // nil: signs from the start
	RotatedAt   *time.Time // nil while no newer key replaces it
	RetireAt    *time.Time // set with RotatedAt
}

// Active reports whether the key may sign at now: it is not announced
// for later.
func (k SigningKey) Active(now time.Time) bool {
	return k.ActivatesAt == nil || !now.Before(*k.ActivatesAt)
}

// Retired reports whether the key verifies nothing any more at now.
func (k SigningKey) Retired(now time.Time) bool {
	return k.RetireAt != nil && !now.Before(*k.RetireAt)
}

// NewUser is what CreateUser stores: the user, and optionally a linked
// identity and a password hash, all in one transaction.
type NewUser struct {
	User         User
	Identity     *Identity
	PasswordHash string
	// MustChangePassword marks PasswordHash as to be changed at the next
	// sign-in.
	MustChangePassword bool
	Audit              *AuditEvent
	// Mail, if not nil, is enqueued in the same transaction (sign-up's
	// verification email).
	Mail *MailMessage
}

// AuthorizationCode is a one-time code that carries a provider sign-in
// back to the app, which redeems it at the token endpoint with its PKCE
// verifier. Only the SHA-256 of the code is stored.
type AuthorizationCode struct {
	Hash          []byte
	UserID        string
	CodeChallenge string // S256 of the app's verifier
	RedirectURI   string // where the code was sent
	// PasswordHash, when the code comes from a password sign-in, is the
	// hash that was verified: the session it becomes is started only
	// while that is still the password (see NewSession).
	PasswordHash string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	// AppID is the app the code was issued to, empty for Latch's own
	// provider sign-in (ConsumeAuthorizationCode). An app's code is
	// redeemed with RedeemAppCode.
	AppID string
	// Nonce is the app's OIDC nonce, echoed in the ID token.
	Nonce string
	// Scopes are the scopes the user granted the app for this code.
	Scopes []string
	// AuthTime is when the user authenticated (OIDC auth_time).
	AuthTime time.Time
	// AMR lists the authentication methods used (OIDC amr, RFC 8176).
	AMR []string
	// ParentSessionID is the browser session that approved the code.
	ParentSessionID string
}

// NewSession is what CreateSession stores.
type NewSession struct {
	Session Session
	// RefreshHash, if not nil, is the stored form of the first refresh
	// token of the chain (generation 0).
	RefreshHash []byte
	// WhilePasswordHash, if not empty, makes the write conditional: the
	// session is stored only while the user's password is still the one
	// this hash was made from, and the answer is Conflict
	// (CodeConcurrentUpdate) otherwise. A login passes the hash it
	// verified, so a password change that commits between the check and
	// the session start cannot be outlived by a session begun with the old
	// password.
	//
	// "Still the password" is: the stored hash is exactly this one, or it
	// is the hash the last ReplacePasswordHash replaced and no password
	// change has happened since. A rehash by one login must not turn away
	// the logins of the same password that verified the hash it replaced.
	// One generation is remembered: a rehash happens only when the stored
	// hash is weaker than the configured parameters, so a second one
	// within a login's (or a one-time code's) life needs the parameters
	// raised again meanwhile.
	WhilePasswordHash string
	// Audit, if not nil, is recorded in the same write: the session row
	// carries it (one row per sign-in, not two), with an ID from the audit
	// log's sequence; AuditEvents lists it with the others, and it moves
	// to the log when the session row is deleted.
	Audit *AuditEvent
}

// PasswordChange is one atomic password write: the credential, the
// revocation of every other session of the user (unless KeepSessions), and
// of every password link sent to the user before.
type PasswordChange struct {
	UserID string
	// PreviousHash is the hash the caller verified, or "" when the caller
	// sets a first password. The write only happens if the stored state
	// still matches (no credential, or this hash: the stored one, or the
	// one the last ReplacePasswordHash replaced, which is the same
	// password), so two concurrent writers cannot both succeed.
	PreviousHash string
	NewHash      string
	// KeepSessionID is the caller's own session, left valid; "" revokes all.
	KeepSessionID string
	// KeepSessions leaves every session of the user valid. It is for a
	// first password only (PreviousHash "" and not Overwrite; the store
	// refuses it otherwise): a first password replaces nothing, so nothing
	// was compromised, and the person is usually signed in where they
	// asked for it (shared/seeds/README.md, 002). Replacing a password
	// ends every session but KeepSessionID.
	KeepSessions bool
	// Overwrite sets the password whatever is stored (an administrator's
	// reset); PreviousHash is then ignored.
	Overwrite bool
	// MustChange is stored with the credential (see Credential).
	MustChange bool
	At         time.Time
	// Audit, if not nil, is appended in the same transaction.
	Audit *AuditEvent
	// LinkHash, if not nil, names the password link that authorizes the
	// change: it must be live at At and be UserID's, and is used up in the
	// same transaction; otherwise the change is NotFound and nothing is
	// written.
	LinkHash []byte
	// Verify marks the user's email verified (a link or a verification
	// token proved it).
	Verify bool
	// Mail, if not nil, is enqueued in the same transaction (the "your
	// password was set" notice).
	Mail *MailMessage
}

// Clock tells the time. Use cases take one so expiry is tested without sleeps.
type Clock func() time.Time
