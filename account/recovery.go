package account

// Recovery: a link to set a new password for whoever can read the
// account's mail (POST /v1/recover, the recover page).

import (
	"context"

	"github.com/latchid/latch"
)

// RequestRecovery emails a recovery link to the account with email, if
// there is one with a password. It answers as soon as the request is
// recorded (a job), the same way whether or not the account exists: the
// lookup and the email come afterwards (recover). Only a malformed email,
// the per-address limit, or a request that could not be recorded
// (Unavailable: try again) is refused.
func (s *Service) RequestRecovery(ctx context.Context, email string) error {
	email, err := parseEmail(email)
	if err != nil {
		return err
	}
	if s.cfg.MailOff {
		return errMailDisabled()
	}
	return s.recordForAddress(ctx, latch.JobRecovery, jobData{Email: email})
}

// recover is the work of a recovery request: a link to the account with
// email if it is active and has a password, and nothing otherwise, nor
// beyond the per-account mail limit (nobody is told either way).
func (s *Service) recover(ctx context.Context, email string) error {
	user, err := s.store.UserByEmail(ctx, email)
	if latch.IsKind(err, latch.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if has, err := s.HasPassword(ctx, user.ID); err != nil || !has || !user.Active {
		return err
	}
	return s.withinAccountMailLimit(ctx, user.ID, func() error {
		return s.sendLink(ctx, user, latch.LinkRecovery, latch.MailRecovery)
	})
}
