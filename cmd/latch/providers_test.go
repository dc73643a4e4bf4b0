package main

import (
	"strings"
	"testing"
)

func TestLoadProviders(t *testing.T) {
	env := map[string]string{
		"LATCH_PROVIDERS":                 "google, github,corp-sso",
		"LATCH_PROVIDER_GOOGLE_CLIENT_ID": "g", "LATCH_PROVIDER_GOOGLE_CLIENT_SECRET": "gs",
		"LATCH_PROVIDER_GITHUB_CLIENT_ID": "h", "LATCH_PROVIDER_GITHUB_CLIENT_SECRET": "hs",
		"LATCH_PROVIDER_CORP_SSO_CLIENT_ID": "c", "LATCH_PROVIDER_CORP_SSO_CLIENT_SECRET": "cs",
		"LATCH_PROVIDER_CORP_SSO_ISSUER": "https://sso.corp.example",
	}
	providers, errs := loadProviders(func(k string) string { return env[k] }, "https://id.example")
	if len(errs) != 0 || len(providers) != 3 {
		t.Fatalf("providers %d, errors %v", len(providers), errs)
	}
	for i, want := range []string{"google", "github", "corp-sso"} {
		if providers[i].Name() != want {
			t.Errorf("provider %d is %s, want %s", i, providers[i].Name(), want)
		}
	}
	bad := map[string]string{
		"LATCH_PROVIDERS":                   "Bad Name,noissuer,nosecret,weird",
		"LATCH_PROVIDER_NOISSUER_CLIENT_ID": "x", "LATCH_PROVIDER_NOISSUER_CLIENT_SECRET": "y",
		"LATCH_PROVIDER_NOSECRET_CLIENT_ID": "x",
		"LATCH_PROVIDER_WEIRD_CLIENT_ID":    "x", "LATCH_PROVIDER_WEIRD_CLIENT_SECRET": "y", "LATCH_PROVIDER_WEIRD_TYPE": "saml",
	}
	providers, errs = loadProviders(func(k string) string { return bad[k] }, "https://id.example")
	joined := strings.Join(errs, "\n")
	if len(providers) != 0 || len(errs) != 4 || !strings.Contains(joined, "not a provider name") || !strings.Contains(joined, "ISSUER is required") ||
		!strings.Contains(joined, "CLIENT_SECRET are required") || !strings.Contains(joined, `TYPE="saml"`) {
		t.Fatalf("providers %d, errors:\n%s", len(providers), joined)
	}
}
