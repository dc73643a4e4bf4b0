package account

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

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
func (s *Service) Login(ctx context.Context, in LoginInput) (_ TokenPair, err error) {
	defer func() { s.cfg.Observer.Login(LoginPassword, result(err)) }()
	user, verified, mustChange, err := s.authenticatePassword(ctx, in)
	if err != nil {
		return TokenPair{}, err
	}
	ev := s.userEvent(ctx, user, latch.AuditLoginSuccess)
	ev.IP = in.ClientIP
	ev.Details = map[string]string{"method": "password"}
	// An account with a second factor gets the pending session of the
	// factor step first (whether the password must change is asked once
	// the factor passed: CompleteMFA).
	if pair, done, err := s.factorStep(ctx, user, []string{AMRPassword}, verified, &ev); done {
		if latch.IsCode(err, latch.CodeConcurrentUpdate) {
			return TokenPair{}, errInvalidCredentials()
		}
		return pair, err
	}
	scopes, ttl, refresh := latch.SessionScopes(), s.cfg.SessionTTL, true
	if mustChange {
		ev.Action = latch.AuditLoginChangeRequired
		scopes, ttl, refresh = []string{latch.ScopePasswordChange}, passwordChangeTTL, false
	}
	pair, err := s.startSession(ctx, user, latch.KindSession, scopes, ttl, refresh, verified, []string{AMRPassword}, &ev)
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
func (s *Service) AuthenticatePassword(ctx context.Context, in LoginInput) (_ latch.User, _ string, err error) {
	defer func() { s.cfg.Observer.Login(LoginPassword, result(err)) }()
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
		// With a factor ahead, the count starts again only once the
		// factor passed (CompleteMFA): a known password must not keep
		// zeroing the count the factor's guesses are charged to.
		if !s.factorFollows(ctx, user) {
			s.resetAccountFailures(ctx, user.Email)
		}
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
	// Under overload the hash would be refused: refuse before reading the
	// account, so that a refusal is cheap (and the same for every email).
	if err := s.hasher.Admits(ctx); err != nil {
		return latch.User{}, latch.Credential{}, "", err
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
