package latch_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainHasNoIO keeps package latch free of I/O. Its own imports may
// not reach the network, a database or the file system, and nothing it
// depends on, however indirectly, may pull in networking or SQL.
func TestDomainHasNoIO(t *testing.T) {
	list := func(format string) map[string]bool {
		t.Helper()
		out, err := exec.Command("go", "list", "-f", format, ".").Output()
		if err != nil {
			t.Fatalf("go list: %v", err)
		}
		set := map[string]bool{}
		for _, p := range strings.Fields(string(out)) {
			set[p] = true
		}
		return set
	}
	direct := list(`{{join .Imports " "}}`)
	deps := list(`{{join .Deps " "}}`)
	if !direct["context"] {
		t.Fatalf("go list returned no imports for package latch: %v", direct)
	}
	for _, p := range []string{"os", "os/exec", "io/fs", "syscall", "net", "net/http", "database/sql", "net/smtp"} {
		if direct[p] {
			t.Errorf("package latch imports %s", p)
		}
	}
	for p := range deps {
		if p == "net" || strings.HasPrefix(p, "net/") || strings.HasPrefix(p, "database/") {
			t.Errorf("package latch depends on %s", p)
		}
	}
}

// TestLayers keeps the house's layout (DESIGN.md): the use cases in
// account/ talk to no outside thing directly; a surface never reaches a
// store; only cmd/ (and the tests' wiring, internal/testenv) picks the
// stores; adapters stay below the use cases that use them; and only
// package metrics and cmd/ import Prometheus.
func TestLayers(t *testing.T) {
	const mod = "github.com/latchid/latch"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}|{{join .Imports ","}}|{{join .Deps ","}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct{ imports, deps map[string]bool }
	pkgs := map[string]pkg{}
	set := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, p := range strings.Split(s, ",") {
			if p != "" {
				m[p] = true
			}
		}
		return m
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("go list line %q", line)
		}
		pkgs[parts[0]] = pkg{set(parts[1]), set(parts[2])}
	}
	if len(pkgs) < 10 || pkgs[mod+"/account"].imports == nil {
		t.Fatalf("go list found %d packages", len(pkgs))
	}
	under := func(p, dir string) bool { return p == mod+"/"+dir || strings.HasPrefix(p, mod+"/"+dir+"/") }
	const prometheus = "github.com/prometheus/"
	for name, p := range pkgs {
		// Metrics: only package metrics and the wiring speak Prometheus;
		// the others report through interfaces of their own, and only
		// the wiring hands them package metrics' observers.
		if !under(name, "metrics") && !under(name, "cmd") {
			for imp := range p.imports {
				if strings.HasPrefix(imp, prometheus) {
					t.Errorf("%s imports %s: only package metrics and cmd/ import Prometheus", name, imp)
				}
			}
		}
		if !under(name, "cmd") && !under(name, "internal/testenv") {
			for dep := range p.deps {
				if under(dep, "metrics") {
					t.Errorf("%s depends on %s: only the wiring uses package metrics", name, dep)
				}
			}
		}
		switch {
		case under(name, "account"):
			// The use cases: no HTTP, no SQL, no store, surface, mail
			// transport or sign-in provider; those are injected.
			for _, forbidden := range []string{"net/http", "database/sql", "net/smtp"} {
				if p.imports[forbidden] {
					t.Errorf("%s imports %s: the use cases take their outside things in a constructor", name, forbidden)
				}
			}
			for dep := range p.deps {
				for _, dir := range []string{"store", "api", "web", "mail", "oidc", "cmd"} {
					if under(dep, dir) {
						t.Errorf("%s depends on %s", name, dep)
					}
				}
			}
		case under(name, "api") || under(name, "web"):
			for dep := range p.deps {
				if under(dep, "store") {
					t.Errorf("surface %s depends on store %s: surfaces translate, the use cases reach the data", name, dep)
				}
			}
		case under(name, "cmd") || under(name, "internal/testenv"):
			// The wiring: may use everything.
		default:
			// Adapters and the domain: below the use cases and surfaces,
			// and only the wiring chooses a store.
			for dep := range p.deps {
				if under(dep, "account") || under(dep, "api") || under(dep, "web") {
					t.Errorf("%s depends on %s: adapters stay below the use cases", name, dep)
				}
				if (under(dep, "store/sqlite") || under(dep, "store/postgres")) && !under(name, "store") {
					t.Errorf("%s depends on %s: only cmd/ picks a store", name, dep)
				}
			}
		}
	}
}
