// Package token signs and verifies Latch's JWT access tokens, keeps the
// signing keys (in the store), publishes them as a JWKS, and makes the opaque
// random tokens (refresh tokens, links) that are stored only as hashes.
package token

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// Algorithms Latch signs with. ES256 and EdDSA sign Latch's own access
// tokens; RS256 (or ES256) signs what Latch issues as an OpenID Provider.
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
	RS256 = "RS256"
)

// rsaKeyBits is the size of RS256 keys: the minimum RFC 7518 §3.3 allows,
// and what relying parties expect; larger keys only cost signing time.
const rsaKeyBits = 2048

// Claims are the claims of a Latch access token.
type Claims struct {
	Issuer    string
	Subject   string // the user id
	SessionID string
	Kind      latch.TokenKind
	Scopes    []string
	IssuedAt  time.Time
	Expiry    time.Time
	ID        string // jti
}

// HasScope reports whether the token carries scope.
func (c Claims) HasScope(scope string) bool {
	for _, s := range c.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

type wireClaims struct {
	jwt.Claims
	SessionID string `json:"sid"`
	Kind      string `json:"kind"`
	Scope     string `json:"scope,omitempty"`
}

// accessTokenType is the "typ" header of Latch access tokens (RFC 9068).
const accessTokenType = "at+jwt"

// acceptedAlgorithms are the only "alg" values a token may carry; "none" and
// HMAC are refused by the parser before any key is looked at.
var acceptedAlgorithms = []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA}

// Keys signs and verifies access tokens. It keeps two key families, by
// algorithm: the native one (Latch's own access tokens, Seal, Successor)
// and the OpenID one (ID tokens and apps' access tokens, RS256 unless
// configured otherwise). Each family signs with the oldest key of its
// algorithm in the store; any key in the store verifies. A token
// naming a key it does not know makes it read the store again (at most once
// per reloadInterval), so replicas that raced to create a first key, or a
// key added later, are picked up without a restart.
type Keys struct {
	issuer  string
	alg     string
	oidcAlg string // "" only in this package's tests: no OpenID family
	kek     []byte
	now     latch.Clock
	store   latch.KeyStore
	set     atomic.Pointer[keySet]
	cache   *verifiedCache

	reloadMu   sync.Mutex
	lastReload time.Time
}

// keySet is one immutable snapshot of the keys that are not retired.
type keySet struct {
	signer  jose.Signer
	signKey crypto.Signer
	signKID string
	secret  []byte // the signing key's PKCS#8 bytes, for Seal's derived keys
	// openSecrets are every key's PKCS#8 bytes, the signing key's first:
	// Open tries each, so a value sealed before a rotation still opens.
	openSecrets [][]byte
	// successorSecret is the oldest key's of the signing algorithm, for
	// Successor: it changes when a key retires, not when one rotates.
	successorSecret []byte
	// oidc signs ID tokens and apps' access tokens; nil without an
	// OpenID family (tests of the native tokens only).
	oidc     *oidcSigners
	public   map[string]jose.JSONWebKey // by kid
	retireAt map[string]time.Time       // kid of a rotated key: when it stops verifying
	jwks     []byte
	// switchAt is when an announced rotation makes another key sign (zero
	// if none is due): the snapshot is rebuilt from stored then, so the
	// switch happens at its time on every replica, not at the next read.
	switchAt time.Time
	stored   []latch.SigningKey
	// dataKeys are the data keys (data.go) by id, unwrapped; dataKID is
	// the oldest's, which seals: replicas that raced agree on it.
	dataKeys map[string][]byte
	dataKID  string
}

// RefreshInterval is how often a serving replica reads the keys again
// (cmd/latch): a key rotated elsewhere signs here, and a retired one stops
// verifying, within it.
const RefreshInterval = time.Minute

// reloadInterval bounds how often unknown key ids send Keys to the store:
// garbage tokens must not turn into a query each.
const reloadInterval = 5 * time.Second

