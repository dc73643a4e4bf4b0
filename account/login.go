package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
	"github.com/latchid/latch/ratelimit"
	"github.com/latchid/latch/token"
)

func newID() (string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// errInvalidCredentials is the one answer for an unknown email, an account
// without a password and a wrong password, so none can be told apart.
func errInvalidCredentials() error {
	return &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidCredentials, Message: "invalid email or password"}
}

// LoginInput is an email + password sign-in. ClientIP is the address the
// request came from, for rate limits ("" when unknown).
type LoginInput struct {
	Email    string
	Password string
	ClientIP string
}

// Login signs a user in with email and password and starts a session.
//
// An unknown email, an account without a password and a wrong password all
// cost one password verification and give the same error. Attempts are
// limited per client IP, and failures per (email, client IP); both limits
// apply alike to emails that have no account.
//
// When an administrator asked for the password to be changed at the next
// sign-in, Login answers a Forbidden error with code
// password_change_required together with a pair whose only scope is
// password:change: a short-lived token that can set a new password and do
// nothing else.
func (s *Service) Login(ctx context.Context, in LoginInput) (TokenPair, error) {
	user, verified, mustChange, err := s.authenticatePassword(ctx, in)
	if err != nil {
		return TokenPair{}, err
	}
	ev := s.userEvent(ctx, user, latch.AuditLoginSuccess)
	ev.IP = in.ClientIP
	ev.Details = map[string]string{"method": "password"}
	scopes, ttl, refresh := latch.SessionScopes(), s.cfg.SessionTTL, true
	if mustChange {
		ev.Action = latch.AuditLoginChangeRequired
		scopes, ttl, refresh = []string{latch.ScopePasswordChange}, passwordChangeTTL, false
	}
	pair, err := s.startSession(ctx, user, latch.KindSession, scopes, ttl, refresh, verified, &ev)
	if latch.IsCode(err, latch.CodeConcurrentUpdate) {
		// The password changed while we checked it: the one given is no
		// longer the account's password.
		return TokenPair{}, errInvalidCredentials()
	}
	if err == nil && mustChange {
		return pair, errPasswordChangeRequired()
	}
	return pair, err
}

// passwordChangeTTL is the life of the token that can only change the
// password.
const passwordChangeTTL = 10 * time.Minute

func errPasswordChangeRequired() error {
	return &latch.Error{Kind: latch.KindForbidden, Code: latch.CodePasswordChangeRequired, Message: "the password must be changed before signing in"}
}

// AuthenticatePassword checks an email and password, with Login's limits
// and its sameness for unknown accounts, and returns the account and the
// stored hash that matched. Whatever it starts (a session, a one-time
// code) must be conditional on that hash still being current.
//
// An account whose password must be changed first is refused with
// password_change_required: only Login can hand out the token for that.
func (s *Service) AuthenticatePassword(ctx context.Context, in LoginInput) (latch.User, string, error) {
	user, verified, mustChange, err := s.authenticatePassword(ctx, in)
	if err == nil && mustChange {
		return latch.User{}, "", errPasswordChangeRequired()
	}
	return user, verified, err
}

