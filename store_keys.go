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
	// RotateSigningKey makes k the key that signs, in one transaction:
	// every key of k's algorithm not rotated yet gets RotatedAt
	// k.CreatedAt and RetireAt retireAt, and k is added. A duplicate id is
	// a Conflict and nothing is written.
	RotateSigningKey(ctx context.Context, k SigningKey, retireAt time.Time) error
	// DeleteRetiredSigningKeys deletes the keys whose RetireAt is not after
	// now and returns how many.
	DeleteRetiredSigningKeys(ctx context.Context, now time.Time) (int, error)
}
