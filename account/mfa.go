package account

import (
	"context"
	"time"

	"github.com/latchid/latch"
)

// The second-factor step of a sign-in, step-up, and passkeys (issue 16).
// This file is the contract the surfaces (api/native, the seed surfaces,
// web) are written against; the factors themselves are factors.go (TOTP,
// recovery codes) and passkeys.go (WebAuthn).
//
// A sign-in (password, provider, or a native code redeemed) of an account
// with a confirmed factor does not start a session. It starts a pending
// one instead, as the password:change step does: a session whose only
// scope is latch.ScopeMFAPending, MFATokenTTL long, without a refresh
// token, and answers Forbidden mfa_required together with the pair whose
// AccessToken is the "mfa token". Its only use is CompleteMFA (or
// BeginMFAPasskey). Every other endpoint refuses it by scope. The
// per-account failure count of the password is reset only once the factor
// passes, so a known password cannot keep zeroing the factor's count.
//
// An account of a tenant that requires a second factor but has none
// enrolled is answered Forbidden mfa_enrolment_required with a pending
// pair whose only use is enrolling a factor (EnrolTOTP/ConfirmTOTP or a
// passkey registration) and then CompleteMFA with it.

// MFATokenTTL is the life of the mfa token: long enough to open an app
// and type a code, short enough to be worth nothing later.
const MFATokenTTL = 5 * time.Minute

// StepUpWindow is how recent a factor check must be for a sensitive change
// (a password change, removing a factor, new recovery codes) on an account
// with a factor.
const StepUpWindow = 10 * time.Minute

// The factor kinds a sign-in can be completed with (MFAChallenge.Factors).
const (
	FactorTOTP         = "totp"
	FactorPasskey      = "webauthn"
	FactorRecoveryCode = "recovery_code"
)

// The authentication methods of amr (RFC 8176) a factor adds.
const (
	AMROTP = "otp" // a TOTP code
	AMRHWK = "hwk" // a passkey (a key proven by an authenticator)
	AMRMFA = "mfa" // more than one factor
	// A recovery code is "kba"-like but RFC 8176 has nothing closer than
	// "otp" for a one-time code: it is recorded as otp.
)

// FactorProof is what a person presents to pass the factor step or a
// step-up: exactly one of a TOTP code, a recovery code, or a passkey
// assertion with the ceremony BeginMFAPasskey (or BeginStepUpPasskey)
// handed out.
type FactorProof struct {
	TOTPCode     string
	RecoveryCode string
	// PasskeyCeremony is the sealed ceremony state of the Begin call;
	// PasskeyResponse the browser's PublicKeyCredential (the JSON of
	// navigator.credentials.get's result, as go-webauthn parses it).
	PasskeyCeremony string
	PasskeyResponse []byte
}

// MFAChallenge says which factors an mfa token can be completed with, for
// a surface to show the right form.
type MFAChallenge struct {
	UserID  string
	Email   string
	Factors []string // FactorTOTP, FactorPasskey, FactorRecoveryCode
	// Enrol is true when the tenant requires a factor and the account has
	// none yet: the step is enrolment, then completion.
	Enrol     bool
	ExpiresAt time.Time
}

// MFAChallengeOf checks an mfa token (a live pending session) and says
// what it can be completed with. Anything else is Unauthenticated
// invalid_token.
func (s *Service) MFAChallengeOf(ctx context.Context, mfaToken string) (MFAChallenge, error) {
	return MFAChallenge{}, errNotBuilt
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
func (s *Service) CompleteMFA(ctx context.Context, mfaToken string, proof FactorProof, clientIP string) (TokenPair, error) {
	return TokenPair{}, errNotBuilt
}

// PasskeyChallenge is the first half of a WebAuthn ceremony: Options is the
// JSON the browser's navigator.credentials.create or .get takes (in
// go-webauthn's shape: {"publicKey": {...}} with base64url binary fields),
// Ceremony the sealed, single-use state the Finish call needs back.
type PasskeyChallenge struct {
	Options  []byte
	Ceremony string
}

// BeginMFAPasskey starts a passkey assertion for the factor step of an
// mfa token: allowCredentials lists the user's passkeys.
func (s *Service) BeginMFAPasskey(ctx context.Context, mfaToken string) (PasskeyChallenge, error) {
	return PasskeyChallenge{}, errNotBuilt
}

// BeginPasskeySignIn starts a passwordless sign-in: a discoverable
// credential assertion (empty allowCredentials, user verification
// required), for the conditional UI of /login or a button.
func (s *Service) BeginPasskeySignIn(ctx context.Context) (PasskeyChallenge, error) {
	return PasskeyChallenge{}, errNotBuilt
}

// FinishPasskeySignIn completes a passwordless sign-in: the assertion must
// answer the ceremony's challenge (once), be signed by a registered
// passkey whose user handle names its account, with user verification,
// from LATCH_PUBLIC_URL's origin. It starts a session with AMR hwk, user
// and mfa (a passkey with user verification is two factors). Failures are
// Unauthenticated invalid_credentials, whatever the cause, and count
// against the per-address limit.
func (s *Service) FinishPasskeySignIn(ctx context.Context, ceremony string, response []byte, clientIP string) (TokenPair, error) {
	return TokenPair{}, errNotBuilt
}

// BeginPasskeyRegistration starts registering a passkey for the signed-in
// user (a full session, or a pending one whose step is enrolment):
// resident key required, user verification preferred, the user's
// existing passkeys excluded.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, p Principal) (PasskeyChallenge, error) {
	return PasskeyChallenge{}, errNotBuilt
}

// FinishPasskeyRegistration stores the passkey the browser created as a
// confirmed factor named name (audited, the user notified by email).
func (s *Service) FinishPasskeyRegistration(ctx context.Context, p Principal, name, ceremony string, response []byte) (latch.Factor, error) {
	return latch.Factor{}, errNotBuilt
}

// BeginStepUpPasskey starts a passkey assertion for a step-up of the
// signed-in user.
func (s *Service) BeginStepUpPasskey(ctx context.Context, p Principal) (PasskeyChallenge, error) {
	return PasskeyChallenge{}, errNotBuilt
}

// StepUp checks a factor of the signed-in user again and starts a fresh
// session in place of p's (AuthTime now, AMR with the factor): the new
// pair is what the surface keeps from then on. Sensitive changes of an
// account with a factor (SetOwnPassword, RemoveFactor,
// RegenerateRecoveryCodes) need a session whose factor check is within
// StepUpWindow and answer Forbidden step_up_required otherwise.
func (s *Service) StepUp(ctx context.Context, p Principal, proof FactorProof) (TokenPair, error) {
	return TokenPair{}, errNotBuilt
}

// HasFreshFactor reports whether p's session checked a factor within
// StepUpWindow (or the account has no factor, so there is nothing to step
// up to).
func (s *Service) HasFreshFactor(ctx context.Context, p Principal) (bool, error) {
	return false, errNotBuilt
}

// errNotBuilt marks the second-factor use cases still being written.
var errNotBuilt = &latch.Error{Kind: latch.KindInternal, Code: latch.CodeInternal, Message: "not built yet"}
