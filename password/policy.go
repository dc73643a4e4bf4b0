package password

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
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

// Invisible reports whether r is a character nobody sees: a control
// (tab and line breaks included), a format character (U+200B..U+200F,
// U+2060, U+FEFF, the soft hyphen, bidi controls, tags), a line or
// paragraph separator, a variation selector or another default-ignorable
// code point (U+034F, Hangul fillers...). NFKC keeps them all, so
// "password\u200b" would otherwise be a different password from
// "password" that looks the same and escapes the blocklist.
func Invisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp,
		unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point)
}

// CheckVisible is the one rule about invisible characters, and it applies
// to every new password, even when an administrator bypasses the policy:
// a password holding one (see Invisible) is refused, not silently
// stripped. Refusing keeps verification unchanged (Normalize leaves these
// characters in), so a password set before this rule, character included,
// still signs in.
func CheckVisible(password string) *latch.Error {
	if strings.IndexFunc(password, Invisible) < 0 {
		return nil
	}
	return latch.FieldError("password", latch.CodePolicyInvisible,
		"The password must not contain invisible characters (such as zero-width spaces, soft hyphens or control characters).")
}

// withoutInvisible drops the characters CheckVisible refuses, so that the
// blocklist and the email rule see the password a person would read.
func withoutInvisible(password string) string {
	return strings.Map(func(r rune) rune {
		if Invisible(r) {
			return -1
		}
		return r
	}, password)
}

// Policy is a password policy. Its baseline (NIST SP 800-63B) is length
// bounds counted in Unicode code points of the normalized password, a
// blocklist of common passwords, no passwords built from the account's
// email, and (always, see CheckVisible) no invisible characters. A zero MinLength or MaxLength means no bound on that side.
//
// Tenants may add composition rules (Require) and a minimum zxcvbn
// strength score; both are off by default, as NIST asks for a blocklist
// rather than composition rules.
type Policy struct {
	MinLength, MaxLength int
	RefuseCommon         bool
	RefuseEmail          bool
	// Require lists the character classes a password must contain.
	Require Classes
	// Specials are the characters that count as special when Require
	// has Special; any other non-alphanumeric character is then refused.
	// Empty means DefaultSpecials.
	Specials string
	// MinScore is the lowest zxcvbn score (0-4) accepted; 0 is off.
	MinScore int
}

// Classes is a set of character classes.
type Classes uint8

// The character classes a policy can require.
const (
	Lower Classes = 1 << iota
	Upper
	Digit
	Special
)

// DefaultSpecials are the special characters seed 001's policy accepts.
const DefaultSpecials = "!@#€%&.,$+§/()=*;:_-"

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
	fail := func(code, message string, params ...string) latch.Error {
		e := *latch.FieldError("password", code, message)
		e.Params = paramsOf(params)
		return e
	}
	var failed []latch.Error
	if password == "" {
		failed = append(failed, fail(latch.CodeRequired, "The password field is required."))
		return policyError(failed)
	}
	n := utf8.RuneCountInString(password)
	if p.MinLength > 0 && n < p.MinLength {
		failed = append(failed, fail(latch.CodePolicyLength, fmt.Sprintf("The password must be at least %d characters.", p.MinLength), "min", strconv.Itoa(p.MinLength)))
	}
	if p.MaxLength > 0 && n > p.MaxLength {
		failed = append(failed, fail(latch.CodePolicyLength, fmt.Sprintf("The password may not be greater than %d characters.", p.MaxLength), "max", strconv.Itoa(p.MaxLength)))
	}
	if e := CheckVisible(password); e != nil {
		failed = append(failed, *e)
	}
	visible := withoutInvisible(password)
	if p.RefuseCommon && isCommon(visible) {
		failed = append(failed, fail(latch.CodePolicyCommon, "The password is too common."))
	}
	if p.RefuseEmail && containsEmail(visible, email) {
		failed = append(failed, fail(latch.CodePolicyEmail, "The password must not contain your email address."))
	}
	failed = append(failed, p.composition(password, fail)...)
	if p.MinScore > 0 && zxcvbn.PasswordStrength(password, []string{email}).Score < p.MinScore {
		failed = append(failed, fail(latch.CodePolicyWeak, "The password is too easy to guess."))
	}
	if len(failed) == 0 {
		return nil
	}
	return policyError(failed)
}

// composition checks the required character classes, one failure each.
func (p Policy) composition(password string, fail func(code, message string, params ...string) latch.Error) []latch.Error {
	if p.Require == 0 {
		return nil
	}
	specials := p.Specials
	if specials == "" {
		specials = DefaultSpecials
	}
	var have Classes
	invalid := false
	for _, r := range password {
		switch {
		case unicode.IsLower(r):
			have |= Lower
		case unicode.IsUpper(r):
			have |= Upper
		case unicode.IsDigit(r):
			have |= Digit
		case IsSpecial(r, specials):
			have |= Special
		case unicode.IsLetter(r):
			// Letters without case (most scripts) count as letters only.
		default:
			invalid = true
		}
	}
	var failed []latch.Error
	for _, rule := range []struct {
		class   Classes
		code    string
		message string
	}{
		{Lower, latch.CodePolicyLower, "The password must contain at least one lowercase letter."},
		{Upper, latch.CodePolicyUpper, "The password must contain at least one uppercase letter."},
		{Digit, latch.CodePolicyDigit, "The password must contain at least one number."},
		{Special, latch.CodePolicySpecial, "The password must contain at least one special character (" + specials + ")."},
	} {
		if p.Require&rule.class != 0 && have&rule.class == 0 {
			if rule.class == Special {
				failed = append(failed, fail(rule.code, rule.message, "specials", specials))
			} else {
				failed = append(failed, fail(rule.code, rule.message))
			}
		}
	}
	if p.Require&Special != 0 && invalid {
		failed = append(failed, fail(latch.CodePolicySpecialInvalid, "The password may only contain these special characters: "+specials, "specials", specials))
	}
	return failed
}

// IsSpecial is the one definition of a special character. With a list (a
// policy's Specials, seed 001's by default) a character is special when
// the list holds it; with none (seed 003's "at least one special
// character") any visible character that is neither a letter, a digit
// nor a space is.
func IsSpecial(r rune, list string) bool {
	if list != "" {
		return strings.ContainsRune(list, r)
	}
	return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsSpace(r) && !Invisible(r)
}

// paramsOf pairs up name, value, name, value...
func paramsOf(kv []string) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
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
	email = strings.ToLower(strings.TrimSpace(email))
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
