package account

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

// This file is the one way a new password is taken. Every flow that sets
// one (an administrator's, the account's own, a link's, a sign-up's first,
// an operator's) runs checkNewPassword with a newPassword and an order of
// its own; the orders are written down here, once, each with the seed that
// fixes it (shared/seeds/README.md). The checks return kinds, codes, fields
// and Params; the texts a person reads belong to each surface.

// passwordCheck is one step of taking a new password.
type passwordCheck int

const (
	// checkRequired: the password and its confirmation are both given
	// (seed 001's "missing parameters"); "" counts as not given.
	checkRequired passwordCheck = iota + 1
	// checkTooLong: no longer than the service ever accepts. It runs
	// before anything else reads the password, so a megabyte "password"
	// is neither normalised nor hashed.
	checkTooLong
	// checkMismatch: the confirmation equals the password (both
	// normalised); reported on password_confirmation, the input at fault.
	checkMismatch
	// checkConfirmation: checkMismatch for forms that also need the
	// confirmation given (required, then equal).
	checkConfirmation
	// checkVisible: no invisible character (password.CheckVisible), even
	// where the policy is bypassed.
	checkVisible
	// checkPolicy: the tenant's policy, every rule at once (skipped when
	// newPassword.Policy is nil: an administrator bypassing it).
	checkPolicy
	// checkFlowRules: the flow's own rules on top of the policy (seed
	// 003's), reported before the policy's failures of the same rule.
	checkFlowRules
	// checkCurrentGiven: current_password is sent when the account has a
	// password and the caller must prove it.
	checkCurrentGiven

	// The steps below are the use case's own (a lookup, a hash): they are
	// handed in as functions, and the order says when they run.

	// stepLoad reads what the pure checks need (the tenant's policy,
	// whether the account has a password).
	stepLoad
	// stepUser finds the target of an administrator and checks that it
	// may be acted on (tenant, super client).
	stepUser
	// stepCurrent verifies current_password (limited per account).
	stepCurrent
	// stepHistory refuses one of the account's last passwords (a hash per
	// remembered one; only once the caller has proven who it is).
	stepHistory
)

var checkNames = map[passwordCheck]string{
	checkRequired: "required", checkTooLong: "too long", checkMismatch: "mismatch", checkConfirmation: "confirmation",
	checkVisible: "visible", checkPolicy: "policy", checkFlowRules: "flow rules", checkCurrentGiven: "current given",
	stepLoad: "load", stepUser: "user", stepCurrent: "current", stepHistory: "history",
}

func (c passwordCheck) String() string { return checkNames[c] }

// passwordOrder is a flow's order of checks: stages run one after the
// other, and the first stage with a failure ends the request with every
// failure of that stage (one per rule and field), so that a form can show
// them together.
type passwordOrder struct {
	name   string
	stages [][]passwordCheck
}

