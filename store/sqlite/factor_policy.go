package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

// TenantFactorPolicy implements latch.Store.
func (s *Store) TenantFactorPolicy(ctx context.Context, tenantID string) (latch.FactorPolicy, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tenantID, ok := contract.ID(tenantID)
	if !ok {
		return latch.FactorPolicy{}, contract.NotFound("factor policy")
	}
	var required int64
	var allowed string
	err := s.reader.QueryRowContext(ctx, `SELECT required, allowed FROM tenant_factor_policies WHERE tenant_id = ?`, tenantID).Scan(&required, &allowed)
	if errors.Is(err, sql.ErrNoRows) {
		return latch.FactorPolicy{}, contract.NotFound("factor policy")
	}
	if err != nil {
		return latch.FactorPolicy{}, fail(err)
	}
	return contract.DecodeFactorPolicy(required == 1, allowed), nil
}

// SetTenantFactorPolicy implements latch.Store.
func (s *Store) SetTenantFactorPolicy(ctx context.Context, tenantID string, p latch.FactorPolicy, at time.Time, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	tenantID, ok := contract.ID(tenantID)
	if !ok {
		return contract.NotFound("tenant")
	}
	allowed, err := contract.FactorPolicy(p)
	if err != nil {
		return err
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	required := 0
	if p.Required {
		required = 1
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `
			INSERT INTO tenant_factor_policies (tenant_id, required, allowed, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id) DO UPDATE SET required = excluded.required, allowed = excluded.allowed, updated_at = excluded.updated_at`,
			tenantID, required, allowed, micros(contract.Or(at, s.now)))
		if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
			return contract.NotFound("tenant")
		}
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}
