package account

// Passkeys (issue 16): WebAuthn registration and assertions with
// go-webauthn, as a second factor, as the only sign-in (discoverable
// credentials), and for a step-up. The contract is in mfa.go.
//
// The relying party is LATCH_PUBLIC_URL (Config.PublicURL): its host is the
// RP id, its origin (scheme://host[:port]) the only origin an assertion may
// come from.
//
// Ceremony state: go-webauthn's SessionData travels to the browser and back
// sealed with the service key (purpose "webauthn-ceremony"), with our own
// purpose, user and expiry inside, so nothing of a ceremony in progress is
// kept in memory. Its challenge is also stored, hashed, in the store
// (CreateWebAuthnChallenge) and consumed once when the answer comes back
// (ConsumeWebAuthnChallenge, before the signature is checked): a ceremony
// is answered once whatever the outcome, so an assertion cannot be replayed
// even from an authenticator whose sign count stays 0.
//
// User handle: a random 32 bytes per user (never the user id or email),
// stored on each of the user's passkeys; a new passkey takes the handle of
// the user's existing ones, the first one a fresh handle.
//
// Sign count: an assertion whose count does not rise above the stored one
// (unless both are 0: an authenticator without a counter) is a clone
// warning. The assertion is refused, audited (passkey.clone_warning), and
// the passkey kept as it was: the person can still use another factor, and
// an administrator sees the event; deleting it would let whoever holds a
// clone lock the owner out.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/latchid/latch"
)

const (
	// ceremonySealPurpose seals the state of a WebAuthn ceremony.
	ceremonySealPurpose = "webauthn-ceremony"
	// ceremonyTTL is how long a ceremony may take (WebAuthn's own
	// recommended timeout for user verification is up to 10 minutes; 5 is
	// ample for a passkey prompt).
	ceremonyTTL = 5 * time.Minute
	// userHandleSize is the size of a random user handle (WebAuthn allows
	// up to 64 bytes).
	userHandleSize = 32
)

// The ceremonies, the purpose of a stored challenge.
const (
	ceremonyRegister = "register"
	ceremonySignIn   = "signin"
	ceremonyMFA      = "mfa"
	ceremonyStepUp   = "step-up"
)

// AMRUser is the amr (RFC 8176) of a user-verified presence test: a
// passkey with user verification (a PIN or a biometric on the device).
const AMRUser = "user"

// Error codes of passkeys.
const (
	// CodeInvalidPasskey: a passkey response (registration) that is
	// malformed, of another ceremony, expired or does not verify.
	CodeInvalidPasskey = "invalid_passkey"
	// CodeNoPasskey: a passkey assertion asked of an account with none.
	CodeNoPasskey = "no_passkey"
)

func errInvalidPasskey() error {
	return &latch.Error{Kind: latch.KindInvalid, Code: CodeInvalidPasskey, Field: "response", Message: "the passkey response is invalid or expired"}
}

func errNoPasskey() error {
	return &latch.Error{Kind: latch.KindInvalid, Code: CodeNoPasskey, Message: "the account has no passkey"}
}

// ceremonyState is what the sealed ceremony carries.
type ceremonyState struct {
	Purpose   string               `json:"p"`
	UserID    string               `json:"u,omitempty"`
	SessionID string               `json:"s,omitempty"`
	ExpiresAt time.Time            `json:"e"`
	Data      webauthn.SessionData `json:"d"`
}

// passkeyUser is a Latch user as go-webauthn sees one.
type passkeyUser struct {
	user   latch.User
	handle []byte
	creds  []webauthn.Credential
}

