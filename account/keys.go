package account

import (
	"context"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/token"
)

// KeyRotation is what RotateSigningKey did.
type KeyRotation struct {
	Key      latch.SigningKey // the key that signs from now on, without its private part
	RetireAt time.Time        // when the keys it replaced stop verifying
}

// RotateSigningKey makes a new key the one that signs (the operator's
// `latch keys rotate`). The keys it replaces keep verifying, and stay in
// the JWKS, until every token they may have signed has expired: the
// longest of an access token's life, a verification link's, and the
// latest end of a live personal or project token (whose one access token
// lives as long as its session), plus token.RefreshInterval, for the
// replicas that sign with the old key until they read the keys again.
// Values sealed with the old keys (cookies, queued mail) open until then
// too. After it, the janitor (PurgeEndedSessions) deletes them.
func (s *Service) RotateSigningKey(ctx context.Context, a Admin) (KeyRotation, error) {
	if a.Client != nil {
		return KeyRotation{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "only the operator rotates signing keys"}
	}
	now := s.now()
	retire := now.Add(max(s.cfg.AccessTokenTTL, s.cfg.LinkTTL))
	latest, err := s.store.LatestSessionExpiry(ctx, []latch.TokenKind{latch.KindPersonal, latch.KindProject}, now)
	if err != nil {
		return KeyRotation{}, err
	}
	if latest.After(retire) {
		retire = latest
	}
	retire = retire.Add(token.RefreshInterval)
	k, err := s.keys.Rotate(ctx, retire)
	if err != nil {
		return KeyRotation{}, latch.AsError(err)
	}
	return KeyRotation{Key: k, RetireAt: retire}, nil
}

// SigningKeys describes the stored signing keys, oldest first, never their
// private parts.
func (s *Service) SigningKeys(ctx context.Context, a Admin) ([]token.KeyInfo, error) {
	if a.Client != nil {
		return nil, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "only the operator lists signing keys"}
	}
	keys, err := s.keys.List(ctx)
	if err != nil {
		return nil, latch.AsError(err)
	}
	return keys, nil
}
