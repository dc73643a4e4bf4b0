package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/mail"
	"github.com/latchid/latch/oidc"
	"github.com/latchid/latch/password"
	"github.com/latchid/latch/ratelimit"
	"github.com/latchid/latch/store/postgres"
	"github.com/latchid/latch/token"
)

// config is everything every command reads from LATCH_* variables. Each is
// documented in the README.
type config struct {
	Addr        string
	DebugAddr   string
	MetricsAddr string // LATCH_METRICS_ADDR: /metrics there, not on Addr
	DatabaseURL string
	// DatabaseTimeout bounds every store call (LATCH_DATABASE_TIMEOUT):
	// a database that does not answer within it gives 503 + Retry-After.
	DatabaseTimeout time.Duration
	PublicURL       string
	Argon2          password.Params
	HashSlots       int
	HashQueue       time.Duration
	AccessTTL       time.Duration
	SessionTTL      time.Duration
	// RefreshReuse is the refresh-token reuse interval (0: off).
	RefreshReuse time.Duration
	Retention    time.Duration
	SigningAlg   string
	// OIDCSigningAlg signs ID tokens and apps' access tokens (RS256 or
	// ES256; LATCH_OIDC_SIGNING_ALG).
	OIDCSigningAlg string
	// KeyEncryptionKey encrypts signing keys at rest (32 bytes, from
	// LATCH_KEY_ENCRYPTION_KEY in base64).
	KeyEncryptionKey []byte
	PasswordMin      int
	PasswordMax      int
	TrustedProxies   []netip.Prefix
	Providers        []oidc.Provider
	Redirects        []string
	RedisURL         string
	RedisPrefix      string
	LoginPerIP       ratelimit.Rule
	LoginFailures    ratelimit.Rule
	LogLevel         slog.Level
	LogJSON          bool
	ShutdownGrace    time.Duration
	MaxHeaderBytes   int
	// SMTPURL is where mail goes (smtp://[user:pass@]host:port, or
	// smtps://); empty keeps mail in the outbox and prints it to the log.
	SMTPURL     string
	MailFrom    string
	MailOff     bool
	ProductName string
	LinkTTL     time.Duration
	// MailPerAccount and MailPerIP limit the mail one account is sent by
	// request, and the requests for mail from one address
	// (LATCH_MAIL_LIMIT_ACCOUNT, LATCH_MAIL_LIMIT_IP).
	MailPerAccount ratelimit.Rule
	MailPerIP      ratelimit.Rule

	// LimitIPv6Prefix is how many bits of an IPv6 address the
	// per-address limits count as one client (LATCH_LIMIT_IPV6_PREFIX).
	LimitIPv6Prefix int
	// LoginPerAccount caps consecutive failed sign-ins per email, from
	// every address (LATCH_LOGIN_LIMIT_ACCOUNT).
	LoginPerAccount ratelimit.Rule
	// LoginFailureFloor is the least time a failed sign-in takes
	// (LATCH_LOGIN_FAILURE_FLOOR); with LoginFailureFloorAuto, serve
	// makes it follow the stored hashes (see measureVerifyCosts).
	LoginFailureFloor     time.Duration
	LoginFailureFloorAuto bool
	// VerifyCosts, measured by serve with LoginFailureFloorAuto, makes
	// the floor follow the stored hashes (account.Config.VerifyCosts).
	VerifyCosts *password.VerifyCosts

	// RedisTimeout bounds every rate-limit call to Redis; past it the
	// limits fall back to this process (LATCH_REDIS_TIMEOUT).
	RedisTimeout time.Duration
}

// maxRefreshReuse bounds LATCH_REFRESH_REUSE_INTERVAL: the interval is for
// requests of one client that overlap, not for a copy kept for later.
const maxRefreshReuse = 5 * time.Minute

