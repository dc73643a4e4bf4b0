package latch_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/latchid/latch"
)

func TestCanonicalEmail(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string // want "" means refused
	}{
		{"ascii lowercased, trimmed", "  Ada.Lovelace+x@Example.COM \n", "ada.lovelace+x@example.com"},
		{"atext", "o'neil!#$%&*/=?^_`{|}~-@example.com", "o'neil!#$%&*/=?^_`{|}~-@example.com"},
		{"single-label domain", "root@localhost", "root@localhost"},
		{"full-width local part is its letters", "ａｄａ@example.com", "ada@example.com"},
		{"full-width domain", "ada@ｅｘａｍｐｌｅ.ｃｏｍ", "ada@example.com"},
		{"IDN domain to A-label", "ada@Bücher.de", "ada@xn--bcher-kva.de"},
		{"A-label kept", "ada@XN--BCHER-KVA.de", "ada@xn--bcher-kva.de"},
		{"non-transitional sharp s", "ada@faß.de", "ada@xn--fa-hia.de"},
		{"Unicode local part, NFC and lower case", "E\u0301COLE@example.com", "\u00e9cole@example.com"},
		{"dotted capital I is not i", "\u0130lya@example.com", "i\u0307lya@example.com"},
		{"Cyrillic stays Cyrillic", "\u0430da@example.com", "\u0430da@example.com"},

		{"Kelvin sign in local part", "\u212Aelvin@example.com", ""},
		{"Kelvin sign in domain", "ada@\u212Aelvin.com", ""},
		{"Ohm sign", "\u2126mega@example.com", ""},
		{"Greek question mark", "a\u037e@example.com", ""},
		{"ligature", "\ufb01sh@example.com", ""},
		{"superscript", "a\u00b2@example.com", ""},
		{"mathematical bold", "\U0001d41a@example.com", ""},
		{"zero-width space in local part", "ada\u200b@example.com", ""},
		{"zero-width space in domain", "ada@exam\u200bple.com", ""},
		{"zero-width joiner", "a\u200dda@example.com", ""},
		{"left-to-right mark", "ada@example.com\u200e", ""},
		{"right-to-left override", "\u202eada@example.com", ""},
		{"word joiner", "ada@example\u2060.com", ""},
		{"byte order mark", "\ufeffada@example.com", ""},
		{"soft hyphen", "a\u00adda@example.com", ""},
		{"variation selector", "a\ufe0fda@example.com", ""},
		{"Hangul filler", "a\u3164da@example.com", ""},
		{"private use", "a\ue000@example.com", ""},
		{"unassigned", "a\U000e0080@example.com", ""},
		{"NUL", "a\x00@example.com", ""},
		{"space inside", "a da@example.com", ""},
		{"ideographic space inside", "a\u3000da@example.com", ""},
		{"no @", "ada.example.com", ""},
		{"two @", "a@b@example.com", ""},
		{"full-width @", "ada＠example.com", ""},
		{"empty local part", "@example.com", ""},
		{"empty domain", "ada@", ""},
		{"display name", "Ada <ada@example.com>", ""},
		{"quoted local part", `"ada"@example.com`, ""},
		{"comment", "ada(x)@example.com", ""},
		{"colon", "legacy:ada@example.com", ""},
		{"leading dot", ".ada@example.com", ""},
		{"double dot", "a..da@example.com", ""},
		{"trailing dot in domain", "ada@example.com.", ""},
		{"IP literal", "ada@[127.0.0.1]", ""},
		{"underscore in domain", "ada@ex_ample.com", ""},
		{"bad A-label", "ada@xn--zz.com", ""},
		{"invalid UTF-8", "ad\xffa@example.com", ""},
		{"local part of 65 octets", strings.Repeat("a", 65) + "@example.com", ""},
		{"address of 255 octets", strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 62), ""},
		{"empty", "   ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := latch.CanonicalEmail(tc.in)
			if tc.want == "" {
				if !errors.Is(err, latch.ErrInvalidEmail) {
					t.Fatalf("CanonicalEmail(%q) = %q, %v; want ErrInvalidEmail", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("CanonicalEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
			// The canonical form is a fixed point.
			if again, err := latch.CanonicalEmail(got); err != nil || again != got {
				t.Fatalf("CanonicalEmail(%q) = %q, %v; not a fixed point", got, again, err)
			}
		})
	}
	// The longest address accepted.
	longest := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	if got, err := latch.CanonicalEmail(longest); err != nil || len(got) != 254 {
		t.Fatalf("254-octet address: %q, %v", got, err)
	}
}

// TestCanonicalEmailNoASCIILookalike checks the property the form exists
// for, over the first two planes: no single non-ASCII code point in an
// otherwise ASCII address gives the canonical form of an ASCII address
// unless it is the full-width form of that very character.
func TestCanonicalEmailNoASCIILookalike(t *testing.T) {
	for r := rune(0x80); r <= 0x1ffff; r++ {
		for _, in := range []string{"x" + string(r) + "x@example.com", "x@x" + string(r) + "x.com"} {
			got, err := latch.CanonicalEmail(in)
			if err != nil {
				continue
			}
			ascii := true
			for i := 0; i < len(got); i++ {
				ascii = ascii && got[i] < 0x80
			}
			// An A-label ("xn--") is the ASCII spelling of a non-ASCII label.
			if ascii && !strings.Contains(got, "xn--") && !(r >= 0xff01 && r <= 0xff5e) {
				t.Errorf("U+%04X: %q -> %q, an ASCII address", r, in, got)
			}
		}
	}
}

func TestEmailLookupKey(t *testing.T) {
	if got := latch.EmailLookupKey(" Ada@Example.com "); got != "ada@example.com" {
		t.Errorf("EmailLookupKey(valid) = %q", got)
	}
	// A refused address can only find what was stored, refused, before the
	// canonical form: never a canonical account.
	if got := latch.EmailLookupKey("\u212Aelvin@Example.com"); got != latch.LegacyEmailKey("kelvin@example.com") || got == "kelvin@example.com" {
		t.Errorf("EmailLookupKey(Kelvin sign) = %q", got)
	}
}

func TestEmailRekeys(t *testing.T) {
	taken := map[string]bool{"taken@example.com": true}
	rows := []latch.StoredEmail{
		{UserID: "1", Email: "ａda@example.com", OldKey: "ａda@example.com"}, // oldest, but full-width
		{UserID: "2", Email: "Ada@Example.com", OldKey: "ada@example.com"}, // the plain spelling wins
		{UserID: "3", Email: "\u212Aelvin@example.com", OldKey: "kelvin@example.com"},
		{UserID: "4", Email: "Bob@Bücher.de", OldKey: "bob@bücher.de"},
		{UserID: "5", Email: "Taken@example.com", OldKey: "taken@example.com"}, // another account has it
		{UserID: "6", Email: "ｂob@bücher.de", OldKey: "ｂob@bücher.de"},         // collides with 4, younger
		{UserID: "7", Email: "ｃarl@example.com", OldKey: "ｃarl@example.com"},   // alone: canonical
	}
	got := latch.EmailRekeys(rows, func(k string) bool { return taken[k] })
	want := []latch.EmailRekey{
		{UserID: "1", Email: "ａda@example.com", Key: latch.LegacyEmailKey("ａda@example.com")},
		{UserID: "2", Email: "ada@example.com", Key: "ada@example.com"},
		{UserID: "3", Email: "\u212Aelvin@example.com", Key: latch.LegacyEmailKey("kelvin@example.com")},
		{UserID: "4", Email: "bob@xn--bcher-kva.de", Key: "bob@xn--bcher-kva.de"},
		{UserID: "5", Email: "Taken@example.com", Key: latch.LegacyEmailKey("taken@example.com")},
		{UserID: "6", Email: "ｂob@bücher.de", Key: latch.LegacyEmailKey("ｂob@bücher.de")},
		{UserID: "7", Email: "carl@example.com", Key: "carl@example.com"},
	}
	if len(got) != len(want) {
		t.Fatalf("EmailRekeys = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
