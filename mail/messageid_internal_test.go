package mail

import "testing"

func TestMessageIDDomain(t *testing.T) {
	for _, c := range []struct{ publicURL, want string }{
		{"https://id.example.com", "id.example.com"},
		{"https://ID.Example.com:8443/latch/", "id.example.com"},
		{"http://127.0.0.1:8080", "127.0.0.1"},
		{"http://[::1]:8080", "[::1]"},
		{"https://bücher.example", "xn--bcher-kva.example"},
		{"", "localhost"},
		{"http://exa mple.com", "localhost"},
		{"http://a..b", "localhost"},
		{"http://a\"b@c/", "localhost"},
	} {
		if got := messageIDDomain(c.publicURL); got != c.want {
			t.Errorf("messageIDDomain(%q) = %q, want %q", c.publicURL, got, c.want)
		}
	}
}
