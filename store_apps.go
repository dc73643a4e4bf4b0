package latch

import (
	"context"
	"time"
)

// AppStore keeps the apps (OAuth clients of end users) and the consents
// users gave them.
type AppStore interface {
	// CreateApp stores an app; an unknown tenant is NotFound, a taken id
	// Conflict (CodeAlreadyExists). A public app has no SecretHash, a
	// confidential one must have one; only a confidential app may hold
	// ClientCredentials or PKCEOptional (Invalid otherwise).
	CreateApp(ctx context.Context, a App, audit *AuditEvent) error
	AppByID(ctx context.Context, id string) (App, error)
	// AppsByTenant lists a tenant's apps in id order, after q.AfterID (the
	// cursor), at most q.Limit of them.
	AppsByTenant(ctx context.Context, q AppQuery) ([]App, error)
	// UpdateApp changes the fields of up that are not nil and returns the
	// app as stored. The same rules as CreateApp hold for the result.
	UpdateApp(ctx context.Context, up AppUpdate) (App, error)
	// RotateAppSecret replaces a confidential app's secret hash; a public
	// app is Invalid (it has none).
	RotateAppSecret(ctx context.Context, id string, secretHash []byte, at time.Time, audit *AuditEvent) error
	// RevokeApp marks the app revoked and, in the same transaction,
	// revokes every live grant of it (the sessions with its AppID).
	// Revoking a revoked app keeps the first time and succeeds; the audit
	// event is appended either way, its Details (a copy) given
	// "grants_revoked", the number of grants it revoked.
	RevokeApp(ctx context.Context, id string, at time.Time, audit *AuditEvent) error

	// UpsertConsent records c, adding its scopes to those the user granted
	// the app before (a consent only grows until revoked), GrantedAt the
	// latest grant; it returns the consent as stored. An unknown user or
	// app is NotFound.
	UpsertConsent(ctx context.Context, c AppConsent, audit *AuditEvent) (AppConsent, error)
	// ConsentsByUser lists the user's consents, the latest grant first.
	ConsentsByUser(ctx context.Context, userID string) ([]AppConsent, error)
	// RevokeConsent deletes the user's consent to the app and, in the same
	// transaction, revokes the user's live grants of the app and deletes
	// the user's unused codes for it (a code issued under the consent
	// cannot outlive it). None is NotFound, and nothing is written. The
	// audit event's Details (a copy) are given "grants_revoked", as
	// RevokeApp's.
	RevokeConsent(ctx context.Context, userID, appID string, audit *AuditEvent) error
}

// AppQuery selects a tenant's apps in id order.
type AppQuery struct {
	TenantID string // required
	AfterID  string // the cursor: apps with a larger id only
	Limit    int
}

// AppUpdate changes some of an app's fields; nil leaves a field as is.
// An app's type, tenant and secret do not change here.
type AppUpdate struct {
	ID                     string
	Name                   *string
	RedirectURIs           *[]string
	PostLogoutRedirectURIs *[]string
	Scopes                 *[]string
	FirstParty             *bool
	ClientCredentials      *bool
	PKCEOptional           *bool
	At                     time.Time // UpdatedAt
	Audit                  *AuditEvent
}
