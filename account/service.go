// Package account holds Latch's use cases: the only place where the rules
// live. HTTP surfaces and the CLI call it; it calls the store, the password
// hasher and the token keys it is given.
package account

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
	"github.com/latchid/latch/ratelimit"
	"github.com/latchid/latch/token"
)

// Config holds the tunables of the use cases.
type Config struct {
	// AccessTokenTTL is the lifetime of an access token (default 1 h).
	AccessTokenTTL time.Duration
	// SessionTTL is how long a sign-in can be refreshed (default 30 days).
	SessionTTL time.Duration
	// RefreshReuseInterval is how long after its use a refresh token may
	// be presented again and get the same successor (two browser tabs
	// refreshing one session at once); later, a reuse revokes the session
	// (users) or the grant (API clients). 0 turns it off: any reuse
	// revokes. Default 10 s.
	RefreshReuseInterval time.Duration
	// Policy is the baseline password policy.
	Policy password.Policy
	// LoginPerIP limits sign-in attempts per client IP.
	LoginPerIP ratelimit.Rule
	// LoginFailures limits failed sign-ins per (email, client IP), and
	// wrong current passwords per account.
	LoginFailures ratelimit.Rule
	// LoginPerAccount caps the consecutive failed sign-ins of one email,
	// from every address together (NIST SP 800-63B: at most 100). Beyond
	// it, password sign-in for that email is refused (429) until the rule
	// lets one more through, except from an address known for the
	// account (one it signed in from, completed a link from or changed its
	// password from, in the last 30 days); a successful sign-in or a
	// password set starts the count again, and links (recovery,
	// set-password) still work, so the owner is never locked out.
	LoginPerAccount ratelimit.Rule
	// LoginFailureFloor is the least time a failed password sign-in
	// takes (twice that when the password typed is not in NFKC form: two
	// verifications), measured from the start of the check: it must be at
	// least the slowest verification of any hash the service holds, so
	// that an imported slow hash answers a wrong password no later than
	// an unknown email does. The wait is a sleep, outside the hash slots.
	// A fixed floor; zero leaves it to VerifyCosts.
	LoginFailureFloor time.Duration
	// VerifyCosts, when set and LoginFailureFloor is zero, makes the floor
	// follow the hashes the service holds: a quarter more than the slowest
	// verification among argon2id at the configured parameters, the
	// stored hash formats found at start (LoadFailureFloor), and any hash
	// verified or imported since. Without either, there is no floor and
	// an account's own hash sets its answer time.
	VerifyCosts *password.VerifyCosts
	// IPv6Prefix is how many leading bits of an IPv6 client address the
	// per-address limits count as one client (default 64; see
	// ratelimit.AddressKey). IPv4 addresses count one by one.
	IPv6Prefix int
	// RedirectAllowlist lists the URLs (and the paths below them) a
	// provider sign-in may send its result to.
	RedirectAllowlist []string

	// PublicURL is where people reach Latch: the links in emails start
	// with it.
	PublicURL string
	// MailOff disables every flow that sends mail (LATCH_MAIL=off).
	MailOff bool
	// LinkTTL is the life of a set-password or recovery link, and of a
	// sign-up's verification token (default 24 h).
	LinkTTL time.Duration
	// MailPerAccount limits the mail one account can be sent by request
	// (links, notices); MailPerIP the requests for mail from one address.
	MailPerAccount ratelimit.Rule
	MailPerIP      ratelimit.Rule
	// MailQueued, if set, is called after a message is put in the outbox,
	// so the delivery worker need not wait for its next poll.
	MailQueued func()
	// Observer, if set, is told what the use cases did (for metrics).
	Observer Observer
	// ProductName names the issuer of TOTP factors in authenticator apps
	// (mail.ProductName; "Latch" when empty).
	ProductName string
}

// DefaultRefreshReuseInterval is the default of RefreshReuseInterval:
// long enough for concurrent requests of one browser, short enough that a
// stolen token is still caught (Supabase Auth uses 10 s too).
const DefaultRefreshReuseInterval = 10 * time.Second