func (u passkeyUser) WebAuthnID() []byte   { return u.handle }
func (u passkeyUser) WebAuthnName() string { return u.user.Email }
func (u passkeyUser) WebAuthnDisplayName() string {
	if n := strings.TrimSpace(u.user.FirstName + " " + u.user.LastName); n != "" {
		return n
	}
	return u.user.Email
}
func (u passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// relyingParty is go-webauthn configured for LATCH_PUBLIC_URL.
func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	u, err := url.Parse(s.cfg.PublicURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, latch.Internal(errors.New("passkeys need LATCH_PUBLIC_URL (an http or https URL)"))
	}
	name := s.cfg.ProductName
	if name == "" {
		name = "Latch"
	}
	rp, err := webauthn.New(&webauthn.Config{
		RPID: u.Hostname(), RPDisplayName: name, RPOrigins: []string{u.Scheme + "://" + u.Host},
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: ceremonyTTL},
		},
	})
	if err != nil {
		return nil, latch.Internal(err)
	}
	return rp, nil
}

// passkeysOf is the user's confirmed passkeys, and the user's handle (that
// of the passkeys, or nil when there is none).
func passkeysOf(fs []latch.Factor) ([]latch.Factor, []byte) {
	var out []latch.Factor
	var handle []byte
	for _, f := range fs {
		if f.Kind != latch.FactorWebAuthn || f.ConfirmedAt == nil {
			continue
		}
		out = append(out, f)
		if handle == nil {
			handle = f.UserHandle
		}
	}
	return out, handle
}

// credentialOf is a stored passkey as go-webauthn's credential record.
func credentialOf(f latch.Factor) webauthn.Credential {
	ts := make([]protocol.AuthenticatorTransport, 0, len(f.Transports))
	for _, t := range f.Transports {
		ts = append(ts, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID: f.CredentialID, PublicKey: f.PublicKey, AttestationType: f.AttestationType, Transport: ts,
		Flags:         webauthn.CredentialFlags{UserPresent: true, BackupEligible: f.BackupEligible, BackupState: f.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: f.AAGUID, SignCount: f.SignCount},
	}
}

func credentialsOf(fs []latch.Factor) []webauthn.Credential {
	out := make([]webauthn.Credential, 0, len(fs))
	for _, f := range fs {
		out = append(out, credentialOf(f))
	}
	return out
}

// challengeHash is the stored form of a ceremony's challenge.
func challengeHash(challenge string) []byte {
	h := sha256.Sum256([]byte("latch webauthn challenge\x00" + challenge))
	return h[:]
}

// beginCeremony stores the challenge of sd, hashed, for single use, and
// seals the state the Finish call needs back.
func (s *Service) beginCeremony(ctx context.Context, st ceremonyState, options any) (PasskeyChallenge, error) {
	now := s.now()
	st.ExpiresAt = now.Add(ceremonyTTL)
	if err := s.store.CreateWebAuthnChallenge(ctx, latch.WebAuthnChallenge{
		Hash: challengeHash(st.Data.Challenge), Purpose: st.Purpose, UserID: st.UserID, CreatedAt: now, ExpiresAt: st.ExpiresAt,
	}); err != nil {
		return PasskeyChallenge{}, err
	}
	plain, err := json.Marshal(st)
	if err != nil {
		return PasskeyChallenge{}, latch.Internal(err)
	}
	sealed, err := s.keys.Seal(ceremonySealPurpose, plain)
	if err != nil {
		return PasskeyChallenge{}, latch.Internal(err)
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return PasskeyChallenge{}, latch.Internal(err)
	}
	return PasskeyChallenge{Options: opts, Ceremony: sealed}, nil
}

// errCeremony marks a ceremony that is not usable (tampered, expired, of
// another purpose, or answered before); the callers turn it into their
// own error.
var errCeremony = errors.New("webauthn ceremony invalid, expired or used")

// openCeremony opens a sealed ceremony of one of purposes and consumes its
// challenge: from here on it cannot be answered again, whatever the
// outcome. A store failure comes back as it is (a database that is down
// is not a wrong passkey).
func (s *Service) openCeremony(ctx context.Context, sealed string, purposes ...string) (ceremonyState, error) {
	plain, err := s.keys.Open(ceremonySealPurpose, sealed)
	if err != nil {
		return ceremonyState{}, errCeremony
	}
	var st ceremonyState
	if err := json.Unmarshal(plain, &st); err != nil || !slices.Contains(purposes, st.Purpose) || st.Data.Challenge == "" {
		return ceremonyState{}, errCeremony
	}
	now := s.now()
	if !now.Before(st.ExpiresAt) {
		return ceremonyState{}, errCeremony
	}
	if _, err := s.store.ConsumeWebAuthnChallenge(ctx, challengeHash(st.Data.Challenge), st.Purpose, now); err != nil {
		if latch.IsKind(err, latch.KindNotFound) {
			return ceremonyState{}, errCeremony
		}
		return ceremonyState{}, err
	}
	// Expiry is ours (the service clock), checked above; go-webauthn's
	// would compare with the wall clock.
	st.Data.Expires = time.Time{}
	return st, nil
}

// BeginPasskeyRegistration starts registering a passkey for the signed-in
// user (a full session, or a pending one whose step is enrolment):
// resident key required, user verification preferred, the user's
// existing passkeys excluded.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p Principal) (PasskeyChallenge, error) {
	// Who may add a factor, as for TOTP: scope, a step-up for a further
	// factor, and the tenant's allowed kinds.
	if err := s.authorizeFactorChange(ctx, p, true); err != nil {
		return PasskeyChallenge{}, err
	}
	if err := s.factorAllowed(ctx, p.User.TenantID, latch.FactorWebAuthn); err != nil {
		return PasskeyChallenge{}, err
	}
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyChallenge{}, err
	}
	fs, err := s.store.FactorsByUser(ctx, p.User.ID)
	if err != nil {
		return PasskeyChallenge{}, err
	}
	passkeys, handle := passkeysOf(fs)
	if handle == nil {
		handle = make([]byte, userHandleSize)
		if _, err := rand.Read(handle); err != nil {
			return PasskeyChallenge{}, latch.Internal(err)
		}
	}
	// Unconfirmed passkeys do not exist (a passkey is stored confirmed),
	// so excluding the confirmed ones excludes every one.
	exclude := webauthn.Credentials(credentialsOf(passkeys)).CredentialDescriptors()
	creation, sd, err := rp.BeginRegistration(passkeyUser{user: p.User, handle: handle},
		webauthn.WithAuthenticatorSelection(protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification: protocol.VerificationPreferred,
		}),
		webauthn.WithExclusions(exclude),
		webauthn.WithConveyancePreference(protocol.PreferNoAttestation),
	)
	if err != nil {
		return PasskeyChallenge{}, latch.Internal(err)
	}
	return s.beginCeremony(ctx, ceremonyState{Purpose: ceremonyRegister, UserID: p.User.ID, SessionID: p.Session.ID, Data: *sd}, creation)
}

