package account

import (
	"context"
	"fmt"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/token"
)

// KeyRotation is what RotateSigningKey did.
type KeyRotation struct {
	Key         latch.SigningKey // the new key, without its private part
	ActivatesAt time.Time        // when it starts to sign
	RetireAt    time.Time        // when the keys it replaced stop verifying
}

// MinKeyAnnouncement is the shortest announcement of a rotation: a relying
// party may cache the JWKS for its max-age (300 s, api/native), after the
// last replica has read the new key (token.RefreshInterval). Shorter than
// that, a relying party could meet a kid it does not know yet; a rotation
// at once (announce 0) is still allowed, for a key that must stop signing
// now.
const MinKeyAnnouncement = 5*time.Minute + token.RefreshInterval

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
//
// With announce > 0 the new key is published at once and signs only from
// now + announce (at least MinKeyAnnouncement), so relying parties that
// cache the JWKS know it before they meet it; the old keys sign until
// then, and their retire time counts from then.
func (s *Service) RotateSigningKey(ctx context.Context, a Admin, alg string, announce time.Duration) (KeyRotation, error) {
	if a.Client != nil {
		return KeyRotation{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "only the operator rotates signing keys"}
	}
	if announce != 0 && announce < MinKeyAnnouncement {
		return KeyRotation{}, &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Field: "announce",
			Message: fmt.Sprintf("announce a rotation at least %v ahead (the JWKS cache time plus a key reload), or 0 to rotate at once", MinKeyAnnouncement)}
	}
	if alg == "" {
		alg = s.keys.Algorithm()
	}
	activates := s.now().Add(announce)
	retire := activates.Add(s.cfg.AccessTokenTTL)
	if alg == s.keys.Algorithm() {
		retire = activates.Add(max(s.cfg.AccessTokenTTL, s.cfg.LinkTTL))
		latest, err := s.store.LatestSessionExpiry(ctx, []latch.TokenKind{latch.KindPersonal, latch.KindProject}, s.now())
		if err != nil {
			return KeyRotation{}, err
		}
		if latest.After(retire) {
			retire = latest
		}
	}
	retire = retire.Add(token.RefreshInterval)
	k, err := s.keys.Rotate(ctx, alg, activates, retire)
	if err != nil {
		return KeyRotation{}, latch.AsError(err)
	}
	return KeyRotation{Key: k, ActivatesAt: activates, RetireAt: retire}, nil
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
