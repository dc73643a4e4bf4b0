package account

// Refresh: a refresh token for a new pair, with rotation and reuse
// detection (the store's RotateRefreshToken keeps the chain).

import (
	"context"

	"github.com/latchid/latch"
	"github.com/latchid/latch/token"
)

// Refresh exchanges a refresh token for a new pair. The presented token is
// used up; presenting it again revokes the whole session, except within
// RefreshReuseInterval of its use, which answers the same refresh token
// as the first time (and a fresh access token): two browser tabs that
// refresh one session at once both stay signed in.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (_ TokenPair, err error) {
	defer func() { s.cfg.Observer.Refresh(result(err)) }()
	invalid := &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid or expired refresh token"}
	if !token.LooksOpaque(refreshToken, refreshPrefix) {
		return TokenPair{}, invalid
	}
	// The successor is derived from the token, not drawn at random: a
	// second presentation recomputes it, and the store recognises it.
	next, nextHash := s.keys.Successor(refreshPrefix, refreshToken)
	now := s.now()
	sess, err := s.store.RotateRefreshToken(ctx, token.HashOpaque(refreshToken), nextHash, now, s.cfg.RefreshReuseInterval)
	if err != nil {
		switch {
		case latch.IsCode(err, latch.CodeRefreshTokenReused):
			// The store revoked the session without saying whose it
			// was: forgetting every cached session is coarse, but reuse
			// is rare and each costs its author a session.
			s.sessions.forgetAll()
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