// DefaultConfig returns the defaults documented in the README.
func DefaultConfig() Config {
	return Config{
		AccessTokenTTL:       time.Hour,
		SessionTTL:           30 * 24 * time.Hour,
		RefreshReuseInterval: DefaultRefreshReuseInterval,
		Policy:               password.DefaultPolicy(),
		LoginPerIP:           ratelimit.Rule{Limit: 60, Per: time.Minute},
		LoginFailures:        ratelimit.Rule{Limit: 10, Per: 10 * time.Minute},
		// 100 failures at once, then one an hour.
		LoginPerAccount: ratelimit.Rule{Limit: 100, Per: 100 * time.Hour},
		IPv6Prefix:      ratelimit.DefaultIPv6Prefix,
		LinkTTL:         24 * time.Hour,
		MailPerAccount:  ratelimit.Rule{Limit: 5, Per: time.Hour},
		MailPerIP:       ratelimit.Rule{Limit: 30, Per: time.Hour},
	}
}

// Service runs the use cases.
type Service struct {
	store   latch.Store
	hasher  *password.Hasher
	keys    *token.Keys
	limiter ratelimit.Limiter
	cfg     Config
	now     latch.Clock
	log     *slog.Logger
	// jobQueued wakes RunJobs when a request is recorded (see jobs.go).
	jobQueued chan struct{}
	// jobsRunning is held (shared) by each pass over the jobs; Wait takes
	// it to wait for passes in progress.
	jobsRunning sync.RWMutex
	// ready guards Ready's last success (readyAt) and its ping in flight.
	ready     sync.Mutex
	readyAt   time.Time
	readyCall *pingCall
	// ownHashPrefix begins every hash this service makes (see
	// password.OwnPrefix), for observeHash.
	ownHashPrefix string
	// failureFloor is the current floor of a failed sign-in, in
	// nanoseconds (see Config.LoginFailureFloor); it only ever rises.
	failureFloor atomic.Int64
	// sessions keeps Authenticate's store answers while a session change
	// feed is watched (WatchSessionChanges).
	sessions *sessionCache
}

// New returns a Service. now may be nil for the wall clock, limiter nil
// for an in-process one.
func New(store latch.Store, hasher *password.Hasher, keys *token.Keys, limiter ratelimit.Limiter, cfg Config, now latch.Clock, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.AccessTokenTTL <= 0 {
		cfg.AccessTokenTTL = DefaultConfig().AccessTokenTTL
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultConfig().SessionTTL
	}
	if limiter == nil {
		limiter = ratelimit.NewMemory(0, now)
	}
	if cfg.RefreshReuseInterval < 0 {
		cfg.RefreshReuseInterval = 0
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = DefaultConfig().LinkTTL
	}
	if cfg.MailQueued == nil {
		cfg.MailQueued = func() {}
	}
	if cfg.Observer == nil {
		cfg.Observer = unobserved{}
	}
	s := &Service{store: store, hasher: hasher, keys: keys, limiter: limiter, cfg: cfg, now: func() time.Time { return now().UTC() }, log: log,
		jobQueued: make(chan struct{}, 1), sessions: newSessionCache(sessionCacheEntries, sessionCacheMaxAge)}
	if hasher != nil {
		s.ownHashPrefix = password.OwnPrefix(hasher.Params())
	}
	switch {
	case cfg.LoginFailureFloor > 0:
		s.failureFloor.Store(int64(cfg.LoginFailureFloor))
	case cfg.VerifyCosts != nil:
		s.raiseFailureFloor(cfg.VerifyCosts.Own)
	}
	return s
}

// refreshPrefix marks Latch refresh tokens, so a leaked one is recognisable
// (secret scanners) and garbage is refused without a lookup.
const refreshPrefix = "lrt_"

// TokenPair is what a sign-in or a refresh hands out.
type TokenPair struct {
	AccessToken  string
	RefreshToken string
	ExpiresIn    time.Duration
	Scopes       []string
	SessionID    string
}

// Principal is the caller behind a verified access token whose session is
// live.
type Principal struct {
	User    latch.User
	Session latch.Session
	Claims  token.Claims
}

func errUnauthenticated(cause error) error {
	return &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid or expired access token", Err: cause}
}

