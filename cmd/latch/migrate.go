package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchid/latch"
)

func migrateCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "apply the database migrations and exit (latch migrate status: what is applied)",
		Long: `Apply the migrations this binary embeds to LATCH_DATABASE_URL and exit.
latch serve applies them too, when it starts; replicas starting together take
turns. latch migrate status shows the applied version against the latest
embedded one, without changing anything.`,
		Args: subcommandArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := inv.open()
			if err != nil {
				return err
			}
			defer a.Close()
			st, err := a.store.MigrationStatus(inv.ctx)
			if err != nil {
				return describe(err)
			}
			fmt.Fprintf(inv.stderr, "migrations applied: %s schema at version %d\n", st.Backend, st.Applied)
			return nil
		},
	}
	cmd.AddCommand(migrateStatusCommand(inv))
	return cmd
}

func migrateStatusCommand(inv *invocation) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "show the applied migration version against the latest this binary embeds",
		Long: `Show, as JSON, the migration version applied to LATCH_DATABASE_URL, the latest
one this binary embeds, and each pending migration. Nothing is changed: a
database never migrated stays as it is (a missing SQLite file is not
created). up_to_date is false while migrations are pending; newer_than_binary
is true when a newer Latch migrated the database.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := inv.config()
			if err != nil {
				return err
			}
			if file, ok := strings.CutPrefix(cfg.DatabaseURL, "sqlite://"); ok {
				// Opening would create a missing file.
				if _, err := os.Stat(file); err != nil {
					return fmt.Errorf("migrate status: no database at %s (LATCH_DATABASE_URL): %w", file, err)
				}
			}
			st, err := openStore(inv.ctx, cfg.DatabaseURL, cfg.DatabaseTimeout)
			if err != nil {
				return err
			}
			defer st.Close()
			status, err := st.MigrationStatus(inv.ctx)
			if err != nil {
				return describe(err)
			}
			return printJSON(inv.stdout, migrationStatusJSON(status))
		},
	}
}

func migrationStatusJSON(st latch.MigrationStatus) any {
	type migration struct {
		Version int64  `json:"version"`
		Name    string `json:"name"`
	}
	pending := []migration{}
	for _, m := range st.Pending() {
		pending = append(pending, migration{m.Version, m.Name})
	}
	var lastAppliedAt *time.Time
	for _, m := range st.Migrations {
		if m.AppliedAt != nil && (lastAppliedAt == nil || m.AppliedAt.After(*lastAppliedAt)) {
			lastAppliedAt = m.AppliedAt
		}
	}
	return struct {
		Backend         string      `json:"backend"`
		Applied         int64       `json:"applied"`
		Latest          int64       `json:"latest"`
		UpToDate        bool        `json:"up_to_date"`
		NewerThanBinary bool        `json:"newer_than_binary"`
		LastAppliedAt   *time.Time  `json:"last_applied_at,omitempty"`
		Pending         []migration `json:"pending"`
	}{st.Backend, st.Applied, st.Latest, len(pending) == 0 && st.Applied >= st.Latest, st.Applied > st.Latest, lastAppliedAt, pending}
}
