package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/native"
	"github.com/latchid/latch/metrics"
	"github.com/latchid/latch/password"
	"github.com/latchid/latch/ratelimit"
	"github.com/latchid/latch/ratelimit/redislimit"
	"github.com/latchid/latch/store/postgres"
	"github.com/latchid/latch/store/sqlite"
	"github.com/latchid/latch/token"
	"github.com/latchid/latch/web"
)

// migratingStore is a Store that can bring its schema up to date.
type migratingStore interface {
	latch.Store
	Migrate(ctx context.Context) error
	MigrationStatus(ctx context.Context) (latch.MigrationStatus, error)
}

// openStore opens the backend named by url: sqlite://PATH or postgres://...
// Every store call is bounded by timeout (LATCH_DATABASE_TIMEOUT).
func openStore(ctx context.Context, url string, timeout time.Duration) (migratingStore, error) {
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		return sqlite.Open(ctx, strings.TrimPrefix(url, "sqlite://"), sqlite.WithTimeout(timeout))
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return postgres.Open(ctx, url, postgres.WithTimeout(timeout))
	}
	return nil, fmt.Errorf("LATCH_DATABASE_URL: want sqlite://PATH or postgres://..., got %q", redactURL(url))
}

// redactURL drops everything after the scheme so a password in a URL never
// reaches a log line or an error message.
func redactURL(url string) string {
	if scheme, _, ok := strings.Cut(url, "://"); ok {
		return scheme + "://..."
	}
	return "(not a URL)"
}

// app is one wired Latch: the store, the use cases and the HTTP handler.
type app struct {
	store    migratingStore
	hasher   *password.Hasher
	accounts *account.Service
	keys     *token.Keys
	log      *slog.Logger

	closeLimiter func() error
	cfg          config
	mailQueued   wakeup

	// observed is store as the use cases and the mail worker use it:
	// every call timed for the metrics.
	observed latch.Store
	metrics  *metrics.Metrics
}

