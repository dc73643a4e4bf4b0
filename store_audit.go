package latch

import "context"

// AuditStore keeps the append-only audit log.
type AuditStore interface {
	AppendAudit(ctx context.Context, e AuditEvent) error
	AuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
}