// issuedAtLeeway tolerates clocks of replicas that run slightly behind the
// one that issued a token; expiry is checked without leeway.
const issuedAtLeeway = time.Minute

// KeysConfig says how to sign and where keys come from.
type KeysConfig struct {
	Algorithm string // ES256 or EdDSA
	// OIDCAlgorithm signs ID tokens and apps' access tokens: RS256 (the
	// default when empty; OpenID Connect Core §15.1 requires every
	// provider to support it, and relying parties default to it) or
	// ES256. When it equals Algorithm both families are one: the same key
	// signs both, and typ and claims keep the tokens apart.
	OIDCAlgorithm string
	Issuer        string
	Now           latch.Clock
	// EncryptionKey, if set (32 bytes), encrypts private keys at rest: new
	// keys are stored encrypted, and encrypted keys cannot be loaded
	// without it. Keys stored before it was set still load.
	EncryptionKey []byte
}

// LoadKeys reads the signing keys from the store, creating one with the
// configured algorithm if there is none yet.
func LoadKeys(ctx context.Context, store latch.KeyStore, cfg KeysConfig) (*Keys, error) {
	alg, oidcAlg, now := cfg.Algorithm, cfg.OIDCAlgorithm, cfg.Now
	if alg != ES256 && alg != EdDSA {
		return nil, fmt.Errorf("token: unsupported signing algorithm %q (want %s or %s)", alg, ES256, EdDSA)
	}
	if oidcAlg == "" {
		oidcAlg = RS256
	}
	if oidcAlg != RS256 && oidcAlg != ES256 {
		return nil, fmt.Errorf("token: unsupported OpenID signing algorithm %q (want %s or %s)", oidcAlg, RS256, ES256)
	}
	if cfg.EncryptionKey != nil && len(cfg.EncryptionKey) != 32 {
		return nil, fmt.Errorf("token: the key encryption key must be 32 bytes, not %d", len(cfg.EncryptionKey))
	}
	keys, err := store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, family := range []string{alg, oidcAlg} {
		if hasLiveKey(keys, family, now()) {
			continue
		}
		k, err := NewSigningKey(family, now())
		if err != nil {
			return nil, err
		}
		if cfg.EncryptionKey != nil {
			if k.Private, err = wrapKey(cfg.EncryptionKey, k.ID, k.Private); err != nil {
				return nil, err
			}
		}
		if err := store.AddSigningKey(ctx, k); err != nil {
			return nil, err
		}
		// Read back: another replica may have added its own key first, and
		// every replica must sign with the same (oldest) one.
		if keys, err = store.SigningKeys(ctx); err != nil {
			return nil, err
		}
	}
	set, err := newKeySet(keys, alg, oidcAlg, cfg.EncryptionKey, now())
	if err != nil {
		return nil, err
	}
	data, err := loadDataKeys(ctx, store, cfg.EncryptionKey, now())
	if err != nil {
		return nil, err
	}
	if err := set.useDataKeys(data, cfg.EncryptionKey); err != nil {
		return nil, err
	}
	k := &Keys{issuer: cfg.Issuer, alg: alg, oidcAlg: oidcAlg, kek: cfg.EncryptionKey, now: now, store: store, cache: newVerifiedCache(1 << 16), lastReload: now()}
	k.set.Store(set)
	return k, nil
}

func hasLiveKey(keys []latch.SigningKey, alg string, now time.Time) bool {
	for _, k := range keys {
		if k.Algorithm == alg && !k.Retired(now) {
			return true
		}
	}
	return false
}

// signingKeyID picks, among stored keys (oldest first), the one that signs
// at now: the oldest active key of alg that no rotation has replaced by
// now (replicas that raced to create a first key agree on it), or failing
// that the newest active, live one of alg. A key announced for later signs
// nothing yet. "" if alg has no such key.
func signingKeyID(stored []latch.SigningKey, alg string, now time.Time) string {
	newest := ""
	for _, k := range stored {
		if k.Algorithm != alg || k.Retired(now) || !k.Active(now) {
			continue
		}
		if k.RotatedAt == nil || now.Before(*k.RotatedAt) {
			return k.ID
		}
		newest = k.ID
	}
	return newest
}

