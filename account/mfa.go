package account

import "time"

// The second-factor step of a sign-in, step-up, and passkeys (issue 16).
// This file is the contract the surfaces (api/native, the seed surfaces,
// web) are written against; the factors themselves are factors.go (TOTP,
// recovery codes) and passkeys.go (WebAuthn); the factor step and
// step-up are built in mfa_signin.go.
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

// PasskeyChallenge is the first half of a WebAuthn ceremony: Options is the
// JSON the browser's navigator.credentials.create or .get takes (in
// go-webauthn's shape: {"publicKey": {...}} with base64url binary fields),
// Ceremony the sealed, single-use state the Finish call needs back.
type PasskeyChallenge struct {
	Options  []byte
	Ceremony string
}