// Authenticate verifies an access token and checks, against the store, that
// its session is still live and its user active: a revoked session's tokens
// are refused at once, not at expiry. The store's answer comes from memory
// while a session change feed is watched (WatchSessionChanges): a change
// made by this replica is refused at once, one made elsewhere within the
// feed's delay.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Principal, error) {
	claims, err := s.keys.Verify(accessToken)
	if err != nil {
		// The client gets a bare 401; the operator, at debug level, the
		// reason (wrong issuer, expired, unknown or retired key, bad
		// signature), never the token.
		s.log.DebugContext(ctx, "access token refused", "reason", refusalReason(err))
		return Principal{}, err
	}
	if claims.Kind == latch.KindClient {
		return Principal{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeNotUserToken, Message: "an API client's token does not act for a user"}
	}
	sess, user, err := s.sessionWithUser(ctx, claims.SessionID)
	if err != nil {
		if latch.IsKind(err, latch.KindNotFound) {
			return Principal{}, errUnauthenticated(err)
		}
		return Principal{}, err
	}
	if !sess.Live(s.now()) || sess.UserID != claims.Subject || !user.Active || claims.Kind != sess.Kind {
		s.log.DebugContext(ctx, "access token refused", "reason", "its session ended or its user is deactivated", "session_id", claims.SessionID)
		return Principal{}, errUnauthenticated(nil)
	}
	return Principal{User: user, Session: sess, Claims: claims}, nil
}

// refusalReason is why a token did not verify: the cause inside the
// Unauthenticated error the client sees.
func refusalReason(err error) string {
	var le *latch.Error
	if errors.As(err, &le) && le.Err != nil {
		return le.Err.Error()
	}
	return err.Error()
}

