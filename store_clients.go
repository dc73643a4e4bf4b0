package latch

import (
	"context"
	"time"
)

// ClientStore keeps the API clients and the grants (client tokens) they
// hold.
type ClientStore interface {
	// CreateClient stores a client; an unknown tenant is NotFound.
	CreateClient(ctx context.Context, c Client, audit *AuditEvent) error
	ClientByID(ctx context.Context, id string) (Client, error)
	// Clients lists a tenant's clients ("" for all), oldest first.
	Clients(ctx context.Context, tenantID string) ([]Client, error)
	// RevokeClient marks the client revoked; its tokens stop working.
	RevokeClient(ctx context.Context, id string, at time.Time, audit *AuditEvent) error
	CreateClientToken(ctx context.Context, t ClientToken) error
	// ClientTokenWithClient is the per-request check of a client token.
	ClientTokenWithClient(ctx context.Context, tokenID string) (ClientToken, Client, error)
	// RotateClientToken replaces the live grant whose refresh token hashes
	// to oldRefreshHash with next (at next.CreatedAt), for the same client,
	// and returns the grant now in force with its client. An unknown,
	// revoked or expired grant, or a revoked client, is NotFound.
	//
	// A grant already replaced is a reuse: every grant of its chain is
	// revoked (their access tokens stop at once) and the error is
	// Unauthenticated with code refresh_token_reused. Except within
	// reuseInterval (0: never) of its replacement, when next.RefreshHash is
	// exactly the refresh hash of the grant that replaced it and that grant
	// is live and not replaced itself: then that grant is returned and
	// nothing is written (see Store.RotateRefreshToken).
	RotateClientToken(ctx context.Context, oldRefreshHash []byte, next ClientToken, reuseInterval time.Duration) (ClientToken, Client, error)
}
