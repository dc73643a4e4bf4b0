package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/latchid/latch/internal/testenv"
)

// readmeOpenIDHeading is the README section of the example app.
const readmeOpenIDHeading = "## Sign in to your app with Latch"

// The example app's defaults, which the README's registration must
// match: its callback and, from it, its post-logout URL.
const (
	exampleRedirectURL   = "http://127.0.0.1:9000/callback"
	examplePostLogoutURL = "http://127.0.0.1:9000/"
)

// readmeAppsCreate is the README's `latch apps create` block, as written.
func readmeAppsCreate(t *testing.T) string {
	t.Helper()
	for _, block := range codeBlocks(readmeSection(t, readmeOpenIDHeading), "sh") {
		if strings.Contains(block, "latch apps create") {
			return block
		}
	}
	t.Fatalf("README.md's %q has no sh block with `latch apps create`", readmeOpenIDHeading)
	return ""
}

// shell runs script with bash, with the built binary first on PATH as
// `latch`, in the instance's environment; it returns stdout.
func (in *instance) shell(t *testing.T, script string) string {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(append([]string(nil), in.env...), "PATH="+filepath.Dir(binary)+string(os.PathListSeparator)+os.Getenv("PATH"))
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s\n%v: %s", script, err, errOut.String())
	}
	return out.String()
}

// TestOpenIDReadme: the README's "Sign in to your app with Latch" and
// examples/oidc-app agree. Its Go code is the example's, verbatim; its
// registration command runs as written and registers what the example
// needs (its default callback and post-logout URL, offline_access for
// /refresh); its run command names only flags and variables the example
// reads.
func TestOpenIDReadme(t *testing.T) {
	section := readmeSection(t, readmeOpenIDHeading)
	src, err := os.ReadFile("../../examples/oidc-app/main.go")
	if err != nil {
		t.Fatal(err)
	}
	example := string(src)

	goBlocks := codeBlocks(section, "go")
	if len(goBlocks) == 0 {
		t.Fatalf("the README section shows no Go code")
	}
	for _, block := range goBlocks {
		if !strings.Contains(example, block) {
			t.Errorf("a Go block of the README is not in examples/oidc-app/main.go as written; first line not found in order: %q", firstMismatch(example, block))
		}
	}
	shown := strings.Join(goBlocks, "\n")
	for _, core := range []string{"oauth2.S256ChallengeOption(", "oidc.Nonce(", "oauth2.VerifierOption(", "a.verifier.Verify(", "a.provider.UserInfo(", `q.Get("iss")`} {
		if !strings.Contains(shown, core) {
			t.Errorf("the README's Go code does not show %s, the core of the sign-in", core)
		}
	}

	for _, def := range []string{`"` + exampleRedirectURL + `"`, `"127.0.0.1:9000"`} {
		if !strings.Contains(example, def) {
			t.Errorf("the example's defaults are not the README's: main.go lacks %s", def)
		}
	}
	in := newInstance(t, "sqlite://"+testenv.SQLitePath(t))
	in.cli(t, "", "migrate")
	var app struct {
		ID           string   `json:"client_id"`
		Secret       string   `json:"client_secret"`
		Type         string   `json:"type"`
		RedirectURIs []string `json:"redirect_uris"`
		PostLogout   []string `json:"post_logout_redirect_uris"`
		Scopes       []string `json:"scopes"`
		FirstParty   bool     `json:"first_party"`
	}
	out := in.shell(t, readmeAppsCreate(t))
	if err := json.Unmarshal([]byte(out), &app); err != nil {
		t.Fatalf("the README's latch apps create printed %q: %v", out, err)
	}
	if app.ID == "" || !strings.HasPrefix(app.Secret, "las_") || app.Type != "confidential" {
		t.Errorf("the README's registration: client_id %q, secret prefix %q, type %q; want an id, las_..., confidential", app.ID, app.Secret[:min(4, len(app.Secret))], app.Type)
	}
	if !slices.Equal(app.RedirectURIs, []string{exampleRedirectURL}) || !slices.Equal(app.PostLogout, []string{examplePostLogoutURL}) {
		t.Errorf("the README registers redirect URIs %v and post-logout %v; the example uses %s and %s", app.RedirectURIs, app.PostLogout, exampleRedirectURL, examplePostLogoutURL)
	}
	if !slices.Contains(app.Scopes, "offline_access") || app.FirstParty {
		t.Errorf("the README registers scopes %v, first party %v: the example needs offline_access (for /refresh), and the README says it shows consent", app.Scopes, app.FirstParty)
	}

	var run string
	for _, block := range codeBlocks(section, "sh") {
		if strings.Contains(block, "go run ./examples/oidc-app") {
			run = block
		}
	}
	if run == "" {
		t.Fatalf("the README section does not show how to run the example (go run ./examples/oidc-app)")
	}
	for _, m := range regexp.MustCompile(`(?:^|\s)-([a-z][a-z-]*)`).FindAllStringSubmatch(run, -1) {
		if !strings.Contains(example, `flag.String("`+m[1]+`"`) {
			t.Errorf("the README runs the example with -%s, which it does not define", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`\b([A-Z][A-Z0-9_]+)=`).FindAllStringSubmatch(run, -1) {
		if !strings.Contains(example, `"`+m[1]+`"`) {
			t.Errorf("the README sets %s, which the example does not read", m[1])
		}
	}
}

// firstMismatch is the first line of block that does not follow, in
// order, in text: where a README copy drifted.
func firstMismatch(text, block string) string {
	rest := text
	for _, line := range strings.Split(block, "\n") {
		i := strings.Index(rest, line)
		if i < 0 {
			return line
		}
		rest = rest[i+len(line):]
	}
	return "(every line is there, not contiguously)"
}
