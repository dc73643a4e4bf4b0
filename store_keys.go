package latch

import (
	"context"
	"time"
)

// KeyStore keeps the keys that sign access tokens.
type KeyStore interface {
	// SigningKeys returns every signing key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	AddSigningKey(ctx context.Context, k SigningKey) error
	// RotateSigningKey makes k the key that signs from its activation
	// (k.ActivatesAt, or k.CreatedAt if nil), in one transaction: every key
	// of k's algorithm not rotated yet, or rotated only after k's
	// activation (a rotation announced earlier for later), gets RotatedAt
	// k's activation, and RetireAt retireAt unless it has one already; and
	// k is added. A duplicate id is a Conflict and nothing is written.
	RotateSigningKey(ctx context.Context, k SigningKey, retireAt time.Time) error
	// DeleteRetiredSigningKeys deletes the keys whose RetireAt is not after
	// now and returns how many.
	DeleteRetiredSigningKeys(ctx context.Context, now time.Time) (int, error)
}
