package onelogin_test

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
	"github.com/latchid/latch/api/onelogin"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/internal/testenv/openapitest"
)

// TestEveryAnswerIsDocumented hands each route every error a use case can
// return (every kind crossed with every code), from each step that can
// fail, and checks each answer against api/onelogin/openapi.yaml: its
// status documented (or the default), its body in that status's shape.
func TestEveryAnswerIsDocumented(t *testing.T) {
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := openapitest.Load(t, "onelogin", data)
	f := newFake(latch.ScopeManageAll)
	log := slog.New(slog.DiscardHandler)
	mux := http.NewServeMux()
	onelogin.New(f, log).Register(mux)
	h := httpx.Middleware(log, nil, mux)
	steps := []struct {
		method, path, auth, body string
		fail                     func(error)
	}{
		{"PUT", "/api/1/users/set_password_clear_text/7", "bearer:tok", `{"password":"a","password_confirmation":"a"}`, func(e error) { f.authErr, f.setErr, f.tokenErr = e, nil, nil }},
		{"PUT", "/api/1/users/set_password_clear_text/7", "bearer:tok", `{"password":"a","password_confirmation":"a"}`, func(e error) { f.authErr, f.setErr, f.tokenErr = nil, e, nil }},
		{"POST", "/auth/oauth2/v2/token", "client_id:c1, client_secret:s", `{"grant_type":"client_credentials"}`, func(e error) { f.authErr, f.setErr, f.tokenErr = nil, nil, e }},
		{"POST", "/auth/oauth2/v2/token", "", `{"grant_type":"refresh_token","refresh_token":"lcr_x"}`, func(e error) { f.authErr, f.setErr, f.tokenErr = nil, nil, e }},
	}
	n := 0
	for _, step := range steps {
		for _, e := range testenv.EveryError() {
			if e.Kind == latch.KindTooMany || e.Kind == latch.KindUnavailable {
				e.RetryAfter = 2 * time.Second
			}
			step.fail(e)
			req := httptest.NewRequest(step.method, step.path, strings.NewReader(step.body))
			req.Header.Set("Content-Type", "application/json")
			if step.auth != "" {
				req.Header.Set("Authorization", step.auth)
			}
			doc.Do(t, h, req, false)
			n++
		}
	}
	t.Logf("%d answers checked against the document", n)
}
