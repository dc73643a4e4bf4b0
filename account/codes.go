package account

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/token"
)

// codePrefix marks Latch's one-time authorization codes.
const codePrefix = "lac_"

// CodeTTL is how long a one-time code may wait to be redeemed: long enough
// for a redirect and one request, too short to be worth stealing.
const CodeTTL = time.Minute

// IssueAuthorizationCode makes a one-time code for user that the app at
// redirectURI redeems with the PKCE verifier behind codeChallenge (S256).
// verifiedHash is the password hash a password sign-in checked ("" for a
// provider sign-in): the code then only works while it is current.
// redirectURI is the exact redirect_to the app sent (already allowed by
// AllowedRedirect): redemption must name the same string.
func (s *Service) IssueAuthorizationCode(ctx context.Context, user latch.User, codeChallenge, redirectURI, verifiedHash string) (string, error) {
	if err := CheckCodeChallenge(codeChallenge, "S256"); err != nil {
		return "", err
	}
	if redirectURI == "" {
		return "", latch.FieldError("redirect_to", latch.CodeInvalidRequest, "a code is bound to the address it is sent to")
	}
	code, hash := token.NewOpaque(codePrefix)
	now := s.now()
	err := s.store.CreateAuthorizationCode(ctx, latch.AuthorizationCode{
		Hash: hash, UserID: user.ID, CodeChallenge: codeChallenge, RedirectURI: redirectURI, PasswordHash: verifiedHash,
		CreatedAt: now, ExpiresAt: now.Add(CodeTTL),
	})
	return code, err
}

// CheckCodeChallenge accepts only an S256 PKCE challenge (RFC 7636): the
// base64url SHA-256 of the app's verifier. method "" means S256.
func CheckCodeChallenge(challenge, method string) error {
	if method != "" && method != "S256" {
		return latch.FieldError("code_challenge_method", latch.CodeInvalidRequest, "only S256 is supported")
	}
	if b, err := base64.RawURLEncoding.DecodeString(challenge); err != nil || len(b) != sha256.Size {
		return latch.FieldError("code_challenge", latch.CodeInvalidRequest, "code_challenge must be the S256 challenge of a PKCE verifier")
	}
	return nil
}

// RedeemAuthorizationCode trades a one-time code and its PKCE verifier for
// a token pair (RFC 6749 §4.1.3 with RFC 7636). redirectURI is required
// and must be exactly the address the code was sent to: a code read from
// a log, a Referer or another path of the app's host is then worthless to
// whoever did not start the sign-in. An unknown, used or expired code, a
// wrong verifier and a different redirect URI all give the same error.
func (s *Service) RedeemAuthorizationCode(ctx context.Context, code, verifier, redirectURI string) (TokenPair, error) {
	if redirectURI == "" {
		// A malformed request, refused before the code is spent.
		return TokenPair{}, latch.FieldError("redirect_uri", latch.CodeInvalidRequest, "redirect_uri is required: the address the code was sent to")
	}
	invalid := &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid, used or expired code"}
	if !token.LooksOpaque(code, codePrefix) || verifier == "" {
		return TokenPair{}, invalid
	}
	c, err := s.store.ConsumeAuthorizationCode(ctx, token.HashOpaque(code), s.now())
	if latch.IsKind(err, latch.KindNotFound) {
		return TokenPair{}, invalid
	}
	if err != nil {
		return TokenPair{}, err
	}
	if subtle.ConstantTimeCompare([]byte(token.S256(verifier)), []byte(c.CodeChallenge)) != 1 ||
		subtle.ConstantTimeCompare([]byte(redirectURI), []byte(c.RedirectURI)) != 1 {
		return TokenPair{}, invalid
	}
	user, err := s.store.UserByID(ctx, c.UserID)
	if err != nil {
		return TokenPair{}, err
	}
	if !user.Active {
		return TokenPair{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeAccountInactive, Message: "this account is deactivated"}
	}
	ev := s.userEvent(ctx, user, latch.AuditLoginSuccess)
	ev.Details = map[string]string{"method": "provider", "via": "authorization_code"}
	if c.PasswordHash == "" {
		// A provider sign-in: no way around change_at_next_login (a
		// password sign-in was refused it before its code was issued).
		return s.startProviderSession(ctx, user, &ev)
	}
	ev.Details["method"] = "password"
	pair, done, err := s.factorStep(ctx, user, []string{AMRPassword}, c.PasswordHash, &ev)
	if !done {
		pair, err = s.startSession(ctx, user, latch.KindSession, latch.SessionScopes(), s.cfg.SessionTTL, true, c.PasswordHash, []string{AMRPassword}, &ev)
	}
	if latch.IsCode(err, latch.CodeConcurrentUpdate) {
		return TokenPair{}, invalid
	}
	return pair, err
}
