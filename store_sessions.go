package latch

import (
	"context"
	"time"
)

// SessionStore keeps the users' sessions, their refresh-token chains and
// the one-time authorization codes that become sessions.
type SessionStore interface {
	// CreateSession stores a session. If ns.RefreshHash is not nil it is
	// generation 0 of the session's refresh-token chain, kept on the
	// session row; if ns.Audit is not nil, the session row is that audit
	// event too (AuditEvents lists it; see NewSession.Audit). See
	// NewSession for the condition on the password.
	CreateSession(ctx context.Context, ns NewSession) error
	// SessionWithUser returns a session and its user in one read: this is
	// the per-request revocation check.
	SessionWithUser(ctx context.Context, sessionID string) (Session, User, error)
	// RotateRefreshToken replaces the session's current refresh token,
	// r.Hash of generation r.Generation, with r.NextHash (generation
	// r.Generation+1), returning the session: one conditional write of the
	// session row. An unknown session, a session without a chain, or a
	// token that is neither the current one nor proven older (below) is
	// NotFound; a token of a session that ended is Unauthenticated
	// (invalid_token).
	//
	// A token of generation current-1 presented again within
	// r.ReuseInterval (0: never) of its rotation, with r.NextHash exactly
	// the current hash, is the same client asking twice at once (two
	// browser tabs): the answer is the session again, with nothing
	// written. An older token that r.Descends proves genuine is a reuse:
	// the session is revoked and the error is Unauthenticated with code
	// refresh_token_reused.
	RotateRefreshToken(ctx context.Context, r RefreshRotation) (Session, error)
	// RefreshTokenHead returns the generation and stored hash of the
	// session's current refresh token (its chain's head), with nothing
	// written: whether a presented token is the live one can then be told
	// without using it up (introspection, revocation). Whether the session
	// is live is not its question (SessionWithUser's). An unknown session,
	// or one without a chain on its row, is NotFound.
	RefreshTokenHead(ctx context.Context, sessionID string) (generation int64, hash []byte, err error)
	// RotateLegacyRefreshToken is RotateRefreshToken for a token of a
	// session started before chains lived on the session row (one row per
	// token in a table of their own, hash hash): an unused token is marked
	// used and its successor, next(its session's id), becomes generation 1
	// of the session's chain. A used token is a reuse (the session is
	// revoked), except within reuseInterval of its use when it was used
	// into exactly that successor and the chain is still at generation 1:
	// then the answer is the session, with nothing written. New sessions
	// never have such tokens.
	RotateLegacyRefreshToken(ctx context.Context, hash []byte, next func(sessionID string) []byte, at time.Time, reuseInterval time.Duration) (Session, error)
	RevokeSession(ctx context.Context, sessionID string, at time.Time) error
	// RevokeSessionAndGrants revokes the session sessionID and, in the same
	// write, every live app grant made from it (the sessions whose
	// ParentSessionID it is), and returns how many grants it revoked:
	// signing a browser out ends what its sign-in gave the apps, with no
	// moment in which one is ended and the other not. An unknown session
	// is NotFound; one revoked already keeps its first time and still has
	// its grants revoked.
	RevokeSessionAndGrants(ctx context.Context, sessionID string, at time.Time) (int, error)
	// PurgeSessions deletes at most limit sessions, with their refresh
	// tokens, that expired or were revoked before before, and returns how
	// many it deleted. The audit event a session carries outlives it.
	PurgeSessions(ctx context.Context, before time.Time, limit int) (int, error)
	// SessionsByUser lists a user's sessions that are live at now, newest
	// first.
	SessionsByUser(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// RevokeSessions revokes and returns the number revoked; a SessionID
	// that is not the user's is NotFound. Revoking one session (SessionID)
	// also revokes the apps' grants made from it (their ParentSessionID),
	// counted in the number, even when the session had ended already.
	RevokeSessions(ctx context.Context, r SessionRevocation) (int, error)
	// LatestSessionExpiry is the latest ExpiresAt among the sessions of
	// kinds that are live at now, or the zero time if there is none.
	LatestSessionExpiry(ctx context.Context, kinds []TokenKind, now time.Time) (time.Time, error)

	// CreateAuthorizationCode stores a one-time code.
	CreateAuthorizationCode(ctx context.Context, c AuthorizationCode) error
	// ConsumeAuthorizationCode marks the code with hash used and returns
	// it, at most once: an unknown, used or expired code is NotFound.
	ConsumeAuthorizationCode(ctx context.Context, hash []byte, at time.Time) (AuthorizationCode, error)
	// RedeemAppCode redeems an app's authorization code (one with an
	// AppID) with hash at at, in one transaction. An unknown or expired
	// code is NotFound. A code already redeemed is a replay: it is marked
	// replayed, the grant session made from it (if any) is revoked, and
	// the answer is Conflict with code authorization_code_reused (RFC 6749
	// section 4.1.2: the authorization server SHOULD revoke the tokens
	// issued from a code used twice). Otherwise the code is marked used,
	// grant is stored (as CreateSession would) and recorded as the
	// code's grant session, and the code is returned.
	//
	// The caller checks the app, redirect URI and PKCE verifier against
	// the returned code only afterwards, so a failed check has still spent
	// the code: a code is single use whatever the outcome (RFC 6749
	// section 4.1.2), and an attacker who guessed wrong may not try again.
	// The caller then revokes grant.
	RedeemAppCode(ctx context.Context, hash []byte, at time.Time, grant NewSession) (AuthorizationCode, error)
	// AppCodeByHash returns the app's code (one with an AppID) with hash,
	// whatever its state (unused, used or expired), with nothing written:
	// the caller of RedeemAppCode builds the grant from it (its user, app,
	// scopes and sign-in), and RedeemAppCode then decides. An unknown hash,
	// or a code of Latch's own provider sign-in, is NotFound.
	AppCodeByHash(ctx context.Context, hash []byte) (AuthorizationCode, error)
	// PurgeAuthorizationCodes deletes at most limit codes that expired
	// before before, and returns how many.
	PurgeAuthorizationCodes(ctx context.Context, before time.Time, limit int) (int, error)
}

// RefreshRotation is what RotateRefreshToken is asked to do.
type RefreshRotation struct {
	SessionID  string
	Generation int64  // the presented token's
	Hash       []byte // the presented token's stored form
	NextHash   []byte // its successor's, generation Generation+1
	At         time.Time
	// ReuseInterval: see RotateRefreshToken (0: never).
	ReuseInterval time.Duration
	// Descends reports whether the session's current token (generation
	// current, stored hash currentHash) follows the presented token in its
	// chain: proof that the presented token was genuine and is being
	// reused, not forged with a known session id. The store calls it only
	// for a presented generation older than current; nil proves nothing.
	// It is the caller's because the derivation needs key material the
	// store does not hold.
	Descends func(current int64, currentHash []byte) bool
}
