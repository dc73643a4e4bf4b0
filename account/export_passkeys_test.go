package account

import (
	"context"

	"github.com/latchid/latch"
)

// VerifyPasskeyAssertion exposes the passkey check CompleteMFA and StepUp
// call, to the tests of package account_test.
func (s *Service) VerifyPasskeyAssertion(ctx context.Context, user latch.User, ceremony string, response []byte) (latch.Factor, error) {
	return s.verifyPasskeyAssertion(ctx, user, ceremony, response)
}
