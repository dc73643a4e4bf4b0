package latch

import (
	"context"
	"time"
)

// TenantStore keeps the tenants and their password policies.
type TenantStore interface {
	CreateTenant(ctx context.Context, t Tenant, audit *AuditEvent) (Tenant, error)
	TenantByID(ctx context.Context, id string) (Tenant, error)
	Tenants(ctx context.Context) ([]Tenant, error)

	// TenantPolicy returns the tenant's policy, or NotFound if it has none.
	TenantPolicy(ctx context.Context, tenantID string) (PasswordPolicy, error)
	SetTenantPolicy(ctx context.Context, tenantID string, p PasswordPolicy, at time.Time, audit *AuditEvent) error
}