// newApp opens and migrates the store, loads the signing keys and wires the
// use cases.
func newApp(ctx context.Context, cfg config, log *slog.Logger) (*app, error) {
	store, err := openStore(ctx, cfg.DatabaseURL, cfg.DatabaseTimeout)
	if err != nil {
		return nil, err
	}
	if err := store.Migrate(ctx); err != nil {
		store.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	m := newMetrics()
	observed := m.Store(store)
	hasher, err := password.NewHasher(cfg.Argon2, cfg.HashSlots, cfg.HashQueue, password.WithObserver(m.Hashes()))
	if err != nil {
		store.Close()
		return nil, err
	}
	m.Hashes().Watch(hasher)
	keys, err := token.LoadKeys(ctx, observed, token.KeysConfig{Algorithm: cfg.SigningAlg, OIDCAlgorithm: cfg.OIDCSigningAlg, Issuer: cfg.PublicURL, Now: nowUTC, EncryptionKey: cfg.KeyEncryptionKey})
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	limiter, fallback, closeLimiter, err := newLimiter(ctx, cfg.RedisURL, cfg.RedisPrefix, cfg.RedisTimeout, log)
	if err != nil {
		store.Close()
		return nil, err
	}
	if fallback != nil {
		m.WatchFallback(fallback)
	}
	mailQueued := make(wakeup, 1)
	policy := password.DefaultPolicy()
	policy.MinLength, policy.MaxLength = cfg.PasswordMin, cfg.PasswordMax
	accounts := account.New(observed, hasher, keys, m.Limiter(limiter), account.Config{
		AccessTokenTTL: cfg.AccessTTL, SessionTTL: cfg.SessionTTL, RefreshReuseInterval: cfg.RefreshReuse, Policy: policy,
		LoginPerIP: cfg.LoginPerIP, LoginFailures: cfg.LoginFailures, IPv6Prefix: cfg.LimitIPv6Prefix,
		LoginPerAccount: cfg.LoginPerAccount, LoginFailureFloor: cfg.LoginFailureFloor, VerifyCosts: cfg.VerifyCosts,
		// Latch's own login page is a client of its own provider flow.
		RedirectAllowlist: append(cfg.Redirects, cfg.PublicURL+web.CompletePath),
		PublicURL:         cfg.PublicURL, MailOff: cfg.MailOff, LinkTTL: cfg.LinkTTL,
		MailPerAccount: cfg.MailPerAccount, MailPerIP: cfg.MailPerIP,
		MailQueued: mailQueued.notify, Observer: m.Accounts(),
	}, nil, log)
	m.Outbox().Watch(observed, nowUTC)
	return &app{store: store, observed: observed, metrics: m, hasher: hasher, accounts: accounts, keys: keys, log: log,
		closeLimiter: closeLimiter, cfg: cfg, mailQueued: mailQueued}, nil
}

// wakeup is a non-blocking signal: use cases ring it when they put mail in
// the outbox, and the delivery worker listens.
type wakeup chan struct{}

func (w wakeup) notify() {
	select {
	case w <- struct{}{}:
	default:
	}
}

// newLimiter keeps rate limits in Redis when a URL is given (every replica
// then shares them), else in this process. With Redis, limits fall back to
// this process while Redis fails or takes longer than timeout, and return
// to Redis once it answers: never open, and a replica starts whether or
// not Redis is up. The Fallback is returned too (nil without Redis), for
// its metrics.
func newLimiter(ctx context.Context, url, prefix string, timeout time.Duration, log *slog.Logger) (ratelimit.Limiter, *ratelimit.Fallback, func() error, error) {
	if url == "" {
		return ratelimit.NewMemory(0, nil), nil, func() error { return nil }, nil
	}
	redisLimiter, err := redislimit.Open(url, prefix+"ratelimit:", timeout)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("LATCH_REDIS_URL: %w", err)
	}
	limiter := ratelimit.NewFallback(redisLimiter, ratelimit.NewMemory(0, nil), ratelimit.FallbackConfig{
		Timeout: timeout, Log: log.With("redis", redactURL(url))})
	// Checked now so that the log says at once whether limits are shared;
	// an unreachable Redis is logged by the check and is not fatal.
	_ = limiter.Check(ctx)
	return limiter, limiter, redisLimiter.Close, nil
}

// handler is every HTTP surface on one mux, and GET /metrics unless
// LATCH_METRICS_ADDR gives the metrics a listener of their own.
func (a *app) handler() http.Handler {
	surfaces := api.NewHandler(a.accounts, api.Config{
		JWKS:           a.keys.JWKS,
		PublicURL:      a.cfg.PublicURL,
		OIDCAlgorithm:  a.keys.OIDCAlgorithm(),
		Product:        a.cfg.ProductName,
		TrustedProxies: a.cfg.TrustedProxies,
		OAuth: native.OAuthConfig{
			Providers: a.cfg.Providers, Sealer: a.keys, SecureCookies: httpx.SecureCookies(a.cfg.PublicURL),
		},
		Requests: a.metrics.Requests(),
	}, a.log)
	if a.cfg.MetricsAddr != "" {
		return surfaces
	}
	return withMetrics(surfaces, a.metrics.Handler(a.log))
}

func (a *app) Close() error {
	_ = a.closeLimiter()
	return a.store.Close()
}

// watchSessionChanges keeps the use cases' sessions cache in step with the
// store's change feed until ctx ends, if the store has one (both backends
// do): authenticated requests then read sessions from memory. It reaches
// the store itself, not the timed wrapper: the feed is not a store call.
func (a *app) watchSessionChanges(ctx context.Context) {
	feed, ok := a.store.(latch.SessionChangeFeed)
	if !ok {
		return
	}
	go func() { _ = a.accounts.WatchSessionChanges(ctx, feed) }()
}
