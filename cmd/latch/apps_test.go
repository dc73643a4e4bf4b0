package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/latchid/latch/internal/testenv"
)

// TestAppsCLI drives `latch apps` in-process on both stores: create (the
// secret once, on stdout, with a warning on stderr), list, show, update,
// rotate-secret and revoke, and the command-line mistakes that exit 2 with
// a fix before anything is opened.
func TestAppsCLI(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + testenv.SQLitePath(t) },
		"postgres": func(t *testing.T) string { return testenv.PostgresURL(t) },
	}
	for name, dsn := range backends {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := []string{"LATCH_DATABASE_URL=" + dsn(t)}
			cli := func(t *testing.T, args ...string) (string, string) {
				t.Helper()
				out, errOut, code := runCLI(t, env, "", args...)
				if code != 0 {
					t.Fatalf("latch %s: exit %d: %s", strings.Join(args, " "), code, errOut)
				}
				return out, errOut
			}
			type appOut struct {
				ID                string   `json:"client_id"`
				Secret            string   `json:"client_secret"`
				TenantID          string   `json:"tenant_id"`
				Type              string   `json:"type"`
				Name              string   `json:"name"`
				RedirectURIs      []string `json:"redirect_uris"`
				PostLogout        []string `json:"post_logout_redirect_uris"`
				Scopes            []string `json:"scopes"`
				ClientCredentials bool     `json:"client_credentials"`
				FirstParty        bool     `json:"first_party"`
				PKCEOptional      *bool    `json:"pkce_optional"`
				RevokedAt         string   `json:"revoked_at"`
			}
			decodeApp := func(t *testing.T, s string) appOut {
				t.Helper()
				var a appOut
				if err := json.Unmarshal([]byte(s), &a); err != nil {
					t.Fatalf("not an app's JSON: %q: %v", s, err)
				}
				return a
			}

			var tenant struct{ ID string }
			if err := json.Unmarshal([]byte(must(cli(t, "tenants", "create", "--name", "acme"))), &tenant); err != nil {
				t.Fatal(err)
			}

			out, warn := cli(t, "apps", "create", "--name", "Shop", "--type", "confidential", "--tenant", tenant.ID,
				"--redirect-uri", "https://shop.example/cb", "--redirect-uri", "http://127.0.0.1:8080/cb",
				"--post-logout-redirect-uri", "https://shop.example/bye", "--scope", "openid,email", "--client-credentials")
			shop := decodeApp(t, out)
			if !strings.HasPrefix(shop.Secret, "las_") || shop.TenantID != tenant.ID || shop.Type != "confidential" ||
				len(shop.RedirectURIs) != 2 || strings.Join(shop.Scopes, " ") != "openid email" || !shop.ClientCredentials || strings.Count(out, "\n") != 1 {
				t.Fatalf("apps create printed %q", out)
			}
			if !strings.Contains(warn, "shown this once") || strings.Contains(warn, shop.Secret) {
				t.Errorf("apps create warned %q", warn)
			}

			out, _ = cli(t, "apps", "create", "--name", "SPA", "--type", "public", "--tenant", tenant.ID, "--redirect-uri", "https://spa.example/cb")
			if spa := decodeApp(t, out); spa.Secret != "" || strings.Contains(out, "client_secret") || strings.Join(spa.Scopes, " ") != "openid profile email" {
				t.Errorf("a public app: %q", out)
			}

			list, _ := cli(t, "apps", "list", "--tenant", tenant.ID)
			if strings.Count(list, "\n") != 2 || !strings.Contains(list, shop.ID) || strings.Contains(list, shop.Secret) || strings.Contains(list, "secret") {
				t.Errorf("apps list: %q", list)
			}
			if other, _ := cli(t, "apps", "list"); other != "" {
				t.Errorf("the default tenant lists another tenant's apps: %q", other)
			}
			_, note := cli(t, "apps", "list", "--tenant", tenant.ID, "-n", "1")
			if !strings.Contains(note, "--after ") {
				t.Errorf("apps list -n 1 gave no note to continue: %q", note)
			}

			show, _ := cli(t, "apps", "show", "--id", shop.ID)
			if got := decodeApp(t, show); got.Name != "Shop" || strings.Contains(show, "secret") || got.PKCEOptional == nil || *got.PKCEOptional {
				t.Errorf("apps show: %q", show)
			}

			// The one PKCE exception: set on a confidential app, shown by
			// show and list, cleared and set again by update, audited.
			out, _ = cli(t, "apps", "create", "--name", "Dex", "--type", "confidential", "--tenant", tenant.ID,
				"--redirect-uri", "https://dex.example/callback", "--pkce-optional")
			dex := decodeApp(t, out)
			if dex.PKCEOptional == nil || !*dex.PKCEOptional {
				t.Fatalf("apps create --pkce-optional: %q", out)
			}
			if got := decodeApp(t, must(cli(t, "apps", "show", "--id", dex.ID))); got.PKCEOptional == nil || !*got.PKCEOptional {
				t.Errorf("apps show of the exception: %+v", got)
			}
			list, _ = cli(t, "apps", "list", "--tenant", tenant.ID)
			for line := range strings.Lines(list) {
				a := decodeApp(t, line)
				if a.PKCEOptional == nil || *a.PKCEOptional != (a.ID == dex.ID) {
					t.Errorf("apps list shows pkce_optional wrong: %q", line)
				}
			}
			out, _ = cli(t, "apps", "update", "--id", dex.ID, "--pkce-optional=false")
			if up := decodeApp(t, out); up.PKCEOptional == nil || *up.PKCEOptional || up.Name != "Dex" {
				t.Errorf("apps update --pkce-optional=false: %q", out)
			}
			if got := decodeApp(t, must(cli(t, "apps", "show", "--id", dex.ID))); *got.PKCEOptional {
				t.Errorf("the cleared exception is still shown: %+v", got)
			}
			out, _ = cli(t, "apps", "update", "--id", dex.ID, "--pkce-optional=true")
			if up := decodeApp(t, out); up.PKCEOptional == nil || !*up.PKCEOptional {
				t.Errorf("apps update --pkce-optional=true: %q", out)
			}
			audit, _ := cli(t, "audit", "tail", "--action", "app.update", "--tenant", tenant.ID)
			if !strings.Contains(audit, `"pkce_optional":"false"`) || !strings.Contains(audit, `"pkce_optional":"true"`) {
				t.Errorf("the exception's changes are not in the audit log: %q", audit)
			}
			var spa appOut
			for line := range strings.Lines(must(cli(t, "apps", "list", "--tenant", tenant.ID))) {
				if a := decodeApp(t, line); a.Type == "public" {
					spa = a
				}
			}
			if _, errOut, code := runCLI(t, env, "", "apps", "update", "--id", spa.ID, "--pkce-optional"); code != 1 || !strings.Contains(errOut, "only a confidential app may leave out PKCE") {
				t.Errorf("apps update --pkce-optional of a public app: exit %d, %q", code, errOut)
			}
			if got := decodeApp(t, must(cli(t, "apps", "show", "--id", spa.ID))); *got.PKCEOptional {
				t.Errorf("a public app got the exception: %+v", got)
			}
			if help, _ := cli(t, "apps", "create", "--help"); !strings.Contains(help, "--pkce-optional is the one exception") || !strings.Contains(help, "cannot send PKCE") {
				t.Errorf("apps create --help does not explain --pkce-optional: %q", help)
			}

			out, _ = cli(t, "apps", "update", "--id", shop.ID, "--name", "Shop 2", "--redirect-uri", "https://shop.example/new",
				"--no-post-logout-redirect-uris", "--first-party")
			if up := decodeApp(t, out); up.Name != "Shop 2" || strings.Join(up.RedirectURIs, " ") != "https://shop.example/new" ||
				len(up.PostLogout) != 0 || up.PostLogout == nil || !up.FirstParty || !up.ClientCredentials {
				t.Errorf("apps update: %q", out)
			}
			out, _ = cli(t, "apps", "update", "--id", shop.ID, "--first-party=false")
			if up := decodeApp(t, out); up.FirstParty || up.Name != "Shop 2" {
				t.Errorf("apps update --first-party=false: %q", out)
			}

			out, warn = cli(t, "apps", "rotate-secret", "--id", shop.ID)
			if rotated := decodeApp(t, out); !strings.HasPrefix(rotated.Secret, "las_") || rotated.Secret == shop.Secret || !strings.Contains(warn, "shown this once") {
				t.Errorf("apps rotate-secret: %q, %q", out, warn)
			}

			cli(t, "apps", "revoke", "--id", shop.ID)
			if got := decodeApp(t, must(cli(t, "apps", "show", "--id", shop.ID))); got.RevokedAt == "" {
				t.Errorf("after revoke: %+v", got)
			}

			// Mistakes on the command line: exit 2, naming the flag and the fix.
			for _, c := range []struct {
				args []string
				want string
			}{
				{[]string{"apps", "create", "--name", "X", "--type", "public"}, "--redirect-uri are required"},
				{[]string{"apps", "create", "--name", "X", "--type", "hybrid", "--redirect-uri", "https://x.example/cb"}, `unknown --type "hybrid"`},
				{[]string{"apps", "create", "--name", "X", "--type", "public", "--redirect-uri", "http://x.example/cb"}, "use https"},
				{[]string{"apps", "create", "--name", "X", "--type", "public", "--redirect-uri", "https://x.example/*"}, "wildcards are not allowed"},
				{[]string{"apps", "create", "--name", "X", "--type", "public", "--redirect-uri", "https://x.example/cb", "--scope", "email"}, "must include openid"},
				{[]string{"apps", "create", "--name", "X", "--type", "public", "--redirect-uri", "https://x.example/cb", "--scope", "openid,admin"}, `unknown --scope "admin"`},
				{[]string{"apps", "create", "--name", "X", "--type", "public", "--redirect-uri", "https://x.example/cb", "--client-credentials"}, "needs --type confidential"},
				{[]string{"apps", "create", "--name", "X", "--type", "public", "--redirect-uri", "https://x.example/cb", "--pkce-optional"}, "--pkce-optional needs --type confidential"},
				{[]string{"apps", "update", "--id", "x", "--pkce-optional=maybe"}, "--pkce-optional"},
				{[]string{"apps", "update", "--id", "x"}, "nothing to change"},
				{[]string{"apps", "show"}, "--id is required"},
				{[]string{"apps", "list", "-n", "0"}, "-n must be between"},
			} {
				out, errOut, code := runCLI(t, env, "", c.args...)
				if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
					t.Errorf("latch %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), code, out, errOut, c.want)
				}
			}
			// What only the store can tell: exit 1 with the reason.
			if _, errOut, code := runCLI(t, env, "", "apps", "rotate-secret", "--id", "no-such-app"); code != 1 || !strings.Contains(errOut, "not_found") {
				t.Errorf("rotate-secret of an unknown app: exit %d, %q", code, errOut)
			}
			if _, errOut, code := runCLI(t, env, "", "apps", "update", "--id", shop.ID, "--name", "again"); code != 1 || !strings.Contains(errOut, "revoked") {
				t.Errorf("update of a revoked app: exit %d, %q", code, errOut)
			}
		})
	}
}

// must returns a command's stdout, for calls whose stderr does not matter.
func must(stdout, _ string) string { return stdout }
