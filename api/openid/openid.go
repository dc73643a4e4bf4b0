package openid

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
)

// Accounts is what the surface asks of the use cases: exactly the methods
// it calls, so that its translation (parameters, client authentication,
// error shapes) can be tested against a fake in memory.
// *account.Service implements it.
type Accounts interface {
	AuthenticateAppClient(ctx context.Context, auth account.AppClientAuth) (latch.App, error)
	ExchangeAppCode(ctx context.Context, in account.AppCodeExchange) (account.AppTokens, error)
	RefreshAppGrant(ctx context.Context, app latch.App, refreshToken string, scopes []string) (account.AppTokens, error)
	AppClientCredentials(ctx context.Context, app latch.App, scopes []string) (account.AppTokens, error)
	AppUserInfo(ctx context.Context, accessToken string) (account.UserInfo, error)
	RevokeAppToken(ctx context.Context, app latch.App, tok, hint string) error
	IntrospectAppToken(ctx context.Context, app latch.App, tok, hint string) (account.Introspection, error)
}

var _ Accounts = (*account.Service)(nil)

// Config is what the surface needs besides the use cases.
type Config struct {
	// Issuer is the provider's issuer identifier, LATCH_PUBLIC_URL exactly
	// as the tokens' iss carries it. Empty, the metadata is not served
	// (404): a document naming no issuer would lead every RP astray.
	Issuer string
	// IDTokenAlgs are the algorithms ID tokens are signed with
	// (token.Keys.OIDCAlgorithm).
	IDTokenAlgs []string
}

// Surface is the OpenID Provider's JSON endpoints.
type Surface struct {
	accounts Accounts
	// oauth writes RFC 6749 §5.2 errors (token, revocation,
	// introspection); bearer writes RFC 6750 §3's (userinfo).
	oauth, bearer httpx.Adapter
	metadata      *metadata
}

// New returns the surface.
func New(accounts Accounts, cfg Config, log *slog.Logger) *Surface {
	return &Surface{
		accounts: accounts,
		oauth:    httpx.Adapter{Log: log, Write: writeOAuthError},
		bearer:   httpx.Adapter{Log: log, Write: writeBearerError},
		metadata: newMetadata(cfg.Issuer, cfg.IDTokenAlgs),
	}
}

// Register adds the routes to mux. Every route names its method; the
// endpoints browser apps call (public SPA clients: token, userinfo,
// revocation, the metadata and the JWKS) also answer CORS preflights.
// Introspection is for servers and answers none: a browser's preflight
// gets the mux's 405, and so no cross-origin call.
func (s *Surface) Register(mux httpx.Mux) {
	mux.Handle("POST "+PathToken, cors(s.oauth.Handle(s.token)))
	mux.Handle("OPTIONS "+PathToken, preflight("POST"))
	mux.Handle("GET "+PathUserinfo, cors(s.bearer.Handle(s.userinfo)))
	mux.Handle("POST "+PathUserinfo, cors(s.bearer.Handle(s.userinfo)))
	mux.Handle("OPTIONS "+PathUserinfo, preflight("GET, POST"))
	mux.Handle("POST "+PathRevoke, cors(s.oauth.Handle(s.revoke)))
	mux.Handle("OPTIONS "+PathRevoke, preflight("POST"))
	mux.Handle("POST "+PathIntrospect, s.oauth.Handle(s.introspect))
	// GET of the JWKS is package native's (it sets the CORS header
	// itself); its preflight, which a browser sends only if a script
	// adds headers, is answered here with the other endpoints'.
	mux.Handle("OPTIONS "+PathJWKS, preflight("GET"))
	for _, path := range s.metadata.paths {
		mux.Handle("GET "+path, cors(http.HandlerFunc(s.metadata.serve)))
		mux.Handle("OPTIONS "+path, preflight("GET"))
	}
}

// cors lets any origin read h's answers, errors included (so that a
// browser app can read why it was refused). No credentials: these
// endpoints never read cookies, and a token or a client id travels in the
// request itself.
func cors(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After")
		h.ServeHTTP(w, r)
	})
}

// preflight answers a CORS preflight (Fetch §3.2.2) for methods. Headers
// are listed by name: "*" would not cover Authorization.
func preflight(methods string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Allow-Methods", methods)
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
	})
}
