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

// RotateSigningKey makes a new key of alg the one that signs (the
// operator's `latch keys rotate [--alg]`); alg is the native algorithm
// (LATCH_SIGNING_ALG, also when "") or the OpenID one
// (LATCH_OIDC_SIGNING_ALG). The keys it replaces keep verifying, and stay
// in the JWKS, until every token they may have signed has expired, plus
// token.RefreshInterval, for the replicas that sign with the old key until
// they read the keys again. For the native family that is the longest of
// an access token's life, a verification link's, and the latest end of a
// live personal or project token (whose one access token lives as long as
// its session); values sealed with the old keys (cookies, queued mail)
// open until then too. For the OpenID family (ID tokens and apps' access
// tokens, which live AccessTokenTTL) it is an access token's life: a long
// personal token must not keep a replaced RSA key published. After it, the
// janitor (PurgeEndedSessions) deletes them.
func (s *Service) RotateSigningKey(ctx context.Context, a Admin, alg string) (KeyRotation, error) {
	if a.Client != nil {
		return KeyRotation{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "only the operator rotates signing keys"}
	}
	if alg == "" {
		alg = s.keys.Algorithm()
	}
	now := s.now()
	retire := now.Add(s.cfg.AccessTokenTTL)
	if alg == s.keys.Algorithm() {
		retire = now.Add(max(s.cfg.AccessTokenTTL, s.cfg.LinkTTL))
		latest, err := s.store.LatestSessionExpiry(ctx, []latch.TokenKind{latch.KindPersonal, latch.KindProject}, now)
		if err != nil {
			return KeyRotation{}, err
		}
		if latest.After(retire) {
			retire = latest
		}
	}
	retire = retire.Add(token.RefreshInterval)
	k, err := s.keys.Rotate(ctx, alg, retire)
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
