package latch

import (
	"context"
	"time"
)

// FactorStore keeps second factors (TOTP now, passkeys later) and
// recovery codes. A factor of any kind is one row of one table: its
// common fields here, the columns of a kind added with that kind.
type FactorStore interface {
	// CreateFactor stores f (ConfirmedAt nil: not yet usable); an
	// unknown user is NotFound, a taken id Conflict (CodeAlreadyExists).
	CreateFactor(ctx context.Context, f Factor, audit *AuditEvent) error
	// FactorsByUser lists the user's factors, oldest first; none for an
	// unknown user.
	FactorsByUser(ctx context.Context, userID string) ([]Factor, error)
	FactorByID(ctx context.Context, id string) (Factor, error)
	// ConfirmFactor marks an unconfirmed factor confirmed at at, with the
	// TOTP step of the code that confirmed it as its LastStep (so that
	// code cannot be used again). A confirmed factor is Conflict
	// (CodeFactorConfirmed), an unknown one NotFound.
	ConfirmFactor(ctx context.Context, id string, step int64, at time.Time, audit *AuditEvent) error
	// DeleteFactor deletes the user's factor; one that is not the user's
	// is NotFound, and nothing is written.
	DeleteFactor(ctx context.Context, userID, id string, audit *AuditEvent) error
	// UseTOTPStep records that a code of step was accepted for the
	// confirmed factor id: one conditional update (LastStep < step), so
	// that a step is accepted once across every replica. A step not
	// above LastStep, or an unconfirmed factor, is Conflict
	// (CodeFactorStepUsed); an unknown factor NotFound.
	UseTOTPStep(ctx context.Context, id string, step int64, at time.Time) error

	// ReplaceRecoveryCodes replaces the user's recovery codes, used or
	// not, by hashes, in one transaction: the old set is gone. An unknown
	// user is NotFound; an empty or repeated hash Invalid.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time, audit *AuditEvent) error
	// UseRecoveryCode marks the user's unused code with hash used, once:
	// a conditional update, with the audit event and the notice mail
	// (if not nil) in the same transaction. An unknown or used code is
	// NotFound and nothing is written.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time, audit *AuditEvent, notice *MailMessage) error
	// RecoveryCodes lists the user's recovery codes (used ones included),
	// in no particular order.
	RecoveryCodes(ctx context.Context, userID string) ([]RecoveryCode, error)

	// FactorByCredentialID returns the passkey (a factor of kind
	// FactorWebAuthn) with the WebAuthn credential id; none is NotFound.
	FactorByCredentialID(ctx context.Context, credentialID []byte) (Factor, error)
	// UpdatePasskeyUse records a passkey assertion accepted at at: the
	// authenticator's new sign count and backup state, and LastUsedAt. One
	// conditional update: the count must be above the stored one, or both
	// zero (an authenticator that keeps no counter). A count that did not
	// increase (a cloned authenticator, or a race of two assertions) is
	// Conflict (CodePasskeyCounter) and nothing is written; an unknown or
	// unconfirmed passkey NotFound.
	UpdatePasskeyUse(ctx context.Context, id string, signCount uint32, backupState bool, at time.Time) error

	// CreateWebAuthnChallenge stores the hash of the challenge of a
	// WebAuthn ceremony begun; a taken hash is Conflict.
	CreateWebAuthnChallenge(ctx context.Context, c WebAuthnChallenge) error
	// ConsumeWebAuthnChallenge marks the challenge with hash and purpose
	// used and returns it, at most once (one conditional update, as an
	// authorization code): an unknown, used, expired or other-purpose
	// challenge is NotFound.
	ConsumeWebAuthnChallenge(ctx context.Context, hash []byte, purpose string, at time.Time) (WebAuthnChallenge, error)
	// PurgeWebAuthnChallenges deletes at most limit challenges that expired
	// before before, and returns how many.
	PurgeWebAuthnChallenges(ctx context.Context, before time.Time, limit int) (int, error)
	// ResetFactors deletes every factor (of any kind, confirmed or not)
	// and every recovery code of the user, with the audit event and the
	// notice mail (if not nil), in one transaction, and returns how many
	// factors it deleted. An unknown user is NotFound and nothing is
	// written; a user with nothing to delete still gets the event and
	// the mail (an administrator acted on the account).
	ResetFactors(ctx context.Context, userID string, audit *AuditEvent, notice *MailMessage) (int, error)
}

// WebAuthnChallenge is a WebAuthn ceremony's challenge, kept only as its
// hash so that an assertion answers it once, even from an authenticator
// whose sign count stays 0.
type WebAuthnChallenge struct {
	Hash      []byte
	Purpose   string // the ceremony: registration, sign-in, mfa, step-up
	UserID    string // empty for a passwordless sign-in
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// FactorKind is what proves a second factor.
type FactorKind string

// Factor kinds.
const (
	FactorTOTP     FactorKind = "totp"     // RFC 6238 codes from an app
	FactorWebAuthn FactorKind = "webauthn" // a passkey (WebAuthn credential)
)

// Factor is a second factor of a user.
type Factor struct {
	ID     string // UUIDv7
	UserID string
	Kind   FactorKind
	Name   string // the user's label ("Phone")
	// Secret is the TOTP secret sealed with the data key
	// (token.Keys.SealData), never in clear.
	Secret      []byte
	CreatedAt   time.Time
	ConfirmedAt *time.Time // nil until a first code confirmed it
	LastUsedAt  *time.Time
	// LastStep is the latest TOTP time step accepted (RFC 6238's T); a
	// code of this step or an earlier one is refused (no replay).
	LastStep int64

	// A passkey's credential record (WebAuthn §4 "credential record");
	// empty for other kinds. CredentialID is unique among all factors.
	CredentialID    []byte
	PublicKey       []byte // COSE_Key
	AttestationType string
	AAGUID          []byte
	SignCount       uint32
	Transports      []string
	BackupEligible  bool
	BackupState     bool
	// UserHandle is the WebAuthn user.id of the account: random, the same
	// on every passkey of a user, never the user id or the email.
	UserHandle []byte
}

// RecoveryCode is one single-use recovery code of a user: only its hash
// is stored.
type RecoveryCode struct {
	UserID    string
	Hash      []byte
	CreatedAt time.Time
	UsedAt    *time.Time
}

// Error codes of second factors.
const (
	CodeFactorStepUsed  = "factor_step_used" // the TOTP step was accepted before (a replay)
	CodeFactorConfirmed = "factor_confirmed" // the factor was confirmed already
	CodePasskeyCounter  = "passkey_counter"  // a passkey's sign count did not increase
)

// Audit actions of second factors.
const (
	AuditFactorEnrol        = "factor.enrol"
	AuditFactorConfirm      = "factor.confirm"
	AuditFactorRemove       = "factor.remove"
	AuditRecoveryRegenerate = "recovery.regenerate"
	AuditRecoveryUse        = "recovery.use"
	AuditMFAFailure         = "mfa.failure"
	// AuditLoginMFARequired: the first factor was right; the only session
	// started is the pending one of the factor step.
	AuditLoginMFARequired = "login.mfa_required"
	// AuditStepUp: a signed-in user checked a factor again.
	AuditStepUp       = "login.step_up"
	AuditPasskeyClone = "passkey.clone_warning"
	AuditFactorsReset = "factors.reset" // by an administrator
)
