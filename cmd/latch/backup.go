package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/latchid/latch/store/sqlite"
)

// pgDumpHint is the answer to `latch backup` on PostgreSQL: its own tool
// already takes a consistent copy while Latch runs, and restores it.
const pgDumpHint = `backup: LATCH_DATABASE_URL is PostgreSQL: back it up with pg_dump, which copies one consistent snapshot while Latch runs, e.g.
  pg_dump --format=custom --file=latch.pgdump "$LATCH_DATABASE_URL"
and restore with pg_restore (see README.md, Backups)`

func backupCommand(inv *invocation) *cobra.Command {
	return &cobra.Command{
		Use:   "backup PATH",
		Short: "copy the SQLite database, while it serves, to a new file (PostgreSQL: pg_dump)",
		Long: `Copy the SQLite database of LATCH_DATABASE_URL to PATH while latch serve keeps
running: one consistent snapshot (VACUUM INTO), mode 0600, synced before it
appears under PATH. An existing PATH is refused, never overwritten. On
PostgreSQL, use pg_dump (this command says how, and exits 1).`,
		Example: `  latch backup /var/backups/latch-$(date +%F).db`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || args[0] == "" {
				return usageError(cmd, "want one argument, the path of the new file: latch backup PATH")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := inv.config()
			if err != nil {
				return err
			}
			return backup(inv.ctx, cfg, args[0], inv.stderr)
		},
	}
}

// backup writes a consistent copy of the SQLite database to a new file,
// while `latch serve` goes on (see sqlite.Store.Backup). It does not
// migrate: the copy is the database as it is.
func backup(ctx context.Context, cfg config, path string, stderr io.Writer) error {
	file, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite://")
	if !ok {
		if strings.HasPrefix(cfg.DatabaseURL, "postgres://") || strings.HasPrefix(cfg.DatabaseURL, "postgresql://") {
			return errors.New(pgDumpHint)
		}
		return fmt.Errorf("LATCH_DATABASE_URL: want sqlite://PATH or postgres://..., got %q", redactURL(cfg.DatabaseURL))
	}
	// Opening would create a missing database: an empty copy of nothing
	// is not a backup.
	if _, err := os.Stat(file); err != nil {
		return fmt.Errorf("backup: no database at %s (LATCH_DATABASE_URL): %w", file, err)
	}
	// Interrupted, the copy's temporary file is removed on the way out.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := sqlite.Open(ctx, file)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Backup(ctx, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("backup: %s already exists: a backup never overwrites a file; choose a new path", path)
		}
		return err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "backup written to %s (%d bytes)\n", path, fi.Size())
	return nil
}
