package latch

import (
	"context"
	"time"
)

// SessionStore keeps the users' sessions, their refresh-token chains and
// the one-time authorization codes that become sessions.
type SessionStore interface {
	// CreateSession stores a session and, if ns.RefreshHash is not nil,
	// the first refresh token of its chain; see NewSession for the
	// condition on the password.
	CreateSession(ctx context.Context, ns NewSession) error
	// SessionWithUser returns a session and its user in one read: this is
	// the per-request revocation check.
	SessionWithUser(ctx context.Context, sessionID string) (Session, User, error)
	// RotateRefreshToken marks the token with hash oldHash used and stores
	// newHash as its successor, returning the session. An unknown hash is
	// NotFound; a token of a session that ended is Unauthenticated
	// (invalid_token).
	//
	// If oldHash was already used, it is a reuse: the session is revoked
	// and the error is Unauthenticated with code refresh_token_reused.
	// Except within reuseInterval (0: never) of its use, when newHash is
	// exactly the successor its use stored and that successor is still
	// unused, the session live: the caller derives the successor from the
	// token, so this is the same client asking twice at once (two browser
	// tabs), and the answer is the session again, with nothing written.
	// A successor that was itself used, or another newHash, is a reuse.
	RotateRefreshToken(ctx context.Context, oldHash, newHash []byte, at time.Time, reuseInterval time.Duration) (Session, error)
	RevokeSession(ctx context.Context, sessionID string, at time.Time) error
	// PurgeSessions deletes at most limit sessions, with their refresh
	// tokens, that expired or were revoked before before, and returns how
	// many it deleted.
	PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error)
	// SessionsByUser lists a user's sessions that are live at now, newest
	// first.
	SessionsByUser(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// RevokeSessions revokes and returns the number revoked; a SessionID
	// that is not the user's is NotFound.
	RevokeSessions(ctx context.Context, r SessionRevocation) (int, error)
	// LatestSessionExpiry is the latest ExpiresAt among the sessions of
	// kinds that are live at now, or the zero time if there is none.
	LatestSessionExpiry(ctx context.Context, kinds []TokenKind, now time.Time) (time.Time, error)

	// CreateAuthorizationCode stores a one-time code.
	CreateAuthorizationCode(ctx context.Context, c AuthorizationCode) error
	// ConsumeAuthorizationCode marks the code with hash used and returns
	// it, at most once: an unknown, used or expired code is NotFound.
	ConsumeAuthorizationCode(ctx context.Context, hash []byte, at time.Time) (AuthorizationCode, error)
	// PurgeAuthorizationCodes deletes at most limit codes that expired
	// before before, and returns how many.
	PurgeAuthorizationCodes(ctx context.Context, before time.Time, limit int) (int, error)
}