// Each flow's order. The checks before the password's (a token, a scope,
// the request's format) belong to the surface and the use case's start;
// they are listed in the comments so that each seed's whole order reads
// in one place.
var (
	// orderAdmin: seed 001 (shared/seeds/README.md, 001), and the native
	// admin API the same way. The whole request: Authorization format ->
	// token -> scope -> id -> Content-Type -> JSON (api/onelogin, then
	// Admin.Authorize) -> parameters -> mismatch -> user -> tenant ->
	// policy (here). The length limit runs before the mismatch only to
	// bound the work; the invisible-character rule, which validate_policy
	// cannot bypass, after the user.
	orderAdmin = passwordOrder{name: "administrator (seed 001)", stages: [][]passwordCheck{
		{checkRequired}, {checkTooLong}, {checkMismatch}, {stepUser}, {checkVisible}, {checkPolicy}, {stepHistory},
	}}
	// orderOwn: seed 000 (shared/seeds/README.md, 000; also the native
	// /v1/me/password and the account page): Bearer token -> user:update
	// -> Content-Type -> JSON (the surface) -> length limit -> every
	// field's failures together (policy, confirmation, current_password
	// given) -> current_password correct -> history. The history answers
	// only a caller that proved who it is.
	orderOwn = passwordOrder{name: "own password (seed 000)", stages: [][]passwordCheck{
		{checkTooLong}, {stepLoad}, {checkPolicy, checkConfirmation, checkCurrentGiven}, {stepCurrent}, {stepHistory},
	}}
	// orderLink: seed 002's link and recovery (shared/seeds/README.md,
	// 002): a live link -> length limit -> policy and confirmation
	// together -> history (the link proved the email).
	orderLink = passwordOrder{name: "link (seed 002)", stages: [][]passwordCheck{
		{checkTooLong}, {stepLoad}, {checkPolicy, checkConfirmation}, {stepHistory},
	}}
	// orderFirst: seed 003 (shared/seeds/README.md, 003): token (401
	// without, 400 invalid) -> already set -> length limit -> the seed's
	// own rules and the tenant's policy together, one detail per failed
	// rule, the seed's first.
	orderFirst = passwordOrder{name: "first password (seed 003)", stages: [][]passwordCheck{
		{checkTooLong}, {stepLoad}, {checkFlowRules, checkPolicy},
	}}
	// orderAdminCreate: a password an administrator gives a new user
	// (native admin API): the hard limits, then the whole policy.
	orderAdminCreate = passwordOrder{name: "administrator's new user", stages: [][]passwordCheck{
		{checkTooLong}, {checkVisible}, {stepLoad}, {checkPolicy}, {stepHistory},
	}}
	// orderOperator: `latch users create --password`: the whole policy.
	orderOperator = passwordOrder{name: "operator's new user", stages: [][]passwordCheck{
		{stepLoad}, {checkPolicy}, {stepHistory},
	}}
)

// newPassword is what the checks read. The steps (stepLoad, stepUser...)
// may fill in what they read: the policy, the account's email, whether a
// current password must be proven.
type newPassword struct {
	Password string
	// Confirmation is nil when the request had none.
	Confirmation *string
	// CurrentPassword is nil when not sent.
	CurrentPassword *string
	// MustProveCurrent: the account has a password and the caller must
	// send it (checkCurrentGiven).
	MustProveCurrent bool
	// MaxLength is the service's hard limit (Config.Policy.MaxLength).
	MaxLength int
	// Policy is the tenant's; nil skips checkPolicy.
	Policy *password.Policy
	// Email is the account's, for the policy's email rule.
	Email string
	// FlowRules are the flow's own rules (checkFlowRules).
	FlowRules func(pw string) []latch.Error
}

// passwordStep is one of the use case's own steps: field failures, or an
// error that ends the request as it is (not found, limited, unavailable).
type passwordStep func(in *newPassword, pw string) ([]latch.Error, error)