func (s *Service) authenticatePassword(ctx context.Context, in LoginInput) (latch.User, string, bool, error) {
	var missing []latch.Error
	if strings.TrimSpace(in.Email) == "" {
		missing = append(missing, *latch.FieldError("email", latch.CodeRequired, "The email field is required."))
	}
	if in.Password == "" {
		missing = append(missing, *latch.FieldError("password", latch.CodeRequired, "The password field is required."))
	}
	if len(missing) > 0 {
		return latch.User{}, "", false, invalid(missing)
	}
	client := s.addressKey(in.ClientIP)
	if err := s.limit(ctx, "login-ip:"+client, s.cfg.LoginPerIP, 1); err != nil {
		return latch.User{}, "", false, err
	}
	email := emailLimitKey(in.Email)
	failures := "login-failures:" + email + "|" + client
	if err := s.limit(ctx, failures, s.cfg.LoginFailures, 0); err != nil {
		return latch.User{}, "", false, err
	}
	// The per-account cap is charged before the check, not after a
	// failure: concurrent guesses from many addresses cannot slip through
	// between a probe and its record. A success gives the charge back by
	// starting the count again, so only failures add up.
	//
	// An address that proved itself for this account lately (see
	// rememberAddress) is spared the cap: otherwise anyone could keep the
	// owner out for good with 100 failures and then one an hour, and
	// lock again within seconds of a recovery. Its attempts still count
	// for everyone else, and it keeps its own per-(email, address) limit
	// above.
	if err := s.limit(ctx, accountFailuresKey(email), s.cfg.LoginPerAccount, 1); err != nil {
		if !latch.IsKind(err, latch.KindTooMany) || !s.knownAddress(ctx, email, client) {
			return latch.User{}, "", false, err
		}
	}
	started := time.Now()
	user, cred, verified, err := s.checkPassword(ctx, in.Email, in.Password)
	if err == nil {
		s.resetAccountFailures(ctx, user.Email)
		s.rememberAddress(ctx, in.Email, client)
	}
	if latch.IsCode(err, latch.CodeInvalidCredentials) || latch.IsCode(err, latch.CodeAccountInactive) {
		s.auditLoginFailure(ctx, in, user, err)
	}
	if latch.IsCode(err, latch.CodeInvalidCredentials) {
		// Recorded only now: a failure costs a slot of the limit, a
		// success does not.
		if lerr := s.limit(ctx, failures, s.cfg.LoginFailures, 1); lerr != nil && !latch.IsKind(lerr, latch.KindTooMany) {
			return latch.User{}, "", false, lerr
		}
		s.waitFailureFloor(ctx, started, in.Password)
	}
	if err != nil {
		return latch.User{}, "", false, err
	}
	return user, verified, cred.MustChange, nil
}

// FailureFloor is the least time a failed password sign-in takes now (see
// Config.LoginFailureFloor and Config.VerifyCosts); zero is none.
func (s *Service) FailureFloor() time.Duration { return time.Duration(s.failureFloor.Load()) }

// raiseFailureFloor makes the floor at least a quarter more than verify,
// the time of one verification the service may have to run. A fixed
// floor (Config.LoginFailureFloor) stays as configured.
func (s *Service) raiseFailureFloor(verify time.Duration) {
	if s.cfg.LoginFailureFloor > 0 || s.cfg.VerifyCosts == nil {
		return
	}
	want := int64(verify * 5 / 4)
	for {
		cur := s.failureFloor.Load()
		if cur >= want || s.failureFloor.CompareAndSwap(cur, want) {
			return
		}
	}
}

// observeHash raises the floor to cover a stored hash about to be
// verified or imported: one written by another replica, or imported since
// start, is covered from then on.
func (s *Service) observeHash(encoded string) {
	if s.cfg.VerifyCosts != nil {
		s.raiseFailureFloor(s.cfg.VerifyCosts.Estimate(encoded, s.hasher.Params()))
	}
}

// LoadFailureFloor raises the floor to cover the slowest kind of hash the
// store holds (password.VerifyCosts.StoredHashClasses): serve runs it at
// start, before the first request, so a slow imported hash is covered
// before anyone can time it. A deployment that holds only its own
// argon2id hashes keeps a floor just above one of those.
func (s *Service) LoadFailureFloor(ctx context.Context) error {
	if s.cfg.LoginFailureFloor > 0 || s.cfg.VerifyCosts == nil {
		return nil
	}
	// One look for any bcrypt first: without it, every cost would be a
	// scan of its own.
	bcryptFound, err := s.store.CredentialHashExists(ctx, "$2_$%", "")
	if err != nil {
		return err
	}
	skipBcrypt := !bcryptFound
	for _, c := range s.cfg.VerifyCosts.StoredHashClasses(s.hasher.Params()) {
		isBcrypt := strings.HasPrefix(c.Like, "$2_$")
		if isBcrypt && skipBcrypt {
			continue // none, or a costlier one was found (costliest first)
		}
		found, err := s.store.CredentialHashExists(ctx, c.Like, c.NotLike)
		if err != nil {
			return err
		}
		if found {
			s.raiseFailureFloor(c.Slowest)
			skipBcrypt = skipBcrypt || isBcrypt
		}
	}
	return nil
}

