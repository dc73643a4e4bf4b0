package account

import (
	"context"

	"github.com/latchid/latch"
)

// AdminResetFactors removes every factor and recovery code of a user
// (audited, the user notified by email): an administrator's way out for a
// person who lost their authenticator and their codes. It is tenant-scoped
// like the other operations on users, and needs everything (as setting a
// password does): it takes a factor off an account. The factors, the
// codes, the audit event and the notice mail are one store write.
func (s *Service) AdminResetFactors(ctx context.Context, a Admin, r UserRef) error {
	if err := a.Authorize(OpResetFactors); err != nil {
		return err
	}
	user, err := s.adminUser(ctx, a, r)
	if err != nil {
		return err
	}
	if err := a.mayActOn(user); err != nil {
		return err
	}
	ev := s.auditEvent(ctx, a, latch.AuditFactorsReset, user.TenantID, user.ID)
	ev.Details = map[string]string{"email": user.Email}
	var notice *latch.MailMessage
	if !s.cfg.MailOff {
		m, err := s.newMail(user.Email, latch.MailFactorsReset, map[string]string{
			"email": user.Email, "first_name": user.FirstName, "login_url": s.url("/login", nil),
		})
		switch {
		case latch.IsKind(err, latch.KindInvalid):
			// An address that cannot receive mail (imported before the
			// canonical form) must not keep a locked-out person locked
			// out: the reset goes ahead, and the event says no notice went.
			ev.Details["notice"] = "undeliverable"
		case err != nil:
			return err
		default:
			notice = &m
		}
	}
	if _, err := s.store.ResetFactors(ctx, user.ID, &ev, notice); err != nil {
		return err
	}
	s.mailQueued(notice)
	// A cached session may remember the account's factors.
	s.sessions.forgetUser(user.ID)
	return nil
}
