package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchid/latch/internal/testenv"
)

// lines decodes one JSON document per line.
func lines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l == "" {
			continue
		}
		var d map[string]any
		decode(t, l, &d)
		docs = append(docs, d)
	}
	return docs
}

// TestOperatorCommands runs the operator's commands in-process, as main
// does, on both stores: migrate status, users list/show/deactivate/
// activate/delete, sessions list/revoke, and keys list/rotate, whose old
// key keeps verifying while the new one signs.
func TestOperatorCommands(t *testing.T) {
	backends := map[string]func(t *testing.T) (dsn string, fresh bool){
		"sqlite":   func(t *testing.T) (string, bool) { return "sqlite://" + testenv.SQLitePath(t), false },
		"postgres": func(t *testing.T) (string, bool) { return testenv.PostgresURL(t), true },
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dsn, schemaExists := open(t)
			env := []string{"LATCH_DATABASE_URL=" + dsn, "LATCH_ARGON2_MEMORY_KIB=1024", "LATCH_ARGON2_TIME=1",
				"LATCH_LOG_LEVEL=warn", "LATCH_LOGIN_FAILURE_FLOOR=off", "LATCH_PUBLIC_URL=https://id.example.test"}
			cli := func(args ...string) string {
				t.Helper()
				out, errOut, code := runCLI(t, env, "", args...)
				if code != 0 {
					t.Fatalf("latch %s: exit %d: %s", strings.Join(args, " "), code, errOut)
				}
				return out
			}
			fails := func(code int, says string, args ...string) {
				t.Helper()
				out, errOut, got := runCLI(t, env, "", args...)
				if got != code || !strings.Contains(errOut, says) || out != "" {
					t.Fatalf("latch %s: exit %d, stdout %q, stderr %q; want exit %d saying %q", strings.Join(args, " "), got, out, errOut, code, says)
				}
			}

			// migrate status reads only: before migrate, nothing applied.
			if schemaExists {
				var st map[string]any
				decode(t, cli("migrate", "status"), &st)
				// Every migration pending, from the first to the latest
				// (versions need not be contiguous: branches number theirs
				// apart before they merge).
				pending, _ := st["pending"].([]any)
				version := func(i int) any { return pending[i].(map[string]any)["version"] }
				if st["applied"] != float64(0) || st["up_to_date"] != false || len(pending) < 14 || version(0) != float64(1) || version(len(pending)-1) != st["latest"] {
					t.Fatalf("status of a fresh schema: %v", st)
				}
			} else {
				fails(1, "no database at", "migrate", "status")
			}
			if _, errOut, code := runCLI(t, env, "", "migrate"); code != 0 || !strings.Contains(errOut, "migrations applied: "+name+" schema at version ") {
				t.Fatalf("migrate: exit %d %s", code, errOut)
			}
			var st map[string]any
			decode(t, cli("migrate", "status"), &st)
			if st["backend"] != name || st["applied"] != st["latest"] || st["latest"].(float64) < 11 || st["up_to_date"] != true ||
				st["newer_than_binary"] != false || len(st["pending"].([]any)) != 0 || st["last_applied_at"] == nil {
				t.Fatalf("status after migrate: %v", st)
			}

			// Users in two tenants.
			var tenant map[string]any
			decode(t, cli("tenants", "create", "--name", "acme"), &tenant)
			acme := tenant["id"].(string)
			var ada, bob, cy map[string]any
			decode(t, cli("users", "create", "--email", "ada@example.com", "--provider", "google", "--subject", "g-1"), &ada)
			decode(t, cli("users", "create", "--email", "bob@acme.test", "--tenant", acme), &bob)
			decode(t, cli("users", "create", "--email", "cy@example.com"), &cy)

			all := lines(t, cli("users", "list"))
			if len(all) != 3 {
				t.Fatalf("users list: %v", all)
			}
			for _, u := range all {
				for k := range u {
					if strings.Contains(k, "hash") || strings.Contains(k, "password") {
						t.Fatalf("users list prints %s", k)
					}
				}
			}
			if got := lines(t, cli("users", "list", "--tenant", acme)); len(got) != 1 || got[0]["email"] != "bob@acme.test" || got[0]["tenant_id"] != acme {
				t.Fatalf("users list --tenant: %v", got)
			}
			if got := lines(t, cli("users", "list", "--email", "CY@example.com")); len(got) != 1 || got[0]["id"] != cy["id"] {
				t.Fatalf("users list --email: %v", got)
			}
			out, errOut, code := runCLI(t, env, "", "users", "list", "-n", "2")
			if code != 0 || len(lines(t, out)) != 2 || !strings.Contains(errOut, "more accounts than -n 2") {
				t.Fatalf("users list -n 2: exit %d %q %q", code, out, errOut)
			}
			fails(1, `no tenant has the id "nope"`, "users", "list", "--tenant", "nope")

			for _, by := range [][]string{{"--email", "BOB@acme.test"}, {"--id", bob["id"].(string)}, {"--number", jsonNumber(bob["number"])}} {
				var shown map[string]any
				decode(t, cli(append([]string{"users", "show"}, by...)...), &shown)
				if shown["id"] != bob["id"] || shown["tenant_id"] != acme || shown["has_password"] != false {
					t.Fatalf("users show %v: %v", by, shown)
				}
			}
			fails(1, "not_found", "users", "show", "--number", "999")

			// Sessions: two tokens, one revoked by id, then the rest.
			cli("tokens", "issue", "--email", "ada@example.com")
			first := strings.TrimSpace(cli("tokens", "issue", "--email", "ada@example.com"))
			sessions := lines(t, cli("sessions", "list", "--email", "ada@example.com"))
			if len(sessions) != 2 || sessions[0]["kind"] != "session" || sessions[0]["user_id"] != ada["id"] {
				t.Fatalf("sessions list: %v", sessions)
			}
			var revoked map[string]any
			decode(t, cli("sessions", "revoke", "--email", "ada@example.com", "--id", sessions[1]["id"].(string)), &revoked)
			if revoked["revoked"] != float64(1) {
				t.Fatalf("sessions revoke --id: %v", revoked)
			}
			if left := lines(t, cli("sessions", "list", "--email", "ada@example.com")); len(left) != 1 || left[0]["id"] != sessions[0]["id"] {
				t.Fatalf("after revoking one: %v", left)
			}
			fails(1, "not_found", "sessions", "revoke", "--email", "ada@example.com", "--id", sessions[1]["id"].(string)+"0")

			// Keys: the token issued before a rotation still verifies, the
			// new key signs, both are published.
			// The native family (ES256) and the OpenID one (RS256), one
			// signing key each; `keys rotate` rotates the native one.
			nativeKeys := func() (native, openid []map[string]any) {
				for _, k := range lines(t, cli("keys", "list")) {
					switch fmt.Sprint(k["families"]) {
					case "[native]":
						native = append(native, k)
					case "[openid]":
						openid = append(openid, k)
					default:
						t.Fatalf("keys list: families of %v", k)
					}
				}
				return native, openid
			}
			keys, openid := nativeKeys()
			if len(keys) != 1 || keys[0]["state"] != "signing" || keys[0]["algorithm"] != "ES256" ||
				len(openid) != 1 || openid[0]["state"] != "signing" || openid[0]["algorithm"] != "RS256" {
				t.Fatalf("keys list: %v %v", keys, openid)
			}
			var rotated map[string]any
			decode(t, cli("keys", "rotate"), &rotated)
			keys, openidAfter := nativeKeys()
			if len(keys) != 2 || keys[0]["state"] != "verifying" || keys[0]["retire_at"] == nil || keys[1]["state"] != "signing" || keys[1]["id"] != rotated["signing_key"] {
				t.Fatalf("keys list after rotate: %v (rotated %v)", keys, rotated)
			}
			if len(openidAfter) != 1 || openidAfter[0]["id"] != openid[0]["id"] || openidAfter[0]["state"] != "signing" {
				t.Fatalf("a native rotation touched the OpenID key: %v", openidAfter)
			}
			var rotatedOpenID map[string]any
			decode(t, cli("keys", "rotate", "--alg", "RS256"), &rotatedOpenID)
			if _, openidAfter = nativeKeys(); len(openidAfter) != 2 || openidAfter[0]["state"] != "verifying" || openidAfter[1]["id"] != rotatedOpenID["signing_key"] || openidAfter[1]["state"] != "signing" {
				t.Fatalf("keys list after rotate --alg RS256: %v (rotated %v)", openidAfter, rotatedOpenID)
			}
			fails(1, "EdDSA", "keys", "rotate", "--alg", "EdDSA")
			// Announced ahead: published now, signing later; too short an
			// announcement for the JWKS cache is refused.
			fails(1, "announce", "keys", "rotate", "--alg", "RS256", "--announce", "1m")
			var announced map[string]any
			decode(t, cli("keys", "rotate", "--alg", "RS256", "--announce", "10m"), &announced)
			if _, openidAfter = nativeKeys(); len(openidAfter) != 3 || openidAfter[1]["state"] != "signing" ||
				openidAfter[2]["id"] != announced["signing_key"] || openidAfter[2]["state"] != "announced" || openidAfter[2]["activates_at"] == nil {
				t.Fatalf("keys list after rotate --announce 10m: %v (rotated %v)", openidAfter, announced)
			}
			cfg, err := loadConfig(newEnvironment(env).Getenv)
			if err != nil {
				t.Fatal(err)
			}
			a, err := newApp(t.Context(), cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			srv := httptest.NewServer(a.handler())
			defer srv.Close()
			me := func(tok string) int {
				req, _ := http.NewRequest("GET", srv.URL+"/v1/me", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode
			}
			after := strings.TrimSpace(cli("tokens", "issue", "--email", "ada@example.com"))
			if keyIDOf(t, after) != rotated["signing_key"] || keyIDOf(t, first) == rotated["signing_key"] {
				t.Fatalf("tokens are signed by %s before and %s after a rotation to %s", keyIDOf(t, first), keyIDOf(t, after), rotated["signing_key"])
			}
			for name, tok := range map[string]string{"before the rotation": first, "after it": after} {
				if code := me(tok); code != 200 {
					t.Errorf("a token issued %s: %d", name, code)
				}
			}
			res, err := http.Get(srv.URL + "/.well-known/jwks.json")
			if err != nil {
				t.Fatal(err)
			}
			jwks, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if !strings.Contains(string(jwks), keys[0]["id"].(string)) || !strings.Contains(string(jwks), keys[1]["id"].(string)) {
				t.Errorf("the JWKS does not publish both keys: %s", jwks)
			}

			// Deactivate ends every session at once; activate lets the
			// user sign in again, not the old sessions.
			var changed map[string]any
			decode(t, cli("users", "deactivate", "--email", "ada@example.com"), &changed)
			if changed["active"] != false {
				t.Fatalf("deactivate: %v", changed)
			}
			if code := me(after); code != 401 {
				t.Errorf("a deactivated user's token: %d", code)
			}
			if got := lines(t, cli("sessions", "list", "--email", "ada@example.com")); len(got) != 0 {
				t.Errorf("sessions of a deactivated user: %v", got)
			}
			fails(1, "deactivated", "tokens", "issue", "--email", "ada@example.com")
			decode(t, cli("users", "activate", "--number", jsonNumber(ada["number"])), &changed)
			if changed["active"] != true || me(after) != 401 {
				t.Fatalf("activate: %v", changed)
			}
			if code := me(strings.TrimSpace(cli("tokens", "issue", "--email", "ada@example.com"))); code != 200 {
				t.Errorf("a token after activate: %d", code)
			}

			// Delete needs --yes, and says what it would delete.
			fails(2, "this deletes cy@example.com", "users", "delete", "--email", "cy@example.com")
			cli("users", "show", "--email", "cy@example.com")
			var deleted map[string]any
			decode(t, cli("users", "delete", "--id", cy["id"].(string), "--yes"), &deleted)
			if deleted["deleted"] != true || deleted["email"] != "cy@example.com" {
				t.Fatalf("delete: %v", deleted)
			}
			fails(1, "not_found", "users", "show", "--email", "cy@example.com")

			// Every change is in the audit log, done by the operator.
			var actions []string
			for _, e := range lines(t, cli("audit", "tail", "-n", "50")) {
				if e["actor_type"] == "operator" {
					actions = append(actions, e["action"].(string))
				}
			}
			for _, want := range []string{"session.revoke", "user.update", "user.delete"} {
				if !strings.Contains(strings.Join(actions, " "), want) {
					t.Errorf("audit log lacks %s by the operator: %v", want, actions)
				}
			}
		})
	}
}

