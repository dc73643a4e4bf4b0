package contract

import (
	"context"
	"path"

	"github.com/pressly/goose/v3"

	"github.com/latchid/latch"
)

// MigrationStatus is a store's MigrationStatus from its goose provider.
// hasVersionTable says whether the database holds goose's version table:
// without it nothing was applied, and p is not asked (it would create
// the table, and a status only reads).
func MigrationStatus(ctx context.Context, backend string, p *goose.Provider, hasVersionTable bool) (latch.MigrationStatus, error) {
	st := latch.MigrationStatus{Backend: backend}
	for _, src := range p.ListSources() {
		st.Migrations = append(st.Migrations, latch.Migration{Version: src.Version, Name: path.Base(src.Path)})
		st.Latest = max(st.Latest, src.Version)
	}
	if !hasVersionTable {
		return st, nil
	}
	applied, err := p.Status(ctx)
	if err != nil {
		return latch.MigrationStatus{}, err
	}
	for _, m := range applied {
		if m.State != goose.StateApplied {
			continue
		}
		for i := range st.Migrations {
			if st.Migrations[i].Version == m.Source.Version {
				at := m.AppliedAt.UTC()
				st.Migrations[i].AppliedAt = &at
			}
		}
	}
	if st.Applied, err = p.GetDBVersion(ctx); err != nil {
		return latch.MigrationStatus{}, err
	}
	return st, nil
}