// nextSwitch is the first time after now at which a key of stored starts
// or stops signing (an announced rotation), zero if none.
func nextSwitch(stored []latch.SigningKey, now time.Time) time.Time {
	var next time.Time
	for _, k := range stored {
		for _, t := range []*time.Time{k.ActivatesAt, k.RotatedAt} {
			if t != nil && t.After(now) && (next.IsZero() || t.Before(next)) {
				next = *t
			}
		}
	}
	return next
}

// NewSigningKey makes a fresh private key for alg.
func NewSigningKey(alg string, now time.Time) (latch.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, rsaKeyBits)
	default:
		return latch.SigningKey{}, fmt.Errorf("token: unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return latch.SigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return latch.SigningKey{}, err
	}
	return latch.SigningKey{ID: uuid.NewString(), Algorithm: alg, Private: der, CreatedAt: now.UTC()}, nil
}

// newKeySet builds the snapshot of the keys that are not retired: alg is
// the native family, oidcAlg the OpenID one ("" for none).
func newKeySet(stored []latch.SigningKey, alg, oidcAlg string, kek []byte, now time.Time) (*keySet, error) {
	ks := &keySet{public: map[string]jose.JSONWebKey{}, retireAt: map[string]time.Time{}, switchAt: nextSwitch(stored, now), stored: stored}
	var set jose.JSONWebKeySet
	signID := signingKeyID(stored, alg, now)
	oidcID := ""
	if oidcAlg != "" {
		oidcID = signingKeyID(stored, oidcAlg, now)
	}
	var others [][]byte
	for _, sk := range stored {
		if sk.Retired(now) {
			continue // every token it signed has expired
		}
		der, err := unwrapKey(kek, sk.ID, sk.Private)
		if err != nil {
			return nil, err
		}
		sk.Private = der
		parsed, err := x509.ParsePKCS8PrivateKey(sk.Private)
		if err != nil {
			return nil, fmt.Errorf("token: signing key %s: %w", sk.ID, err)
		}
		priv, ok := parsed.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("token: signing key %s is not a signing key", sk.ID)
		}
		pub := jose.JSONWebKey{Key: priv.Public(), KeyID: sk.ID, Algorithm: sk.Algorithm, Use: "sig"}
		ks.public[sk.ID] = pub
		set.Keys = append(set.Keys, pub)
		if sk.RetireAt != nil {
			ks.retireAt[sk.ID] = *sk.RetireAt
		}
		if ks.successorSecret == nil && sk.Algorithm == alg {
			ks.successorSecret = sk.Private
		}
		// RSA keys are the OpenID family's only: they never seal (Seal and
		// Successor stay with the native keys), so Open need not try them.
		if sk.ID != signID && sk.Algorithm != RS256 {
			others = append(others, sk.Private)
		}
		if sk.ID == oidcID {
			if ks.oidc, err = newOIDCSigners(sk.ID, sk.Algorithm, priv); err != nil {
				return nil, err
			}
		}
		if sk.ID == signID {
			opts := (&jose.SignerOptions{}).WithType(accessTokenType).WithHeader(jose.HeaderKey("kid"), sk.ID)
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(alg), Key: priv}, opts)
			if err != nil {
				return nil, err
			}
			ks.signer, ks.signKey, ks.signKID, ks.secret = signer, priv, sk.ID, sk.Private
		}
	}
	if ks.signer == nil {
		return nil, fmt.Errorf("token: no %s signing key", alg)
	}
	if oidcAlg != "" && ks.oidc == nil {
		return nil, fmt.Errorf("token: no %s signing key for OpenID tokens", oidcAlg)
	}
	ks.openSecrets = append([][]byte{ks.secret}, others...)
	var err error
	if ks.jwks, err = json.Marshal(set); err != nil {
		return nil, err
	}
	return ks, nil
}

