package account

import "time"

// SignInFlowTTL is how long a browser sign-in may take from its start to
// its return: a provider sign-in (the sealed flow cookie of the native
// API) and the PKCE state Latch's own sign-in page keeps for
// /login/complete. Long enough to type a password and pass a second
// factor at the provider; short enough that a flow cookie left in a shared
// browser is useless soon after.
const SignInFlowTTL = 10 * time.Minute

// FlowDeadline is the time until which a sign-in flow started now may
// finish. The surfaces seal it into the flow's cookie and hand it back to
// FlowLive at the return, so expiry follows the service's clock (a test's
// injected one included), not each surface's own.
func (s *Service) FlowDeadline() time.Time {
	return s.now().Add(SignInFlowTTL)
}

// FlowLive reports whether a flow with this deadline may still finish.
// A zero deadline (a flow that never had one) is dead.
func (s *Service) FlowLive(deadline time.Time) bool {
	return !s.now().After(deadline)
}