// FinishPasskeyRegistration stores the passkey the browser created as a
// confirmed factor named name (audited, the user notified by email).
//
// A response that does not verify (wrong origin, RP id, challenge, or
// malformed) is Invalid invalid_passkey; a credential registered already
// Conflict.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p Principal, name, ceremony string, response []byte) (latch.Factor, error) {
	// Checked again: the session may have lost its step-up, or the
	// tenant its allowance, since the ceremony began.
	if err := s.authorizeFactorChange(ctx, p, true); err != nil {
		return latch.Factor{}, err
	}
	if err := s.factorAllowed(ctx, p.User.TenantID, latch.FactorWebAuthn); err != nil {
		return latch.Factor{}, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		name = "Passkey"
	}
	name, err := factorName(name)
	if err != nil {
		return latch.Factor{}, err
	}
	rp, err := s.relyingParty()
	if err != nil {
		return latch.Factor{}, err
	}
	st, err := s.openCeremony(ctx, ceremony, ceremonyRegister)
	if errors.Is(err, errCeremony) || (err == nil && st.UserID != p.User.ID) {
		return latch.Factor{}, errInvalidPasskey()
	}
	if err != nil {
		return latch.Factor{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return latch.Factor{}, errInvalidPasskey()
	}
	cred, err := rp.CreateCredential(passkeyUser{user: p.User, handle: st.Data.UserID}, st.Data, parsed)
	if err != nil {
		s.log.DebugContext(ctx, "passkey registration refused", "reason", passkeyRefusal(err))
		return latch.Factor{}, errInvalidPasskey()
	}
	id, err := newID()
	if err != nil {
		return latch.Factor{}, latch.Internal(err)
	}
	now := s.now()
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		if t := string(t); t != "" && !strings.ContainsAny(t, ", ") && !slices.Contains(transports, t) {
			transports = append(transports, t)
		}
	}
	f := latch.Factor{
		ID: id, UserID: p.User.ID, Kind: latch.FactorWebAuthn, Name: name, CreatedAt: now, ConfirmedAt: &now,
		CredentialID: cred.ID, PublicKey: cred.PublicKey, AttestationType: cred.AttestationType,
		AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount, Transports: transports,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, UserHandle: st.Data.UserID,
	}
	ev := s.userEvent(ctx, p.User, latch.AuditFactorEnrol)
	ev.Details = map[string]string{"factor_id": id, "kind": string(latch.FactorWebAuthn)}
	if err := s.store.CreateFactor(ctx, f, &ev); err != nil {
		if latch.IsKind(err, latch.KindConflict) {
			return latch.Factor{}, &latch.Error{Kind: latch.KindConflict, Code: latch.CodeAlreadyExists, Message: "this passkey is registered already"}
		}
		return latch.Factor{}, err
	}
	s.passkeyAddedNotice(ctx, p.User)
	return f, nil
}

