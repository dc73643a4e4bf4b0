package storetest

import (
	"strings"
	"testing"

	"github.com/latchid/latch"
)

// The conformance tests of a tenant's second-factor policy.

func testTenantFactorPolicy(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Factored")
	other := createTenant(t, st, "Other")
	_, err := st.TenantFactorPolicy(ctx, tn.ID)
	wantNotFound(t, err)

	// Repeats and any order come back once each, in the canonical order.
	p := latch.FactorPolicy{Required: true, Allowed: []latch.FactorKind{latch.FactorRecoveryCode, latch.FactorWebAuthn, latch.FactorTOTP, latch.FactorTOTP}}
	ev := latch.AuditEvent{TenantID: tn.ID, At: at(1), Action: latch.AuditFactorPolicyUpdate, ActorType: latch.ActorClient, ActorID: "cli_x"}
	if err := st.SetTenantFactorPolicy(ctx, strings.ToUpper(tn.ID), p, at(1), &ev); err != nil {
		t.Fatal(err)
	}
	got, err := st.TenantFactorPolicy(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "TenantFactorPolicy", got, latch.FactorPolicy{Required: true, Allowed: latch.FactorPolicyKinds})
	if n := auditCount(t, st, latch.AuditFactorPolicyUpdate, ""); n != 1 {
		t.Errorf("factor_policy.update events = %d, want 1", n)
	}
	// Set again: replaced whole. Another tenant's is not touched.
	p2 := latch.FactorPolicy{Allowed: []latch.FactorKind{latch.FactorWebAuthn}}
	if err := st.SetTenantFactorPolicy(ctx, tn.ID, p2, at(2), nil); err != nil {
		t.Fatal(err)
	}
	got, err = st.TenantFactorPolicy(ctx, strings.ToUpper(tn.ID))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "TenantFactorPolicy after a second set", got, p2)
	_, err = st.TenantFactorPolicy(ctx, other.ID)
	wantNotFound(t, err)

	// Refused policies write nothing, not even their audit event.
	for name, bad := range map[string]latch.FactorPolicy{
		"nothing allowed":         {Required: true},
		"only recovery codes":     {Allowed: []latch.FactorKind{latch.FactorRecoveryCode}},
		"an unknown kind":         {Allowed: []latch.FactorKind{latch.FactorTOTP, "sms"}},
		"an empty kind":           {Allowed: []latch.FactorKind{latch.FactorTOTP, ""}},
		"a kind in another case":  {Allowed: []latch.FactorKind{"TOTP"}},
		"recovery codes and junk": {Allowed: []latch.FactorKind{latch.FactorRecoveryCode, "totp,webauthn"}},
	} {
		err := st.SetTenantFactorPolicy(ctx, tn.ID, bad, at(3), &latch.AuditEvent{TenantID: tn.ID, Action: latch.AuditFactorPolicyUpdate, ActorType: latch.ActorClient, ActorID: "cli_x"})
		if !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
	got, _ = st.TenantFactorPolicy(ctx, tn.ID)
	equal(t, "TenantFactorPolicy after refusals", got, p2)
	if n := auditCount(t, st, latch.AuditFactorPolicyUpdate, ""); n != 1 {
		t.Errorf("factor_policy.update events after refusals = %d, want 1", n)
	}
	for _, id := range []string{newID(t), "not-a-uuid", ""} {
		wantNotFound(t, st.SetTenantFactorPolicy(ctx, id, p2, at(3), nil))
		_, err := st.TenantFactorPolicy(ctx, id)
		wantNotFound(t, err)
	}
}
