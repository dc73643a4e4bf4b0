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
	// ResetFactors deletes every factor (of any kind, confirmed or not)
	// and every recovery code of the user, with the audit event and the
	// notice mail (if not nil), in one transaction, and returns how many
	// factors it deleted. An unknown user is NotFound and nothing is
	// written; a user with nothing to delete still gets the event and
	// the mail (an administrator acted on the account).
	ResetFactors(ctx context.Context, userID string, audit *AuditEvent, notice *MailMessage) (int, error)
}

// FactorKind is what proves a second factor.
type FactorKind string

// Factor kinds.
const (
	FactorTOTP     FactorKind = "totp"     // RFC 6238 codes from an app
	FactorWebAuthn FactorKind = "webauthn" // a passkey (later)
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
)

// Audit actions of second factors.
const (
	AuditFactorEnrol        = "factor.enrol"
	AuditFactorConfirm      = "factor.confirm"
	AuditFactorRemove       = "factor.remove"
	AuditRecoveryRegenerate = "recovery.regenerate"
	AuditRecoveryUse        = "recovery.use"
	AuditMFAFailure         = "mfa.failure"
	AuditFactorsReset       = "factors.reset" // by an administrator
)
