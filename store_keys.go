package latch

import "context"

// KeyStore keeps the keys that sign access tokens.
type KeyStore interface {
	// SigningKeys returns every signing key, oldest first.
	SigningKeys(ctx context.Context) ([]SigningKey, error)
	AddSigningKey(ctx context.Context, k SigningKey) error
}
