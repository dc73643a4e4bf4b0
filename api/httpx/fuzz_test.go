package httpx

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/latchid/latch"
)

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// FuzzUnmarshalJSON: any input either decodes or yields an Invalid
// *latch.Error; never a panic, never another kind of error.
func FuzzUnmarshalJSON(f *testing.F) {
	for _, seed := range []string{`{"password":"x","count":1,"flag":true}`, `{`, `[]`, `{"password":1}`, "\xff", `{"a":{"b":[1,2,{"c":null}]}}`, `null`, `{} {}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var s sample
		err := UnmarshalJSON(body, &s)
		if err == nil {
			return
		}
		var le *latch.Error
		if !errors.As(err, &le) || le.Kind != latch.KindInvalid {
			t.Fatalf("UnmarshalJSON(%q) = %v", body, err)
		}
	})
}
