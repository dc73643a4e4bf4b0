package httpx

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/latchid/latch"
)

// CodeCrossSite refuses a browser's request sent by a page of another site.
const CodeCrossSite = "cross_site_request"

// CrossSiteGuard tells a browser's cross-site request from everything
// else, with net/http's CrossOriginProtection: Sec-Fetch-Site when the
// browser sends it, else an Origin that is neither the request's host nor
// a trusted origin. Servers send neither header and always pass.
//
// Credential endpoints that accept a form (POST /v1/token) need it: any
// page can make a visitor's browser post a form, and each such post would
// count against the visitor's own limits (their address, their email).
type CrossSiteGuard struct {
	cop *http.CrossOriginProtection
}

// NewCrossSiteGuard trusts origins besides the request's own host. Each
// is reduced to its origin (scheme://host[:port]); what is not an
// absolute http(s) URL is skipped.
func NewCrossSiteGuard(origins []string) *CrossSiteGuard {
	cop := http.NewCrossOriginProtection()
	for _, o := range origins {
		if origin, ok := OriginOf(o); ok {
			_ = cop.AddTrustedOrigin(origin) // cannot fail: OriginOf checked it
		}
	}
	return &CrossSiteGuard{cop: cop}
}

// Check returns a Forbidden error (CodeCrossSite) for a browser's
// cross-site request, nil otherwise. Call it before anything is counted.
//
// An opaque origin ("null": a sandboxed frame, a cross-site redirect, a
// data: or file: page) and repeated Origin headers are refused too,
// whatever Sec-Fetch-Site says: CrossOriginProtection lets
// "Sec-Fetch-Site: same-origin" with "Origin: null" through, and nothing of
// Latch's, nor of an allow-listed app's, posts from an opaque origin.
func (g *CrossSiteGuard) Check(r *http.Request) error {
	origins := r.Header.Values("Origin")
	opaque := len(origins) > 1 || (len(origins) == 1 && strings.EqualFold(strings.TrimSpace(origins[0]), "null"))
	if err := g.cop.Check(r); err != nil || opaque {
		return &latch.Error{Kind: latch.KindForbidden, Code: CodeCrossSite,
			Message: "cross-site browser requests are refused: call this endpoint from a server, from Latch's own pages or from an allow-listed origin"}
	}
	return nil
}

// OriginOf returns the origin (scheme://host[:port], as browsers send it
// in Origin) of an absolute http(s) URL.
func OriginOf(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", false
	}
	return u.Scheme + "://" + u.Host, true
}
