// Package oidc signs people in at outside identity providers: any OpenID
// Connect issuer (found by discovery), Google as a preset of it, and GitHub
// (OAuth 2.0 and its user API). Every flow is the authorization code flow
// with PKCE; OIDC flows also bind a nonce into the ID token.
package oidc

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchid/latch"
)

// Provider is one configured identity provider.
type Provider interface {
	// Name is the configured name, used in URLs (/v1/oauth/{name}/start).
	Name() string
	// Instance is what the provider's identities are bound to: its type,
	// its issuer and the tenant it serves. Every ExternalIdentity it
	// returns carries that Issuer and TenantID.
	Instance() latch.ProviderInstance
	// AuthCodeURL is where to send the browser. verifier is the PKCE code
	// verifier (its S256 challenge is sent); nonce is bound into the ID
	// token where the protocol has one.
	AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// Exchange trades the code from the callback for what the provider
	// says about the person.
	Exchange(ctx context.Context, code, verifier, nonce string) (latch.ExternalIdentity, error)
}

// Codes of provider failures.
const (
	CodeProviderUnavailable = "provider_unavailable"
	CodeProviderRefused     = "provider_refused"
)

// unavailable is a provider that cannot be reached or answers nonsense:
// the person should try again later, and the operator should look at the
// logs (Err).
func unavailable(name string, err error) error {
	return &latch.Error{Kind: latch.KindUnavailable, Code: CodeProviderUnavailable,
		Message: "the sign-in provider " + name + " cannot be reached; try again later", Err: err}
}

// refused is a flow the provider (or its answer) does not let through: a
// bad code, a token that fails verification, a nonce mismatch.
func refused(name string, err error) error {
	return &latch.Error{Kind: latch.KindUnauthenticated, Code: CodeProviderRefused,
		Message: "the sign-in at " + name + " did not succeed; start again", Err: err}
}

// exchangeFailed classifies a failed code exchange: an answer below 500 is
// the provider refusing this code (used, expired, wrong verifier);
// anything else means the provider cannot be relied on right now.
func exchangeFailed(name string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		return refused(name, err)
	}
	return unavailable(name, err)
}

// OIDCConfig configures any OpenID Connect issuer.
type OIDCConfig struct {
	Name         string
	Kind         latch.Provider // ProviderOIDC, or ProviderGoogle for the preset
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string
	Scopes       []string // default openid email profile
	// TenantID is the tenant the provider's sign-ins land in; "" is the
	// default tenant.
	TenantID string
	// HTTPClient is used for discovery, the token exchange and the keys;
	// nil means http.DefaultClient.
	HTTPClient *http.Client
}

// GoogleIssuer is Google's OIDC issuer.
const GoogleIssuer = "https://accounts.google.com"

// NewGoogle is NewOIDC preset for Google.
func NewGoogle(cfg OIDCConfig) *OIDC {
	if cfg.Issuer == "" {
		cfg.Issuer = GoogleIssuer
	}
	cfg.Kind = latch.ProviderGoogle
	return NewOIDC(cfg)
}

// OIDC is a Provider for an OpenID Connect issuer. Discovery happens on
// first use and is retried on later uses until it succeeds, so Latch
// starts even while a provider is down.
type OIDC struct {
	cfg OIDCConfig

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

// NewOIDC returns the provider; nothing is fetched yet.
func NewOIDC(cfg OIDCConfig) *OIDC {
	if cfg.Kind == "" {
		cfg.Kind = latch.ProviderOIDC
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{gooidc.ScopeOpenID, "email", "profile"}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &OIDC{cfg: cfg}
}

// Name implements Provider.
func (p *OIDC) Name() string { return p.cfg.Name }

// Instance implements Provider.
func (p *OIDC) Instance() latch.ProviderInstance {
	return latch.ProviderInstance{Name: p.cfg.Name, Type: p.cfg.Kind, Issuer: p.cfg.Issuer, TenantID: p.cfg.TenantID}
}

func (p *OIDC) client(ctx context.Context) context.Context {
	return gooidc.ClientContext(ctx, p.cfg.HTTPClient)
}

// discovered returns the OAuth 2.0 config and the ID-token verifier,
// running discovery if it has not succeeded yet.
func (p *OIDC) discovered(ctx context.Context) (*oauth2.Config, *gooidc.IDTokenVerifier, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.oauth != nil {
		return p.oauth, p.verifier, nil
	}
	provider, err := gooidc.NewProvider(p.client(ctx), p.cfg.Issuer)
	if err != nil {
		return nil, nil, unavailable(p.cfg.Name, err)
	}
	p.oauth = &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.cfg.RedirectURL,
		Endpoint: provider.Endpoint(), Scopes: p.cfg.Scopes,
	}
	p.verifier = provider.Verifier(&gooidc.Config{ClientID: p.cfg.ClientID})
	return p.oauth, p.verifier, nil
}

// AuthCodeURL implements Provider.
func (p *OIDC) AuthCodeURL(ctx context.Context, state, nonce, verifier string) (string, error) {
	oauth, _, err := p.discovered(ctx)
	if err != nil {
		return "", err
	}
	return oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), gooidc.Nonce(nonce)), nil
}

// idClaims are the standard claims Latch reads from an ID token.
type idClaims struct {
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"` // a boolean, or "true" from some issuers
	GivenName     string `json:"given_name"`
	FamilyName    string `json:"family_name"`
	Name          string `json:"name"`
	Picture       string `json:"picture"`
}

// Exchange implements Provider: it redeems the code with the PKCE
// verifier, verifies the ID token (signature, issuer, audience, expiry)
// and checks that it carries the nonce of this flow.
func (p *OIDC) Exchange(ctx context.Context, code, verifier, nonce string) (latch.ExternalIdentity, error) {
	oauth, idVerifier, err := p.discovered(ctx)
	if err != nil {
		return latch.ExternalIdentity{}, err
	}
	tok, err := oauth.Exchange(p.client(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return latch.ExternalIdentity{}, exchangeFailed(p.cfg.Name, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return latch.ExternalIdentity{}, refused(p.cfg.Name, errors.New("no id_token in the token response"))
	}
	idTok, err := idVerifier.Verify(p.client(ctx), raw)
	if err != nil {
		return latch.ExternalIdentity{}, refused(p.cfg.Name, err)
	}
	if idTok.Nonce == "" || idTok.Nonce != nonce {
		return latch.ExternalIdentity{}, refused(p.cfg.Name, errors.New("ID token nonce does not match this sign-in"))
	}
	var c idClaims
	if err := idTok.Claims(&c); err != nil {
		return latch.ExternalIdentity{}, refused(p.cfg.Name, err)
	}
	first, last := c.GivenName, c.FamilyName
	if first == "" && last == "" {
		first, last, _ = strings.Cut(c.Name, " ")
	}
	return latch.ExternalIdentity{
		// go-oidc checked that the token's issuer is the configured one
		// (for Google it also accepts "accounts.google.com" without the
		// scheme): the subject is this issuer's, recorded under the one
		// spelling configured, as Instance names it.
		Provider: p.cfg.Kind, Issuer: p.cfg.Issuer, TenantID: p.cfg.TenantID, Subject: idTok.Subject, Email: c.Email, EmailVerified: truthy(c.EmailVerified),
		FirstName: first, LastName: last, Picture: c.Picture,
	}, nil
}

func truthy(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case string:
		return b == "true"
	}
	return false
}
