package account

import (
	"context"

	"github.com/latchid/latch"
)

// auditEvent starts an audit record of what admin a does in tenantID to
// targetID, from the request's address.
func (s *Service) auditEvent(ctx context.Context, a Admin, action, tenantID, targetID string) latch.AuditEvent {
	typ, id := a.actor()
	return latch.AuditEvent{
		TenantID: tenantID, At: s.now(), Action: action, ActorType: typ, ActorID: id,
		TargetID: targetID, IP: latch.ClientIP(ctx),
	}
}

// userEvent is an audit record of what a user does to their own account.
func (s *Service) userEvent(ctx context.Context, u latch.User, action string) latch.AuditEvent {
	return latch.AuditEvent{
		TenantID: u.TenantID, At: s.now(), Action: action, ActorType: latch.ActorUser, ActorID: u.ID,
		TargetID: u.ID, IP: latch.ClientIP(ctx),
	}
}

// appendAudit records an event that is not part of a store transaction
// (a failed sign-in, a logout). A failure to record is logged: the
// request it describes has happened either way.
func (s *Service) appendAudit(ctx context.Context, e latch.AuditEvent) {
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.ErrorContext(ctx, "audit event not recorded", "action", e.Action, "err", err)
	}
}

// AuditEvents lists the audit log of the admin's tenant, newest first.
func (s *Service) AuditEvents(ctx context.Context, a Admin, q latch.AuditQuery) ([]latch.AuditEvent, error) {
	if err := a.Authorize(OpAudit); err != nil {
		return nil, err
	}
	if a.TenantID != "" {
		q.TenantID = a.TenantID
	}
	return s.store.AuditEvents(ctx, q)
}
