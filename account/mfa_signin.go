package account

// The factor step of a sign-in and step-up (issue 16): the pending session
// a sign-in of an account with a factor starts (see mfa.go), its
// completion, and the fresh factor check sensitive changes need.

import (
	"context"
	"errors"
	"slices"

	"github.com/latchid/latch"
)

// signInFactorPolicy is what a tenant asks of second factors at sign-in.
type signInFactorPolicy struct {
	// Required: an account without a factor must enrol one at its next
	// sign-in.
	Required bool
	// Allowed lists the factor kinds (FactorTOTP, FactorPasskey,
	// FactorRecoveryCode) the tenant accepts; nil accepts all.
	Allowed []string
}

func (p signInFactorPolicy) allows(kind string) bool {
	return p.Allowed == nil || slices.Contains(p.Allowed, kind)
}

// factorPolicyOrDefault is the tenant's factor policy (factorPolicy), as
// the sign-in reads it.
func (s *Service) factorPolicyOrDefault(ctx context.Context, tenantID string) (signInFactorPolicy, error) {
	pol, err := s.factorPolicy(ctx, tenantID)
	if err != nil {
		return signInFactorPolicy{}, err
	}
	out := signInFactorPolicy{Required: pol.Required, Allowed: []string{}}
	for _, k := range pol.Allowed {
		out.Allowed = append(out.Allowed, string(k))
	}
	return out, nil
}

// errWrongProof is the answer to a proof that does not pass the factor
// step: the code is mfa's, the kind Unauthenticated (the request is well
// formed, the person is not proven).
func errWrongProof() error {
	return &latch.Error{Kind: latch.KindUnauthenticated, Code: CodeInvalidMFACode, Message: "the code is wrong or was used already"}
}

func errStepUpRequired() error {
	return &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeStepUpRequired, Message: "confirm a second factor first (step-up)"}
}

