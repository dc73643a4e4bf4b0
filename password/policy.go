package password

import (
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
	"golang.org/x/text/unicode/norm"

	"github.com/latchid/latch"
)

// Normalize returns the NFKC form of a password. Hashing and every policy
// check use the normalized form, so that "ｐａｓｓｗｏｒｄ" typed on a
// full-width keyboard and a precomposed "é" versus "e" + combining accent
// are the same password. The caller normalizes, once, before anything else.
func Normalize(password string) string {
	return norm.NFKC.String(password)
}

// Policy is the baseline password policy (NIST SP 800-63B): length bounds
// counted in Unicode code points of the normalized password, a blocklist
// of common passwords, and no passwords built from the account's email.
// A zero MinLength or MaxLength means no bound on that side.
type Policy struct {
	MinLength, MaxLength int
	RefuseCommon         bool
	RefuseEmail          bool
}

// DefaultPolicy returns 8..256 code points, refusing common passwords and
// passwords built from the email.
func DefaultPolicy() Policy {
	return Policy{MinLength: 8, MaxLength: 256, RefuseCommon: true, RefuseEmail: true}
}

// Check returns nil if password (normalized) is acceptable for the account
// with email, or a KindInvalid *latch.Error on field "password" whose Code
// and Message are those of the first failed rule and whose Details hold one
// error per failed rule, so a form can show them all at once.
func (p Policy) Check(password, email string) error {
	fail := func(code, message string) latch.Error {
		return *latch.FieldError("password", code, message)
	}
	var failed []latch.Error
	if password == "" {
		failed = append(failed, fail(latch.CodeRequired, "The password field is required."))
		return policyError(failed)
	}
	n := utf8.RuneCountInString(password)
	if p.MinLength > 0 && n < p.MinLength {
		failed = append(failed, fail(latch.CodePolicyLength, fmt.Sprintf("The password must be at least %d characters.", p.MinLength)))
	}
	if p.MaxLength > 0 && n > p.MaxLength {
		failed = append(failed, fail(latch.CodePolicyLength, fmt.Sprintf("The password may not be greater than %d characters.", p.MaxLength)))
	}
	if p.RefuseCommon && isCommon(password) {
		failed = append(failed, fail(latch.CodePolicyCommon, "The password is too common."))
	}
	if p.RefuseEmail && containsEmail(password, email) {
		failed = append(failed, fail(latch.CodePolicyEmail, "The password must not contain your email address."))
	}
	if len(failed) == 0 {
		return nil
	}
	return policyError(failed)
}

func policyError(failed []latch.Error) error {
	first := failed[0]
	return &latch.Error{
		Kind:    latch.KindInvalid,
		Code:    first.Code,
		Field:   "password",
		Message: first.Message,
		Details: failed,
	}
}

// TooLong reports whether password has more than MaxLength code points. It
// reads at most about 4 x MaxLength bytes whatever the input's size, so a
// caller can refuse a megabyte "password" before normalizing or hashing it.
func (p Policy) TooLong(password string) bool {
	if p.MaxLength <= 0 || len(password) <= p.MaxLength {
		// Every code point takes at least one byte.
		return false
	}
	n := 0
	for range password {
		n++
		if n > p.MaxLength {
			return true
		}
	}
	return false
}

// commonPasswords is the blocklist: zxcvbn's 30,000 most common passwords
// (already lowercase). It is built on first use, not at init, so programs
// that import the package but never check a policy (the CLI, most tests)
// do not pay for a 30k-entry map. Read-only once built.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, len(list))
	for _, pw := range list {
		set[strings.ToLower(pw)] = struct{}{}
	}
	return set
})

// isCommon compares case-insensitively: "Password" is as guessable as
// "password", since guessing tools try case variants first.
func isCommon(password string) bool {
	_, ok := commonPasswords()[strings.ToLower(password)]
	return ok
}

// containsEmail reports whether password is built from email: ignoring case
// and everything but letters and digits, it contains the local part (when
// that has at least 3 characters; shorter ones would match by chance) or
// equals the whole address.
func containsEmail(password, email string) bool {
	email = latch.NormalizeEmail(email)
	pw := lettersAndDigits(password)
	if email == "" || pw == "" {
		return false
	}
	if pw == lettersAndDigits(email) {
		return true
	}
	local := email
	if at := strings.LastIndexByte(email, '@'); at >= 0 {
		local = email[:at]
	}
	local = lettersAndDigits(local)
	return utf8.RuneCountInString(local) >= 3 && strings.Contains(pw, local)
}

// lettersAndDigits lowercases s and drops everything but letters and digits,
// so "Alice.Smith" and "alice_smith!" compare equal.
func lettersAndDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}
