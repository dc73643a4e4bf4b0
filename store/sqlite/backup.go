package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the database to a new file at path,
// while the service keeps running: VACUUM INTO reads one snapshot (in WAL
// mode, without holding up writers) and writes it compacted. The copy is a
// complete database, at the same migration version, that Open takes as it
// is. An existing path is refused (wrapping fs.ErrExist), never
// overwritten.
//
// The copy is written beside path under a temporary name, with mode 0600
// (it holds password hashes and signing keys), synced (VACUUM INTO does not
// sync), and only then linked to path: a backup cut short by a crash or a
// full disk leaves no file at path that looks like a good one.
func (s *Store) Backup(ctx context.Context, path string) error {
	if path == "" {
		return errors.New("sqlite: backup: the path is empty")
	}
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("sqlite: backup: %s: %w: choose a new path", path, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	src, err := s.file(ctx)
	if err != nil {
		return err
	}
	if abs, err := filepath.Abs(path); err == nil && abs == src {
		return fmt.Errorf("sqlite: backup: %s is the database itself", path)
	}

	tmp, err := newTempFile(path)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer os.Remove(tmp) // a no-op once linked and removed below

	// A connection of its own: the reader pool's are query_only, which
	// refuses VACUUM INTO, and the writer's would hold up every write for
	// the length of the copy.
	db, err := sql.Open("sqlite", src+"?"+url.Values{"_pragma": {"busy_timeout(5000)"}}.Encode())
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := syncFile(tmp); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	// Link, not rename: it fails if path appeared meanwhile.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("sqlite: backup: %s: %w: choose a new path", path, fs.ErrExist)
		}
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	if err := os.Remove(tmp); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return syncFile(filepath.Dir(path))
}

// file returns the absolute path of the database file.
func (s *Store) file(ctx context.Context) (string, error) {
	var seq int
	var name, file string
	if err := s.reader.QueryRowContext(ctx, `SELECT seq, name, file FROM pragma_database_list WHERE name = 'main'`).
		Scan(&seq, &name, &file); err != nil {
		return "", fmt.Errorf("sqlite: backup: database file: %w", err)
	}
	if file == "" {
		return "", errors.New("sqlite: backup: the database has no file")
	}
	return file, nil
}

// newTempFile creates an empty file with mode 0600 beside path, for VACUUM
// INTO to fill (it accepts an empty file, and keeps its mode).
func newTempFile(path string) (string, error) {
	for range 10 {
		tmp := fmt.Sprintf("%s.partial-%s", path, rand.Text()[:8])
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		return tmp, f.Close()
	}
	return "", fmt.Errorf("%s.partial-*: no free temporary name", path)
}

// syncFile flushes a file, or a directory's entries, to stable storage.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