// usableFactors lists the factor kinds user can pass the factor step with
// under pol: the kinds of their confirmed factors the tenant allows, and
// recovery codes while any is unused (and the account has a factor).
func (s *Service) usableFactors(ctx context.Context, user latch.User, pol signInFactorPolicy) ([]string, error) {
	fs, err := s.store.FactorsByUser(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	var kinds []string
	confirmed := false
	for _, f := range fs {
		if f.ConfirmedAt == nil {
			continue
		}
		confirmed = true
		kind := FactorTOTP
		if f.Kind == latch.FactorWebAuthn {
			kind = FactorPasskey
		}
		if pol.allows(kind) && !slices.Contains(kinds, kind) {
			kinds = append(kinds, kind)
		}
	}
	if !confirmed || !pol.allows(FactorRecoveryCode) {
		return kinds, nil
	}
	codes, err := s.store.RecoveryCodes(ctx, user.ID)
	if err != nil {
		return nil, err
	}
	for _, c := range codes {
		if c.UsedAt == nil {
			kinds = append(kinds, FactorRecoveryCode)
			break
		}
	}
	return kinds, nil
}

// hasConfirmedFactor reports whether user has a confirmed factor.
func (s *Service) hasConfirmedFactor(ctx context.Context, userID string) (bool, error) {
	fs, err := s.store.FactorsByUser(ctx, userID)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(fs, func(f latch.Factor) bool { return f.ConfirmedAt != nil }), nil
}

// factorFollows reports whether a sign-in of user that passed its first
// factor still has a factor step ahead; on a read error it says yes, so
// that nothing is reset that a factor step would have kept.
func (s *Service) factorFollows(ctx context.Context, user latch.User) bool {
	has, err := s.hasConfirmedFactor(ctx, user.ID)
	if err != nil || has {
		return true
	}
	pol, err := s.factorPolicyOrDefault(ctx, user.TenantID)
	return err != nil || pol.Required
}

// factorStep is the gate every sign-in passes once its first factor
// (password, provider) did: for an account with a confirmed factor, or of
// a tenant that requires one, it starts the pending session (scope
// mfa:pending only, MFATokenTTL, no refresh token, amr the first
// factor's, conditional on verifiedHash as the real one would be) and
// answers it with mfa_required (or mfa_enrolment_required); done is then
// true and the caller returns pair, err. done false: no factor step, the
// caller starts its session.
func (s *Service) factorStep(ctx context.Context, user latch.User, amr []string, verifiedHash string, ev *latch.AuditEvent) (pair TokenPair, done bool, err error) {
	has, err := s.hasConfirmedFactor(ctx, user.ID)
	if err != nil {
		return TokenPair{}, true, err
	}
	code, message := latch.CodeMFARequired, "the sign-in needs its second factor"
	if !has {
		pol, err := s.factorPolicyOrDefault(ctx, user.TenantID)
		if err != nil {
			return TokenPair{}, true, err
		}
		if !pol.Required {
			return TokenPair{}, false, nil
		}
		code, message = latch.CodeMFAEnrolmentRequired, "a second factor must be enrolled before signing in"
	}
	ev.Action = latch.AuditLoginMFARequired
	if ev.Details == nil {
		ev.Details = map[string]string{}
	}
	ev.Details["step"] = code
	pair, err = s.startSession(ctx, user, latch.KindSession, []string{latch.ScopeMFAPending}, MFATokenTTL, false, verifiedHash, amr, ev)
	if err != nil {
		return TokenPair{}, true, err
	}
	return pair, true, &latch.Error{Kind: latch.KindForbidden, Code: code, Message: message}
}

// isPending reports whether p is a pending session of the factor step.
func isPending(p Principal) bool {
	return p.Session.Kind == latch.KindSession && p.Session.HasScope(latch.ScopeMFAPending)
}

// pendingPrincipal checks an mfa token: a live pending session of an
// active user. Anything else is Unauthenticated invalid_token.
func (s *Service) pendingPrincipal(ctx context.Context, mfaToken string) (Principal, error) {
	p, err := s.Authenticate(ctx, mfaToken)
	if err != nil {
		return Principal{}, err
	}
	if !isPending(p) {
		return Principal{}, errUnauthenticated(nil)
	}
	return p, nil
}

// MFAChallengeOf checks an mfa token (a live pending session) and says
// what it can be completed with. Anything else is Unauthenticated
// invalid_token.
func (s *Service) MFAChallengeOf(ctx context.Context, mfaToken string) (MFAChallenge, error) {
	p, err := s.pendingPrincipal(ctx, mfaToken)
	if err != nil {
		return MFAChallenge{}, err
	}
	pol, err := s.factorPolicyOrDefault(ctx, p.User.TenantID)
	if err != nil {
		return MFAChallenge{}, err
	}
	kinds, err := s.usableFactors(ctx, p.User, pol)
	if err != nil {
		return MFAChallenge{}, err
	}
	c := MFAChallenge{UserID: p.User.ID, Email: p.User.Email, Factors: kinds, ExpiresAt: p.Session.ExpiresAt}
	if len(kinds) == 0 {
		// The step is enrolment: the kinds the tenant lets one enrol.
		c.Enrol = true
		for _, k := range []string{FactorTOTP, FactorPasskey} {
			if pol.allows(k) {
				c.Factors = append(c.Factors, k)
			}
		}
	}
	return c, nil
}

// checkProof checks a factor of user (exactly one proof) and returns the
// amr it adds. Every proof counts against the per-account limit (TooMany
// at it, whatever the kind); a wrong one is Unauthenticated
// invalid_mfa_code, audited.
func (s *Service) checkProof(ctx context.Context, user latch.User, proof FactorProof) (string, error) {
	given := 0
	for _, v := range []bool{proof.TOTPCode != "", proof.RecoveryCode != "", proof.PasskeyCeremony != "" || len(proof.PasskeyResponse) > 0} {
		if v {
			given++
		}
	}
	if given != 1 {
		return "", latch.FieldError("code", latch.CodeInvalidRequest, "Give exactly one of a TOTP code, a recovery code or a passkey.")
	}
	pol, err := s.factorPolicyOrDefault(ctx, user.TenantID)
	if err != nil {
		return "", err
	}
	var amr string
	switch {
	case proof.TOTPCode != "":
		amr = AMROTP
		if !pol.allows(FactorTOTP) {
			err = s.refuseProof(ctx, user, "factor_not_allowed")
		} else {
			err = s.verifyTOTP(ctx, user, proof.TOTPCode)
		}
	case proof.RecoveryCode != "":
		amr = AMROTP
		if !pol.allows(FactorRecoveryCode) {
			err = s.refuseProof(ctx, user, "factor_not_allowed")
		} else {
			err = s.useRecoveryCode(ctx, user, proof.RecoveryCode)
		}
	default:
		amr = AMRHWK
		if !pol.allows(FactorPasskey) {
			err = s.refuseProof(ctx, user, "factor_not_allowed")
		} else {
			// Charged, audited and the count reset on success there, as
			// verifyTOTP does for a code.
			_, err = s.verifyPasskeyAssertion(ctx, user, proof.PasskeyCeremony, proof.PasskeyResponse)
		}
	}
	if latch.IsCode(err, CodeInvalidMFACode) {
		// verifyTOTP and useRecoveryCode answer Invalid (a form's field);
		// at the factor step the person is not proven.
		return "", errWrongProof()
	}
	return amr, err
}

// refuseProof charges and audits a proof of a kind the tenant does not
// allow, as a wrong one.
func (s *Service) refuseProof(ctx context.Context, user latch.User, reason string) error {
	if err := s.limitMFA(ctx, user); err != nil {
		return err
	}
	s.mfaFailure(ctx, user, "", reason)
	return errWrongProof()
}

// withFactor is amr with the factor's method and "mfa" added, once each.
func withFactor(amr []string, factor string) []string {
	out := slices.Clone(amr)
	for _, m := range []string{factor, AMRMFA} {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// CompleteMFA passes the factor step: the proof must be of a confirmed
// factor of the token's user (a TOTP code once per step, a recovery code
// once, a passkey assertion of one of the user's passkeys with a
// single-use challenge). Success ends the pending session and starts the
// real one (the same scopes, TTL and refresh token the sign-in would have
// given, AMR the sign-in's plus the factor's and "mfa"), and resets the
// per-account failure count. A wrong proof is Unauthenticated
// invalid_mfa_code and counts against the per-account limit (TooMany once
// it is reached, for every kind of proof alike); the token stays usable
// until it expires or the limit is reached.
//
// An account whose password must be changed gets, once the factor passed,
// the password:change session with password_change_required, as Login
// answers an account without a factor.
func (s *Service) CompleteMFA(ctx context.Context, mfaToken string, proof FactorProof, clientIP string) (_ TokenPair, err error) {
	defer func() { s.cfg.Observer.Login(LoginMFA, result(err)) }()
	p, err := s.pendingPrincipal(ctx, mfaToken)
	if err != nil {
		return TokenPair{}, err
	}
	factor, err := s.checkProof(ctx, p.User, proof)
	if err != nil {
		return TokenPair{}, err
	}
	ev := s.userEvent(ctx, p.User, latch.AuditLoginSuccess)
	ev.IP = clientIP
	method := "provider"
	if slices.Contains(p.Session.AMR, AMRPassword) {
		method = "password"
	}
	ev.Details = map[string]string{"method": method, "factor": factor}
	scopes, ttl, refresh := latch.SessionScopes(), s.cfg.SessionTTL, true
	mustChange := false
	pair, err := s.replaceSession(ctx, p, true, func(cred latch.Credential) (TokenPair, error) {
		if cred.MustChange {
			mustChange = true
			ev.Action = latch.AuditLoginChangeRequired
			scopes, ttl, refresh = []string{latch.ScopePasswordChange}, passwordChangeTTL, false
		}
		return s.startSession(ctx, p.User, latch.KindSession, scopes, ttl, refresh, cred.Hash, withFactor(p.Session.AMR, factor), &ev)
	})
	if err != nil {
		return TokenPair{}, err
	}
	if mustChange {
		return pair, errPasswordChangeRequired()
	}
	return pair, nil
}

// replaceSession starts, with start, the session that takes the place of
// p's, and ends p's. start is given the account's credential (zero when it
// has no password) and must make its session conditional on cred.Hash:
//
// A password change ends every other session of the account. The hash is
// read first, p's session checked live (in the store, not the cache)
// after: a change committed before the read has ended p's session by the
// time it is checked, one committed after the read fails the new
// session's condition. Either way no session started with the old
// password outlives the change, even though p's own session does not
// carry the hash its sign-in verified. An account without a password has
// nothing to change, and start gets "".
//
// once makes p's session single use (the factor step's pending session):
// it is ended before start, by a write that only one of two completions
// at the same moment (two different valid proofs) can make, so one mfa
// token never yields two sessions. If start then fails, the sign-in
// starts again. Without once (a step-up) p's session ends after start, so
// a failure leaves the person signed in.
func (s *Service) replaceSession(ctx context.Context, p Principal, once bool, start func(cred latch.Credential) (TokenPair, error)) (TokenPair, error) {
	cred, err := s.store.Credential(ctx, p.User.ID)
	if err != nil && !latch.IsKind(err, latch.KindNotFound) {
		return TokenPair{}, err
	}
	if err != nil && slices.Contains(p.Session.AMR, AMRPassword) {
		// Signed in with a password that is gone since.
		return TokenPair{}, errUnauthenticated(nil)
	}
	sess, user, err := s.store.SessionWithUser(ctx, p.Session.ID)
	if latch.IsKind(err, latch.KindNotFound) {
		return TokenPair{}, errUnauthenticated(err)
	}
	if err != nil {
		return TokenPair{}, err
	}
	if !sess.Live(s.now()) || !user.Active {
		return TokenPair{}, errUnauthenticated(nil)
	}
	if once {
		n, err := s.store.RevokeSessions(ctx, latch.SessionRevocation{UserID: p.User.ID, SessionID: p.Session.ID, At: s.now()})
		if latch.IsKind(err, latch.KindNotFound) {
			return TokenPair{}, errUnauthenticated(err)
		}
		if err != nil {
			return TokenPair{}, err
		}
		if n == 0 {
			// Another completion ended it first.
			return TokenPair{}, errUnauthenticated(errors.New("the factor step was completed already"))
		}
		s.sessions.forgetUser(p.User.ID)
	}
	pair, err := start(cred)
	if latch.IsCode(err, latch.CodeConcurrentUpdate) {
		return TokenPair{}, errUnauthenticated(errors.New("the password changed during the factor step"))
	}
	if err != nil {
		return TokenPair{}, err
	}
	if once {
		return pair, nil
	}
	// The old session ends now. If that write fails the new session
	// stands (it is durable and proven); the old one ends at its expiry.
	if err := s.store.RevokeSession(ctx, p.Session.ID, s.now()); err != nil {
		s.log.WarnContext(ctx, "replaced session not revoked", "session_id", p.Session.ID, "err", err)
	}
	s.sessions.forgetUser(p.User.ID)
	return pair, nil
}

// StepUp checks a factor of the signed-in user again and starts a fresh
// session in place of p's (AuthTime now, AMR with the factor): the new
// pair is what the surface keeps from then on. Sensitive changes of an
// account with a factor (SetOwnPassword, RemoveFactor,
// RegenerateRecoveryCodes) need a session whose factor check is within
// StepUpWindow and answer Forbidden step_up_required otherwise.
func (s *Service) StepUp(ctx context.Context, p Principal, proof FactorProof) (TokenPair, error) {
	if err := AuthorizeUser(p, latch.ScopeUserUpdate); err != nil {
		return TokenPair{}, err
	}
	if p.Session.Kind != latch.KindSession || p.Session.AppID != "" {
		return TokenPair{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "only a sign-in session can step up"}
	}
	factor, err := s.checkProof(ctx, p.User, proof)
	if err != nil {
		return TokenPair{}, err
	}
	ev := s.userEvent(ctx, p.User, latch.AuditStepUp)
	ev.Details = map[string]string{"factor": factor, "replaces": p.Session.ID}
	return s.replaceSession(ctx, p, false, func(cred latch.Credential) (TokenPair, error) {
		return s.startSession(ctx, p.User, p.Session.Kind, p.Session.Scopes, s.cfg.SessionTTL, true, cred.Hash, withFactor(p.Session.AMR, factor), &ev)
	})
}

// HasFreshFactor reports whether p's session checked a factor within
// StepUpWindow (or the account has no factor, so there is nothing to step
// up to).
//
// A session that confirmed every factor the account has itself (they
// were all confirmed after it started) counts as fresh too: it is as
// strong as the account was when it signed in, and the person who just
// enrolled their first factor can see their recovery codes at once.
func (s *Service) HasFreshFactor(ctx context.Context, p Principal) (bool, error) {
	fs, err := s.store.FactorsByUser(ctx, p.User.ID)
	if err != nil {
		return false, err
	}
	older := false
	confirmed := false
	for _, f := range fs {
		if f.ConfirmedAt == nil {
			continue
		}
		confirmed = true
		if f.ConfirmedAt.Before(p.Session.CreatedAt) {
			older = true
		}
	}
	if !confirmed || !older {
		return true, nil
	}
	if !slices.Contains(p.Session.AMR, AMROTP) && !slices.Contains(p.Session.AMR, AMRHWK) {
		return false, nil
	}
	at := p.Session.AuthTime
	return !at.IsZero() && !s.now().After(at.Add(StepUpWindow)), nil
}

// requireFreshFactor answers step_up_required unless HasFreshFactor.
func (s *Service) requireFreshFactor(ctx context.Context, p Principal) error {
	ok, err := s.HasFreshFactor(ctx, p)
	if err != nil {
		return err
	}
	if !ok {
		return errStepUpRequired()
	}
	return nil
}

// authorizeFactorChange is who may enrol or confirm a factor: a session
// with user:update, or the pending session of a sign-in whose step is
// enrolment (its account has no confirmed factor; once it has one, the
// pending session can only complete the step). Enrolling a further
// factor needs a fresh factor check: otherwise a stolen session could add
// its own factor and step up with it.
func (s *Service) authorizeFactorChange(ctx context.Context, p Principal, enrol bool) error {
	if isPending(p) {
		has, err := s.hasConfirmedFactor(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if has {
			return &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "the mfa token can only complete the sign-in"}
		}
		return nil
	}
	if err := AuthorizeUser(p, latch.ScopeUserUpdate); err != nil {
		return err
	}
	if enrol {
		return s.requireFreshFactor(ctx, p)
	}
	return nil
}