// waitFailureFloor holds a failed sign-in until LoginFailureFloor has
// passed since started, once per verification checkPassword ran (two when
// the password typed differs from its NFKC form). The hash slot is
// already released: waiting costs a goroutine and a timer, no CPU and no
// memory for hashing. What an attacker times is then the floor, for an
// unknown email as for an account whose imported hash is ten times slower
// than ours.
func (s *Service) waitFailureFloor(ctx context.Context, started time.Time, raw string) {
	floor := s.FailureFloor()
	if floor <= 0 {
		return
	}
	// (A password over the maximum length was refused unverified, and
	// is not worth normalising.)
	if !s.cfg.Policy.TooLong(raw) && password.Normalize(raw) != raw {
		floor *= 2
	}
	wait := floor - time.Since(started)
	if wait <= 0 {
		// The floor is too low for this machine, its load or a stored
		// hash: timing may tell accounts apart (see the README).
		s.log.DebugContext(ctx, "failed sign-in slower than the floor", "floor", floor, "took", floor-wait)
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done(): // nobody is left to time the answer
	}
}

// auditLoginFailure records a refused sign-in. user is the account the
// email named, or zero for an unknown email; the email is recorded either
// way (it is what was tried), the password never.
func (s *Service) auditLoginFailure(ctx context.Context, in LoginInput, user latch.User, err error) {
	ev := latch.AuditEvent{
		TenantID: user.TenantID, At: s.now(), Action: latch.AuditLoginFailure, ActorType: latch.ActorAnonymous,
		TargetID: user.ID, IP: in.ClientIP,
		Details: map[string]string{"email": "(not an email address)", "method": "password", "reason": latch.AsError(err).Code},
	}
	// People sometimes type their password into the email field: what is
	// not an email is not recorded.
	if email, perr := parseEmail(in.Email); perr == nil {
		ev.Details["email"] = email
	}
	s.appendAudit(ctx, ev)
}

// checkPassword verifies the password typed (raw) for the account with
// email and returns the account, its credential and the stored hash that
// matched (upgraded if it was weak). On failure the account is still
// returned when the email named one, for the audit log.
func (s *Service) checkPassword(ctx context.Context, email, raw string) (latch.User, latch.Credential, string, error) {
	if s.cfg.Policy.TooLong(raw) {
		// Refused before hashing: no stored password can be this long, and
		// hashing megabytes on request is a denial of service.
		return latch.User{}, latch.Credential{}, "", errInvalidCredentials()
	}
	pw := password.Normalize(raw)
	if !utf8.ValidString(email) || strings.ContainsRune(email, 0) || len(email) > 320 {
		// No account has such an email; some databases would refuse to
		// compare it at all.
		return latch.User{}, latch.Credential{}, "", s.failLogin(ctx, raw, pw)
	}
	user, err := s.store.UserByEmail(ctx, email)
	if err != nil {
		if latch.IsKind(err, latch.KindNotFound) {
			return latch.User{}, latch.Credential{}, "", s.failLogin(ctx, raw, pw)
		}
		return latch.User{}, latch.Credential{}, "", err
	}
	cred, err := s.store.Credential(ctx, user.ID)
	if err != nil {
		if latch.IsKind(err, latch.KindNotFound) {
			return user, latch.Credential{}, "", s.failLogin(ctx, raw, pw)
		}
		return latch.User{}, latch.Credential{}, "", err
	}
	s.observeHash(cred.Hash)
	ok, needsRehash, err := s.hasher.Verify(ctx, pw, cred.Hash)
	if err == nil && !ok && raw != pw {
		// A hash imported from another system was made from the password
		// as typed, not from its NFKC form. Once it matches, the rehash
		// below stores the normalized form like every other. (Every path
		// pays this second verification, failLogin included, so it tells
		// nothing about the account.)
		ok, needsRehash, err = s.hasher.Verify(ctx, raw, cred.Hash)
		needsRehash = true
	}
	if err != nil {
		var le *latch.Error
		if errors.As(err, &le) {
			return latch.User{}, latch.Credential{}, "", err
		}
		// A stored hash we cannot parse is our fault, not the user's.
		return latch.User{}, latch.Credential{}, "", latch.Internal(err)
	}
	if !ok {
		return user, latch.Credential{}, "", errInvalidCredentials()
	}
	if !user.Active {
		return user, latch.Credential{}, "", &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeAccountInactive, Message: "this account is deactivated"}
	}
	verified := cred.Hash
	if needsRehash {
		verified = s.rehash(ctx, user.ID, pw, cred.Hash)
	}
	return user, cred, verified, nil
}

