// Package api mounts every HTTP surface of Latch on one handler. Each
// surface lives in its own package and maps errors to its own wire shape.
package api

import (
	"log/slog"
	"net/http"
	"net/netip"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/devopness"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/native"
	"github.com/latchid/latch/api/onelogin"
	"github.com/latchid/latch/api/pace"
	"github.com/latchid/latch/api/royalti"
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
	// PublicURL is where people reach Latch (the pages' own links).
	PublicURL string
	// Requests, if set, is told of every request: its route pattern,
	// method, status and duration (for metrics).
	Requests httpx.RequestObserver
}

// NewHandler returns the whole HTTP service: the native API, the seed
// surfaces and the shared middleware.
func NewHandler(accounts *account.Service, cfg Config, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	native.New(accounts, cfg.JWKS, cfg.OAuth, log).Register(mux)
	devopness.New(accounts, log).Register(mux)
	onelogin.New(accounts, log).Register(mux)
	pace.New(accounts, log).Register(mux)
	royalti.New(accounts, log).Register(mux)
	names := make([]string, 0, len(cfg.OAuth.Providers))
	for _, p := range cfg.OAuth.Providers {
		names = append(names, p.Name())
	}
	web.New(web.Config{Accounts: accounts, Sealer: cfg.OAuth.Sealer, Providers: names, PublicURL: cfg.PublicURL, Log: log}).Register(mux)
	return httpx.ObservedMiddleware(log, cfg.TrustedProxies, cfg.Requests, mux)
}
