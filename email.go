package latch

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/language"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// Bounds of an address, in octets of its canonical form (RFC 5321 4.5.3.1:
// a local part of 64, a path of 256 less its angle brackets).
const (
	MaxEmailLength     = 254
	MaxEmailLocalPart  = 64
	maxEmailInputBytes = 1024 // raw input worth looking at; beyond, refused unread
)

// ErrInvalidEmail is CanonicalEmail's one answer for an address it refuses.
// Callers map it to their own invalid-email error; which rule failed is not
// told (nor needed: the person retypes their address).
var ErrInvalidEmail = errors.New("latch: not a valid email address")

// emailDomain validates a domain that canonicalDomain has already mapped
// (width, lower case, NFC): IDNA2008 as UTS #46 registration checks it,
// which refuses every code point UTS #46 would map or ignore (so "ẞ" is not
// silently "ss" nor "。" a dot), validates A-labels ("xn--") given as
// such, applies the Bidi rule and allows only letters, digits and hyphens
// (no "_", no IP literal), with DNS lengths.
var emailDomain = idna.New(
	idna.ValidateForRegistration(),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
)

// CanonicalEmail returns the one form of an email address that Latch
// stores (as the user's email and as its lookup key), compares, limits by
// and sends mail to. Two inputs with the same canonical form are the same
// mailbox for Latch; no Unicode look-alike has the canonical form of a
// different address.
//
// The policy:
//   - Surrounding whitespace is trimmed; the input must be valid UTF-8.
//   - Every code point must be visible and mean itself: control, format
//     (U+200B..U+200F, U+2060, U+FEFF, the soft hyphen...), other
//     default-ignorable (variation selectors, Hangul fillers), unassigned,
//     private-use and surrogate code points are refused, and so is any
//     whitespace inside. So is any code point that Unicode normalisation
//     would replace by another, except full-width and half-width forms:
//     the Kelvin sign K (U+212A, canonically "K"), the Ohm sign, the Greek
//     question mark (canonically ";"), ligatures, superscripts,
//     mathematical letters. Full-width letters are the same letters
//     typed on an East Asian keyboard and are mapped to them.
//   - Exactly one "@", with a local part and a domain on either side. No
//     display name, comment, quoted local part or IP-literal domain.
//   - The domain is width-folded, lowercased and NFC-normalised, then
//     must be valid IDNA2008 as it stands (UTS #46 registration checks,
//     Bidi rule, letters, digits and hyphens only: nothing that IDNA
//     would map further, such as "ẞ" to "ss", or ignore), and is kept in
//     its ASCII form: lowercase A-labels ("xn--..."). That
//     is the form DNS and every SMTP server understand without SMTPUTF8,
//     and "bücher.de" and "xn--bcher-kva.de" become one string. A trailing
//     dot is refused.
//   - The local part goes through PRECIS UsernameCaseMapped (RFC 8265:
//     width mapping, Unicode lower case, NFC, IdentifierClass, Bidi rule),
//     so ASCII is lowercased ("Ada" is "ada": Latch has always treated
//     addresses case-insensitively) and other scripts are allowed but
//     never folded onto ASCII: the dotted capital I (U+0130) lowercases to
//     "i" + U+0307, not to "i". It must then be a dot-atom (RFC 5322 atext
//     or non-ASCII letters, dots only between them).
//   - At most 64 octets of local part and 254 of address, once canonical.
//
// The error is always ErrInvalidEmail.
func CanonicalEmail(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" || len(s) > maxEmailInputBytes || !utf8.ValidString(s) {
		return "", ErrInvalidEmail
	}
	for _, r := range s {
		if !emailRuneAllowed(r) {
			return "", ErrInvalidEmail
		}
	}
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.IndexByte(s[at+1:], '@') >= 0 {
		return "", ErrInvalidEmail
	}
	local, err := canonicalLocalPart(s[:at])
	if err != nil {
		return "", err
	}
	domain, err := canonicalDomain(s[at+1:])
	if err != nil {
		return "", err
	}
	email := local + "@" + domain
	if len(email) > MaxEmailLength {
		return "", ErrInvalidEmail
	}
	return email, nil
}

// emailRuneAllowed reports whether r may appear in an address as typed.
func emailRuneAllowed(r rune) bool {
	if r < utf8.RuneSelf {
		// ASCII: printable, no space. The syntax is checked later.
		return r > ' ' && r < 0x7f
	}
	if !unicode.IsGraphic(r) || unicode.IsSpace(r) || // Cc, Cf, Cs, Co, unassigned, spaces
		unicode.Is(unicode.Variation_Selector, r) ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) {
		return false
	}
	one := string(r)
	if norm.NFC.String(one) != one {
		// A canonical singleton: Kelvin sign, Ohm sign, Angstrom sign,
		// Greek question mark... each is another character in disguise.
		return false
	}
	if k := norm.NFKC.String(one); k != one && width.Fold.String(one) != k {
		// A compatibility character that is not merely a full-width or
		// half-width form: ligatures, superscripts, circled and
		// mathematical letters.
		return false
	}
	return true
}