// addressKey is what the per-address limits count for a client address:
// the address for IPv4, its network (IPv6Prefix bits) for IPv6. Every
// limit keyed by a client address goes through it.
func (s *Service) addressKey(ip string) string {
	return ratelimit.AddressKey(ip, s.cfg.IPv6Prefix)
}

// emailLimitKey is what every limit key built from an email holds in its
// place: a digest of the address the lookup uses (latch.EmailLookupKey), so
// every spelling of one account's address shares its limits. A digest has
// a fixed size: an email can be as long as the request body, and the
// limiter would keep it for as long as the key lives (an hour or more, in
// memory or in Redis); and the limiter holds no address in clear. The
// label keeps these digests apart from any other SHA-256 of an address.
func emailLimitKey(email string) string {
	h := sha256.New()
	h.Write([]byte("latch limit email\x00"))
	h.Write([]byte(latch.EmailLookupKey(email)))
	return hex.EncodeToString(h.Sum(nil))
}

// accountFailuresKey is the limit key of the per-account cap for an email
// digest (emailLimitKey): an email, not an account id, so that it holds
// alike for emails that have no account.
func accountFailuresKey(emailKey string) string { return "login-account-failures:" + emailKey }

// knownAddressTTL is how long a client address stays known for an account
// after it last proved itself there: about a month, so that a person's
// home or office stays known between sign-ins.
const knownAddressTTL = 30 * 24 * time.Hour

// knownAddressKey is the mark of a client address (addressKey) known for
// an email digest (emailLimitKey).
func knownAddressKey(emailKey, client string) string {
	return "login-known:" + emailKey + "|" + client
}

// rememberAddress marks the client address (addressKey) as known for the
// account with email, for knownAddressTTL: the account signed in from it,
// or someone there completed a link sent to the account's email, or
// changed its password knowing the current one. An unknown address ("")
// is never marked: it would name every client whose address is unknown.
func (s *Service) rememberAddress(ctx context.Context, email, client string) {
	if !s.cfg.LoginPerAccount.Enabled() || client == "" {
		return
	}
	if err := s.limiter.Mark(ctx, knownAddressKey(emailLimitKey(email), client), knownAddressTTL); err != nil {
		s.log.ErrorContext(ctx, "rate limiter unavailable; address not remembered", "err", err)
	}
}

// knownAddress reports whether client is known for the account with the
// email digest emailKey (see rememberAddress).
func (s *Service) knownAddress(ctx context.Context, emailKey, client string) bool {
	if client == "" {
		return false
	}
	known, err := s.limiter.Marked(ctx, knownAddressKey(emailKey, client))
	if err != nil {
		s.log.ErrorContext(ctx, "rate limiter unavailable; address taken as unknown", "err", err)
		return false
	}
	return known
}

// resetAccountFailures starts the per-account count of consecutive
// failures again, after the account proved itself: a sign-in, or a new
// password (which ends any guessing of the old one).
func (s *Service) resetAccountFailures(ctx context.Context, email string) {
	if !s.cfg.LoginPerAccount.Enabled() {
		return
	}
	if err := s.limiter.Reset(ctx, accountFailuresKey(emailLimitKey(email))); err != nil {
		s.log.ErrorContext(ctx, "rate limiter unavailable; failure count not reset", "err", err)
	}
}

// changePassword runs the store's password change and, once it is done,
// starts the account's failure count again.
func (s *Service) changePassword(ctx context.Context, user latch.User, pc latch.PasswordChange) error {
	if err := s.store.ChangePassword(ctx, pc); err != nil {
		return err
	}
	s.resetAccountFailures(ctx, user.Email)
	return nil
}

