package ratelimit_test

import (
	"testing"

	"github.com/latchid/latch/ratelimit"
)

func TestAddressKey(t *testing.T) {
	for _, c := range []struct {
		ip     string
		prefix int
		want   string
	}{
		{"192.0.2.7", 64, "192.0.2.7"},
		{"::ffff:192.0.2.7", 64, "192.0.2.7"}, // IPv4-mapped is IPv4
		{"2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:2::1", 64, "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", 64, "2001:db8:1:3::/64"},
		{"2001:db8:1:2:ff00::1", 56, "2001:db8:1::/56"},
		{"2001:db8::1", 128, "2001:db8::1/128"},
		{"fe80::1%eth0", 64, "fe80::/64"},   // the zone is not part of the client
		{"2001:db8::1", 0, "2001:db8::/64"}, // 0: the default, 64
		{"", 64, ""},
		{"not an address", 64, "not an address"},
	} {
		if got := ratelimit.AddressKey(c.ip, c.prefix); got != c.want {
			t.Errorf("AddressKey(%q, %d) = %q, want %q", c.ip, c.prefix, got, c.want)
		}
	}
}
