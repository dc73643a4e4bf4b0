// Package api mounts every HTTP surface of Latch on one handler. Each
// surface lives in its own package and maps errors to its own wire shape.
package api

import (
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"slices"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/devopness"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/native"
	"github.com/latchid/latch/api/onelogin"
	"github.com/latchid/latch/api/openid"
	"github.com/latchid/latch/api/pace"
	"github.com/latchid/latch/api/royalti"
	"github.com/latchid/latch/token"
	"github.com/latchid/latch/web"
)

// Config is what the HTTP service needs besides the use cases.
type Config struct {
	// JWKS returns the public key set to publish.
	JWKS func() []byte
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// OAuth configures sign-in through outside providers.
	OAuth native.OAuthConfig
	// PublicURL is where people reach Latch (the pages' own links), and
	// the OpenID Provider's issuer, exactly as tokens carry it.
	PublicURL string
	// OIDCAlgorithm is the algorithm ID tokens are signed with
	// (token.Keys.OIDCAlgorithm), for the provider's metadata; "" is
	// RS256, the keys' own default.
	OIDCAlgorithm string
	// Product is the name the pages show (LATCH_PRODUCT_NAME).
	Product string
	// Requests, if set, is told of every request: its route pattern,
	// method, status and duration (for metrics).
	Requests httpx.RequestObserver
}

// Handler is the whole HTTP service, and the list of its routes.
type Handler struct {
	http.Handler
	routes []Route
}

// Route is one registered route: the surface that serves it and its
// net/http pattern ("POST /users/login").
type Route struct {
	// Surface is "native", "devopness", "onelogin", "pace", "royalti",
	// "openid" or "web": the package whose OpenAPI document describes the
	// route; the OpenID Provider's endpoints, which its discovery document
	// and their RFCs describe; or the pages, which are no API.
	Surface string
	Pattern string
}

// Routes returns every route of the service, in the order registered.
func (h *Handler) Routes() []Route { return slices.Clone(h.routes) }

// SeedDocuments are the seed surfaces' OpenAPI documents, each served at
// /v1/openapi/<name>.yaml beside the native API's /v1/openapi.yaml.
func SeedDocuments() map[string][]byte {
	return map[string][]byte{
		"devopness": devopness.OpenAPI(),
		"onelogin":  onelogin.OpenAPI(),
		"pace":      pace.OpenAPI(),
		"royalti":   royalti.OpenAPI(),
	}
}

// NewHandler returns the whole HTTP service: the native API, the seed
// surfaces, the OpenID Provider's endpoints, the pages and the shared
// middleware.
func NewHandler(accounts *account.Service, cfg Config, log *slog.Logger) *Handler {
	h := &Handler{}
	mux := http.NewServeMux()
	names := make([]string, 0, len(cfg.OAuth.Providers))
	for _, p := range cfg.OAuth.Providers {
		names = append(names, p.Name())
	}
	pages := web.New(web.Config{Accounts: accounts, Sealer: cfg.OAuth.Sealer, Providers: names, PublicURL: cfg.PublicURL, Product: cfg.Product, Log: log})
	// The provider flow's error pages are the pages' own, in their layout.
	cfg.OAuth.ErrorPage = pages.ProviderError
	on := func(surface string) recordingMux { return recordingMux{mux: mux, surface: surface, routes: &h.routes} }
	native.New(accounts, cfg.JWKS, cfg.OAuth, log).Register(on("native"))
	devopness.New(accounts, log).Register(on("devopness"))
	onelogin.New(accounts, log).Register(on("onelogin"))
	pace.New(accounts, log).Register(on("pace"))
	royalti.New(accounts, log).Register(on("royalti"))
	oidcAlg := cfg.OIDCAlgorithm
	if oidcAlg == "" {
		oidcAlg = token.RS256
	}
	openid.New(accounts, openid.Config{Issuer: cfg.PublicURL, IDTokenAlgs: []string{oidcAlg}}, log).Register(on("openid"))
	// The seed documents are Latch's, under /v1: the native document
	// lists where they are.
	docs := SeedDocuments()
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		doc := docs[name]
		on("native").HandleFunc("GET /v1/openapi/"+name+".yaml", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/yaml")
			_, _ = w.Write(doc)
		})
	}
	pages.Register(on("web"))
	h.Handler = httpx.ObservedMiddleware(log, cfg.TrustedProxies, cfg.Requests, mux)
	return h
}

// recordingMux registers a surface's routes on the service's mux and
// records each under the surface's name.
type recordingMux struct {
	mux     *http.ServeMux
	surface string
	routes  *[]Route
}

func (m recordingMux) Handle(pattern string, handler http.Handler) {
	*m.routes = append(*m.routes, Route{Surface: m.surface, Pattern: pattern})
	m.mux.Handle(pattern, handler)
}

func (m recordingMux) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(handler))
}
