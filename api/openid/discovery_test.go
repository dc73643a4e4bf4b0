package openid_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/latchid/latch/api/openid"
)

// TestDiscoveryDocument compares the whole document with
// testdata/discovery.json: every member an RP reads is reviewed there.
func TestDiscoveryDocument(t *testing.T) {
	got, err := json.MarshalIndent(openid.Discovery("https://id.example", []string{"RS256"}), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "discovery.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(append(got, '\n'), want) {
		t.Fatalf("discovery document differs from testdata/discovery.json; got\n%s", got)
	}
}

// TestDiscoveryRequiredMetadata: the members OpenID Connect Discovery §3
// and RFC 8414 §2 require are present and non-empty, and the issuer is
// the configured one exactly.
func TestDiscoveryRequiredMetadata(t *testing.T) {
	raw, err := json.Marshal(openid.Discovery("https://id.example/tenant", []string{"RS256", "ES256"}))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"issuer", "authorization_endpoint", "token_endpoint", "jwks_uri", "response_types_supported",
		"subject_types_supported", "id_token_signing_alg_values_supported", "userinfo_endpoint",
	} {
		if v, ok := doc[name]; !ok || reflect.ValueOf(v).IsZero() || (reflect.ValueOf(v).Kind() == reflect.Slice && reflect.ValueOf(v).Len() == 0) {
			t.Errorf("%s missing or empty: %v", name, v)
		}
	}
	if doc["issuer"] != "https://id.example/tenant" {
		t.Errorf("issuer %v", doc["issuer"])
	}
	if algs := doc["id_token_signing_alg_values_supported"]; !reflect.DeepEqual(algs, []any{"RS256", "ES256"}) {
		t.Errorf("algs %v", algs)
	}
	for name, want := range map[string]any{
		"code_challenge_methods_supported":               []any{"S256"},
		"response_types_supported":                       []any{"code"},
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"authorization_response_iss_parameter_supported": true,
	} {
		if !reflect.DeepEqual(doc[name], want) {
			t.Errorf("%s = %v, want %v", name, doc[name], want)
		}
	}
}

// TestDiscoveryEndpointsUnderIssuer: every endpoint is the issuer joined
// with its path, as an absolute URL without a doubled slash, for an
// issuer at a host's root, under a path prefix, and with a trailing slash
// (kept in issuer, not doubled in the endpoints).
func TestDiscoveryEndpointsUnderIssuer(t *testing.T) {
	for _, c := range []struct{ issuer, prefix string }{
		{"https://id.example", ""},
		{"https://id.example:8443", ""},
		{"https://example.com/auth/latch", "/auth/latch"},
		{"https://example.com/auth/latch/", "/auth/latch"},
		{"http://127.0.0.1:8080", ""},
	} {
		doc := openid.Discovery(c.issuer, []string{"RS256"})
		if doc.Issuer != c.issuer {
			t.Errorf("%s: issuer %q", c.issuer, doc.Issuer)
		}
		issuerURL, _ := url.Parse(c.issuer)
		for endpoint, path := range map[string]string{
			doc.AuthorizationEndpoint: "/oauth2/authorize",
			doc.TokenEndpoint:         "/oauth2/token",
			doc.UserinfoEndpoint:      "/oauth2/userinfo",
			doc.JWKSURI:               "/.well-known/jwks.json",
			doc.RevocationEndpoint:    "/oauth2/revoke",
			doc.IntrospectionEndpoint: "/oauth2/introspect",
			doc.EndSessionEndpoint:    "/oauth2/logout",
		} {
			u, err := url.Parse(endpoint)
			if err != nil || !u.IsAbs() || u.Scheme != issuerURL.Scheme || u.Host != issuerURL.Host ||
				u.Path != c.prefix+path || u.RawQuery != "" || u.Fragment != "" || strings.Contains(endpoint[len(u.Scheme)+3:], "//") {
				t.Errorf("%s: endpoint %q, want path %q", c.issuer, endpoint, c.prefix+path)
			}
		}
	}
}

// TestDiscoveryOwnsItsSlices: a caller changing the algorithms it passed
// does not change a document already made.
func TestDiscoveryOwnsItsSlices(t *testing.T) {
	algs := []string{"RS256"}
	doc := openid.Discovery("https://id.example", algs)
	algs[0] = "none"
	if doc.IDTokenSigningAlgValuesSupported[0] != "RS256" {
		t.Fatal("the document shares the caller's slice")
	}
}
