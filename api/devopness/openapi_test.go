package devopness_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/api/devopness"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/internal/testenv/openapitest"
)

// TestEveryAnswerIsDocumented hands each route every error a use case can
// return (every kind crossed with every code), from each step that can
// fail, and checks each answer against api/devopness/openapi.yaml: its
// status documented (or the default), its body in that status's shape.
// The real requests of api/openapi_test.go show the same for the answers a
// real store gives; this shows it for every answer the surface can give.
func TestEveryAnswerIsDocumented(t *testing.T) {
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := openapitest.Load(t, "devopness", data)
	f := newFake()
	log := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	devopness.New(f, log).Register(mux)
	h := httpx.Middleware(log, nil, mux)
	steps := []struct {
		name string
		path string
		fail func(error)
	}{
		{"authenticate", "/users/me/password", func(e error) { f.authErr, f.setErr, f.loginErr = e, nil, nil }},
		{"set password", "/users/me/password", func(e error) { f.authErr, f.setErr, f.loginErr = nil, e, nil }},
		{"login", "/users/login", func(e error) { f.authErr, f.setErr, f.loginErr = nil, nil, e }},
	}
	n := 0
	for _, step := range steps {
		for _, e := range testenv.EveryError() {
			if e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable {
				e.RetryAfter = 2 * time.Second
			}
			step.fail(e)
			req := httptest.NewRequest("POST", step.path, strings.NewReader(`{"email":"a@example.com","password":"a","password_confirmation":"a"}`))
			for k, v := range jsonRequest {
				req.Header.Set(k, v)
			}
			doc.Do(t, h, req, false)
			n++
		}
	}
	t.Logf("%d answers checked against the document", n)
}