// signingSet is the snapshot to sign with: the current one, rebuilt from
// the keys it holds when an announced rotation has come due since it was
// made (no store read: the switch time is in the stored keys).
func (k *Keys) signingSet() *keySet {
	set := k.set.Load()
	now := k.now()
	if set.switchAt.IsZero() || now.Before(set.switchAt) {
		return set
	}
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	if set = k.set.Load(); set.switchAt.IsZero() || now.Before(set.switchAt) {
		return set // another caller rebuilt it
	}
	next, err := newKeySet(set.stored, k.alg, k.oidcAlg, k.kek, now)
	if err != nil {
		// Cannot happen for keys that loaded before; sign as before until
		// the next read of the store says more.
		return set
	}
	next.dataKeys, next.dataKID = set.dataKeys, set.dataKID
	k.set.Store(next)
	return next
}

// reload reads the keys again if the last read is older than
// reloadInterval, and reports whether it did.
func (k *Keys) reload() bool {
	if k.store == nil {
		return false
	}
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	if k.now().Sub(k.lastReload) < reloadInterval {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return k.refreshLocked(ctx) == nil
}

// Refresh reads the keys again: a key rotated by another process signs
// from now on, and keys retired since the last read stop verifying and
// leave the JWKS. A serving replica calls it every RefreshInterval.
func (k *Keys) Refresh(ctx context.Context) error {
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	return k.refreshLocked(ctx)
}

func (k *Keys) refreshLocked(ctx context.Context) error {
	now := k.now()
	k.lastReload = now
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		return err
	}
	set, err := newKeySet(stored, k.alg, k.oidcAlg, k.kek, now)
	if err != nil {
		return err
	}
	data, err := k.store.DataKeys(ctx)
	if err != nil {
		return err
	}
	if err := set.useDataKeys(data, k.kek); err != nil {
		return err
	}
	k.set.Store(set)
	return nil
}

// Rotate makes a new key of alg, one of the two families' algorithms
// (Algorithm or OIDCAlgorithm), the one that signs from activatesAt (at
// once if zero or past); until then it is announced: published in the
// JWKS, signing nothing. The keys of alg it replaces sign until then and
// keep verifying (and stay in the JWKS) until retireAt, which the caller
// sets after the last expiry of anything they signed. Other replicas know
// the new key within RefreshInterval, and switch at activatesAt if they
// read it before, else when they read it.
func (k *Keys) Rotate(ctx context.Context, alg string, activatesAt, retireAt time.Time) (latch.SigningKey, error) {
	if alg != k.alg && alg != k.oidcAlg {
		return latch.SigningKey{}, &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Field: "algorithm",
			Message: fmt.Sprintf("no key family signs with %q here (%s signs Latch's tokens, %s OpenID tokens)", alg, k.alg, k.oidcAlg)}
	}
	sk, err := NewSigningKey(alg, k.now())
	if err != nil {
		return latch.SigningKey{}, err
	}
	if activatesAt.After(sk.CreatedAt) {
		sk.ActivatesAt = new(activatesAt.UTC())
	}
	stored := sk
	if k.kek != nil {
		if stored.Private, err = wrapKey(k.kek, sk.ID, sk.Private); err != nil {
			return latch.SigningKey{}, err
		}
	}
	if err := k.store.RotateSigningKey(ctx, stored, retireAt); err != nil {
		return latch.SigningKey{}, err
	}
	if err := k.Refresh(ctx); err != nil {
		return latch.SigningKey{}, err
	}
	sk.Private = nil
	return sk, nil
}

// KeyState is where a key stands in its life.
type KeyState string

const (
	KeyAnnounced KeyState = "announced" // published; signs from its ActivatesAt
	KeySigning   KeyState = "signing"   // signs new tokens, and verifies
	KeyVerifying KeyState = "verifying" // replaced; verifies until its retire time
	KeyRetired   KeyState = "retired"   // verifies nothing; deleted by the janitor
)

