package openid_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/latchid/latch/api/openid"
)

// TestMetadataPaths: where the document is served for an issuer with and
// without a path (RFC 8414 §3.1's inserted form, OpenID's appended one,
// a trailing slash dropped first), and that a path a pattern cannot spell
// gets the root forms only.
func TestMetadataPaths(t *testing.T) {
	root := []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"}
	for issuer, want := range map[string][]string{
		"https://id.example":        root,
		"https://id.example/":       root,
		"http://127.0.0.1:8080":     root,
		"https://example.com/auth":  append(root, "/.well-known/oauth-authorization-server/auth", "/auth/.well-known/openid-configuration"),
		"https://example.com/auth/": append(root, "/.well-known/oauth-authorization-server/auth", "/auth/.well-known/openid-configuration"),
		"https://example.com/a/b-c.d_e~f": append(root, "/.well-known/oauth-authorization-server/a/b-c.d_e~f",
			"/a/b-c.d_e~f/.well-known/openid-configuration"),
		"https://example.com/a%20b":    root,
		"https://example.com/a%2Fb":    root,
		"https://example.com/{x}":      root,
		"https://example.com/a//b":     root,
		"https://example.com/a/../b":   root,
		"https://example.com/t%C3%A9":  root,
		"":                             root,
		"https://example.com/a/b/../c": root,
	} {
		if got := openid.MetadataPaths(issuer); !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q, want %q", issuer, got, want)
		}
	}
}

// TestMetadataServed: every metadata path answers the discovery document
// of the configured issuer, cacheable for five minutes and readable by
// any origin; other paths under the well-known prefix are not it.
func TestMetadataServed(t *testing.T) {
	for _, issuer := range []string{"https://id.example", "https://example.com/tenant/"} {
		h := serve(t, &fakeAccounts{t: t}, issuer)
		want, _ := json.Marshal(openid.Discovery(issuer, []string{"RS256"}))
		var wantDoc map[string]any
		_ = json.Unmarshal(want, &wantDoc)
		paths := openid.MetadataPaths(issuer)
		if issuer != "https://id.example" && len(paths) != 4 {
			t.Fatalf("%s: paths %q", issuer, paths)
		}
		for _, path := range paths {
			for _, method := range []string{"GET", "HEAD"} {
				a := call(h, method, path, nil, "")
				if a.status != 200 {
					t.Errorf("%s %s (issuer %s): %d", method, path, issuer, a.status)
					continue
				}
				for name, value := range map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"} {
					if a.header.Get(name) != value {
						t.Errorf("%s %s: %s %q, want %q", method, path, name, a.header.Get(name), value)
					}
				}
				if method == "GET" {
					if got := a.json(t); !reflect.DeepEqual(got, wantDoc) || got["issuer"] != issuer {
						t.Errorf("GET %s: %s", path, a.body)
					}
				}
			}
		}
		for _, path := range []string{"/.well-known/oauth-authorization-server/other", "/other/.well-known/openid-configuration"} {
			if a := call(h, "GET", path, nil, ""); a.status != 404 {
				t.Errorf("GET %s (issuer %s): %d, want 404", path, issuer, a.status)
			}
		}
	}

	// No issuer configured: no document (one with relative URLs would
	// mislead), said in JSON.
	a := call(serve(t, &fakeAccounts{t: t}, ""), "GET", "/.well-known/openid-configuration", nil, "")
	if a.status != 404 || a.json(t)["error"] != "not_found" {
		t.Errorf("no issuer: %d %s", a.status, a.body)
	}
}

// TestCORS: the endpoints browser apps call answer preflights and let any
// origin read their answers (no credentials); introspection, for servers,
// answers neither.
func TestCORS(t *testing.T) {
	h := serve(t, &fakeAccounts{t: t}, "https://example.com/tenant")
	for path, methods := range map[string]string{
		"/oauth2/token":                                  "POST",
		"/oauth2/userinfo":                               "GET, POST",
		"/oauth2/revoke":                                 "POST",
		"/.well-known/jwks.json":                         "GET",
		"/.well-known/openid-configuration":              "GET",
		"/.well-known/oauth-authorization-server":        "GET",
		"/.well-known/oauth-authorization-server/tenant": "GET",
		"/tenant/.well-known/openid-configuration":       "GET",
	} {
		a := call(h, "OPTIONS", path, map[string]string{"Origin": "https://spa.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}, "")
		want := map[string]string{
			"Access-Control-Allow-Origin":      "*",
			"Access-Control-Allow-Methods":     methods,
			"Access-Control-Allow-Headers":     "Authorization, Content-Type",
			"Access-Control-Allow-Credentials": "",
		}
		if a.status != 204 {
			t.Errorf("OPTIONS %s: %d", path, a.status)
		}
		for name, value := range want {
			if a.header.Get(name) != value {
				t.Errorf("OPTIONS %s: %s %q, want %q", path, name, a.header.Get(name), value)
			}
		}
	}
	// Answers are readable, errors included, and the challenge with them.
	for _, c := range []struct{ method, path string }{{"POST", "/oauth2/token"}, {"GET", "/oauth2/userinfo"}, {"POST", "/oauth2/userinfo"}, {"POST", "/oauth2/revoke"}} {
		a := call(h, c.method, c.path, map[string]string{"Origin": "https://spa.example"}, "")
		if a.header.Get("Access-Control-Allow-Origin") != "*" || a.header.Get("Access-Control-Expose-Headers") != "WWW-Authenticate, Retry-After" || a.header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s %s: %v", c.method, c.path, a.header)
		}
	}
	a := call(h, "OPTIONS", "/oauth2/introspect", map[string]string{"Origin": "https://spa.example", "Access-Control-Request-Method": "POST"}, "")
	if a.status != 405 || a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("OPTIONS /oauth2/introspect: %d %v", a.status, a.header)
	}
	a = call(h, "POST", "/oauth2/introspect", map[string]string{"Origin": "https://spa.example"}, "")
	if a.header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("POST /oauth2/introspect answers browsers: %v", a.header)
	}
}