// CodeLimiterUnavailable: the rate limiter could not decide, so the request
// was refused rather than let through.
const CodeLimiterUnavailable = "limiter_unavailable"

// limit applies rule to key with cost (0: only ask). A limiter that fails
// refuses the request (Unavailable, try again shortly): letting it through
// would turn brute-force protection off whenever the limiter is down,
// which an attacker may be able to arrange. Latch's limiter falls back to
// the process when Redis fails (ratelimit.Fallback), so this refusal is
// only for a limiter without such a fallback.
func (s *Service) limit(ctx context.Context, key string, rule ratelimit.Rule, cost int) error {
	if !rule.Enabled() {
		return nil
	}
	d, err := s.limiter.Allow(ctx, key, rule, cost)
	if err != nil {
		return &latch.Error{Kind: latch.KindUnavailable, Code: CodeLimiterUnavailable,
			Message: "rate limits cannot be checked right now; try again shortly", RetryAfter: time.Second, Err: err}
	}
	if !d.Allowed {
		return &latch.Error{Kind: latch.KindTooMany, Code: latch.CodeRateLimited, Message: "too many attempts; try again later", RetryAfter: d.RetryAfter}
	}
	return nil
}

// failLogin spends the cost of one verification so that an unknown account
// takes as long as a wrong password.
func (s *Service) failLogin(ctx context.Context, raw, pw string) error {
	if err := s.hasher.VerifyDummy(ctx, pw); err != nil {
		return err
	}
	if raw != pw {
		if err := s.hasher.VerifyDummy(ctx, raw); err != nil {
			return err
		}
	}
	return errInvalidCredentials()
}

// rehash replaces a hash made with weaker parameters (or an imported
// algorithm) by one at the configured parameters, and returns the hash
// stored afterwards. It is best effort: the login has already succeeded,
// and a failure only means the upgrade happens at a later login.
func (s *Service) rehash(ctx context.Context, userID, pw, oldHash string) string {
	newHash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		s.log.WarnContext(ctx, "password rehash skipped", "user", userID, "err", err)
		return oldHash
	}
	if err := s.store.ReplacePasswordHash(ctx, userID, oldHash, newHash, s.now()); err != nil {
		// A Conflict is mostly a concurrent login of the same password
		// that upgraded the hash first: oldHash still starts a session
		// then (see latch.NewSession.WhilePasswordHash), and a real
		// change refuses it there.
		if !latch.IsKind(err, latch.KindConflict) {
			s.log.WarnContext(ctx, "password rehash not stored", "user", userID, "err", err)
		}
		return oldHash
	}
	return newHash
}

// Refresh exchanges a refresh token for a new pair. The presented token is
// used up; presenting it again revokes the whole session, except within
// RefreshReuseInterval of its use, which answers the same refresh token
// as the first time (and a fresh access token): two browser tabs that
// refresh one session at once both stay signed in.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (TokenPair, error) {
	invalid := &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid or expired refresh token"}
	if !token.LooksOpaque(refreshToken, refreshPrefix) {
		return TokenPair{}, invalid
	}
	// The successor is derived from the token, not drawn at random: a
	// second presentation recomputes it, and the store recognises it.
	next, nextHash := s.keys.Successor(refreshPrefix, refreshToken)
	now := s.now()
	sess, err := s.store.RotateRefreshToken(ctx, token.HashOpaque(refreshToken), nextHash, now, s.cfg.RefreshReuseInterval)
	if err != nil {
		switch {
		case latch.IsCode(err, latch.CodeRefreshTokenReused):
			s.log.WarnContext(ctx, "refresh token reused: its session is revoked")
			return TokenPair{}, err
		case latch.IsKind(err, latch.KindNotFound), latch.IsKind(err, latch.KindUnauthenticated):
			return TokenPair{}, invalid
		}
		return TokenPair{}, err
	}
	_, user, err := s.store.SessionWithUser(ctx, sess.ID)
	if err != nil {
		return TokenPair{}, err
	}
	if !user.Active {
		return TokenPair{}, invalid
	}
	pair, err := s.signAccess(sess, now, true)
	if err != nil {
		return TokenPair{}, err
	}
	pair.RefreshToken = next
	return pair, nil
}