// What a key family signs (KeyInfo.Families).
const (
	FamilyNative = "native" // Latch's own access tokens; seals and successors
	FamilyOpenID = "openid" // ID tokens and apps' access tokens
)

// KeyInfo describes a stored key, without its private part.
type KeyInfo struct {
	ID        string
	Algorithm string
	// Families are those whose algorithm the key has: both when one
	// algorithm signs both, none for a key of an algorithm no longer
	// configured (it still verifies until it retires).
	Families  []string
	State     KeyState
	CreatedAt time.Time
	// ActivatesAt is when an announced key starts to sign.
	ActivatesAt *time.Time
	RotatedAt   *time.Time
	RetireAt    *time.Time
}

// List describes every stored key, oldest first.
func (k *Keys) List(ctx context.Context) ([]KeyInfo, error) {
	stored, err := k.store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	now := k.now()
	signing := map[string]bool{signingKeyID(stored, k.alg, now): true, signingKeyID(stored, k.oidcAlg, now): true}
	out := make([]KeyInfo, 0, len(stored))
	for _, sk := range stored {
		info := KeyInfo{ID: sk.ID, Algorithm: sk.Algorithm, State: KeyVerifying, CreatedAt: sk.CreatedAt, ActivatesAt: sk.ActivatesAt, RotatedAt: sk.RotatedAt, RetireAt: sk.RetireAt}
		if sk.Algorithm == k.alg {
			info.Families = append(info.Families, FamilyNative)
		}
		if sk.Algorithm == k.oidcAlg {
			info.Families = append(info.Families, FamilyOpenID)
		}
		switch {
		case sk.Retired(now):
			info.State = KeyRetired
		case !sk.Active(now) && (sk.RotatedAt == nil || now.Before(*sk.RotatedAt)):
			info.State = KeyAnnounced
		case signing[sk.ID]:
			info.State = KeySigning
		}
		out = append(out, info)
	}
	return out, nil
}

// JWKS is the public key set as JSON, for /.well-known/jwks.json.
func (k *Keys) JWKS() []byte { return k.set.Load().jwks }

// Sign returns a signed access token for c; Issuer and ID are filled in.
func (k *Keys) Sign(c Claims) (string, error) {
	w := wireClaims{
		Claims: jwt.Claims{
			Issuer:   k.issuer,
			Subject:  c.Subject,
			IssuedAt: jwt.NewNumericDate(c.IssuedAt),
			Expiry:   jwt.NewNumericDate(c.Expiry),
			ID:       uuid.NewString(),
		},
		SessionID: c.SessionID,
		Kind:      string(c.Kind),
		Scope:     strings.Join(c.Scopes, " "),
	}
	return jwt.Signed(k.signingSet().signer).Claims(w).Serialize()
}

// errInvalidToken is what every verification failure looks like to a
// client: the reason is not theirs to know.
func errInvalidToken(cause error) error {
	return &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid or expired access token", Err: cause}
}

