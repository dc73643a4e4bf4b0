package account

import (
	"net/url"
	"strings"

	"github.com/latchid/latch"
)

// CodeRedirectNotAllowed refuses a redirect_to outside the allow-list.
const CodeRedirectNotAllowed = "redirect_not_allowed"

// AllowedRedirect returns raw if it may receive a sign-in's result: it must
// be an absolute http(s) URL without user info or fragment whose scheme and
// host equal an allow-list entry's and whose path lies under that entry's
// path. Anything else would make Latch an open redirector that hands codes
// to whoever asks.
func (s *Service) AllowedRedirect(raw string) (*url.URL, error) {
	refused := latch.FieldError("redirect_to", CodeRedirectNotAllowed, "redirect_to is not an allowed address")
	u, err := url.Parse(raw)
	if err != nil || raw == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return nil, refused
	}
	for _, entry := range s.cfg.RedirectAllowlist {
		allowed, err := url.Parse(entry)
		if err != nil {
			continue
		}
		if u.Scheme == allowed.Scheme && strings.EqualFold(u.Host, allowed.Host) && underPath(u.EscapedPath(), allowed.EscapedPath()) {
			return u, nil
		}
	}
	return nil, refused
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
