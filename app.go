package latch

import "time"

// App is an application whose users sign in through Latch as an OpenID
// Provider: an OAuth 2.0 client acting for end users (RFC 6749 section 2).
// It is not an APIClient, which administers a tenant with a Scope of its
// own and never acts for a user.
//
// ID is the client_id. An app belongs to one tenant: only that tenant's
// users may sign in to it, and only that tenant's administrators manage
// it.
type App struct {
	ID       string
	TenantID string
	Name     string
	Type     AppType
	// SecretHash is the SHA-256 of a confidential app's secret (shown once,
	// when made or rotated); nil for a public app, which has none.
	SecretHash []byte
	// FirstParty apps are the operator's own: no consent screen unless
	// the request asks for one (prompt=consent).
	FirstParty bool
	// RedirectURIs and PostLogoutRedirectURIs are compared as exact
	// strings (RFC 6749 section 3.1.2.3; no prefix, no wildcard).
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// Scopes are the scopes the app may ask for (AppScopes' names).
	Scopes []string
	// ClientCredentials: the app may use the client_credentials grant
	// (confidential apps only).
	ClientCredentials bool
	// PKCEOptional lets a confidential app leave out PKCE: the one
	// exception to "PKCE for every app", set by an operator (audited) for
	// a relying party that cannot send it (Dex before dexidp/dex#3777). A
	// request that does send a challenge must still present its verifier.
	PKCEOptional bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	RevokedAt    *time.Time // nil while the app may be used
}

// AppType says how an app authenticates at the token endpoint.
type AppType string

const (
	// AppPublic: a browser or native app that cannot keep a secret; it
	// proves itself by PKCE alone (token_endpoint_auth_method "none").
	AppPublic AppType = "public"
	// AppConfidential: a server-side app with a secret
	// (client_secret_basic or client_secret_post), and PKCE too.
	AppConfidential AppType = "confidential"
)

// The scopes an app may ask for (OpenID Connect Core section 5.4, and
// offline_access of section 11 for a refresh token).
const (
	AppScopeOpenID        = "openid"
	AppScopeProfile       = "profile"
	AppScopeEmail         = "email"
	AppScopeOfflineAccess = "offline_access"
)

// AppScopes lists the scopes an app may be registered with.
func AppScopes() []string {
	return []string{AppScopeOpenID, AppScopeProfile, AppScopeEmail, AppScopeOfflineAccess}
}

// Usable reports whether the app may be used at all (not revoked).
func (a App) Usable() bool { return a.RevokedAt == nil }

// AppConsent is a user's remembered consent to an app: the scopes granted
// so far (a request for more asks again). Revoking it ends the user's
// grants at the app.
type AppConsent struct {
	UserID    string
	AppID     string
	Scopes    []string
	GrantedAt time.Time
}

// Audit actions of apps and consents.
const (
	AuditAppCreate       = "app.create"
	AuditAppUpdate       = "app.update"
	AuditAppSecretRotate = "app.secret_rotate"
	AuditAppRevoke       = "app.revoke"
	AuditConsentGrant    = "consent.grant"
	AuditConsentRevoke   = "consent.revoke"
)
