package password_test

import (
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

// TestInvisibleCharacterCommonPassword: the policy reports a common
// password hidden behind invisible characters as common too.
func TestInvisibleCharacterCommonPassword(t *testing.T) {
	for _, pw := range []string{"password\u200b", "pass\u00adword", "\ufeffqwerty123"} {
		err := password.DefaultPolicy().Check(password.Normalize(pw), "x@example.com")
		codes := map[string]bool{}
		for _, d := range latch.AsError(err).Details {
			codes[d.Code] = true
		}
		if !codes[latch.CodePolicyInvisible] || !codes[latch.CodePolicyCommon] {
			t.Errorf("Check(%q) = %v; want both %s and %s", pw, err, latch.CodePolicyInvisible, latch.CodePolicyCommon)
		}
	}
}

// TestInvisible: what counts as invisible, and what does not (spaces,
// letters of any script, emoji without joiners).
func TestInvisible(t *testing.T) {
	for _, r := range []rune{'\t', '\n', 0x7f, 0xad, 0x34f, 0x61c, 0x115f, 0x180e, 0x200b, 0x200c, 0x200d, 0x200e, 0x202e, 0x2028, 0x2060, 0x2064, 0x3164, 0xfe0f, 0xfeff, 0xffa0, 0xe0041} {
		if !password.Invisible(r) {
			t.Errorf("U+%04X is not invisible", r)
		}
	}
	for _, r := range []rune{' ', 'a', 0xa0, 0x3000, 'é', 'ß', 'ж', '中', 0x1f600, '€'} {
		if password.Invisible(r) {
			t.Errorf("U+%04X is invisible", r)
		}
	}
	if err := password.CheckVisible("correct horse battery staple 😀"); err != nil {
		t.Errorf("a visible passphrase: %v", err)
	}
}
