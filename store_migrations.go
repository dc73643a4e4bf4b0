package latch

import "time"

// MigrationStatus is where a database's schema stands against the
// migrations a binary embeds (`latch migrate status`). Each store reports
// it with a MigrationStatus method; it is not part of Store, which the
// use cases see: only the operator asks.
type MigrationStatus struct {
	Backend string // "sqlite" or "postgres"
	// Applied is the highest version applied to the database (0: none);
	// Latest the highest the binary embeds. Applied > Latest means the
	// database was migrated by a newer binary.
	Applied int64
	Latest  int64
	// Migrations are the embedded migrations, oldest first.
	Migrations []Migration
}

// Migration is one embedded migration and whether the database has it.
type Migration struct {
	Version   int64
	Name      string     // its file, e.g. 00003_admin.sql
	AppliedAt *time.Time // nil while pending
}

// Pending are the embedded migrations not applied yet.
func (s MigrationStatus) Pending() []Migration {
	var out []Migration
	for _, m := range s.Migrations {
		if m.AppliedAt == nil {
			out = append(out, m)
		}
	}
	return out
}
