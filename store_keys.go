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

	// DataKeys returns every data key, oldest first (created_at, then id).
	DataKeys(ctx context.Context) ([]DataKey, error)
	// AddDataKey stores k; a taken id is Conflict (CodeAlreadyExists) and
	// nothing is written. Data keys are never rotated or deleted here.
	AddDataKey(ctx context.Context, k DataKey) error
}

// DataKey seals long-lived secrets (TOTP secrets) and keys the hashes of
// recovery codes (token.Keys.SealData, DataMAC). It is not a signing key:
// it is never published, rotated or retired with them, so what it sealed
// outlives every signing key.
type DataKey struct {
	ID        string
	Key       []byte // 32 bytes, or wrapped with the key encryption key
	CreatedAt time.Time
}
