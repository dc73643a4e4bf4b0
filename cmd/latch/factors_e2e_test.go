package main

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/store/postgres"
	"github.com/latchid/latch/store/sqlite"
)

// TestUsersResetFactorsAndFactorPolicy runs `latch users reset-factors`
// and `latch policy show-factors|set-factors` in-process on both stores.
func TestUsersResetFactorsAndFactorPolicy(t *testing.T) {
	backends := map[string]func(t *testing.T) (dsn string, open func(context.Context) (latch.Store, error)){
		"sqlite": func(t *testing.T) (string, func(context.Context) (latch.Store, error)) {
			path := testenv.SQLitePath(t)
			return "sqlite://" + path, func(ctx context.Context) (latch.Store, error) { return sqlite.Open(ctx, path) }
		},
		"postgres": func(t *testing.T) (string, func(context.Context) (latch.Store, error)) {
			url := testenv.PostgresURL(t)
			return url, func(ctx context.Context) (latch.Store, error) { return postgres.Open(ctx, url) }
		},
	}
	for name, backend := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			dsn, open := backend(t)
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
			fails := func(says string, args ...string) {
				t.Helper()
				out, errOut, code := runCLI(t, env, "", args...)
				if code == 0 || !strings.Contains(errOut, says) || out != "" {
					t.Fatalf("latch %s: exit %d, stdout %q, stderr %q; want a failure saying %q", strings.Join(args, " "), code, out, errOut, says)
				}
			}
			cli("migrate")
			var ada map[string]any
			decode(t, cli("users", "create", "--email", "ada@example.com"), &ada)
			id := ada["id"].(string)

			// A factor and recovery codes, as enrolment would store them.
			st, err := open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.CreateFactor(ctx, latch.Factor{ID: uuid.Must(uuid.NewV7()).String(), UserID: id, Kind: latch.FactorTOTP, Name: "Phone", Secret: []byte("sealed")}, nil); err != nil {
				t.Fatal(err)
			}
			if err := st.ReplaceRecoveryCodes(ctx, id, [][]byte{[]byte("h1"), []byte("h2")}, testenv.NewClock().Now(), nil); err != nil {
				t.Fatal(err)
			}
			_ = st.Close()

			fails("not_found", "users", "reset-factors", "--email", "nobody@example.com")
			var out map[string]any
			decode(t, cli("users", "reset-factors", "--email", "ada@example.com"), &out)
			if out["id"] != id || out["factors_reset"] != true {
				t.Fatalf("reset-factors: %v", out)
			}
			st, err = open(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			fs, _ := st.FactorsByUser(ctx, id)
			cs, _ := st.RecoveryCodes(ctx, id)
			if len(fs) != 0 || len(cs) != 0 {
				t.Errorf("after reset-factors: %d factors, %d codes", len(fs), len(cs))
			}
			evs, err := st.AuditEvents(ctx, latch.AuditQuery{Action: latch.AuditFactorsReset, TargetID: id})
			if err != nil || len(evs) != 1 || evs[0].ActorType != latch.ActorOperator {
				t.Errorf("audit of reset-factors: %+v, %v", evs, err)
			}
			mail, _ := st.MailMessages(ctx, 100)
			notified := false
			for _, m := range mail {
				notified = notified || (m.Template == latch.MailFactorsReset && m.To == "ada@example.com")
			}
			if !notified {
				t.Errorf("no factors_reset notice in the outbox: %+v", mail)
			}

			// The factor policy.
			var pol map[string]any
			decode(t, cli("policy", "show-factors"), &pol)
			if pol["required"] != false || len(pol["allowed"].([]any)) != 3 {
				t.Fatalf("show-factors (default): %v", pol)
			}
			decode(t, cli("policy", "set-factors", "--required", "--allowed", "webauthn, totp"), &pol)
			if pol["required"] != true || strings.Join(toStrings(pol["allowed"]), ",") != "totp,webauthn" {
				t.Fatalf("set-factors: %v", pol)
			}
			fails("recovery codes are only a backup", "policy", "set-factors", "--allowed", "recovery_code")
			fails("nothing to change", "policy", "set-factors")
			decode(t, cli("policy", "show-factors"), &pol)
			if pol["required"] != true || strings.Join(toStrings(pol["allowed"]), ",") != "totp,webauthn" {
				t.Fatalf("show-factors after a refused set: %v", pol)
			}
			decode(t, cli("policy", "set-factors", "--required=false"), &pol)
			if pol["required"] != false || len(pol["allowed"].([]any)) != 2 {
				t.Fatalf("set-factors --required=false: %v", pol)
			}
		})
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
