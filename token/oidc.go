package token

import (
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// What Latch signs as an OpenID Provider: ID tokens (OpenID Connect Core
// §2) and apps' access tokens in the JWT profile of RFC 9068. They are
// kept apart from Latch's own access tokens both ways: an app's token has
// no "kind" (native Verify requires one) and, with the default RS256, an
// algorithm native Verify refuses; a native token has "kind" and neither
// "aud" nor "client_id", which VerifyAppAccess refuses.

// idTokenType is the "typ" header of ID tokens: "JWT", as relying parties
// that check it expect (RFC 7519 §5.1), and unlike access tokens' at+jwt,
// so that neither passes for the other.
const idTokenType = "JWT"

// oidcAlgorithms are the "alg" values an OpenID token may carry.
var oidcAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// oidcSigners are the OpenID family's signing key, with one signer per
// token type.
type oidcSigners struct {
	kid     string
	alg     string
	idToken jose.Signer // typ JWT
	access  jose.Signer // typ at+jwt
}

func newOIDCSigners(kid, alg string, priv crypto.Signer) (*oidcSigners, error) {
	key := jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: priv}
	withType := func(typ string) *jose.SignerOptions {
		return (&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader(jose.HeaderKey("kid"), kid)
	}
	idToken, err := jose.NewSigner(key, withType(idTokenType))
	if err != nil {
		return nil, err
	}
	access, err := jose.NewSigner(key, withType(accessTokenType))
	if err != nil {
		return nil, err
	}
	return &oidcSigners{kid: kid, alg: alg, idToken: idToken, access: access}, nil
}

// Algorithm is the native family's algorithm (Latch's own access tokens).
func (k *Keys) Algorithm() string { return k.alg }

// OIDCAlgorithm is the algorithm of ID tokens and apps' access tokens, for
// ClaimHash and discovery's id_token_signing_alg_values_supported.
func (k *Keys) OIDCAlgorithm() string { return k.oidcAlg }

// IDClaims are the claims of an ID token (OpenID Connect Core §2, §5.1).
// Zero optional values are left out of the token.
type IDClaims struct {
	Issuer   string // filled in by SignIDToken; set by VerifyIDTokenHint
	Subject  string // the user id
	ClientID string // the one audience, and azp
	IssuedAt time.Time
	Expiry   time.Time
	AuthTime time.Time // when the user last authenticated
	Nonce    string    // echoed from the authorization request; "" on refresh (§12.2)
	// AccessTokenHash is at_hash: ClaimHash of the access token issued
	// with it.
	AccessTokenHash string
	AMR             []string // "pwd", "fed"
	ACR             string

	// By scope (§5.4): email, profile.
	Email         string
	EmailVerified *bool
	Name          string
	GivenName     string
	FamilyName    string
	Picture       string
	UpdatedAt     *time.Time
}

// idWireClaims is the JSON of an ID token. "aud" is always an array, even
// of one, as Core §2 allows and some relying parties insist on.
type idWireClaims struct {
	Issuer          string   `json:"iss"`
	Subject         string   `json:"sub"`
	Audience        []string `json:"aud"`
	AuthorizedParty string   `json:"azp,omitempty"`
	Expiry          int64    `json:"exp"`
	IssuedAt        int64    `json:"iat"`
	AuthTime        int64    `json:"auth_time,omitempty"`
	Nonce           string   `json:"nonce,omitempty"`
	AccessTokenHash string   `json:"at_hash,omitempty"`
	AMR             []string `json:"amr,omitempty"`
	ACR             string   `json:"acr,omitempty"`
	Email           string   `json:"email,omitempty"`
	EmailVerified   *bool    `json:"email_verified,omitempty"`
	Name            string   `json:"name,omitempty"`
	GivenName       string   `json:"given_name,omitempty"`
	FamilyName      string   `json:"family_name,omitempty"`
	Picture         string   `json:"picture,omitempty"`
	UpdatedAt       int64    `json:"updated_at,omitempty"`
}

// errNoOIDCFamily is what OpenID calls give on a Keys without an OpenID
// key family (only this package's tests build one).
var errNoOIDCFamily = fmt.Errorf("token: no OpenID signing key")

// SignIDToken returns the signed ID token for c; Issuer is filled in.
func (k *Keys) SignIDToken(c IDClaims) (string, error) {
	signers := k.signingSet().oidc
	if signers == nil {
		return "", errNoOIDCFamily
	}
	if c.Subject == "" || c.ClientID == "" || c.IssuedAt.IsZero() || c.Expiry.IsZero() {
		return "", fmt.Errorf("token: an ID token needs sub, a client, iat and exp")
	}
	w := idWireClaims{
		Issuer:          k.issuer,
		Subject:         c.Subject,
		Audience:        []string{c.ClientID},
		AuthorizedParty: c.ClientID,
		Expiry:          c.Expiry.Unix(),
		IssuedAt:        c.IssuedAt.Unix(),
		AuthTime:        unixOrZero(c.AuthTime),
		Nonce:           c.Nonce,
		AccessTokenHash: c.AccessTokenHash,
		AMR:             c.AMR,
		ACR:             c.ACR,
		Email:           c.Email,
		EmailVerified:   c.EmailVerified,
		Name:            c.Name,
		GivenName:       c.GivenName,
		FamilyName:      c.FamilyName,
		Picture:         c.Picture,
	}
	if c.UpdatedAt != nil {
		w.UpdatedAt = c.UpdatedAt.Unix()
	}
	return jwt.Signed(signers.idToken).Claims(w).Serialize()
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// AppAccessClaims are the claims of an app's access token, in the JWT
// profile of RFC 9068 (§2.2).
type AppAccessClaims struct {
	Issuer   string // filled in by SignAppAccess
	Subject  string // the user id; the client id for client_credentials
	Audience []string
	ClientID string
	Scopes   []string
	IssuedAt time.Time
	Expiry   time.Time
	ID       string    // jti; filled in by SignAppAccess
	AuthTime time.Time // zero for client_credentials (no user authenticated)
	// GrantID is the grant (a session row of the app) the token belongs
	// to, as "sid": revoking the grant revokes the token. "" for
	// client_credentials, which have no grant row.
	GrantID string
}

// HasScope reports whether the token carries scope.
func (c AppAccessClaims) HasScope(scope string) bool { return slices.Contains(c.Scopes, scope) }

// appAccessWireClaims is the JSON of an app's access token. Kind is only
// read: a token that has one is Latch's own and is refused.
type appAccessWireClaims struct {
	Issuer   string          `json:"iss"`
	Subject  string          `json:"sub"`
	Audience jwt.Audience    `json:"aud"`
	ClientID string          `json:"client_id"`
	Scope    string          `json:"scope,omitempty"`
	IssuedAt int64           `json:"iat"`
	Expiry   int64           `json:"exp"`
	ID       string          `json:"jti"`
	AuthTime int64           `json:"auth_time,omitempty"`
	GrantID  string          `json:"sid,omitempty"`
	Kind     json.RawMessage `json:"kind,omitempty"`
}

// SignAppAccess returns a signed access token for an app (typ at+jwt, no
// "kind"); Issuer and ID are filled in.
func (k *Keys) SignAppAccess(c AppAccessClaims) (string, error) {
	signers := k.signingSet().oidc
	if signers == nil {
		return "", errNoOIDCFamily
	}
	if c.Subject == "" || c.ClientID == "" || len(c.Audience) == 0 || c.IssuedAt.IsZero() || c.Expiry.IsZero() {
		return "", fmt.Errorf("token: an app's access token needs sub, client_id, aud, iat and exp")
	}
	w := appAccessWireClaims{
		Issuer:   k.issuer,
		Subject:  c.Subject,
		Audience: jwt.Audience(c.Audience),
		ClientID: c.ClientID,
		Scope:    strings.Join(c.Scopes, " "),
		IssuedAt: c.IssuedAt.Unix(),
		Expiry:   c.Expiry.Unix(),
		ID:       uuid.NewString(),
		AuthTime: unixOrZero(c.AuthTime),
		GrantID:  c.GrantID,
	}
	return jwt.Signed(signers.access).Claims(w).Serialize()
}

// ClaimHash is at_hash (and c_hash) of token for an ID token signed with
// alg (OpenID Connect Core §3.1.3.6): the left half of the hash that alg
// uses, base64url without padding. EdDSA with Ed25519 hashes with SHA-512
// (Core errata).
func ClaimHash(token, alg string) (string, error) {
	var h hash.Hash
	switch alg {
	case RS256, ES256:
		h = sha256.New()
	case EdDSA:
		h = sha512.New()
	default:
		return "", fmt.Errorf("token: no claim hash for %q", alg)
	}
	h.Write([]byte(token))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}

// parseOIDC parses raw as a token of the OpenID family with header typ
// one of types, and returns it with the public key that must verify it: a
// key in the store (read again for an unknown kid, as Verify does) that is
// not retired, of the header's algorithm.
func (k *Keys) parseOIDC(raw string, types ...string) (*jwt.JSONWebToken, jose.JSONWebKey, error) {
	tok, err := jwt.ParseSigned(raw, oidcAlgorithms)
	if err != nil {
		return nil, jose.JSONWebKey{}, err
	}
	if len(tok.Headers) != 1 {
		return nil, jose.JSONWebKey{}, fmt.Errorf("want one signature")
	}
	h := tok.Headers[0]
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); !slices.Contains(types, typ) {
		return nil, jose.JSONWebKey{}, fmt.Errorf("typ %q is not one of %q", typ, types)
	}
	pub, ok := k.set.Load().public[h.KeyID]
	if !ok && k.reload() {
		pub, ok = k.set.Load().public[h.KeyID]
	}
	if !ok || pub.Algorithm != h.Algorithm {
		return nil, jose.JSONWebKey{}, fmt.Errorf("unknown key %q for %s", h.KeyID, h.Algorithm)
	}
	if retire, ok := k.set.Load().retireAt[h.KeyID]; ok && !k.now().Before(retire) {
		return nil, jose.JSONWebKey{}, fmt.Errorf("key %q retired at %s", h.KeyID, retire.Format(time.RFC3339))
	}
	return tok, pub, nil
}

// VerifyAppAccess checks an app's access token as RFC 9068 §4 asks of a
// resource server (typ, signature, issuer, expiry, audience) and returns
// its claims. audience is the audience this resource server answers to.
// Latch's own access tokens are refused: they carry "kind" and no
// client_id. Whether the grant is still live is the caller's check.
func (k *Keys) VerifyAppAccess(raw, audience string) (AppAccessClaims, error) {
	now := k.now()
	// RFC 9068 §4: "at+jwt" or its full media type.
	tok, pub, err := k.parseOIDC(raw, accessTokenType, "application/"+accessTokenType)
	if err != nil {
		return AppAccessClaims{}, errInvalidToken(err)
	}
	var w appAccessWireClaims
	if err := tok.Claims(pub.Key, &w); err != nil {
		return AppAccessClaims{}, errInvalidToken(err)
	}
	switch {
	case w.Kind != nil:
		return AppAccessClaims{}, errInvalidToken(fmt.Errorf("a Latch access token (kind) is not an app's"))
	case w.Issuer != k.issuer:
		return AppAccessClaims{}, errInvalidToken(fmt.Errorf("issuer %q is not this service's %q", w.Issuer, k.issuer))
	case w.Expiry == 0 || w.IssuedAt == 0:
		return AppAccessClaims{}, errInvalidToken(fmt.Errorf("without exp or iat"))
	case !now.Before(time.Unix(w.Expiry, 0)):
		return AppAccessClaims{}, errInvalidToken(fmt.Errorf("expired at %s", time.Unix(w.Expiry, 0).UTC().Format(time.RFC3339)))
	case time.Unix(w.IssuedAt, 0).After(now.Add(issuedAtLeeway)):
		return AppAccessClaims{}, errInvalidToken(fmt.Errorf("issued in the future"))
	case w.Subject == "" || w.ClientID == "" || w.ID == "":
		return AppAccessClaims{}, errInvalidToken(fmt.Errorf("missing claims"))
	case !slices.Contains(w.Audience, audience):
		return AppAccessClaims{}, errInvalidToken(fmt.Errorf("audience %q is not %q", w.Audience, audience))
	}
	c := AppAccessClaims{
		Issuer:   w.Issuer,
		Subject:  w.Subject,
		Audience: []string(w.Audience),
		ClientID: w.ClientID,
		Scopes:   strings.Fields(w.Scope),
		IssuedAt: time.Unix(w.IssuedAt, 0).UTC(),
		Expiry:   time.Unix(w.Expiry, 0).UTC(),
		ID:       w.ID,
		GrantID:  w.GrantID,
	}
	if w.AuthTime != 0 {
		c.AuthTime = time.Unix(w.AuthTime, 0).UTC()
	}
	return c, nil
}

// errInvalidIDToken is every failure of VerifyIDTokenHint, alike.
func errInvalidIDToken(cause error) error {
	return &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidToken, Field: "id_token_hint", Message: "invalid ID token hint", Err: cause}
}

