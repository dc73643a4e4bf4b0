package pace_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/pace"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/internal/testenv/openapitest"
)

// TestEveryAnswerIsDocumented hands each route every error a use case can
// return (every kind crossed with every code), from each step that can
// fail, and checks each answer against api/pace/openapi.yaml: its status
// documented (or the default), its body in that status's shape.
func TestEveryAnswerIsDocumented(t *testing.T) {
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := openapitest.Load(t, "pace", data)
	f := &fakeAccounts{}
	log := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	pace.New(f, log).Register(mux)
	h := httpx.Middleware(log, nil, mux)
	n := 0
	for _, path := range []string{"/user/2024-3/user/password", "/user/password"} {
		for _, step := range []func(error){
			func(e error) { f.authErr, f.requestErr = e, nil },
			func(e error) { f.authErr, f.requestErr = nil, e },
		} {
			for _, e := range testenv.EveryError() {
				if e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable {
					e.RetryAfter = 2 * time.Second
				}
				step(e)
				req := httptest.NewRequest("PUT", path, nil)
				req.Header.Set("Authorization", "Bearer tok")
				doc.Do(t, h, req, false)
				n++
			}
		}
	}
	t.Logf("%d answers checked against the document", n)
}
