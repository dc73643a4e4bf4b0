package ratelimit

import "net/netip"

// DefaultIPv6Prefix is how much of an IPv6 address names one client: a
// /64 is what an ISP hands one subscriber (RFC 6177), and any host in it
// can pick fresh addresses at will.
const DefaultIPv6Prefix = 64

// AddressKey turns a client address into the part a limit counts: an IPv4
// address as it is (an IPv4-mapped IPv6 address too), an IPv6 address
// masked to its first ipv6Prefix bits (DefaultIPv6Prefix when <= 0 or
// over 128), as "network/bits". Counting one IPv6 address alone would give
// whoever holds a /64 2^64 separate limits. What is not an address ("" when
// unknown) is returned unchanged: it still names one limit.
func AddressKey(ip string, ipv6Prefix int) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	if ipv6Prefix <= 0 || ipv6Prefix > 128 {
		ipv6Prefix = DefaultIPv6Prefix
	}
	p, err := addr.Prefix(ipv6Prefix)
	if err != nil {
		return ip // unreachable: a valid IPv6 address and 0 < bits <= 128
	}
	return p.String()
}
