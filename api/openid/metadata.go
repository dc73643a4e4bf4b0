package openid

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/latchid/latch/api/httpx"
)

// The well-known paths of the provider's metadata: OpenID Connect
// Discovery 1.0 §4 and RFC 8414 §3 (one document serves both).
const (
	PathOpenIDConfiguration = "/.well-known/openid-configuration"
	PathServerMetadata      = "/.well-known/oauth-authorization-server"
)

// metadata is the discovery document, made once (the issuer and the
// algorithms do not change while the process runs), and where it is
// served.
type metadata struct {
	body  []byte // nil when there is no issuer
	paths []string
}

func newMetadata(issuer string, idTokenAlgs []string) *metadata {
	m := &metadata{paths: MetadataPaths(issuer)}
	if issuer == "" {
		return m
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(Discovery(issuer, idTokenAlgs)) // strings, lists and booleans: cannot fail
	m.body = body.Bytes()
	return m
}

// MetadataPaths are the paths Latch serves the discovery document at, as
// the mux sees them, for issuer:
//
//   - /.well-known/openid-configuration and
//     /.well-known/oauth-authorization-server, always. For an issuer at
//     a host's root these are the URLs RPs build. For an issuer with a
//     path (https://example.com/auth) behind a proxy that strips the path
//     before passing requests on (which every other route needs: Latch
//     serves /oauth2/token, not /auth/oauth2/token), they are also what
//     the mux sees of OpenID's https://example.com/auth/.well-known/openid-configuration.
//   - With an issuer path P, RFC 8414 §3.1's path-inserted
//     /.well-known/oauth-authorization-server/P: that URL is at the host's
//     root, outside P, so a proxy that passes on only P's requests never
//     sends it; the operator routes it to Latch, unchanged (this path) or
//     rewritten to the plain one (above).
//   - With an issuer path P, P/.well-known/openid-configuration: for a
//     proxy that routes the discovery URL to Latch without stripping P.
//
// Both standards drop a terminating "/" of the issuer's path first. A
// path that is not plain segments of letters, digits and - . _ ~ (an
// escape, an empty, "." or ".." segment) gets only the root forms: a
// mux pattern cannot spell it, and a metrics label must not.
func MetadataPaths(issuer string) []string {
	paths := []string{PathOpenIDConfiguration, PathServerMetadata}
	u, err := url.Parse(issuer)
	if err != nil || u.RawPath != "" {
		return paths
	}
	p := strings.TrimSuffix(u.Path, "/")
	if p == "" || !plainPath(p) {
		return paths
	}
	return append(paths, PathServerMetadata+p, p+PathOpenIDConfiguration)
}

// plainPath reports whether p is "/" followed by segments of unreserved
// characters (RFC 3986 §2.3), none empty, "." or "..".
func plainPath(p string) bool {
	rest, ok := strings.CutPrefix(p, "/")
	if !ok {
		return false
	}
	for _, seg := range strings.Split(rest, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for _, c := range seg {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
				return false
			}
		}
	}
	return true
}

// serve answers GET (and HEAD) of the document. RPs cache it; five
// minutes bounds how long a changed configuration takes to reach them.
func (m *metadata) serve(w http.ResponseWriter, r *http.Request) {
	if m.body == nil {
		httpx.WriteJSON(w, http.StatusNotFound, "application/json", errorBody{Error: "not_found",
			Description: "no issuer is configured (LATCH_PUBLIC_URL), so there is no provider metadata"})
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("Content-Length", strconv.Itoa(len(m.body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(m.body)
}
