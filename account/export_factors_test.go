package account

import (
	"context"

	"github.com/latchid/latch"
)

// VerifyTOTP and UseRecoveryCode expose the second-factor checks the
// sign-in flow will call, to the tests of package account_test.
func (s *Service) VerifyTOTP(ctx context.Context, user latch.User, code string) error {
	return s.verifyTOTP(ctx, user, code)
}

func (s *Service) UseRecoveryCode(ctx context.Context, user latch.User, code string) error {
	return s.useRecoveryCode(ctx, user, code)
}
