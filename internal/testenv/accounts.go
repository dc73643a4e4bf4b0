package testenv

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api"
	"github.com/latchid/latch/api/native"
	"github.com/latchid/latch/oidc"
	"github.com/latchid/latch/password"
	"github.com/latchid/latch/token"
)

// TestIssuer is the issuer of tokens signed in tests.
const TestIssuer = "http://latch.test"

// FastParams are argon2id parameters cheap enough for tests.
var FastParams = password.Params{MemoryKiB: 1024, Time: 1, Threads: 1}

// Clock is a settable clock for expiry tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at a fixed instant.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
}

// Now is a latch.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Harness is a wired account.Service over a given store, with cheap
// hashing and a settable clock.
type Harness struct {
	Store    latch.Store
	Accounts *account.Service
	Keys     *token.Keys
	Hasher   *password.Hasher
	Clock    *Clock
}

// NewHarness wires the use cases over store with the default config.
func NewHarness(t testing.TB, store latch.Store) *Harness {
	t.Helper()
	return NewHarnessWithConfig(t, store, account.DefaultConfig())
}

// NewHarnessWithConfig wires the use cases over store with cfg.
func NewHarnessWithConfig(t testing.TB, store latch.Store, cfg account.Config) *Harness {
	t.Helper()
	return newHarness(t, store, cfg, token.ES256)
}

// NewHarnessWithOIDCAlgorithm is NewHarness with the OpenID key family on
// alg (RS256, the service's default, costs an RSA key per fresh store).
func NewHarnessWithOIDCAlgorithm(t testing.TB, store latch.Store, alg string) *Harness {
	t.Helper()
	return newHarness(t, store, account.DefaultConfig(), alg)
}

func newHarness(t testing.TB, store latch.Store, cfg account.Config, oidcAlg string) *Harness {
	t.Helper()
	clock := NewClock()
	hasher, err := password.NewHasher(FastParams, 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// NewHarness's OpenID family on ES256 shares the native key: the
	// harness's hundreds of fresh stores would otherwise each generate an
	// RSA-2048 key (about 0.1 s under -race). The tests of RS256 itself
	// ask for it (NewHarnessWithOIDCAlgorithm), as do the built binary's.
	keys, err := token.LoadKeys(context.Background(), store, token.KeysConfig{Algorithm: token.ES256, OIDCAlgorithm: oidcAlg, Issuer: TestIssuer, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	accounts := account.New(store, hasher, keys, nil, cfg, clock.Now, slog.New(slog.DiscardHandler))
	return &Harness{Store: store, Accounts: accounts, Keys: keys, Hasher: hasher, Clock: clock}
}

// ForEachBackend runs f, in parallel subtests, against a fresh harness on
// every store backend.
func ForEachBackend(t *testing.T, f func(t *testing.T, h *Harness)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f(t, NewHarness(t, b.Open(t)))
		})
	}
}

// Server serves every HTTP surface over the harness's use cases on a
// loopback port, closed when t ends, with the given sign-in providers.
func (h *Harness) Server(t testing.TB, providers ...oidc.Provider) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(api.NewHandler(h.Accounts, api.Config{JWKS: h.Keys.JWKS, OAuth: native.OAuthConfig{Sealer: h.Keys, Providers: providers}},
		slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv
}

// OAuthUser creates a passwordless account linked to a Google identity, as
// a first sign-in with Google would, and returns it with a session token.
func (h *Harness) OAuthUser(t testing.TB, email string) (latch.User, account.TokenPair) {
	t.Helper()
	ctx := context.Background()
	u, err := h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: email, Provider: latch.ProviderGoogle, Issuer: latch.WellKnownIssuer(latch.ProviderGoogle), Subject: "google-" + email})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: email})
	if err != nil {
		t.Fatal(err)
	}
	return u, pair
}

// APIClient creates an API client with scope in tenantID ("" for the
// default tenant) and returns it, its secret and a fresh access token.
func (h *Harness) APIClient(t testing.TB, scope latch.Scope, tenantID string, super bool) (latch.Client, string, string) {
	t.Helper()
	ctx := context.Background()
	nc, err := h.Accounts.CreateClient(ctx, account.Operator(""), account.CreateClientInput{Name: "test " + string(scope), Scope: string(scope), TenantID: tenantID, Super: super})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := h.Accounts.IssueClientToken(ctx, nc.Client.ID, nc.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return nc.Client, nc.Secret, pair.AccessToken
}

// PasswordUser creates an account with a password in tenantID ("" for the
// default tenant).
func (h *Harness) PasswordUser(t testing.TB, email, pw, tenantID string, admin bool) latch.User {
	t.Helper()
	u, err := h.Accounts.CreateUser(context.Background(), account.CreateUserInput{Email: email, Password: pw, TenantID: tenantID, Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	return u
}