// checkNewPassword runs o over in and returns the normalised password, or
// the first failing stage's failures as one Invalid error (or a step's
// own error). A step the order names but steps lacks passes. It does no
// I/O of its own: whatever reaches outside is a step.
func checkNewPassword(in newPassword, o passwordOrder, steps map[passwordCheck]passwordStep) (string, error) {
	pw := in.Password
	normalised := false
	for _, stage := range o.stages {
		var failed []latch.Error
		for _, c := range stage {
			if c != checkTooLong && !normalised {
				// Normalise once, after the length limit has bounded
				// the work (password.Normalize).
				pw, normalised = password.Normalize(pw), true
			}
			var got []latch.Error
			switch c {
			case checkRequired:
				if in.Password == "" {
					got = append(got, failure("password", latch.CodeRequired, "The password field is required."))
				}
				if in.Confirmation == nil || *in.Confirmation == "" {
					got = append(got, failure("password_confirmation", latch.CodeRequired, "The password confirmation field is required."))
				}
			case checkTooLong:
				// The typed password first (bounding the work), then the
				// one that would be stored: NFKC may lengthen it.
				if tooLong(in.Password, in.MaxLength) {
					got = append(got, tooLongFailure(in.MaxLength))
					break
				}
				if !normalised {
					pw, normalised = password.Normalize(pw), true
				}
				if tooLong(pw, in.MaxLength) {
					got = append(got, tooLongFailure(in.MaxLength))
				}
			case checkMismatch:
				if in.Confirmation != nil && password.Normalize(*in.Confirmation) != pw {
					got = append(got, mismatchFailure())
				}
			case checkConfirmation:
				if in.Confirmation == nil || *in.Confirmation == "" {
					got = append(got, failure("password_confirmation", latch.CodeRequired, "The password confirmation field is required."))
				} else if password.Normalize(*in.Confirmation) != pw {
					got = append(got, mismatchFailure())
				}
			case checkVisible:
				if e := password.CheckVisible(pw); e != nil {
					got = append(got, *e)
				}
			case checkPolicy:
				if in.Policy != nil {
					if err := in.Policy.Check(pw, in.Email); err != nil {
						got = details(err)
					}
				}
			case checkFlowRules:
				if in.FlowRules != nil {
					got = in.FlowRules(pw)
				}
			case checkCurrentGiven:
				if in.MustProveCurrent && (in.CurrentPassword == nil || *in.CurrentPassword == "") {
					got = append(got, *errCurrentPasswordRequired())
				}
			default:
				step := steps[c]
				if step == nil {
					continue
				}
				var err error
				if got, err = step(&in, pw); err != nil {
					return "", err
				}
			}
			for _, f := range got {
				if !hasFailure(failed, f.Field, f.Code) {
					failed = append(failed, f)
				}
			}
		}
		if len(failed) > 0 {
			return "", invalid(failed)
		}
	}
	if !normalised {
		pw = password.Normalize(pw)
	}
	return pw, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// tooLong reports whether pw has more than max code points (0: no limit).
func tooLong(pw string, max int) bool {
	return password.Policy{MaxLength: max}.TooLong(pw)
}

func failure(field, code, message string) latch.Error {
	return *latch.FieldError(field, code, message)
}

func tooLongFailure(max int) latch.Error {
	f := failure("password", latch.CodePolicyLength, fmt.Sprintf("The password may not be greater than %d characters.", max))
	f.Params = map[string]string{"max": strconv.Itoa(max)}
	return f
}

func mismatchFailure() latch.Error {
	return failure("password_confirmation", latch.CodePasswordMismatch, "The two passwords do not match.")
}

func historyFailure(count int) latch.Error {
	f := failure("password", latch.CodePolicyHistory, fmt.Sprintf("The password must not be one of your last %d passwords.", count))
	f.Params = map[string]string{"count": strconv.Itoa(count)}
	return f
}

// hasFailure reports whether failed already holds code on field: a rule
// that two checks share (seed 003's length and the policy's) is reported
// once, by the first.
func hasFailure(failed []latch.Error, field, code string) bool {
	for _, f := range failed {
		if f.Field == field && f.Code == code {
			return true
		}
	}
	return false
}

// seed003MinLength is seed 003's minimum length for a first password.
const seed003MinLength = 8

// seed003Rules are seed 003's own rules for a first password, on top of
// the tenant's policy: at least 8 characters, a number and a special
// character (password.IsSpecial with no list: any visible symbol).
func seed003Rules(pw string) []latch.Error {
	var failed []latch.Error
	if utf8.RuneCountInString(pw) < seed003MinLength {
		f := failure("password", latch.CodePolicyLength, fmt.Sprintf("The password must be at least %d characters.", seed003MinLength))
		f.Params = map[string]string{"min": strconv.Itoa(seed003MinLength)}
		failed = append(failed, f)
	}
	if strings.IndexFunc(pw, unicode.IsDigit) < 0 {
		failed = append(failed, failure("password", latch.CodePolicyDigit, "The password must contain at least one number."))
	}
	if strings.IndexFunc(pw, func(r rune) bool { return password.IsSpecial(r, "") }) < 0 {
		failed = append(failed, failure("password", latch.CodePolicySpecial, "The password must contain at least one special character."))
	}
	return failed
}