// passkeyAddedNotice tells the account's owner that a passkey was added.
// It is queued once the passkey is stored (CreateFactor takes no mail), so
// a failure to queue it cannot undo the registration the person just
// completed: it is logged at error level instead, with the user, for the
// operator.
func (s *Service) passkeyAddedNotice(ctx context.Context, user latch.User) {
	if s.cfg.MailOff {
		return
	}
	m, err := s.newMail(user.Email, latch.MailPasskeyAdded, map[string]string{
		"email": user.Email, "first_name": user.FirstName, "login_url": s.url("/login", nil),
	})
	if err == nil {
		err = s.store.EnqueueMail(ctx, m)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "the notice of a new passkey was not queued", "user_id", user.ID, "error", err)
		return
	}
	s.mailQueued(&m)
}

// passkeyRefusal is why go-webauthn refused a response, for a debug log
// (its details never reach the client).
func passkeyRefusal(err error) string {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return pe.Type + ": " + pe.Details
	}
	return err.Error()
}

// beginAssertion starts an assertion of one of user's passkeys.
func (s *Service) beginAssertion(ctx context.Context, user latch.User, purpose, sessionID string) (PasskeyChallenge, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyChallenge{}, err
	}
	fs, err := s.store.FactorsByUser(ctx, user.ID)
	if err != nil {
		return PasskeyChallenge{}, err
	}
	passkeys, handle := passkeysOf(fs)
	if len(passkeys) == 0 {
		return PasskeyChallenge{}, errNoPasskey()
	}
	assertion, sd, err := rp.BeginLogin(passkeyUser{user: user, handle: handle, creds: credentialsOf(passkeys)},
		webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return PasskeyChallenge{}, latch.Internal(err)
	}
	return s.beginCeremony(ctx, ceremonyState{Purpose: purpose, UserID: user.ID, SessionID: sessionID, Data: *sd}, assertion)
}

// BeginMFAPasskey starts a passkey assertion for the factor step of an
// mfa token: allowCredentials lists the user's passkeys.
//
// The token must be a live pending session (its only scope
// latch.ScopeMFAPending).
func (s *Service) BeginMFAPasskey(ctx context.Context, mfaToken string) (PasskeyChallenge, error) {
	p, err := s.Authenticate(ctx, mfaToken)
	if err != nil {
		if latch.IsKind(err, latch.KindUnavailable) || latch.IsKind(err, latch.KindInternal) {
			return PasskeyChallenge{}, err
		}
		return PasskeyChallenge{}, errUnauthenticated(err)
	}
	if len(p.Session.Scopes) != 1 || p.Session.Scopes[0] != latch.ScopeMFAPending {
		return PasskeyChallenge{}, errUnauthenticated(nil)
	}
	return s.beginAssertion(ctx, p.User, ceremonyMFA, p.Session.ID)
}

