package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/internal/testenv"
)

// TestAdministrationEndToEnd drives the built binary through the
// administration side, on both stores: a tenant, API clients, a policy,
// seed 001's token and set-password calls, the native admin API, and the
// audit log that must record each of them (read with `latch audit tail`
// and GET /v1/admin/audit).
func TestAdministrationEndToEnd(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + testenv.SQLitePath(t) },
		"postgres": func(t *testing.T) string { return testenv.PostgresURL(t) },
	}
	for name, dsn := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := newInstance(t, dsn(t))
			in.cli(t, "", "migrate")

			var tenant struct {
				ID     string `json:"id"`
				Number int64  `json:"number"`
			}
			decode(t, in.cli(t, "", "tenants", "create", "--name", "acme"), &tenant)
			if tenant.ID == "" || tenant.Number != 2 {
				t.Fatalf("tenant: %+v", tenant)
			}
			var user struct {
				ID     string `json:"id"`
				Number int64  `json:"number"`
			}
			decode(t, in.cli(t, "securePassword123!\n", "users", "create", "--email", "ada@acme.test", "--tenant", tenant.ID, "--password-stdin"), &user)

			var client struct {
				ID     string `json:"client_id"`
				Secret string `json:"client_secret"`
			}
			out := in.cli(t, "", "clients", "create", "--name", "ops", "--scope", "Manage All", "--tenant", tenant.ID)
			decode(t, out, &client)
			if client.ID == "" || !strings.HasPrefix(client.Secret, "lcs_") || strings.Count(out, "\n") != 1 {
				t.Fatalf("clients create printed %q", out)
			}
			if list := in.cli(t, "", "clients", "list", "--tenant", tenant.ID); !strings.Contains(list, client.ID) || strings.Contains(list, client.Secret) {
				t.Fatalf("clients list: %q", list)
			}
			policy := in.cli(t, "", "policy", "set", "--tenant", tenant.ID, "--min-length", "10", "--require", "upper,lower,digit,special", "--history", "3")
			if !strings.Contains(policy, `"history": 3`) || !strings.Contains(in.cli(t, "", "policy", "show", "--tenant", tenant.ID), `"min_length": 10`) {
				t.Fatalf("policy: %s", policy)
			}
			if _, errOut, code := in.run("", "policy", "set", "--require", "uppercase"); code != 2 || !strings.Contains(errOut, "uppercase") {
				t.Fatalf("bad --require: exit %d %s", code, errOut)
			}
			if _, errOut, code := in.run("", "clients", "create", "--name", "x", "--scope", "Everything"); code != 2 || !strings.Contains(errOut, "Everything") {
				t.Fatalf("bad --scope: exit %d %s", code, errOut)
			}

			in.serve(t)
			// Seed 001: a token with the seed's header, then set the password.
			req, _ := http.NewRequest("POST", in.base+"/auth/oauth2/v2/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
			req.Header.Set("Authorization", "client_id:"+client.ID+", client_secret:"+client.Secret)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", "203.0.113.9") // not trusted: the peer's address counts
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			var tok struct {
				AccessToken string `json:"access_token"`
				AccountID   int64  `json:"account_id"`
			}
			if err := json.Unmarshal(raw, &tok); err != nil || res.StatusCode != 200 || tok.AccountID != tenant.Number {
				t.Fatalf("token: %d %s", res.StatusCode, raw)
			}
			setPassword := func(pw string, validate bool) int {
				body := fmt.Sprintf(`{"password":%q,"password_confirmation":%q,"validate_policy":%t}`, pw, pw, validate)
				req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/api/1/users/set_password_clear_text/%d", in.base, user.Number), strings.NewReader(body))
				req.Header.Set("Authorization", "bearer:"+tok.AccessToken)
				req.Header.Set("Content-Type", "application/json")
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			if code := setPassword("weak", true); code != 400 {
				t.Fatalf("weak password with policy: %d", code)
			}
			if code := setPassword("Reset-by-admin-1!", true); code != 200 {
				t.Fatalf("set password: %d", code)
			}
			// A failed and a successful login, then a logout.
			if code, _ := in.login(t, "ada@acme.test", "securePassword123!"); code != 401 {
				t.Fatalf("old password: %d", code)
			}
			code, body := in.login(t, "ada@acme.test", "Reset-by-admin-1!")
			if code != 200 {
				t.Fatalf("login: %d %v", code, body)
			}
			access := body["access_token"].(string)
			// The user changes their own password (seed 000), then logs out.
			if code, body := in.call(t, "POST", "/users/me/password", access, "application/json",
				`{"password":"Mine-and-only-2!","password_confirmation":"Mine-and-only-2!","current_password":"Reset-by-admin-1!"}`); code != 204 {
				t.Fatalf("own change: %d %v", code, body)
			}
			if code, _ := in.call(t, "POST", "/v1/logout", access, "", ""); code != 204 {
				t.Fatalf("logout: %d", code)
			}
			// The native admin API revokes the sessions of the user.
			in.login(t, "ada@acme.test", "Mine-and-only-2!")
			if code, body := in.call(t, "DELETE", fmt.Sprintf("/v1/admin/users/%d/sessions", user.Number), tok.AccessToken, "", ""); code != 200 || body["revoked"] != float64(1) {
				t.Fatalf("revoke sessions: %d %v", code, body)
			}

			// Every event is in the log, with who, whom, what, when and where.
			lines := strings.Split(strings.TrimSpace(in.cli(t, "", "audit", "tail", "-n", "100", "--tenant", tenant.ID)), "\n")
			var events []map[string]any
			for _, l := range lines {
				var e map[string]any
				decode(t, l, &e)
				events = append(events, e)
			}
			want := []struct{ action, actorType string }{
				{"tenant.create", "operator"},
				{"user.create", "operator"},
				{"client.create", "operator"},
				{"policy.update", "operator"},
				{"password.reset", "client"},
				{"login.failure", "anonymous"},
				{"login.success", "user"},
				{"password.change", "user"},
				{"session.revoke", "user"},
				{"login.success", "user"},
				{"session.revoke", "client"},
			}
			if len(events) != len(want) {
				t.Fatalf("got %d events, want %d:\n%s", len(events), len(want), strings.Join(lines, "\n"))
			}
			for i, w := range want {
				e := events[i]
				if e["action"] != w.action || e["actor_type"] != w.actorType || e["at"] == nil {
					t.Errorf("event %d: %v, want %s by %s", i, e, w.action, w.actorType)
				}
				if strings.HasPrefix(w.action, "password.") || strings.HasPrefix(w.action, "login.") {
					if e["target_id"] != user.ID || e["ip"] != "127.0.0.1" {
						t.Errorf("event %d: want target %s from 127.0.0.1: %v", i, user.ID, e)
					}
				}
			}
			if events[4]["actor_id"] != client.ID {
				t.Errorf("password.reset actor: %v", events[4])
			}
			// No secret anywhere in the log.
			all := strings.Join(lines, "\n")
			for _, secret := range []string{"securePassword123!", "Reset-by-admin-1!", "Mine-and-only-2!", client.Secret, tok.AccessToken, "$argon2"} {
				if strings.Contains(all, secret) {
					t.Fatalf("the audit log holds a secret (%.12s...)", secret)
				}
			}
			// The API shows the same log, newest first, filtered.
			code, body = in.call(t, "GET", "/v1/admin/audit?action=password.reset", tok.AccessToken, "", "")
			if code != 200 || len(body["events"].([]any)) != 1 {
				t.Fatalf("audit API: %d %v", code, body)
			}

			// audit tail --follow prints new events only, as they come.
			tail := exec.Command(binary, "audit", "tail", "-n", "0", "--follow", "--interval", "50ms", "--tenant", tenant.ID)
			tail.Env = in.env
			var tailOut syncBuffer
			tail.Stdout = &tailOut
			if err := tail.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tail.Process.Kill(); _ = tail.Wait() }()
			// It may not have read its starting point yet: fail a login until
			// it prints one (and nothing older than its start).
			for try := 0; try < 20 && tailOut.String() == ""; try++ {
				in.login(t, "ada@acme.test", "wrong-password-here")
				time.Sleep(250 * time.Millisecond)
			}
			lines = strings.Split(strings.TrimSpace(tailOut.String()), "\n")
			for _, l := range lines {
				if !strings.Contains(l, `"action":"login.failure"`) {
					t.Fatalf("audit tail --follow printed %q", tailOut.String())
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer a child process writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %q: %v", s, err)
	}
}
