package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/oauth2"

	"github.com/latchid/latch"
)

// GitHubConfig configures sign-in with GitHub (OAuth 2.0 and its REST API;
// GitHub has no OIDC for people). The URLs default to github.com; tests and
// GitHub Enterprise set them.
type GitHubConfig struct {
	Name         string // default "github"
	ClientID     string
	ClientSecret string
	RedirectURL  string
	AuthURL      string // default https://github.com/login/oauth/authorize
	TokenURL     string // default https://github.com/login/oauth/access_token
	APIURL       string // default https://api.github.com; the instance's identity
	// TenantID is the tenant the provider's sign-ins land in; "" is the
	// default tenant.
	TenantID   string
	HTTPClient *http.Client
}

// GitHub is a Provider for GitHub.
type GitHub struct {
	cfg   GitHubConfig
	oauth *oauth2.Config
}

// NewGitHub returns the provider.
func NewGitHub(cfg GitHubConfig) *GitHub {
	if cfg.Name == "" {
		cfg.Name = "github"
	}
	if cfg.AuthURL == "" {
		cfg.AuthURL = "https://github.com/login/oauth/authorize"
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = "https://github.com/login/oauth/access_token"
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://api.github.com"
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	return &GitHub{cfg: cfg, oauth: &oauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
		Endpoint: oauth2.Endpoint{AuthURL: cfg.AuthURL, TokenURL: cfg.TokenURL},
		// read:user for the profile, user:email for the verified addresses.
		Scopes: []string{"read:user", "user:email"},
	}}
}

// Name implements Provider.
func (g *GitHub) Name() string { return g.cfg.Name }

// Instance implements Provider. GitHub has no issuer: its API URL names the
// instance (github.com, or a GitHub Enterprise server), whose user ids are
// its own.
func (g *GitHub) Instance() latch.ProviderInstance {
	return latch.ProviderInstance{Name: g.cfg.Name, Type: latch.ProviderGitHub, Issuer: g.cfg.APIURL, TenantID: g.cfg.TenantID}
}

// AuthCodeURL implements Provider. GitHub has no ID token, so the nonce is
// not sent; state and PKCE bind the flow.
func (g *GitHub) AuthCodeURL(_ context.Context, state, _, verifier string) (string, error) {
	return g.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), nil
}

type githubUser struct {
	ID        int64  `json:"id"`
	Login     string `json:"login"`
	Name      string `json:"name"`
	AvatarURL string `json:"avatar_url"`
}

type githubEmail struct {
	Email    string `json:"email"`
	Primary  bool   `json:"primary"`
	Verified bool   `json:"verified"`
}

// Exchange implements Provider. Only the account's primary email, and only
// if GitHub has verified it, counts: any other address could be one the
// person merely typed in.
func (g *GitHub) Exchange(ctx context.Context, code, verifier, _ string) (latch.ExternalIdentity, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, g.cfg.HTTPClient)
	tok, err := g.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return latch.ExternalIdentity{}, exchangeFailed(g.cfg.Name, err)
	}
	var user githubUser
	if err := g.get(ctx, tok, "/user", &user); err != nil {
		return latch.ExternalIdentity{}, err
	}
	if user.ID == 0 {
		return latch.ExternalIdentity{}, unavailable(g.cfg.Name, errors.New("GitHub /user returned no id"))
	}
	var emails []githubEmail
	if err := g.get(ctx, tok, "/user/emails", &emails); err != nil {
		return latch.ExternalIdentity{}, err
	}
	ext := latch.ExternalIdentity{Provider: latch.ProviderGitHub, Issuer: g.cfg.APIURL, TenantID: g.cfg.TenantID,
		Subject: strconv.FormatInt(user.ID, 10), Picture: user.AvatarURL}
	ext.FirstName, ext.LastName, _ = strings.Cut(user.Name, " ")
	for _, e := range emails {
		if e.Primary && e.Verified {
			ext.Email, ext.EmailVerified = e.Email, true
		}
	}
	return ext, nil
}

// get calls GitHub's REST API with the user's token.
func (g *GitHub) get(ctx context.Context, tok *oauth2.Token, path string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.cfg.APIURL+path, nil)
	if err != nil {
		return unavailable(g.cfg.Name, err)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	tok.SetAuthHeader(req)
	res, err := g.cfg.HTTPClient.Do(req)
	if err != nil {
		return unavailable(g.cfg.Name, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return unavailable(g.cfg.Name, err)
	}
	switch {
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		return refused(g.cfg.Name, fmt.Errorf("GitHub %s: %s", path, res.Status))
	case res.StatusCode != http.StatusOK:
		return unavailable(g.cfg.Name, fmt.Errorf("GitHub %s: %s", path, res.Status))
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return unavailable(g.cfg.Name, fmt.Errorf("GitHub %s: %w", path, err))
	}
	return nil
}