// TestTokensIssueIssuer: `latch tokens issue` and `latch serve` derive the
// tokens' issuer alike (LATCH_PUBLIC_URL, else http://LATCH_ADDR): a
// token issued with the service's variables is accepted; one issued
// without them is refused, and the service says why at debug level.
func TestTokensIssueIssuer(t *testing.T) {
	db := "LATCH_DATABASE_URL=sqlite://" + testenv.SQLitePath(t)
	base := []string{db, "LATCH_ARGON2_MEMORY_KIB=1024", "LATCH_ARGON2_TIME=1"}
	service := append(append([]string{}, base...), "LATCH_ADDR=127.0.0.1:18443", "LATCH_LOG_LEVEL=debug")
	if _, errOut, code := runCLI(t, base, "", "users", "create", "--email", "ada@example.com", "--provider", "github", "--subject", "1"); code != 0 {
		t.Fatal(errOut)
	}
	cfg, err := loadConfig(newEnvironment(service).Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.PublicURL != "http://127.0.0.1:18443" {
		t.Fatalf("the service's issuer: %s", cfg.PublicURL)
	}
	var logs syncBuffer
	a, err := newApp(t.Context(), cfg, cfg.loggerTo(&logs))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.handler())
	defer srv.Close()
	me := func(tok string) int {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	issue := func(env []string) (string, string) {
		out, errOut, code := runCLI(t, env, "", "tokens", "issue", "--email", "ada@example.com")
		if code != 0 {
			t.Fatal(errOut)
		}
		return strings.TrimSpace(out), errOut
	}
	same, _ := issue(service)
	if code := me(same); code != 200 {
		t.Fatalf("a token issued with the service's variables: %d; log:\n%s", code, logs.String())
	}
	other, said := issue(base) // no LATCH_ADDR: http://127.0.0.1:8080
	if !strings.Contains(said, "issuer http://127.0.0.1:8080 (LATCH_PUBLIC_URL)") {
		t.Errorf("tokens issue does not say the issuer: %q", said)
	}
	if code := me(other); code != 401 {
		t.Fatalf("a token of another issuer: %d", code)
	}
	got := logs.String()
	if !strings.Contains(got, "access token refused") || !strings.Contains(got, `issuer \"http://127.0.0.1:8080\" is not this service's \"http://127.0.0.1:18443\"`) {
		t.Errorf("the refusal is not logged with its reason:\n%s", got)
	}
	if strings.Contains(got, other) || strings.Contains(got, same) {
		t.Error("the log holds a token")
	}
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func keyIDOf(t *testing.T, tok string) string {
	t.Helper()
	header, _, _ := strings.Cut(tok, ".")
	raw, err := base64URL(header)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		KID string `json:"kid"`
	}
	decode(t, string(raw), &h)
	return h.KID
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
