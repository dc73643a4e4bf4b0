package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// runCLI runs a command line in-process, as main does, with exactly the
// environment given.
func runCLI(t *testing.T, environ []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(t.Context(), args, strings.NewReader(stdin), &o, &e, environ)
	if strings.Contains(e.String(), "goroutine ") {
		t.Fatalf("latch %s panicked:\n%s", strings.Join(args, " "), e.String())
	}
	return o.String(), e.String(), code
}

// commandPaths lists every command of the tree as its arguments, e.g.
// ["users", "list"], the root as [].
func commandPaths() [][]string {
	root := newCommandLine(&invocation{ctx: context.Background()})
	var paths [][]string
	for _, c := range allCommands(root) {
		path := strings.Fields(strings.TrimPrefix(c.CommandPath(), "latch"))
		paths = append(paths, path)
	}
	return paths
}

// TestHelpForEveryCommand: -h, --help and `latch help CMD SUB` print the
// command's help, made from its real flags, to stdout and exit 0, and do
// nothing else: no database is created or migrated (`latch migrate
// --help` used to run the migrations), even with a broken environment.
func TestHelpForEveryCommand(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "latch.db")
	// An unknown variable would stop every command but help.
	env := []string{"LATCH_DATABASE_URL=sqlite://" + db, "LATCH_DATBASE_URL=typo"}
	root := newCommandLine(&invocation{ctx: context.Background()})
	paths := commandPaths()
	if len(paths) < 30 {
		t.Fatalf("only %d commands: %v", len(paths), paths)
	}
	for _, path := range paths {
		cmd, _, err := root.Find(path)
		if err != nil {
			t.Fatalf("%v: %v", path, err)
		}
		var flags []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) { flags = append(flags, "--"+f.Name) })
		for _, args := range [][]string{
			append(slices.Clone(path), "--help"),
			append(slices.Clone(path), "-h"),
			append([]string{"help"}, path...),
		} {
			out, errOut, code := runCLI(t, env, "", args...)
			if code != 0 || errOut != "" {
				t.Errorf("latch %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
				continue
			}
			if !strings.Contains(out, "Usage:") || !strings.Contains(out, cmd.CommandPath()) {
				t.Errorf("latch %s printed no usage of %s:\n%s", strings.Join(args, " "), cmd.CommandPath(), out)
			}
			for _, f := range flags {
				if !strings.Contains(out, f) {
					t.Errorf("latch %s: help does not list %s:\n%s", strings.Join(args, " "), f, out)
				}
			}
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("help touched the database: %v", err)
	}
}

// Every command validates its arguments itself: cobra's default would
// print help and exit 0 for `latch users frobnicate`.
func TestEveryCommandChecksItsArguments(t *testing.T) {
	root := newCommandLine(&invocation{ctx: context.Background()})
	for _, c := range allCommands(root) {
		if c.Args == nil || (c.RunE == nil && c.Run == nil) {
			t.Errorf("%s: Args %v, runnable %v", c.CommandPath(), c.Args != nil, c.Runnable())
		}
	}
}

// TestCommandLineMistakes: an unknown command, flag or value exits 2 with a
// message that names it and the fix, before any configuration is used.
func TestCommandLineMistakes(t *testing.T) {
	env := []string{"LATCH_DATABASE_URL=sqlite://" + filepath.Join(t.TempDir(), "latch.db")}
	for _, c := range []struct {
		args []string
		says []string
	}{
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate" for "latch"`, "latch --help"}},
		{[]string{"usres", "list"}, []string{`did you mean "users"?`}},
		{[]string{"users", "lsit"}, []string{`unknown command "lsit" for "latch users"`, `did you mean "users list"?`, "activate, create, deactivate, delete, list, reset-factors, show"}},
		{[]string{"migrate", "stauts"}, []string{`did you mean "migrate status"?`}},
		{[]string{"help", "users", "frob"}, []string{`unknown command "frob" for "latch users"`}},
		{[]string{"users", "show", "--emial", "a@example.com"}, []string{"users show: unknown flag --emial; did you mean --email?", "latch users show --help"}},
		{[]string{"users", "show", "--bogus"}, []string{"unknown flag --bogus", "latch users show --help"}},
		{[]string{"users", "show", "-email", "a@example.com"}, []string{"unknown flag -email: long flags take two dashes: --email"}},
		{[]string{"users", "show", "--email"}, []string{"users show: --email needs a value"}},
		{[]string{"audit", "tail", "-n", "many"}, []string{`audit tail: --limit "many": want a whole number`}},
		{[]string{"tokens", "issue", "--email", "a@example.com", "--ttl", "soon"}, []string{`--ttl "soon": want a duration such as 30s`}},
		{[]string{"users", "list", "extra"}, []string{`users list: unexpected argument "extra"`}},
		{[]string{"users", "show"}, []string{"users show: --email is required"}},
		{[]string{"users", "show", "--email", "a@example.com", "--number", "3"}, []string{"one of --email, --id or --number"}},
		{[]string{"users", "list", "-n", "0"}, []string{"-n must be between 1 and 10000"}},
		{[]string{"sessions", "revoke"}, []string{"sessions revoke: --email is required"}},
		{[]string{"bench"}, []string{"bench: want one scenario"}},
		{[]string{"bench", "fly", "--url", "http://127.0.0.1:1"}, []string{`unknown scenario "fly"`}},
	} {
		out, errOut, code := runCLI(t, env, "", c.args...)
		if code != 2 || out != "" {
			t.Errorf("latch %s: exit %d, stdout %q; want exit 2", strings.Join(c.args, " "), code, out)
		}
		for _, s := range c.says {
			if !strings.Contains(errOut, s) {
				t.Errorf("latch %s: stderr %q, want it to say %q", strings.Join(c.args, " "), errOut, s)
			}
		}
	}
	// A bare group prints its help, as --help does.
	if out, _, code := runCLI(t, env, "", "users"); code != 0 || !strings.Contains(out, "Available Commands") {
		t.Errorf("latch users: exit %d\n%s", code, out)
	}
}

