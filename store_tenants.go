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

	// TenantFactorPolicy returns the tenant's second-factor policy, or
	// NotFound if it has none (the service's default applies).
	TenantFactorPolicy(ctx context.Context, tenantID string) (FactorPolicy, error)
	// SetTenantFactorPolicy stores the tenant's second-factor policy
	// whole, with the audit event, in one transaction. An unknown tenant
	// is NotFound; an empty Allowed, a kind not in FactorPolicyKinds, or
	// no factor but recovery codes is Invalid; nothing is written then.
	// Allowed comes back in FactorPolicyKinds' order, without repeats.
	SetTenantFactorPolicy(ctx context.Context, tenantID string, p FactorPolicy, at time.Time, audit *AuditEvent) error
}
