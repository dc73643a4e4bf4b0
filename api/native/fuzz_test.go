package native

import (
	"errors"
	"testing"

	"github.com/latchid/latch"
)

// FuzzParseTokenForm: any form body parses or yields an Invalid error.
func FuzzParseTokenForm(f *testing.F) {
	for _, seed := range []string{"grant_type=password&username=a%40b.c&password=x", "grant_type=refresh_token&refresh_token=lrt_x", "%zz", "a=1&a=2", "", "&&&=="} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		_, err := parseTokenForm(body)
		var le *latch.Error
		if err != nil && (!errors.As(err, &le) || le.Kind != latch.KindInvalid) {
			t.Fatalf("parseTokenForm(%q) = %v", body, err)
		}
	})
}
