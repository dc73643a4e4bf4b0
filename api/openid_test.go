package api_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/api"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/native"
	"github.com/latchid/latch/internal/testenv"
)

// routeLog is a RequestObserver that keeps the route of each request.
type routeLog struct {
	mu     sync.Mutex
	routes []string
}

func (l *routeLog) ObserveRequest(route, method string, status int, _ time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.routes = append(l.routes, route)
}

// TestOpenIDSurfaceMounted: the OpenID Provider's endpoints as the whole
// service serves them, behind its middleware and beside the other
// surfaces: the metadata at every path for an issuer with a path (what a
// path-stripping proxy passes on, RFC 8414's inserted form, OpenID's
// appended one), with the configured ID token algorithm; the JWKS, which
// native serves, readable by browser apps; errors in the OAuth shape
// through the middleware (a body over the limit is 413); and each request
// counted under its route pattern, never its path.
func TestOpenIDSurfaceMounted(t *testing.T) {
	h := testenv.NewHarness(t, testenv.OpenSQLite(t))
	const issuer = "https://example.com/auth/latch"
	seen := &routeLog{}
	handler := api.NewHandler(h.Accounts, api.Config{JWKS: h.Keys.JWKS, PublicURL: issuer, OIDCAlgorithm: "ES256",
		OAuth: native.OAuthConfig{Sealer: h.Keys}, Requests: seen}, slog.New(slog.DiscardHandler))
	do := func(method, target, contentType, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec
	}

	for _, path := range []string{
		"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server",
		"/.well-known/oauth-authorization-server/auth/latch", "/auth/latch/.well-known/openid-configuration",
	} {
		rec := do("GET", path, "", "")
		var doc map[string]any
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &doc) != nil {
			t.Errorf("GET %s: %d %s", path, rec.Code, rec.Body)
			continue
		}
		if doc["issuer"] != issuer || doc["token_endpoint"] != issuer+"/oauth2/token" || doc["jwks_uri"] != issuer+"/.well-known/jwks.json" {
			t.Errorf("GET %s: %v", path, doc)
		}
		if algs, _ := doc["id_token_signing_alg_values_supported"].([]any); len(algs) != 1 || algs[0] != "ES256" {
			t.Errorf("GET %s: algorithms %v", path, algs)
		}
		if rec.Header().Get("Cache-Control") != "public, max-age=300" || rec.Header().Get("X-Request-Id") == "" {
			t.Errorf("GET %s: %v", path, rec.Header())
		}
	}

	jwks := do("GET", "/.well-known/jwks.json", "", "")
	if jwks.Code != 200 || jwks.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET /.well-known/jwks.json: %d %v", jwks.Code, jwks.Header())
	}
	if pre := do("OPTIONS", "/.well-known/jwks.json", "", ""); pre.Code != 204 || pre.Header().Get("Access-Control-Allow-Methods") != "GET" {
		t.Errorf("OPTIONS /.well-known/jwks.json: %d %v", pre.Code, pre.Header())
	}

	tooLarge := do("POST", "/oauth2/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&x="+strings.Repeat("a", httpx.MaxBodyBytes))
	if tooLarge.Code != 413 || !strings.Contains(tooLarge.Body.String(), `"error":"invalid_request"`) {
		t.Errorf("a body over the limit: %d %s", tooLarge.Code, tooLarge.Body)
	}
	if rec := do("POST", "/oauth2/token", "application/json", `{"grant_type":"client_credentials"}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), `"error":"invalid_request"`) {
		t.Errorf("JSON to the token endpoint: %d %s", rec.Code, rec.Body)
	}
	if rec := do("GET", "/oauth2/token", "", ""); rec.Code != 405 {
		t.Errorf("GET /oauth2/token: %d", rec.Code)
	}

	pattern := regexp.MustCompile(`^(GET|POST|OPTIONS) /[a-zA-Z0-9_./{}-]*$`)
	for _, route := range seen.routes {
		if route != "" && !pattern.MatchString(route) {
			t.Errorf("route label %q is not a route pattern", route)
		}
	}
	for _, want := range []string{"GET /.well-known/oauth-authorization-server/auth/latch", "OPTIONS /.well-known/jwks.json", "POST /oauth2/token"} {
		found := false
		for _, route := range seen.routes {
			found = found || route == want
		}
		if !found {
			t.Errorf("no request counted under %q: %q", want, seen.routes)
		}
	}
	if !routesOf(handler, "openid")["POST /oauth2/introspect"] || routesOf(handler, "openid")["OPTIONS /oauth2/introspect"] {
		t.Errorf("openid's routes: %v", routesOf(handler, "openid"))
	}
}

func routesOf(h *api.Handler, surface string) map[string]bool {
	out := map[string]bool{}
	for _, r := range h.Routes() {
		if r.Surface == surface {
			out[r.Pattern] = true
		}
	}
	return out
}