// TestUnknownVariables: a LATCH_* variable Latch does not read stops every
// command but help and version with exit 2, and names the variable it
// most likely misspells.
func TestUnknownVariables(t *testing.T) {
	db := "LATCH_DATABASE_URL=sqlite://" + filepath.Join(t.TempDir(), "latch.db")
	for _, c := range []struct {
		env  []string
		want []string
	}{
		{[]string{"LATCH_DATBASE_URL=postgres://db/latch"}, []string{"unknown variable LATCH_DATBASE_URL; did you mean LATCH_DATABASE_URL?"}},
		{[]string{"LATCH_SMPT_URL=smtp://mail.example.com"}, []string{"unknown variable LATCH_SMPT_URL; did you mean LATCH_SMTP_URL?"}},
		{[]string{"LATCH_LOG=debug", "LATCH_PUBLIC_ULR=https://id.example.com"}, []string{
			"unknown variable LATCH_LOG; Latch reads no variable by that name",
			"unknown variable LATCH_PUBLIC_ULR; did you mean LATCH_PUBLIC_URL?",
		}},
		{[]string{"LATCH_PROVIDER_GOOGLE_CLIENT_ID=x"}, []string{`unknown variable LATCH_PROVIDER_GOOGLE_CLIENT_ID; provider "google" is not in LATCH_PROVIDERS (which is empty)`}},
		{[]string{"LATCH_PROVIDERS=google", "LATCH_PROVIDER_GOOGLE_CLIENT_ID=x", "LATCH_PROVIDER_GOOGLE_CLIENT_SECRET=y", "LATCH_PROVIDER_GOOGLE_CLEINT_ID=z", "LATCH_PROVIDER_GITHUB_CLIENT_ID=w"}, []string{
			"unknown variable LATCH_PROVIDER_GOOGLE_CLEINT_ID; did you mean LATCH_PROVIDER_GOOGLE_CLIENT_ID?",
			`unknown variable LATCH_PROVIDER_GITHUB_CLIENT_ID; provider "github" is not in LATCH_PROVIDERS (which is google)`,
		}},
	} {
		for _, args := range [][]string{{"serve"}, {"migrate"}, {"users", "list"}, {"bench", "healthz"}} {
			out, errOut, code := runCLI(t, append([]string{db}, c.env...), "", args...)
			if code != 2 || out != "" {
				t.Errorf("%v latch %s: exit %d, stdout %q; want exit 2", c.env, strings.Join(args, " "), code, out)
			}
			for _, w := range c.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("%v latch %s: stderr %q, want %q", c.env, strings.Join(args, " "), errOut, w)
				}
			}
		}
		for _, args := range [][]string{{"version"}, {"--version"}, {"help", "serve"}, {"serve", "--help"}, {}, {"users"}} {
			if _, errOut, code := runCLI(t, append([]string{db}, c.env...), "", args...); code != 0 {
				t.Errorf("%v latch %s: exit %d: %s", c.env, strings.Join(args, " "), code, errOut)
			}
		}
	}
	// Every variable Latch knows passes, set at once, the providers' own
	// and those of the tests and the load generator included; and a
	// known variable with a wrong value is still the configuration error
	// it was (exit 1).
	known := []string{db,
		"LATCH_ADDR=127.0.0.1:0", "LATCH_DATA_DIR=/nonexistent", "LATCH_LOG_LEVEL=warn", "LATCH_SMTP_URL=smtp://127.0.0.1:1",
		"LATCH_MAIL_FROM=Latch <no-reply@example.com>", "LATCH_PRODUCT_NAME=Acme ID",
		"LATCH_PROVIDERS=corp-sso", "LATCH_PROVIDER_CORP_SSO_ISSUER=https://sso.corp.example",
		"LATCH_PROVIDER_CORP_SSO_CLIENT_ID=c", "LATCH_PROVIDER_CORP_SSO_CLIENT_SECRET=s", "LATCH_PROVIDER_CORP_SSO_SCOPES=openid email",
		"LATCH_TEST_POSTGRES_URL=postgres://elsewhere", "LATCH_ARTIFACTS_DIR=/tmp", envBenchPassword + "=x", envBenchToken + "=y",
	}
	if _, errOut, code := runCLI(t, known, "", "tenants", "list"); code != 0 {
		t.Fatalf("every known variable: exit %d: %s", code, errOut)
	}
	if _, errOut, code := runCLI(t, append(known, "LATCH_ARGON2_TIME=zero"), "", "tenants", "list"); code != 1 || !strings.Contains(errOut, "LATCH_ARGON2_TIME") {
		t.Errorf("a known variable with a wrong value: exit %d: %s", code, errOut)
	}
	// A GitHub Enterprise endpoint on an OIDC provider would be ignored.
	if _, errOut, code := runCLI(t, append(known, "LATCH_PROVIDER_CORP_SSO_API_URL=https://x"), "", "tenants", "list"); code != 1 || !strings.Contains(errOut, "LATCH_PROVIDER_CORP_SSO_API_URL is for github providers") {
		t.Errorf("API_URL on an oidc provider: exit %d: %s", code, errOut)
	}
}

