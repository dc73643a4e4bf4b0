package httpx

import (
	"net"
	"net/url"
	"strings"
)

// SecureCookies reports whether browser cookies of a Latch reached at
// publicURL can be Secure and so carry the __Host- prefix: when it is
// https, or plain http on a loopback host (localhost, 127.0.0.0/8, ::1),
// which browsers count as a secure context (Chromium and Firefox accept
// Secure cookies from http://localhost). Plain http on any other host
// cannot: its cookies are neither, and travel in clear.
func SecureCookies(publicURL string) bool {
	u, err := url.Parse(publicURL)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		host := u.Hostname()
		if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
			return true
		}
		ip := net.ParseIP(host)
		return ip != nil && ip.IsLoopback()
	}
	return false
}

// CookieName is name with the __Host- prefix when secure: the browser
// then keeps the cookie only if it is Secure, has Path=/ and no Domain, so
// a sibling subdomain or a plain-http page cannot plant or overwrite it.
// Such a cookie must be set with exactly those attributes.
func CookieName(name string, secure bool) string {
	if secure {
		return "__Host-" + name
	}
	return name
}
