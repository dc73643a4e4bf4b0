package account_test

import (
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

func TestAllowedRedirect(t *testing.T) {
	cfg := account.DefaultConfig()
	cfg.RedirectAllowlist = []string{"https://app.example/auth", "http://127.0.0.1:3000"}
	h := testenv.NewHarnessWithConfig(t, testenv.Backends()[0].Open(t), cfg)
	for raw, ok := range map[string]bool{
		"https://app.example/auth":                  true,
		"https://app.example/auth/callback?x=1":     true,
		"https://APP.example/auth/cb":               true,
		"http://127.0.0.1:3000/anything":            true,
		"https://app.example/authority":             false, // not on a segment boundary
		"https://app.example/":                      false,
		"http://app.example/auth":                   false, // scheme differs
		"https://app.example.evil.com/auth":         false,
		"https://evil.com/https://app.example/auth": false,
		"https://user@app.example/auth":             false,
		"https://app.example/auth#frag":             false,
		"//app.example/auth":                        false,
		"javascript:alert(1)":                       false,
		"http://127.0.0.1:3001/":                    false,
		"":                                          false,
	} {
		_, err := h.Accounts.AllowedRedirect(raw)
		if (err == nil) != ok {
			t.Errorf("%q: allowed=%v, want %v", raw, err == nil, ok)
		}
	}
}

// TestAllowedRedirectPathTricks: a path that some reader (browser, proxy,
// app server) resolves outside the allowed prefix must be refused, however
// it is spelled, or the one-time code lands on another path of the host.
func TestAllowedRedirectPathTricks(t *testing.T) {
	cfg := account.DefaultConfig()
	cfg.RedirectAllowlist = []string{"https://app.example.com/auth"}
	h := testenv.NewHarnessWithConfig(t, testenv.Backends()[0].Open(t), cfg)
	const base = "https://app.example.com"
	for _, c := range []struct {
		path string
		ok   bool
	}{
		{"/auth/../elsewhere", false},
		{"/auth/./cb", false},
		{"/auth/..", false},
		{"/auth/.", false},
		{"/auth/%2e%2e/elsewhere", false},
		{"/auth/%2E%2E/elsewhere", false},
		{"/auth/%2e%2E/elsewhere", false},
		{"/auth/.%2e/elsewhere", false},
		{"/auth/%2e./elsewhere", false},
		{"/auth/%2e/cb", false},
		{"/auth/..%2felsewhere", false},
		{"/auth/..%2Felsewhere", false},
		{"/auth%2f..%2felsewhere", false},
		{"/auth/cb%2fmore", false},
		{"/auth/..%5celsewhere", false},
		{"/auth/..%5Celsewhere", false},
		{`/auth/..\elsewhere`, false},
		{`/auth\..\elsewhere`, false},
		{"/auth/%252e%252e/elsewhere", false},
		{"/auth/%252E%252E/elsewhere", false},
		{"/auth/..%252felsewhere", false},
		{"/auth/%25252e%25252e/elsewhere", false},
		{"/auth/..;/elsewhere", false},
		{"/auth/.;x/cb", false},
		{"/auth/a b", false}, // not in the form it is sent in: the code is bound to one spelling
		{"/auth/cb", true},
		{"/auth/cb/", true},
		{"/auth/..cb", true},
		{"/auth/v1.2/cb", true},
		{"/auth/.well-known", true},
		{"/auth/a%20b", true},
		{"/auth/100%25", true},
		{"/auth/cb?next=/auth/../x", true}, // the query is the app's business
	} {
		_, err := h.Accounts.AllowedRedirect(base + c.path)
		if (err == nil) != c.ok {
			t.Errorf("%q: allowed=%v, want %v", c.path, err == nil, c.ok)
		}
		if err != nil && !latch.IsCode(err, account.CodeRedirectNotAllowed) {
			t.Errorf("%q: %v", c.path, err)
		}
	}
}