// BeginStepUpPasskey starts a passkey assertion for a step-up of the
// signed-in user.
func (s *Service) BeginStepUpPasskey(ctx context.Context, p Principal) (PasskeyChallenge, error) {
	return s.beginAssertion(ctx, p.User, ceremonyStepUp, p.Session.ID)
}

// verifyPasskeyAssertion checks a passkey assertion answering a ceremony
// of BeginMFAPasskey or BeginStepUpPasskey begun for user: once (the
// challenge is consumed first), signed by one of the user's passkeys, from
// LATCH_PUBLIC_URL's origin, with a rising sign count. Each attempt counts
// against the per-account limit, as a TOTP code; a failure is audited and
// is Invalid invalid_mfa_code, a success starts the count again. It
// returns the passkey, its new count recorded.
func (s *Service) verifyPasskeyAssertion(ctx context.Context, user latch.User, ceremony string, response []byte) (latch.Factor, error) {
	if err := s.limitMFA(ctx, user); err != nil {
		return latch.Factor{}, err
	}
	rp, err := s.relyingParty()
	if err != nil {
		return latch.Factor{}, err
	}
	st, err := s.openCeremony(ctx, ceremony, ceremonyMFA, ceremonyStepUp)
	if errors.Is(err, errCeremony) || (err == nil && st.UserID != user.ID) {
		s.mfaFailure(ctx, user, "", "passkey_ceremony")
		return latch.Factor{}, errInvalidMFACode()
	}
	if err != nil {
		return latch.Factor{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		s.mfaFailure(ctx, user, "", "passkey_malformed")
		return latch.Factor{}, errInvalidMFACode()
	}
	fs, err := s.store.FactorsByUser(ctx, user.ID)
	if err != nil {
		return latch.Factor{}, err
	}
	passkeys, _ := passkeysOf(fs)
	i := slices.IndexFunc(passkeys, func(f latch.Factor) bool { return bytes.Equal(f.CredentialID, parsed.RawID) })
	if i < 0 {
		s.mfaFailure(ctx, user, "", "passkey_unknown")
		return latch.Factor{}, errInvalidMFACode()
	}
	f := passkeys[i]
	cred, err := rp.ValidateLogin(passkeyUser{user: user, handle: st.Data.UserID, creds: credentialsOf(passkeys)}, st.Data, parsed)
	if err != nil {
		s.log.DebugContext(ctx, "passkey assertion refused", "reason", passkeyRefusal(err))
		s.mfaFailure(ctx, user, f.ID, "passkey_invalid")
		return latch.Factor{}, errInvalidMFACode()
	}
	f, err = s.recordPasskeyUse(ctx, user, f, cred)
	if err != nil {
		if latch.IsCode(err, latch.CodePasskeyCounter) {
			return latch.Factor{}, errInvalidMFACode()
		}
		return latch.Factor{}, err
	}
	s.resetAccountFailures(ctx, user.Email)
	return f, nil
}

// recordPasskeyUse writes the new sign count of an accepted assertion, or
// refuses it as a clone warning (audited, the passkey left as it was):
// Conflict CodePasskeyCounter.
func (s *Service) recordPasskeyUse(ctx context.Context, user latch.User, f latch.Factor, cred *webauthn.Credential) (latch.Factor, error) {
	count := cred.Authenticator.SignCount
	err := errors.New("clone warning")
	if !cred.Authenticator.CloneWarning {
		err = s.store.UpdatePasskeyUse(ctx, f.ID, count, cred.Flags.BackupState, s.now())
	}
	if err != nil && !latch.IsCode(err, latch.CodePasskeyCounter) && !cred.Authenticator.CloneWarning {
		return latch.Factor{}, err
	}
	if err != nil {
		ev := s.userEvent(ctx, user, latch.AuditPasskeyClone)
		ev.Details = map[string]string{"factor_id": f.ID, "reason": "sign count did not increase"}
		s.appendAudit(ctx, ev)
		s.log.WarnContext(ctx, "passkey sign count did not increase: a cloned authenticator?", "factor_id", f.ID, "user_id", user.ID)
		return latch.Factor{}, &latch.Error{Kind: latch.KindConflict, Code: latch.CodePasskeyCounter, Message: "the passkey's sign count did not increase"}
	}
	now := s.now()
	f.SignCount, f.BackupState, f.LastUsedAt = count, cred.Flags.BackupState, &now
	return f, nil
}

// BeginPasskeySignIn starts a passwordless sign-in: a discoverable
// credential assertion (empty allowCredentials, user verification
// required), for the conditional UI of /login or a button.
//
// Anyone may ask, and each answer stores a challenge until it expires: the
// requests of an address count against the per-address sign-in rule,
// under a key of their own (a sign-in's finish counts as a sign-in).
func (s *Service) BeginPasskeySignIn(ctx context.Context, clientIP string) (PasskeyChallenge, error) {
	if err := s.limit(ctx, "passkey-begin:"+s.addressKey(clientIP), s.cfg.LoginPerIP, 1); err != nil {
		return PasskeyChallenge{}, err
	}
	rp, err := s.relyingParty()
	if err != nil {
		return PasskeyChallenge{}, err
	}
	assertion, sd, err := rp.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return PasskeyChallenge{}, latch.Internal(err)
	}
	return s.beginCeremony(ctx, ceremonyState{Purpose: ceremonySignIn, Data: *sd}, assertion)
}

