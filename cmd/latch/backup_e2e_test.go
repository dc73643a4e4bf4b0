package main

import (
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/latchid/latch/internal/testenv"
)

// TestBackupWhileServing runs `latch backup PATH` on the built binary
// while `latch serve` takes sign-ins (each one writes a session and an
// audit event): the sign-ins all succeed, and the copy passes
// integrity_check, needs no migration, and serves the same account and
// password. A second backup to the same path is refused.
func TestBackupWhileServing(t *testing.T) {
	in := newInstance(t, "sqlite://"+testenv.SQLitePath(t))
	// The sign-ins below run flat out for as long as the backup takes,
	// which on a loaded machine is past the default 60 a minute from one
	// address: this test is about the copy, not the limit.
	in.env = append(in.env, "LATCH_LOGIN_LIMIT_IP=100000/1m")
	const pw = "backup journey passphrase"
	in.cli(t, pw+"\n", "users", "create", "--email", "kept@example.com", "--password-stdin")
	in.serve(t)

	stop := make(chan struct{})
	var logins, failures atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Not in.login: t.Fatal belongs to the test's goroutine.
				res, err := http.Post(in.base+"/users/login", "application/json",
					strings.NewReader(`{"email":"kept@example.com","password":"`+pw+`"}`))
				if err == nil {
					res.Body.Close()
				}
				if err == nil && res.StatusCode == 200 {
					logins.Add(1)
				} else {
					failures.Add(1)
				}
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); logins.Load() < 5; { // writes are under way
		if time.Now().After(deadline) {
			t.Fatalf("no sign-ins before the backup: %d failed", failures.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	_, stderr, code := in.run("", "backup", path)
	during := logins.Load()
	close(stop)
	wg.Wait()
	if code != 0 || !strings.Contains(stderr, "backup written to "+path) {
		t.Fatalf("latch backup: exit %d: %s", code, stderr)
	}
	if failures.Load() > 0 {
		t.Errorf("%d sign-ins failed while the backup ran", failures.Load())
	}
	t.Logf("%d sign-ins before the backup finished, %d in all", during, logins.Load())

	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	var sessions, versions int
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check = %q, %v", ok, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&sessions); err != nil || sessions < 5 {
		t.Errorf("the copy holds %d sessions, %v; want the ones started before it", sessions, err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM goose_db_version`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode = %v, %v; want 0600", fi.Mode(), err)
	}

	// The same path again is refused, and the copy kept.
	before, _ := os.ReadFile(path)
	if _, stderr, code := in.run("", "backup", path); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("backup over the copy: exit %d: %s", code, stderr)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a refused backup changed the existing file")
	}

	// The copy is a working Latch database, at the latest version.
	restored := newInstance(t, "sqlite://"+path)
	restored.cli(t, "", "migrate")
	var after int
	if err := db.QueryRow(`SELECT count(*) FROM goose_db_version`).Scan(&after); err != nil || after != versions {
		t.Errorf("migrating the copy applied %d migrations, %v; want none", after-versions, err)
	}
	restored.serve(t)
	if s, b := restored.login(t, "kept@example.com", pw); s != 200 {
		t.Errorf("login on the restored copy: %d %v", s, b)
	}
}

// TestBackupErrors: what `latch backup` refuses, and how it says so.
func TestBackupErrors(t *testing.T) {
	dir := t.TempDir()
	in := newInstance(t, "sqlite://"+filepath.Join(dir, "latch.db"))
	// No database yet: nothing to copy, and none is created.
	if _, stderr, code := in.run("", "backup", filepath.Join(dir, "copy.db")); code != 1 || !strings.Contains(stderr, "no database at") {
		t.Errorf("backup of a missing database: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "latch.db")); err == nil {
		t.Error("backup created the database it was to copy")
	}
	in.cli(t, "", "migrate")
	for _, args := range [][]string{{"backup"}, {"backup", "a.db", "b.db"}, {"backup", ""}, {"backup", "--bogus", "a.db"}} {
		if _, stderr, code := in.run("", args...); code != 2 || !strings.Contains(stderr, "backup") || strings.Contains(stderr, "goroutine") {
			t.Errorf("latch %q: exit %d: %s; want 2", args, code, stderr)
		}
	}
	if _, stderr, code := in.run("", "backup", filepath.Join(dir, "latch.db")); code != 1 || !strings.Contains(stderr, "already exists") {
		t.Errorf("backup over the database itself: exit %d: %s", code, stderr)
	}
	if _, stderr, code := in.run("", "backup", filepath.Join(dir, "missing", "copy.db")); code != 1 || strings.Contains(stderr, "goroutine") {
		t.Errorf("backup into a missing directory: exit %d: %s", code, stderr)
	}

	pg := newInstance(t, "postgres://latch:hunter2@127.0.0.1:1/latch")
	copyPath := filepath.Join(dir, "pg.db")
	if _, stderr, code := pg.run("", "backup", copyPath); code != 1 || !strings.Contains(stderr, "pg_dump") || strings.Contains(stderr, "hunter2") {
		t.Errorf("backup on PostgreSQL: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(copyPath); err == nil {
		t.Error("backup on PostgreSQL wrote a file")
	}
}
