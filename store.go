package latch

import "context"

// Store is everything Latch keeps. Each method that changes more than one
// row is one transaction. Methods return *Error with Kind NotFound,
// Conflict (unique or compare-and-swap failure), Unavailable (the
// database cannot be reached or did not answer within the store's bound:
// CodeDatabaseUnavailable with a RetryAfter; or the caller went away:
// CodeCanceled) or Internal. Methods that take an *AuditEvent append it
// in the same transaction as the change, or not at all.
//
// It is split by the data it keeps, one interface per part (store_*.go),
// so that a consumer names only the part it uses (token.LoadKeys the
// keys, the mail worker the outbox).
type Store interface {
	UserStore
	CredentialStore
	SessionStore
	ClientStore
	TenantStore
	AuditStore
	OutboxStore
	LinkStore
	JobStore
	KeyStore
	AppStore
	FactorStore

	// Ping checks that the database answers, within the store's bound:
	// nil, or Unavailable. It is the readiness check of a replica.
	Ping(ctx context.Context) error

	Close() error
}