// Verify checks the token's signature, issuer and expiry and returns its
// claims. Whether its session is still live is the caller's check.
func (k *Keys) Verify(raw string) (Claims, error) {
	now := k.now()
	if c, kid, ok := k.cache.get(raw); ok {
		if !now.Before(c.Expiry) {
			return Claims{}, errInvalidToken(fmt.Errorf("expired at %s", c.Expiry.Format(time.RFC3339)))
		}
		if retire, ok := k.set.Load().retireAt[kid]; ok && !now.Before(retire) {
			return Claims{}, errInvalidToken(fmt.Errorf("key %q retired at %s", kid, retire.Format(time.RFC3339)))
		}
		return c, nil
	}
	tok, err := jwt.ParseSigned(raw, acceptedAlgorithms)
	if err != nil {
		return Claims{}, errInvalidToken(err)
	}
	if len(tok.Headers) != 1 {
		return Claims{}, errInvalidToken(fmt.Errorf("want one signature"))
	}
	h := tok.Headers[0]
	// Only access tokens are accepted here, not other JWTs Latch may sign
	// with the same keys (RFC 9068 "at+jwt").
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != accessTokenType {
		return Claims{}, errInvalidToken(fmt.Errorf("typ %q is not %s", typ, accessTokenType))
	}
	pub, ok := k.set.Load().public[h.KeyID]
	if !ok && k.reload() {
		pub, ok = k.set.Load().public[h.KeyID]
	}
	if !ok || pub.Algorithm != h.Algorithm {
		return Claims{}, errInvalidToken(fmt.Errorf("unknown key %q for %s", h.KeyID, h.Algorithm))
	}
	if retire, ok := k.set.Load().retireAt[h.KeyID]; ok && !now.Before(retire) {
		return Claims{}, errInvalidToken(fmt.Errorf("key %q retired at %s", h.KeyID, retire.Format(time.RFC3339)))
	}
	var w wireClaims
	if err := tok.Claims(pub.Key, &w); err != nil {
		return Claims{}, errInvalidToken(err)
	}
	if w.Expiry == nil || w.IssuedAt == nil {
		return Claims{}, errInvalidToken(fmt.Errorf("without exp or iat"))
	}
	if !now.Before(w.Expiry.Time()) {
		return Claims{}, errInvalidToken(fmt.Errorf("expired at %s", w.Expiry.Time().UTC().Format(time.RFC3339)))
	}
	if w.Issuer != k.issuer {
		// The usual cause: the token was issued (latch tokens issue) with
		// another LATCH_PUBLIC_URL than this service's. The issuer of a
		// token whose signature verified is no secret.
		return Claims{}, errInvalidToken(fmt.Errorf("issuer %q is not this service's %q (LATCH_PUBLIC_URL)", w.Issuer, k.issuer))
	}
	if err := w.Claims.ValidateWithLeeway(jwt.Expected{Issuer: k.issuer, Time: now}, issuedAtLeeway); err != nil {
		return Claims{}, errInvalidToken(err)
	}
	kind, ok := latch.ParseTokenKind(w.Kind)
	if !ok || w.Subject == "" || w.SessionID == "" {
		return Claims{}, errInvalidToken(fmt.Errorf("missing claims"))
	}
	c := Claims{
		Issuer:    w.Issuer,
		Subject:   w.Subject,
		SessionID: w.SessionID,
		Kind:      kind,
		Scopes:    strings.Fields(w.Scope),
		IssuedAt:  w.IssuedAt.Time().UTC(),
		Expiry:    w.Expiry.Time().UTC(),
		ID:        w.ID,
	}
	k.cache.put(raw, c, h.KeyID, now)
	return c, nil
}

// verifiedCache remembers tokens whose signature already checked out, so a
// client that sends the same token on every request pays for one signature
// verification, not one per request. It is keyed by the whole token string,
// so a token that differs in any byte is verified afresh; revocation is not
// cached here (the caller checks the session on every request).
type verifiedCache struct {
	mu      sync.RWMutex
	max     int
	entries map[string]verifiedToken
}

// verifiedToken is a cached token's claims and the key that signed it
// (which may retire while the token is cached).
type verifiedToken struct {
	claims Claims
	keyID  string
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, entries: make(map[string]verifiedToken)}
}

func (c *verifiedCache) get(raw string) (Claims, string, bool) {
	c.mu.RLock()
	v, ok := c.entries[raw]
	c.mu.RUnlock()
	return v.claims, v.keyID, ok
}

func (c *verifiedCache) put(raw string, cl Claims, keyID string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Drop the expired entries; if that frees nothing, start over. A
		// full cache only costs re-verification, never correctness.
		for k, v := range c.entries {
			if !now.Before(v.claims.Expiry) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			clear(c.entries)
		}
	}
	c.entries[raw] = verifiedToken{claims: cl, keyID: keyID}
}
