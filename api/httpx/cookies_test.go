package httpx_test

import (
	"testing"

	"github.com/latchid/latch/api/httpx"
)

func TestSecureCookies(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://id.example.com":       true,
		"https://id.example.com/latch": true,
		"http://localhost:8080":        true,
		"http://LOCALHOST":             true,
		"http://latch.localhost:8080":  true,
		"http://127.0.0.1:8080":        true,
		"http://127.8.9.10":            true,
		"http://[::1]:8080":            true,
		"http://id.example.com":        false,
		"http://localhost.evil.com":    false,
		"http://192.168.1.10:8080":     false,
		"http://[::ffff:10.0.0.1]":     false,
		"":                             false,
		"ftp://localhost":              false,
	} {
		if got := httpx.SecureCookies(raw); got != want {
			t.Errorf("%q: %v, want %v", raw, got, want)
		}
	}
}