// canonicalLocalPart maps the part before "@" as CanonicalEmail says.
func canonicalLocalPart(local string) (string, error) {
	out, err := precis.UsernameCaseMapped.String(local)
	if err != nil || len(out) > MaxEmailLocalPart || !isDotAtom(out) {
		return "", ErrInvalidEmail
	}
	return out, nil
}

// isDotAtom reports whether s is RFC 5322 dot-atom text, with non-ASCII
// code points counting as atext (RFC 6531).
func isDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for _, r := range s {
		if r >= utf8.RuneSelf || r == '.' || isAtext(byte(r)) {
			continue
		}
		return false
	}
	return true
}

// isAtext reports whether c is RFC 5322 atext.
func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// canonicalDomain maps the part after "@" to its lowercase ASCII form.
// The only mappings are full-width to ASCII, lower case and NFC; anything
// else IDNA would change is refused by emailDomain.
func canonicalDomain(domain string) (string, error) {
	// Full lower case, as PRECIS does for the local part: "İ" is "i̇",
	// never "i" (Go's strings.ToLower maps it to ASCII).
	lower := cases.Lower(language.Und)
	labels := strings.Split(width.Fold.String(domain), ".")
	for i, l := range labels {
		l = lower.String(l)
		if !strings.HasPrefix(l, "xn--") {
			l = norm.NFC.String(l)
		}
		labels[i] = l
	}
	// A trailing dot ("example.com.") is the same host, but not the same
	// string to a mail server's alias table: refused rather than guessed.
	// (An empty label anywhere is refused by emailDomain.)
	out, err := emailDomain.ToASCII(strings.Join(labels, "."))
	if err != nil || out == "" || strings.HasSuffix(out, ".") {
		return "", ErrInvalidEmail
	}
	// An A-label given as such must be what its U-label maps to, so that
	// both spellings of a domain have one canonical form.
	u, err := emailDomain.ToUnicode(out)
	if err != nil {
		return "", ErrInvalidEmail
	}
	if again, err := emailDomain.ToASCII(u); err != nil || again != out {
		return "", ErrInvalidEmail
	}
	return out, nil
}

// legacyEmailPrefix marks the lookup key of an address stored before the
// canonical form existed and refused by it. No canonical address starts
// with it (":" is not atext), so such a key never collides with one.
const legacyEmailPrefix = "legacy:"

// EmailLookupKey is the value of a user's email_normalized column that an
// address typed to find an account is compared with: its canonical form,
// or, for an address CanonicalEmail refuses, the key under which such an
// address was stored before the canonical form existed (see
// LegacyEmailKey). New accounts always have a canonical address, so on a
// database created since, a refused address matches no account.
func EmailLookupKey(raw string) string {
	if c, err := CanonicalEmail(raw); err == nil {
		return c
	}
	return LegacyEmailKey(strings.ToLower(strings.TrimSpace(raw)))
}

// LegacyEmailKey is the key kept for an account whose stored address the
// canonical form refuses (or whose canonical form another account already
// had): its old lowercase key, behind a prefix. The owner still signs in
// by typing the address as before; nobody else's canonical address can
// match it, and no mail is sent to it.
func LegacyEmailKey(oldKey string) string {
	return legacyEmailPrefix + oldKey
}

// StoredEmail is an account's address as stored before the canonical form
// (for EmailRekeys). OldKey is its email_normalized then.
type StoredEmail struct {
	UserID string
	Email  string
	OldKey string
}

// EmailRekey is the new address and key of an account.
type EmailRekey struct {
	UserID string
	Email  string
	Key    string
}

// EmailRekeys decides the canonical address and key of accounts stored
// before the canonical form existed, given oldest first. taken reports
// whether a key already belongs to an account not in rows.
//
// An address that has a canonical form is rewritten to it, unless the form
// is taken: then the account whose old key already was that form (the
// plain spelling, "ada@example.com" over a full-width "ａda@example.com")
// keeps it, or else the oldest. An account left without its canonical
// form, or whose address has none, keeps its address and gets
// LegacyEmailKey(OldKey): unique, since the old keys were.
func EmailRekeys(rows []StoredEmail, taken func(key string) bool) []EmailRekey {
	canon := make([]string, len(rows))
	owner := map[string]int{}
	claim := func(exact bool) {
		for i, r := range rows {
			c, err := CanonicalEmail(r.Email)
			if err != nil || (r.OldKey == c) != exact {
				continue
			}
			canon[i] = c
			if _, ok := owner[c]; !ok && !taken(c) {
				owner[c] = i
			}
		}
	}
	claim(true)
	claim(false)
	out := make([]EmailRekey, len(rows))
	for i, r := range rows {
		if o, ok := owner[canon[i]]; ok && o == i {
			out[i] = EmailRekey{UserID: r.UserID, Email: canon[i], Key: canon[i]}
			continue
		}
		out[i] = EmailRekey{UserID: r.UserID, Email: r.Email, Key: LegacyEmailKey(r.OldKey)}
	}
	return out
}