// VerifyIDTokenHint checks an ID token a relying party sends back as
// id_token_hint (RP-initiated logout): Latch signed it, for this issuer,
// with a key that is not retired. Its expiry is not checked: a user often
// logs out after the ID token has expired (RP-Initiated Logout §2), and
// the hint only names who and which app; it grants nothing.
func (k *Keys) VerifyIDTokenHint(raw string) (IDClaims, error) {
	tok, pub, err := k.parseOIDC(raw, idTokenType)
	if err != nil {
		return IDClaims{}, errInvalidIDToken(err)
	}
	var w idWireClaims
	if err := tok.Claims(pub.Key, &w); err != nil {
		return IDClaims{}, errInvalidIDToken(err)
	}
	switch {
	case w.Issuer != k.issuer:
		return IDClaims{}, errInvalidIDToken(fmt.Errorf("issuer %q is not this service's %q", w.Issuer, k.issuer))
	case w.Subject == "" || len(w.Audience) != 1 || w.Audience[0] == "":
		return IDClaims{}, errInvalidIDToken(fmt.Errorf("missing claims"))
	}
	c := IDClaims{
		Issuer:          w.Issuer,
		Subject:         w.Subject,
		ClientID:        w.Audience[0],
		IssuedAt:        time.Unix(w.IssuedAt, 0).UTC(),
		Expiry:          time.Unix(w.Expiry, 0).UTC(),
		Nonce:           w.Nonce,
		AccessTokenHash: w.AccessTokenHash,
		AMR:             w.AMR,
		ACR:             w.ACR,
	}
	if w.AuthTime != 0 {
		c.AuthTime = time.Unix(w.AuthTime, 0).UTC()
	}
	return c, nil
}