// Ready reports whether this replica can serve: nil while its database
// answers, Unavailable (with a RetryAfter) while it cannot be reached or
// does not answer within the store's bound.
func (s *Service) Ready(ctx context.Context) error {
	// /readyz is public and unauthenticated: a flood of it must not take
	// the database connections that sign-ins need. A success stands for
	// readyEvery; callers meanwhile share one ping in flight (and its
	// answer, a failure included) rather than queueing one each behind a
	// hung database. A failure is not kept: the next caller asks again.
	s.ready.Lock()
	if !s.readyAt.IsZero() && time.Since(s.readyAt) < readyEvery {
		s.ready.Unlock()
		return nil
	}
	if c := s.readyCall; c != nil {
		s.ready.Unlock()
		select {
		case <-c.done:
			return c.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c := &pingCall{done: make(chan struct{})}
	s.readyCall = c
	s.ready.Unlock()
	c.err = s.store.Ping(context.WithoutCancel(ctx))
	s.ready.Lock()
	s.readyCall = nil
	if c.err == nil {
		s.readyAt = time.Now()
	} else {
		s.readyAt = time.Time{}
	}
	s.ready.Unlock()
	close(c.done)
	return c.err
}

// readyEvery is how long a successful readiness check stands.
const readyEvery = time.Second

// pingCall is one readiness ping in flight, shared by the callers that
// came while it ran.
type pingCall struct {
	done chan struct{}
	err  error
}

// Logout revokes the caller's session: its access and refresh tokens stop
// working at once.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	err := s.store.RevokeSession(ctx, p.Session.ID, s.now())
	// Even after an error: a timeout may hide a commit.
	s.sessions.forgetUser(p.Session.UserID)
	if err != nil {
		return err
	}
	s.cfg.Observer.SessionsRevoked(RevokedLogout, 1)
	ev := s.userEvent(ctx, p.User, latch.AuditSessionRevoke)
	ev.Details = map[string]string{"session_id": p.Session.ID, "reason": "logout"}
	s.appendAudit(ctx, ev)
	return nil
}

// purgeBatch bounds one delete, so the janitor never holds the writer long.
const purgeBatch = 1000

// PurgeEndedSessions deletes expired one-time codes, password links that
// expired and mail sent or given up more than retention ago, and, with
// their refresh tokens, the sessions that expired or were revoked more
// than retention ago, and returns how many sessions it deleted.
// Keeping ended sessions a while lets an operator see them; keeping them
// forever only grows the database.
func (s *Service) PurgeEndedSessions(ctx context.Context, retention time.Duration) (int, error) {
	if _, err := purgeAll(func() (int, error) { return s.store.PurgeAuthorizationCodes(ctx, s.now(), purgeBatch) }); err != nil {
		return 0, err
	}
	if _, err := purgeAll(func() (int, error) { return s.store.PurgeWebAuthnChallenges(ctx, s.now(), purgeBatch) }); err != nil {
		return 0, err
	}
	before := s.now().Add(-retention)
	// Expired links, and mail sent or given up, go after the same
	// retention (an operator may want to see what was sent lately).
	if _, err := purgeAll(func() (int, error) { return s.store.PurgePasswordLinks(ctx, before, purgeBatch) }); err != nil {
		return 0, err
	}
	if _, err := purgeAll(func() (int, error) { return s.store.PurgeMail(ctx, before, purgeBatch) }); err != nil {
		return 0, err
	}
	// Retired signing keys verify nothing: their private parts go.
	if _, err := s.store.DeleteRetiredSigningKeys(ctx, s.now()); err != nil {
		return 0, err
	}
	return purgeAll(func() (int, error) { return s.store.PurgeSessions(ctx, before, purgeBatch) })
}

// purgeAll runs one bounded delete until it deletes less than a batch.
func purgeAll(batch func() (int, error)) (int, error) {
	total := 0
	for {
		n, err := batch()
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
}

// startSession stores a new session for user and signs its first tokens.
// withRefresh is false for tokens that cannot be refreshed (personal and
// project tokens).
//
// verifiedHash, when not empty, is the password hash a login just
// verified: the session is stored only while it is still the account's
// password, so a concurrent password change cannot be outlived.
//
// amr, for a sign-in, is how the person authenticated (AMRPassword,
// AMRFederated): the session records it with the time (AuthTime, now),
// and an app the browser signs in to is told both (auth_time, amr). nil
// for a token no person authenticated for (latch tokens issue).
func (s *Service) startSession(ctx context.Context, user latch.User, kind latch.TokenKind, scopes []string, ttl time.Duration, withRefresh bool, verifiedHash string, amr []string, audit *latch.AuditEvent) (TokenPair, error) {
	now := s.now()
	id, err := newID()
	if err != nil {
		return TokenPair{}, latch.Internal(err)
	}
	sess := latch.Session{ID: id, UserID: user.ID, Kind: kind, Scopes: scopes, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if len(amr) > 0 {
		sess.AuthTime, sess.AMR = now, amr
	}
	var refresh string
	var refreshHash []byte
	if withRefresh {
		refresh, refreshHash = token.NewChained(refreshPrefix, id)
	}
	if err := s.store.CreateSession(ctx, latch.NewSession{Session: sess, RefreshHash: refreshHash, WhilePasswordHash: verifiedHash, Audit: audit}); err != nil {
		return TokenPair{}, err
	}
	s.cfg.Observer.SessionCreated(string(kind))
	pair, err := s.signAccess(sess, now, withRefresh)
	if err != nil {
		return TokenPair{}, err
	}
	pair.RefreshToken = refresh
	return pair, nil
}

// signAccess signs an access token for sess. A refreshable session's
// tokens are short-lived (AccessTokenTTL, never past the session's end); a
// session without refresh (personal and project tokens) has one token that
// lives as long as the session.
func (s *Service) signAccess(sess latch.Session, now time.Time, refreshable bool) (TokenPair, error) {
	exp := sess.ExpiresAt
	if short := now.Add(s.cfg.AccessTokenTTL); refreshable && short.Before(exp) {
		exp = short
	}
	access, err := s.keys.Sign(token.Claims{Subject: sess.UserID, SessionID: sess.ID, Kind: sess.Kind, Scopes: sess.Scopes, IssuedAt: now, Expiry: exp})
	if err != nil {
		return TokenPair{}, latch.Internal(err)
	}
	return TokenPair{AccessToken: access, ExpiresIn: exp.Sub(now), Scopes: sess.Scopes, SessionID: sess.ID}, nil
}

func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}
