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
)

// NewHandler returns the whole HTTP service: the native API, the seed
// surfaces and the shared middleware. jwks returns the public key set;
// trustedProxies are the proxies whose X-Forwarded-For is believed.
func NewHandler(accounts *account.Service, jwks func() []byte, trustedProxies []netip.Prefix, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	native.New(accounts, jwks, log).Register(mux)
	devopness.New(accounts, log).Register(mux)
	return httpx.Middleware(log, trustedProxies, mux)
}