// FinishPasskeySignIn completes a passwordless sign-in: the assertion must
// answer the ceremony's challenge (once), be signed by a registered
// passkey whose user handle names its account, with user verification,
// from LATCH_PUBLIC_URL's origin. It starts a session with AMR hwk, user
// and mfa (a passkey with user verification is two factors). Failures are
// Unauthenticated invalid_credentials, whatever the cause, and count
// against the per-address limit.
//
// Attempts count against the per-address sign-in limit, failures against
// the per-address failure limit of passkeys.
func (s *Service) FinishPasskeySignIn(ctx context.Context, ceremony string, response []byte, clientIP string) (TokenPair, error) {
	client := s.addressKey(clientIP)
	if err := s.limit(ctx, "login-ip:"+client, s.cfg.LoginPerIP, 1); err != nil {
		return TokenPair{}, err
	}
	failures := "passkey-failures:" + client
	if err := s.limit(ctx, failures, s.cfg.LoginFailures, 0); err != nil {
		return TokenPair{}, err
	}
	user, f, err := s.passkeySignIn(ctx, ceremony, response)
	if err == nil {
		// The tenant's policy holds for a passkey that signs in alone as
		// for one that completes a password: a tenant that no longer
		// allows passkeys refuses them here too.
		if aerr := s.factorAllowed(ctx, user.TenantID, latch.FactorWebAuthn); latch.IsCode(aerr, CodeFactorNotAllowed) {
			err = errInvalidCredentials()
		} else if aerr != nil {
			return TokenPair{}, aerr
		}
	}
	if err != nil {
		if !latch.IsCode(err, latch.CodeInvalidCredentials) {
			return TokenPair{}, err
		}
		ev := latch.AuditEvent{
			TenantID: user.TenantID, At: s.now(), Action: latch.AuditLoginFailure, ActorType: latch.ActorAnonymous,
			TargetID: user.ID, IP: clientIP, Details: map[string]string{"method": "passkey"},
		}
		if f.ID != "" {
			ev.Details["factor_id"] = f.ID
		}
		s.appendAudit(ctx, ev)
		if lerr := s.limit(ctx, failures, s.cfg.LoginFailures, 1); lerr != nil && !latch.IsKind(lerr, latch.KindTooMany) {
			return TokenPair{}, lerr
		}
		return TokenPair{}, err
	}
	ev := s.userEvent(ctx, user, latch.AuditLoginSuccess)
	ev.IP = clientIP
	ev.Details = map[string]string{"method": "passkey", "factor_id": f.ID}
	amr := []string{AMRHWK, AMRUser, AMRMFA}
	// A passkey is no way around an administrator's change_at_next_login,
	// as a provider sign-in is not (startProviderSession).
	cred, err := s.store.Credential(ctx, user.ID)
	if err != nil && !latch.IsKind(err, latch.KindNotFound) {
		return TokenPair{}, err
	}
	if err == nil && cred.MustChange {
		ev.Action = latch.AuditLoginChangeRequired
		pair, err := s.startSession(ctx, user, latch.KindSession, []string{latch.ScopePasswordChange}, passwordChangeTTL, false, "", amr, &ev)
		if err != nil {
			return TokenPair{}, err
		}
		return pair, errPasswordChangeRequired()
	}
	pair, err := s.startSession(ctx, user, latch.KindSession, latch.SessionScopes(), s.cfg.SessionTTL, true, "", amr, &ev)
	if err != nil {
		return TokenPair{}, err
	}
	s.resetAccountFailures(ctx, user.Email)
	s.rememberAddress(ctx, user.Email, client)
	return pair, nil
}

