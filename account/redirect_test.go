package account_test

import (
	"testing"

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
