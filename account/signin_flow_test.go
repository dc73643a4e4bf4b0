package account_test

import (
	"testing"
	"time"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

// TestSignInFlowExpiresOnTheServiceClock: a browser sign-in flow started
// now is live until SignInFlowTTL (10 minutes) has passed on the service's
// clock, and dead a moment later; a flow without a deadline is dead.
func TestSignInFlowExpiresOnTheServiceClock(t *testing.T) {
	if account.SignInFlowTTL != 10*time.Minute {
		t.Fatalf("SignInFlowTTL = %v, want 10m", account.SignInFlowTTL)
	}
	h := testenv.NewHarness(t, testenv.OpenSQLite(t))
	deadline := h.Accounts.FlowDeadline()
	if want := h.Clock.Now().Add(10 * time.Minute); !deadline.Equal(want) {
		t.Fatalf("FlowDeadline = %v, want %v (the injected clock + 10m)", deadline, want)
	}
	if !h.Accounts.FlowLive(deadline) {
		t.Error("a flow just started is dead")
	}
	h.Clock.Advance(10 * time.Minute)
	if !h.Accounts.FlowLive(deadline) {
		t.Error("a flow is dead at its deadline")
	}
	h.Clock.Advance(time.Second)
	if h.Accounts.FlowLive(deadline) {
		t.Error("a flow is live a second after its deadline")
	}
	if h.Accounts.FlowLive(time.Time{}) {
		t.Error("a flow without a deadline is live")
	}
}
