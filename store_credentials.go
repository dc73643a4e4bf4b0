package latch

import (
	"context"
	"time"
)

// CredentialStore keeps the users' passwords and their history.
type CredentialStore interface {
	// Credential returns the user's password, or NotFound.
	Credential(ctx context.Context, userID string) (Credential, error)
	// CredentialHashExists reports whether any stored password hash is
	// LIKE like (SQL's pattern: % any run, _ one character) and, when
	// notLike is not empty, NOT LIKE notLike. It may read the whole table:
	// for start-up, not for requests.
	CredentialHashExists(ctx context.Context, like, notLike string) (bool, error)
	// ChangePassword applies pc atomically; Conflict if the stored
	// credential is no longer pc.PreviousHash.
	ChangePassword(ctx context.Context, pc PasswordChange) error
	// ReplacePasswordHash swaps oldHash for newHash (a rehash of the same
	// password with stronger parameters) without touching sessions or the
	// password history; Conflict if the stored hash changed meanwhile.
	// oldHash is remembered until the password is next changed, as the
	// same password for NewSession.WhilePasswordHash.
	ReplacePasswordHash(ctx context.Context, userID, oldHash, newHash string, at time.Time) error
	// PasswordHistory returns the user's last limit password hashes,
	// newest first (the current one included).
	PasswordHistory(ctx context.Context, userID string, limit int) ([]string, error)
}