// passkeySignIn verifies a passwordless assertion and returns its account
// and passkey. Every refusal is invalid_credentials; the account and the
// passkey come back with it when the credential named one (for the audit).
func (s *Service) passkeySignIn(ctx context.Context, ceremony string, response []byte) (latch.User, latch.Factor, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return latch.User{}, latch.Factor{}, err
	}
	st, err := s.openCeremony(ctx, ceremony, ceremonySignIn)
	if errors.Is(err, errCeremony) {
		return latch.User{}, latch.Factor{}, errInvalidCredentials()
	}
	if err != nil {
		return latch.User{}, latch.Factor{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return latch.User{}, latch.Factor{}, errInvalidCredentials()
	}
	f, err := s.store.FactorByCredentialID(ctx, parsed.RawID)
	if latch.IsKind(err, latch.KindNotFound) || (err == nil && f.ConfirmedAt == nil) {
		return latch.User{}, latch.Factor{}, errInvalidCredentials()
	}
	if err != nil {
		return latch.User{}, latch.Factor{}, err
	}
	user, err := s.store.UserByID(ctx, f.UserID)
	if latch.IsKind(err, latch.KindNotFound) {
		return latch.User{}, latch.Factor{}, errInvalidCredentials()
	}
	if err != nil {
		return latch.User{}, latch.Factor{}, err
	}
	// The user handle the authenticator returned must be the one stored
	// with this credential (WebAuthn §7.2 step 6).
	if !bytes.Equal(parsed.Response.UserHandle, f.UserHandle) {
		return user, f, errInvalidCredentials()
	}
	pu := passkeyUser{user: user, handle: f.UserHandle, creds: []webauthn.Credential{credentialOf(f)}}
	_, cred, err := rp.ValidatePasskeyLogin(func(rawID, handle []byte) (webauthn.User, error) { return pu, nil }, st.Data, parsed)
	if err != nil {
		s.log.DebugContext(ctx, "passkey sign-in refused", "reason", passkeyRefusal(err))
		return user, f, errInvalidCredentials()
	}
	if !user.Active {
		return user, f, errInvalidCredentials()
	}
	used, err := s.recordPasskeyUse(ctx, user, f, cred)
	if latch.IsCode(err, latch.CodePasskeyCounter) {
		return user, f, errInvalidCredentials()
	}
	if err != nil {
		return latch.User{}, latch.Factor{}, err
	}
	return user, used, nil
}
