package contract

import (
	"slices"
	"testing"
	"time"

	"github.com/latchid/latch"
)

func TestID(t *testing.T) {
	const canon = "0190b8a2-7c1e-7d3a-9f00-0123456789ab"
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{canon, canon, true},
		{"0190B8A2-7C1E-7D3A-9F00-0123456789AB", canon, true},
		{"{" + canon + "}", canon, true},
		{"urn:uuid:" + canon, canon, true},
		{"0190b8a27c1e7d3a9f000123456789ab", canon, true},
		{"", "", false},
		{"user-1", "", false},
		{canon + "0", "", false},
	}
	for _, tc := range tests {
		got, ok := ID(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ID(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTime(t *testing.T) {
	in := time.Date(2025, 1, 2, 3, 4, 5, 999_999_999, time.FixedZone("X", -7*3600))
	got := Time(in)
	if got.Location() != time.UTC || got.Nanosecond() != 999_999_000 || !got.Equal(in.Truncate(time.Microsecond)) {
		t.Errorf("Time(%v) = %v", in, got)
	}
	// A monotonic reading would make == and reflect.DeepEqual differ for
	// equal instants.
	if now := time.Now(); Time(now) != Time(now.Round(0)) {
		t.Error("Time keeps the monotonic reading")
	}
}

func TestScopes(t *testing.T) {
	for _, scopes := range [][]string{nil, {"user:read"}, {"user:read", "user:update"}} {
		s, err := JoinScopes(scopes)
		if err != nil {
			t.Fatal(err)
		}
		if got := SplitScopes(s); !slices.Equal(got, scopes) || (scopes == nil) != (got == nil) {
			t.Errorf("SplitScopes(JoinScopes(%q)) = %q", scopes, got)
		}
	}
	for _, bad := range [][]string{{""}, {"a b"}, {"a\tb"}, {"a\u00a0b"}} {
		if _, err := JoinScopes(bad); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("JoinScopes(%q) = %v, want Invalid", bad, err)
		}
	}
}
