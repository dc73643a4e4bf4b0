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
