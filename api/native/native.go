// Package native serves Latch's own API under /v1: the OAuth 2.0 token
// endpoint (RFC 6749 shapes), logout, the signed-in user, the JWKS, the
// health check and the OpenAPI document. Errors other than the token
// endpoint's are RFC 9457 problem documents.
package native

import (
	_ "embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/oidc"
)

//go:embed openapi.yaml
var openAPI []byte

// Surface is the native API.
type Surface struct {
	accounts  Accounts
	jwks      func() []byte
	problems  httpx.Adapter
	tokenErrs httpx.Adapter
	oauth     OAuthConfig
	providers map[string]oidc.Provider
	// crossSite refuses browsers' cross-site requests to the token
	// endpoint.
	crossSite *httpx.CrossSiteGuard

	// startPages and callbackPages answer the provider flow's errors as
	// pages, each finding the flow's app in its own way.
	startPages, callbackPages httpx.Adapter
}

// New returns the surface. jwks returns the public key set to publish
// (it changes when keys are added); oauth configures provider sign-in.
func New(accounts Accounts, jwks func() []byte, oauth OAuthConfig, log *slog.Logger) *Surface {
	s := &Surface{
		accounts:  accounts,
		jwks:      jwks,
		problems:  httpx.Adapter{Log: log, Write: writeProblem},
		tokenErrs: httpx.Adapter{Log: log, Write: writeOAuthError},
		oauth:     oauth,
		providers: map[string]oidc.Provider{},
		crossSite: httpx.NewCrossSiteGuard(accounts.TrustedOrigins()),
	}
	s.startPages = httpx.Adapter{Log: log, Write: s.errorPage(s.startApp)}
	s.callbackPages = httpx.Adapter{Log: log, Write: s.errorPage(s.callbackApp)}
	for _, p := range oauth.Providers {
		s.providers[p.Name()] = p
	}
	return s
}

// Register adds the routes to mux.
func (s *Surface) Register(mux httpx.Mux) {
	mux.Handle("POST /v1/token", s.tokenErrs.Handle(s.token))
	mux.Handle("GET /v1/oauth/{provider}/start", s.startPages.Handle(s.oauthStart))
	mux.Handle("GET /v1/oauth/{provider}/callback", s.callbackPages.Handle(s.oauthCallback))
	mux.Handle("POST /v1/logout", s.problems.Handle(s.logout))
	mux.Handle("GET /v1/me", s.problems.Handle(s.me))
	mux.Handle("GET /v1/me/identities", s.problems.Handle(s.identities))
	mux.Handle("DELETE /v1/me/identities/{id}", s.problems.Handle(s.unlink))
	mux.Handle("PUT /v1/me/password", s.problems.Handle(s.setOwnPassword))
	mux.Handle("POST /v1/password/set", s.problems.Handle(s.setPasswordWithLink))
	mux.Handle("POST /v1/recover", s.problems.Handle(s.recover))
	s.registerFactors(mux)
	s.registerAdmin(mux)
	mux.HandleFunc("GET /v1/openapi.yaml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openAPI)
	})
	mux.HandleFunc("GET /.well-known/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		// Public keys may be cached by verifiers for a while, and read by
		// browser apps of any origin (api/openid answers the preflight).
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(s.jwks())
	})
	// Liveness: the process serves HTTP. It stays 200 while the database
	// is down, so an orchestrator does not restart a replica that an
	// outage elsewhere made useless for a while.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, "application/json", map[string]string{"status": "ok"})
	})
	// Readiness: the replica can serve requests, its database answering
	// within the store's bound. A load balancer takes it out while not.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.accounts.Ready(r.Context()); err != nil {
			if httpx.ClientGone(r) {
				return
			}
			httpx.SetRetryAfter(w, latch.AsError(err))
			httpx.WriteJSON(w, http.StatusServiceUnavailable, "application/json", map[string]string{"status": "unavailable"})
			return
		}
		httpx.WriteJSON(w, http.StatusOK, "application/json", map[string]string{"status": "ok"})
	})
}

func (s *Surface) authenticate(r *http.Request) (account.Principal, error) {
	raw, err := httpx.BearerToken(r)
	if err != nil {
		return account.Principal{}, err
	}
	return s.accounts.Authenticate(r.Context(), raw)
}

func (s *Surface) logout(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	if err := s.accounts.Logout(httpx.Context(r), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// User is the native representation of an account.
type User struct {
	ID            string `json:"id"`
	Number        int64  `json:"number"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	// EmailVerifiedBy says whose word verified it: link, provider or
	// asserted (by an operator or API client); absent when unverified.
	EmailVerifiedBy string    `json:"email_verified_by,omitempty"`
	FirstName       string    `json:"first_name,omitempty"`
	LastName        string    `json:"last_name,omitempty"`
	ProfilePicture  string    `json:"profile_picture,omitempty"`
	Active          bool      `json:"active"`
	Admin           bool      `json:"admin"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func userOf(u latch.User) User {
	return User{ID: u.ID, Number: u.Number, Email: u.Email, EmailVerified: u.Verified, EmailVerifiedBy: string(u.VerifiedBy), FirstName: u.FirstName, LastName: u.LastName,
		ProfilePicture: u.ProfilePicture, Active: u.Active, Admin: u.Admin, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}

func (s *Surface) me(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	u, err := s.accounts.Me(p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", userOf(u))
	return nil
}

// Identity is the native representation of a linked identity.
type Identity struct {
	ID        string    `json:"id"`
	Provider  string    `json:"provider"`
	Issuer    string    `json:"issuer"`
	Subject   string    `json:"subject"`
	Email     string    `json:"email,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Surface) identities(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	ids, err := s.accounts.MyIdentities(r.Context(), p)
	if err != nil {
		return err
	}
	out := struct {
		Identities []Identity `json:"identities"`
	}{Identities: []Identity{}}
	for _, i := range ids {
		out.Identities = append(out.Identities, Identity{ID: i.ID, Provider: string(i.Provider), Issuer: i.Issuer, Subject: i.Subject, Email: i.Email, CreatedAt: i.CreatedAt})
	}
	httpx.WriteJSON(w, http.StatusOK, "application/json", out)
	return nil
}

func (s *Surface) unlink(w http.ResponseWriter, r *http.Request) error {
	p, err := s.authenticate(r)
	if err != nil {
		return err
	}
	if err := s.accounts.UnlinkIdentity(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
