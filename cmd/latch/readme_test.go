package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEWalkthrough runs every command of README.md as written, in
// order, on a clean clone (scripts/readme-walkthrough.sh): a newcomer's
// first hour must not end on a command that does not work.
func TestREADMEWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("the README walk-through builds and serves Latch (about 20 s)")
	}
	for _, tool := range []string{"git", "curl", "setsid", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the walk-through needs %s: %v", tool, err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "readme-walkthrough.sh"))
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("README walk-through failed: %v\n%s", err, tail(string(out), 80))
	}
	if !strings.Contains(string(out), "walkthrough: every README command ran") {
		t.Fatalf("the walk-through did not finish:\n%s", tail(string(out), 80))
	}
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
