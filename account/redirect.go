package account

import (
	"net/url"
	"strings"

	"github.com/latchid/latch"
)

// CodeRedirectNotAllowed refuses a redirect_to outside the allow-list.
const CodeRedirectNotAllowed = "redirect_not_allowed"

// AllowedRedirect returns raw if it may receive a sign-in's result: it must
// be an absolute http(s) URL without user info or fragment, written the one
// way Go writes it back (the code is bound to that exact string), whose
// path means one thing to every reader (see cleanPath), and whose scheme
// and host equal an allow-list entry's and whose decoded path lies under
// that entry's path on a segment boundary. Anything else would make Latch
// an open redirector that hands codes to whoever asks.
func (s *Service) AllowedRedirect(raw string) (*url.URL, error) {
	refused := latch.FieldError("redirect_to", CodeRedirectNotAllowed, "redirect_to is not an allowed address")
	u, err := url.Parse(raw)
	if err != nil || raw == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return nil, refused
	}
	// A URL that Go re-spells (a raw space, a backslash, an upper-case
	// scheme) would be bound under one spelling and sent under another.
	if u.String() != raw || !cleanPath(u.EscapedPath()) {
		return nil, refused
	}
	for _, entry := range s.cfg.RedirectAllowlist {
		allowed, err := url.Parse(entry)
		if err != nil {
			continue
		}
		if u.Scheme == allowed.Scheme && strings.EqualFold(u.Host, allowed.Host) && underPath(u.Path, allowed.Path) {
			return u, nil
		}
	}
	return nil, refused
}

// maxDecodes bounds how many layers of percent-encoding a path may carry;
// a real callback needs one at most.
const maxDecodes = 4

// cleanPath reports whether an escaped URL path reads the same to the
// browser, a proxy and the app server, so that the prefix Latch compares
// is the path the code reaches. A path is refused when any decoding of it
// (servers differ in how often they decode: %252e is "." after two) has
// a "." or ".." segment (also as "..;x", which Tomcat-like servers read as
// ".."), an encoded slash or backslash (which some servers split on), or a
// backslash (which browsers turn into a slash).
func cleanPath(escaped string) bool {
	p := escaped
	for range maxDecodes {
		lower := strings.ToLower(p)
		if strings.Contains(p, `\`) || strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
			return false
		}
		for seg := range strings.SplitSeq(p, "/") {
			if i := strings.IndexByte(seg, ';'); i >= 0 {
				seg = seg[:i]
			}
			if seg == "." || seg == ".." {
				return false
			}
		}
		next, err := url.PathUnescape(p)
		if err != nil || next == p {
			// Nothing left to decode (a lone "%" is a literal).
			return true
		}
		p = next
	}
	return false
}

// TrustedOrigins lists the web origins whose pages may call Latch's
// credential endpoints from a browser: Latch's own (PublicURL) and those
// of the allow-listed redirects (the apps that send people to sign in).
// Entries are as configured; the surfaces reduce them to origins.
func (s *Service) TrustedOrigins() []string {
	out := make([]string, 0, 1+len(s.cfg.RedirectAllowlist))
	if s.cfg.PublicURL != "" {
		out = append(out, s.cfg.PublicURL)
	}
	return append(out, s.cfg.RedirectAllowlist...)
}

// underPath reports whether path is base or lies below it, on a segment
// boundary ("/app" allows "/app/cb", not "/application").
func underPath(path, base string) bool {
	if base == "" || base == "/" {
		return true
	}
	base = strings.TrimSuffix(base, "/")
	return path == base || strings.HasPrefix(path, base+"/")
}
