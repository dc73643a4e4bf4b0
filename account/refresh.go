package account

// Refresh: a refresh token for a new pair, with rotation and reuse
// detection (the store's RotateRefreshToken keeps the chain).

import (
	"context"

	"github.com/latchid/latch"
	"github.com/latchid/latch/token"
)

// maxRefreshDerivation bounds the successors Refresh derives to prove that
// an old refresh token is genuine (token.Keys.ChainDescends): a session
// that refreshes every few minutes for months stays well below it, and a
// made-up token costs at most this many HMACs (tens of milliseconds).
const maxRefreshDerivation = 100000

// Refresh exchanges a refresh token for a new pair. The presented token is
// used up; presenting it again revokes the whole session, except within
// RefreshReuseInterval of its use, which answers the same refresh token
// as the first time (and a fresh access token): two browser tabs that
// refresh one session at once both stay signed in.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (_ TokenPair, err error) {
	defer func() { s.cfg.Observer.Refresh(result(err)) }()
	invalid := &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid or expired refresh token"}
	now := s.now()
	var next string
	var sess latch.Session
	var chainSession string // the session a new-format token names
	// The successor is derived from the token, not drawn at random: a
	// second presentation recomputes it, and the store recognises it.
	if sessionID, generation, ok := token.ParseChained(refreshToken, refreshPrefix); ok {
		chainSession = sessionID
		var nextHash []byte
		next, nextHash = s.keys.ChainSuccessor(refreshPrefix, refreshToken, sessionID, generation+1)
		sess, err = s.store.RotateRefreshToken(ctx, latch.RefreshRotation{
			SessionID: sessionID, Generation: generation, Hash: token.HashOpaque(refreshToken), NextHash: nextHash,
			At: now, ReuseInterval: s.cfg.RefreshReuseInterval,
			// An older token is a reuse only if it is genuine: its
			// successors lead to the current one. A session id is no
			// secret (access tokens carry it), so a token made up with one
			// must not revoke the session.
			Descends: func(current int64, currentHash []byte) bool {
				return s.keys.ChainDescends(refreshPrefix, refreshToken, sessionID, generation, current, currentHash, maxRefreshDerivation)
			},
		})
	} else if token.LooksOpaque(refreshToken, refreshPrefix) {
		// A token of a session begun before chains lived on the session
		// row: its successor is generation 1 of the session's chain.
		sess, err = s.store.RotateLegacyRefreshToken(ctx, token.HashOpaque(refreshToken), func(sessionID string) []byte {
			var nextHash []byte
			next, nextHash = s.keys.ChainSuccessor(refreshPrefix, refreshToken, sessionID, 1)
			return nextHash
		}, now, s.cfg.RefreshReuseInterval)
	} else {
		return TokenPair{}, invalid
	}
	if err != nil {
		switch {
		case latch.IsCode(err, latch.CodeRefreshTokenReused):
			// The store revoked the session the token names. A token of
			// the old format does not name it: then every cached session
			// goes (coarse, but such reuse is rare and ends with the old
			// tokens).
			if chainSession != "" {
				s.sessions.forgetSession(chainSession)
			} else {
				s.sessions.forgetAll()
			}
			s.log.WarnContext(ctx, "refresh token reused: its session is revoked")
			s.cfg.Observer.SessionsRevoked(RevokedRefreshReuse, 1)
			return TokenPair{}, err
		case latch.IsKind(err, latch.KindNotFound), latch.IsKind(err, latch.KindUnauthenticated):
			return TokenPair{}, invalid
		}
		return TokenPair{}, err
	}
	_, user, err := s.store.SessionWithUser(ctx, sess.ID)
	if err != nil {
		return TokenPair{}, err
	}
	if !user.Active {
		return TokenPair{}, invalid
	}
	pair, err := s.signAccess(sess, now, true)
	if err != nil {
		return TokenPair{}, err
	}
	pair.RefreshToken = next
	return pair, nil
}
