package latch

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an Error; each HTTP surface maps kinds to its own status
// codes and bodies.
type Kind int

const (
	KindInternal Kind = iota
	KindInvalid
	KindUnauthenticated
	KindForbidden
	KindNotFound
	KindConflict
	KindTooMany
	KindUnavailable
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindForbidden:
		return "forbidden"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindTooMany:
		return "too_many"
	case KindUnavailable:
		return "unavailable"
	}
	return "internal"
}

// Stable machine codes. Surfaces switch on these, never on messages.
const (
	CodeInvalidRequest          = "invalid_request"
	CodeRequired                = "required"
	CodeInvalidEmail            = "invalid_email" // not an address CanonicalEmail accepts
	CodePasswordMismatch        = "password_mismatch"
	CodeCurrentPasswordNeeded   = "current_password_required"
	CodeCurrentPasswordWrong    = "current_password_incorrect"
	CodePolicyLength            = "policy_length"
	CodePolicyCommon            = "policy_common"
	CodePolicyEmail             = "policy_email"
	CodePolicyLower             = "policy_lower"
	CodePolicyUpper             = "policy_upper"
	CodePolicyDigit             = "policy_digit"
	CodePolicySpecial           = "policy_special"
	CodePolicySpecialInvalid    = "policy_special_invalid"
	CodePolicyWeak              = "policy_weak"
	CodePolicyHistory           = "policy_history"
	CodePolicyInvisible         = "policy_invisible" // a control, format or other invisible character
	CodeInvalidCredentials      = "invalid_credentials"
	CodeInvalidToken            = "invalid_token"
	CodeRefreshTokenReused      = "refresh_token_reused"
	CodeAuthorizationCodeReused = "authorization_code_reused" // an app's code redeemed twice: its grant is revoked
	CodeInsufficientScope       = "insufficient_scope"
	CodeNotUserToken            = "not_user_token"
	CodeAccountInactive         = "account_inactive"
	CodeEmailTaken              = "email_taken"
	CodeIdentityTaken           = "identity_taken"
	CodeAlreadyExists           = "already_exists" // a caller-chosen key (session id, key id) is taken
	CodeConcurrentUpdate        = "concurrent_update"
	CodeOverloaded              = "overloaded"
	CodeRateLimited             = "rate_limited"
	CodeLastSignInMethod        = "last_sign_in_method"
	CodeNotFound                = "not_found"
	CodeUnsupportedGrantType    = "unsupported_grant_type"
	CodeUnsupportedContentType  = "unsupported_content_type"
	CodeInvalidClient           = "invalid_client"
	CodeNotClientToken          = "not_client_token"
	CodeOtherTenant             = "other_tenant" // the target belongs to another tenant
	CodeAdminTarget             = "admin_target" // only a super client may act on an administrator
	CodePasswordChangeRequired  = "password_change_required"
	CodeMFARequired             = "mfa_required"           // a sign-in that needs its second factor: the answer carries the mfa token
	CodeStepUpRequired          = "step_up_required"       // a sensitive change that needs a fresh factor check first
	CodeMFAEnrolmentRequired    = "mfa_enrolment_required" // the tenant requires a second factor and the account has none
	CodeInvalidHash             = "invalid_hash"
	CodeNameTaken               = "name_taken"
	CodeMissingLinkedIdentity   = "missing_linked_identity"
	CodePasswordAlreadySet      = "password_already_set"
	CodeMailDisabled            = "mail_disabled"
	CodeInvalidLink             = "invalid_link"
	// CodeDatabaseUnavailable (KindUnavailable): the database could not be
	// reached or did not answer in time; try again after RetryAfter.
	CodeDatabaseUnavailable = "database_unavailable"
	// CodeCanceled (KindUnavailable): the caller gave up (a client that
	// went away) before the work was done. Nobody is waiting for an answer.
	CodeCanceled = "canceled"
	// CodeInternal (KindInternal): an unexpected failure; its cause is
	// logged, never shown.
	CodeInternal = "internal"
)

// Error is the error every use case returns.
type Error struct {
	Kind  Kind
	Code  string
	Field string // the input field at fault, if any
	// Message is the service's own text, safe to show to a client. A
	// surface that speaks a seed's words picks its own text by Code (and
	// Params), never by Message.
	Message string
	// Params are the values a rule's text needs ("min", "max" for a
	// length, "count" for a history, "specials" for a character list),
	// so that every surface can word the rule its own way.
	Params map[string]string
	// Details holds one Error per failed rule when several fail at once
	// (password policy).
	Details []Error
	// RetryAfter, for TooMany and Unavailable, says when to try again.
	RetryAfter time.Duration
	// Err is the underlying cause; logged, never shown.
	Err error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error of kind with a stable code and a client-safe message.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds an Invalid error about one input field.
func FieldError(field, code, message string) *Error {
	return &Error{Kind: KindInvalid, Code: code, Field: field, Message: message}
}

// Internal wraps an unexpected failure; its cause is logged, not shown.
func Internal(err error) *Error {
	var le *Error
	if errors.As(err, &le) {
		return le
	}
	return &Error{Kind: KindInternal, Code: CodeInternal, Message: "internal error", Err: err}
}

// AsError returns err as *Error, wrapping anything else as Internal.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	return Internal(err)
}

// IsKind reports whether err is an *Error of kind k.
func IsKind(err error, k Kind) bool {
	var le *Error
	return errors.As(err, &le) && le.Kind == k
}

// IsCode reports whether err is an *Error with code.
func IsCode(err error, code string) bool {
	var le *Error
	return errors.As(err, &le) && le.Code == code
}