// The environment's names are compared with what loadConfig reads: a
// variable it reads only in some configurations must still count.
func TestEveryDocumentedVariableIsRead(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## Configuration")
	section, _, _ = strings.Cut(section, "\n## ")
	rec := newReadRecorder(func(string) string { return "" })
	_, _ = loadConfig(rec.Getenv)
	n := 0
	for _, line := range strings.Split(section, "\n") {
		name, ok := strings.CutPrefix(line, "| `")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, "`")
		if !strings.HasPrefix(name, "LATCH_") {
			continue
		}
		n++
		if !rec.read[name] {
			t.Errorf("README documents %s, but loadConfig does not read it: it would be refused as unknown", name)
		}
	}
	if n < 30 {
		t.Fatalf("found only %d variables in README's Configuration table", n)
	}
}

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"LATCH_DATBASE_URL", "LATCH_DATABASE_URL", 1},
		{"SMPT", "SMTP", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
	} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

// TestVersion: `latch version` and `latch --version` tell the module
// version, the commit (+dirty) and the Go version from the build
// information, and answer whatever the environment holds.
func TestVersion(t *testing.T) {
	out, errOut, code := runCLI(t, []string{"LATCH_NOT_A_THING=1"}, "", "version")
	if code != 0 || !strings.Contains(out, "go: go1.") || !strings.Contains(out, "module: ") {
		t.Fatalf("latch version: exit %d %q %q", code, out, errOut)
	}
	if out, _, code := runCLI(t, nil, "", "--version"); code != 0 || !strings.HasPrefix(out, "latch ") {
		t.Fatalf("latch --version: exit %d %q", code, out)
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/latchid/latch", Version: "v0.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-05-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	var b bytes.Buffer
	if err := printVersion(&b, bi); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"latch v0.4.0\n", "module: github.com/latchid/latch\n", "commit: 0123456789abcdef0123+dirty (2026-05-01T10:00:00Z)\n", "go: go1.26.8 "} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("version output %q lacks %q", b.String(), want)
		}
	}
	if got := moduleVersion(bi); got != "latch v0.4.0 (0123456789ab+dirty) go1.26.8" {
		t.Errorf("--version line %q", got)
	}
	b.Reset()
	_ = printVersion(&b, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/latchid/latch", Version: "(devel)"}})
	if !strings.Contains(b.String(), "commit: unknown: built without VCS information") {
		t.Errorf("without VCS: %q", b.String())
	}
}

// The built binary answers help and version too, with nothing else done.
func TestBinaryHelpDoesNothing(t *testing.T) {
	db := filepath.Join(t.TempDir(), "latch.db")
	in := newInstance(t, "sqlite://"+db)
	for _, args := range [][]string{{"migrate", "--help"}, {"serve", "-h"}, {"help", "users", "create"}, {"version"}} {
		out, errOut, code := in.run("", args...)
		if code != 0 || errOut != "" || out == "" {
			t.Errorf("latch %s: exit %d %q %q", strings.Join(args, " "), code, out, errOut)
		}
	}
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Errorf("help or version touched the database: %v", err)
	}
}