// loadConfig reads the environment through getenv. Every LATCH_* variable
// Latch knows is read here, whatever the others hold: a variable that
// loadConfig does not read is refused as unknown (checkEnvironment).
func loadConfig(getenv func(string) string) (config, error) {
	// The use cases' defaults are account.DefaultConfig's, kept there
	// once; the ones below belong to the process (listening, storage,
	// keys, logs).
	defaults := account.DefaultConfig()
	c := config{
		Addr:            "127.0.0.1:8080",
		Argon2:          password.DefaultParams(),
		HashQueue:       2 * time.Second,
		AccessTTL:       defaults.AccessTokenTTL,
		SessionTTL:      defaults.SessionTTL,
		RefreshReuse:    defaults.RefreshReuseInterval,
		LinkTTL:         defaults.LinkTTL,
		LoginPerIP:      defaults.LoginPerIP,
		LoginFailures:   defaults.LoginFailures,
		LoginPerAccount: defaults.LoginPerAccount,
		LimitIPv6Prefix: defaults.IPv6Prefix,
		MailPerAccount:  defaults.MailPerAccount,
		MailPerIP:       defaults.MailPerIP,
		Retention:       7 * 24 * time.Hour,
		SigningAlg:      token.ES256,
		OIDCSigningAlg:  token.RS256,
		PasswordMin:     defaults.Policy.MinLength,
		PasswordMax:     defaults.Policy.MaxLength,
		ShutdownGrace:   10 * time.Second,
		MaxHeaderBytes:  64 << 10,
	}
	var errs []string
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	integer := func(name string, min, max int, dst *int) {
		v := getenv(name)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			errs = append(errs, fmt.Sprintf("%s=%q: want an integer from %d to %d", name, v, min, max))
			return
		}
		*dst = n
	}
	duration := func(name string, dst *time.Duration) {
		v := getenv(name)
		if v == "" {
			return
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Sprintf("%s=%q: want a positive duration such as 2s or 1h", name, v))
			return
		}
		*dst = d
	}

	str("LATCH_ADDR", &c.Addr)
	str("LATCH_DEBUG_ADDR", &c.DebugAddr)
	str("LATCH_METRICS_ADDR", &c.MetricsAddr)
	str("LATCH_DATABASE_URL", &c.DatabaseURL)
	// Read even when LATCH_DATABASE_URL is set: every variable Latch
	// knows is read here, so that checkEnvironment knows it.
	dataDir := getenv("LATCH_DATA_DIR")
	if c.DatabaseURL == "" {
		if dataDir == "" {
			dataDir = "."
		}
		c.DatabaseURL = "sqlite://" + filepath.Join(dataDir, "latch.db")
	}
	c.DatabaseTimeout = postgres.DefaultTimeout // the same for both stores
	duration("LATCH_DATABASE_TIMEOUT", &c.DatabaseTimeout)
	str("LATCH_PUBLIC_URL", &c.PublicURL)
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" {
		// Every emailed link and the tokens' issuer start with it.
		errs = append(errs, fmt.Sprintf("LATCH_PUBLIC_URL=%q: want http(s)://host[:port][/path] (set it when LATCH_ADDR has no host)", c.PublicURL))
	}

	m, t, p := int(c.Argon2.MemoryKiB), int(c.Argon2.Time), int(c.Argon2.Threads)
	integer("LATCH_ARGON2_MEMORY_KIB", 64, 4<<20, &m)
	integer("LATCH_ARGON2_TIME", 1, 64, &t)
	integer("LATCH_ARGON2_THREADS", 1, 255, &p)
	c.Argon2 = password.Params{MemoryKiB: uint32(m), Time: uint32(t), Threads: uint8(p)}
	if err := c.Argon2.Validate(); err != nil {
		errs = append(errs, "argon2 parameters: "+err.Error())
	}
	integer("LATCH_HASH_SLOTS", 0, 1024, &c.HashSlots)
	duration("LATCH_HASH_QUEUE_TIMEOUT", &c.HashQueue)
	duration("LATCH_ACCESS_TOKEN_TTL", &c.AccessTTL)
	duration("LATCH_SESSION_TTL", &c.SessionTTL)
	if v := getenv("LATCH_REFRESH_REUSE_INTERVAL"); v != "" {
		// 0 is allowed here (it turns the interval off); a long interval
		// would let a stolen refresh token go unnoticed, so it is capped.
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > maxRefreshReuse {
			errs = append(errs, fmt.Sprintf("LATCH_REFRESH_REUSE_INTERVAL=%q: want a duration from 0 (off) to %v, such as 10s", v, maxRefreshReuse))
		} else {
			c.RefreshReuse = d
		}
	}
	duration("LATCH_SESSION_RETENTION", &c.Retention)
	duration("LATCH_SHUTDOWN_GRACE", &c.ShutdownGrace)
	str("LATCH_SMTP_URL", &c.SMTPURL)
	str("LATCH_MAIL_FROM", &c.MailFrom)
	str("LATCH_PRODUCT_NAME", &c.ProductName)
	duration("LATCH_LINK_TTL", &c.LinkTTL)
	switch v := getenv("LATCH_MAIL"); v {
	case "", "on":
	case "off":
		c.MailOff = true
	default:
		errs = append(errs, fmt.Sprintf("LATCH_MAIL=%q: want on or off", v))
	}
	// One name for pages and mail: LATCH_PRODUCT_NAME, else the sender's
	// display name, else Latch; an unset sender then carries that name.
	c.ProductName = mail.ProductName(c.ProductName, c.MailFrom)
	if c.MailFrom == "" {
		host := "localhost"
		if u, err := url.Parse(c.PublicURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
		c.MailFrom = mail.DefaultFrom(c.ProductName, host)
	}
	if c.SMTPURL != "" && !c.MailOff {
		// Checked now, not when the first message is due.
		if _, err := mail.NewSMTP(c.SMTPURL, c.MailFrom); err != nil {
			errs = append(errs, "LATCH_SMTP_URL / LATCH_MAIL_FROM: "+err.Error())
		}
	}
	if v := getenv("LATCH_TRUSTED_PROXIES"); v != "" {
		p, err := httpx.ParsePrefixes(v)
		if err != nil {
			errs = append(errs, "LATCH_TRUSTED_PROXIES: "+err.Error())
		}
		c.TrustedProxies = p
	}
	str("LATCH_REDIS_URL", &c.RedisURL)
	c.RedisPrefix = "latch:"
	str("LATCH_REDIS_PREFIX", &c.RedisPrefix)
	c.RedisTimeout = ratelimit.DefaultFallbackTimeout
	duration("LATCH_REDIS_TIMEOUT", &c.RedisTimeout)
	rule := func(name string, dst *ratelimit.Rule) {
		if v := getenv(name); v != "" {
			r, err := ratelimit.ParseRule(v)
			if err != nil {
				errs = append(errs, name+": "+err.Error())
				return
			}
			*dst = r
		}
	}
	rule("LATCH_LOGIN_LIMIT_IP", &c.LoginPerIP)
	rule("LATCH_LOGIN_LIMIT_FAILURES", &c.LoginFailures)
	rule("LATCH_LOGIN_LIMIT_ACCOUNT", &c.LoginPerAccount)
	rule("LATCH_MAIL_LIMIT_ACCOUNT", &c.MailPerAccount)
	rule("LATCH_MAIL_LIMIT_IP", &c.MailPerIP)
	switch v := getenv("LATCH_LOGIN_FAILURE_FLOOR"); v {
	case "", "auto":
		c.LoginFailureFloorAuto = true
	case "off", "0":
	default:
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > time.Minute {
			errs = append(errs, fmt.Sprintf("LATCH_LOGIN_FAILURE_FLOOR=%q: want auto, off or a duration such as 1.5s (at most 1m)", v))
		}
		c.LoginFailureFloor = d
	}
	// Shorter than /32 would count whole providers as one client.
	integer("LATCH_LIMIT_IPV6_PREFIX", 32, 128, &c.LimitIPv6Prefix)
	str("LATCH_SIGNING_ALG", &c.SigningAlg)
	str("LATCH_OIDC_SIGNING_ALG", &c.OIDCSigningAlg)
	if v := getenv("LATCH_KEY_ENCRYPTION_KEY"); v != "" {
		k, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(k) != 32 {
			errs = append(errs, "LATCH_KEY_ENCRYPTION_KEY: want 32 random bytes in base64 (e.g. openssl rand -base64 32)")
		}
		c.KeyEncryptionKey = k
	}
	if c.SigningAlg != token.ES256 && c.SigningAlg != token.EdDSA {
		errs = append(errs, fmt.Sprintf("LATCH_SIGNING_ALG=%q: want %s or %s", c.SigningAlg, token.ES256, token.EdDSA))
	}
	if c.OIDCSigningAlg != token.RS256 && c.OIDCSigningAlg != token.ES256 {
		errs = append(errs, fmt.Sprintf("LATCH_OIDC_SIGNING_ALG=%q: want %s or %s", c.OIDCSigningAlg, token.RS256, token.ES256))
	}
	integer("LATCH_PASSWORD_MIN_LENGTH", 1, 1024, &c.PasswordMin)
	integer("LATCH_PASSWORD_MAX_LENGTH", 1, 4096, &c.PasswordMax)
	if c.PasswordMin > c.PasswordMax {
		errs = append(errs, "LATCH_PASSWORD_MIN_LENGTH is greater than LATCH_PASSWORD_MAX_LENGTH")
	}
	switch lvl := strings.ToLower(getenv("LATCH_LOG_LEVEL")); lvl {
	case "", "info":
		c.LogLevel = slog.LevelInfo
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		errs = append(errs, fmt.Sprintf("LATCH_LOG_LEVEL=%q: want debug, info, warn or error", lvl))
	}
	switch f := strings.ToLower(getenv("LATCH_LOG_FORMAT")); f {
	case "", "text":
	case "json":
		c.LogJSON = true
	default:
		errs = append(errs, fmt.Sprintf("LATCH_LOG_FORMAT=%q: want text or json", f))
	}
	var perrs []string
	c.Providers, perrs = loadProviders(getenv, c.PublicURL)
	errs = append(errs, perrs...)
	for _, r := range strings.Split(getenv("LATCH_REDIRECT_ALLOWLIST"), ",") {
		if r = strings.TrimSpace(r); r != "" {
			c.Redirects = append(c.Redirects, r)
		}
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return c, nil
}

func (c config) logger() *slog.Logger { return c.loggerTo(os.Stderr) }

// loggerTo is the configured logger writing to w.
func (c config) loggerTo(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
