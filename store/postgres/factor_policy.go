package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

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
	var required bool
	var allowed string
	err := s.pool.QueryRow(ctx, `SELECT required, allowed FROM tenant_factor_policies WHERE tenant_id = $1`, tenantID).Scan(&required, &allowed)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.FactorPolicy{}, contract.NotFound("factor policy")
	}
	if err != nil {
		return latch.FactorPolicy{}, fail(err)
	}
	return contract.DecodeFactorPolicy(required, allowed), nil
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
	return s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			INSERT INTO tenant_factor_policies (tenant_id, required, allowed, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id) DO UPDATE SET required = excluded.required, allowed = excluded.allowed, updated_at = excluded.updated_at`,
			tenantID, p.Required, allowed, contract.Or(at, s.now))
		if pgCode(err) == foreignKeyViolation {
			return contract.NotFound("tenant")
		}
		if err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}
