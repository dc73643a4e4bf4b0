package sqlite_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/sqlite"
)

// TestBackup copies a database holding every kind of row while writes go
// on: the copy is complete (every row written before the backup began),
// passes integrity_check, is at the latest migration, is readable by its
// owner only, and leaves no temporary file; a path that exists is refused
// and left as it was.
func TestBackup(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	path := filepath.Join(dir, "latch.db")
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	populate(t, st)

	// A quiet copy holds exactly the rows of the database.
	quiet := filepath.Join(dir, "quiet.db")
	if err := st.Backup(ctx, quiet); err != nil {
		t.Fatal(err)
	}
	checkSameRows(t, openFile(t, path), openFile(t, quiet), "email_rekey_pending", legacyRefreshTokens)
	checkStore(t, quiet)
	if fi, err := os.Stat(quiet); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode = %v, %v; want 0600", fi.Mode(), err)
	}

	// A copy made while writes go on holds everything written before it.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	writes := 0
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := st.AppendAudit(ctx, latch.AuditEvent{At: time.Now(), Action: "test.write", ActorType: "operator", ActorID: "cli"}); err != nil {
				t.Error(err)
				return
			}
			writes++
		}
	}()
	time.Sleep(20 * time.Millisecond)
	var before int
	if err := openFile(t, path).QueryRowContext(ctx, `SELECT count(*) FROM audit_events`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	busy := filepath.Join(dir, "busy.db")
	err = st.Backup(ctx, busy)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var copied int
	if err := openFile(t, busy).QueryRowContext(ctx, `SELECT count(*) FROM audit_events`).Scan(&copied); err != nil {
		t.Fatal(err)
	}
	if copied < before {
		t.Errorf("the copy holds %d audit events, fewer than the %d written before it began", copied, before)
	}
	t.Logf("%d writes during the test, %d events before the backup, %d in it", writes, before, copied)
	checkStore(t, busy)

	// An existing path is refused and kept.
	if err := os.WriteFile(filepath.Join(dir, "taken"), []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, taken := range []string{quiet, filepath.Join(dir, "taken"), path} {
		if err := st.Backup(ctx, taken); !errors.Is(err, fs.ErrExist) {
			t.Errorf("Backup(%s) over an existing file: %v, want fs.ErrExist", filepath.Base(taken), err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "taken")); err != nil || string(b) != "keep me" {
		t.Errorf("the existing file now holds %q, %v", b, err)
	}
	if err := st.Backup(ctx, filepath.Join(dir, "no", "such", "dir.db")); err == nil {
		t.Error("Backup into a missing directory: no error")
	}

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		// -wal and -shm: the checks above have the copies open.
		switch strings.TrimSuffix(strings.TrimSuffix(e.Name(), "-wal"), "-shm") {
		case "latch.db", "quiet.db", "busy.db", "taken":
		default:
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
