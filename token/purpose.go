package token

import (
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"
)

// Purpose tokens are signed, single-purpose JWTs that are not access
// tokens: an email-verification link (seed 003) carries one. Their "typ"
// is "latch-<purpose>+jwt", so Verify (at+jwt only) refuses them, and
// VerifyPurpose refuses access tokens and tokens of another purpose.

// PurposeClaims are the claims of a purpose token.
type PurposeClaims struct {
	Subject  string // the user id
	Purpose  string
	IssuedAt time.Time
	Expiry   time.Time
	ID       string
}

type purposeWire struct {
	jwt.Claims
	Purpose string `json:"purpose"`
}

func purposeType(purpose string) string { return "latch-" + purpose + "+jwt" }

// SignPurpose signs a token for purpose about subject, valid until expiry.
func (k *Keys) SignPurpose(purpose, subject string, issuedAt, expiry time.Time) (string, error) {
	ks := k.set.Load()
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(purposeType(purpose))).WithHeader(jose.HeaderKey("kid"), ks.signKID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.alg), Key: ks.signKey}, opts)
	if err != nil {
		return "", err
	}
	return jwt.Signed(signer).Claims(purposeWire{
		Claims: jwt.Claims{
			Issuer: k.issuer, Subject: subject, ID: uuid.NewString(),
			IssuedAt: jwt.NewNumericDate(issuedAt), Expiry: jwt.NewNumericDate(expiry),
		},
		Purpose: purpose,
	}).Serialize()
}

// VerifyPurpose checks a purpose token's signature, type, purpose, issuer
// and expiry. Every failure is the same Unauthenticated error.
func (k *Keys) VerifyPurpose(raw, purpose string) (PurposeClaims, error) {
	tok, err := jwt.ParseSigned(raw, acceptedAlgorithms)
	if err != nil {
		return PurposeClaims{}, errInvalidToken(err)
	}
	if len(tok.Headers) != 1 {
		return PurposeClaims{}, errInvalidToken(fmt.Errorf("want one signature"))
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != purposeType(purpose) {
		return PurposeClaims{}, errInvalidToken(fmt.Errorf("typ %q is not %s", typ, purposeType(purpose)))
	}
	pub, ok := k.set.Load().public[h.KeyID]
	if !ok && k.reload() {
		pub, ok = k.set.Load().public[h.KeyID]
	}
	if !ok || pub.Algorithm != h.Algorithm {
		return PurposeClaims{}, errInvalidToken(fmt.Errorf("unknown key %q", h.KeyID))
	}
	var w purposeWire
	if err := tok.Claims(pub.Key, &w); err != nil {
		return PurposeClaims{}, errInvalidToken(err)
	}
	now := k.now()
	if w.Expiry == nil || w.IssuedAt == nil || !now.Before(w.Expiry.Time()) || w.Purpose != purpose || w.Subject == "" {
		return PurposeClaims{}, errInvalidToken(fmt.Errorf("expired, or not for %s", purpose))
	}
	if err := w.Claims.ValidateWithLeeway(jwt.Expected{Issuer: k.issuer, Time: now}, issuedAtLeeway); err != nil {
		return PurposeClaims{}, errInvalidToken(err)
	}
	return PurposeClaims{Subject: w.Subject, Purpose: w.Purpose, IssuedAt: w.IssuedAt.Time().UTC(), Expiry: w.Expiry.Time().UTC(), ID: w.ID}, nil
}
