package royalti_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/api/royalti"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/internal/testenv/openapitest"
)

// TestEveryAnswerIsDocumented hands each route every error a use case can
// return (every kind crossed with every code) and checks each answer
// against api/royalti/openapi.yaml: its status documented (or the
// default), its body in that status's shape.
func TestEveryAnswerIsDocumented(t *testing.T) {
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := openapitest.Load(t, "royalti", data)
	f := &fakeAccounts{}
	log := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	royalti.New(f, log).Register(mux)
	h := httpx.Middleware(log, nil, mux)
	n := 0
	for _, path := range []string{"/auth/signup", "/auth/setpassword"} {
		for _, e := range testenv.EveryError() {
			if e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable {
				e.RetryAfter = 2 * time.Second
			}
			f.signUpErr, f.setErr = e, e
			req := httptest.NewRequest("POST", path, strings.NewReader(`{"email":"a@example.com","password":"securePassword123!"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer tok")
			doc.Do(t, h, req, false)
			n++
		}
	}
	t.Logf("%d answers checked against the document", n)
}
