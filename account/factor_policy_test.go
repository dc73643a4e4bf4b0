package account_test

import (
	"slices"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
)

func tenantAdmin(t *testing.T, h *testenv.Harness, scope latch.Scope, tenantID string) account.Admin {
	t.Helper()
	_, _, tok := h.APIClient(t, scope, tenantID, false)
	a, err := h.Accounts.AuthenticateClient(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The factor policy: the default until set, set per tenant (audited,
// validated, nothing stored when refused), read back, and enforced by
// EnrolTOTP and RegenerateRecoveryCodes.
func TestFactorPolicy(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		admin := tenantAdmin(t, h, latch.ScopeManageAll, latch.DefaultTenantID)
		got, err := h.Accounts.FactorPolicy(ctx, admin)
		if err != nil || got.Required || !slices.Equal(got.Allowed, latch.FactorPolicyKinds) {
			t.Fatalf("the default policy = %+v, %v", got, err)
		}
		other, err := h.Accounts.CreateTenant(ctx, account.Operator(""), "other")
		if err != nil {
			t.Fatal(err)
		}

		yes := true
		webauthnOnly := []string{" WebAuthn ", "webauthn"}
		set, err := h.Accounts.SetFactorPolicy(ctx, admin, account.FactorPolicyChange{Required: &yes, Allowed: &webauthnOnly})
		want := latch.FactorPolicy{Required: true, Allowed: []latch.FactorKind{latch.FactorWebAuthn}}
		if err != nil || set.Required != want.Required || !slices.Equal(set.Allowed, want.Allowed) {
			t.Fatalf("SetFactorPolicy = %+v, %v; want %+v", set, err, want)
		}
		if got, _ := h.Accounts.FactorPolicy(ctx, admin); !got.Required || !slices.Equal(got.Allowed, want.Allowed) {
			t.Errorf("FactorPolicy after the set = %+v", got)
		}
		evs, err := h.Store.AuditEvents(ctx, latch.AuditQuery{Action: latch.AuditFactorPolicyUpdate})
		if err != nil || len(evs) != 1 || evs[0].TenantID != latch.DefaultTenantID || evs[0].Details["required"] != "true" || evs[0].Details["allowed"] != "webauthn" {
			t.Errorf("audit of the set = %+v, %v", evs, err)
		}
		// Another tenant keeps the default.
		if got, _ := h.Accounts.FactorPolicy(ctx, tenantAdmin(t, h, latch.ScopeReadAll, other.ID)); got.Required || len(got.Allowed) != 3 {
			t.Errorf("another tenant's policy = %+v", got)
		}

		// Refusals: a clear field error, nothing stored or audited.
		for name, allowed := range map[string][]string{
			"nothing":             {},
			"only recovery codes": {"recovery_code"},
			"an unknown kind":     {"totp", "sms"},
		} {
			_, err := h.Accounts.SetFactorPolicy(ctx, admin, account.FactorPolicyChange{Allowed: &allowed})
			le, ok := err.(*latch.Error)
			if !ok || le.Kind != latch.KindInvalid || le.Field != "allowed" {
				t.Errorf("%s: %v, want Invalid on allowed", name, err)
			}
		}
		if _, err := h.Accounts.SetFactorPolicy(ctx, tenantAdmin(t, h, latch.ScopeReadAll, latch.DefaultTenantID), account.FactorPolicyChange{Required: &yes}); !latch.IsKind(err, latch.KindForbidden) {
			t.Errorf("a read:all client setting the policy: %v", err)
		}
		if n := auditCount(t, h, latch.AuditFactorPolicyUpdate, ""); n != 1 {
			t.Errorf("factor_policy.update events = %d, want 1", n)
		}

		// Enforced: TOTP and recovery codes are not allowed now.
		p := principal(t, h, "policy-user@example.com")
		_, err = h.Accounts.EnrolTOTP(ctx, p, "Phone")
		wantMFAError(t, "EnrolTOTP (not allowed)", err, latch.KindForbidden, account.CodeFactorNotAllowed)
		_, err = h.Accounts.RegenerateRecoveryCodes(ctx, p)
		wantMFAError(t, "RegenerateRecoveryCodes (not allowed)", err, latch.KindForbidden, account.CodeFactorNotAllowed)
		if fs, _ := h.Store.FactorsByUser(ctx, p.User.ID); len(fs) != 0 {
			t.Errorf("a refused enrolment stored %+v", fs)
		}
		totpToo := []string{"totp", "webauthn"}
		if _, err := h.Accounts.SetFactorPolicy(ctx, admin, account.FactorPolicyChange{Allowed: &totpToo}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.EnrolTOTP(ctx, p, "Phone"); err != nil {
			t.Errorf("EnrolTOTP once allowed: %v", err)
		}
		if got, _ := h.Accounts.FactorPolicy(ctx, admin); !got.Required {
			t.Error("changing only allowed changed required")
		}
	})
}

// AdminResetFactors: every factor and code of the user goes, audited and
// mailed; an admin of another tenant, a client without manage:all, or an
// unknown user changes nothing.
func TestAdminResetFactors(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "reset-me@example.com")
		e := enrolConfirmed(t, h, p)
		codes, err := h.Accounts.RegenerateRecoveryCodes(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		keep := principal(t, h, "keep-mine@example.com")
		enrolConfirmed(t, h, keep)
		other, err := h.Accounts.CreateTenant(ctx, account.Operator(""), "other")
		if err != nil {
			t.Fatal(err)
		}
		ref := account.UserRef{ID: p.User.ID}
		for name, c := range map[string]struct {
			a    account.Admin
			kind latch.Kind
		}{
			"another tenant's admin": {tenantAdmin(t, h, latch.ScopeManageAll, other.ID), latch.KindForbidden},
			"a manage:users client":  {tenantAdmin(t, h, latch.ScopeManageUsers, latch.DefaultTenantID), latch.KindForbidden},
		} {
			if err := h.Accounts.AdminResetFactors(ctx, c.a, ref); !latch.IsKind(err, c.kind) {
				t.Errorf("%s: %v, want %s", name, err, c.kind)
			}
		}
		if err := h.Accounts.AdminResetFactors(ctx, account.Operator(""), account.UserRef{ID: "0190a0a0-0000-7000-8000-000000000000"}); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("an unknown user: %v", err)
		}
		if fs, _ := h.Store.FactorsByUser(ctx, p.User.ID); len(fs) != 1 {
			t.Fatalf("refused resets removed factors: %+v", fs)
		}

		admin := tenantAdmin(t, h, latch.ScopeManageAll, latch.DefaultTenantID)
		if err := h.Accounts.AdminResetFactors(ctx, admin, ref); err != nil {
			t.Fatalf("AdminResetFactors: %v", err)
		}
		if fs, _ := h.Store.FactorsByUser(ctx, p.User.ID); len(fs) != 0 {
			t.Errorf("factors after the reset: %+v", fs)
		}
		if cs, _ := h.Store.RecoveryCodes(ctx, p.User.ID); len(cs) != 0 {
			t.Errorf("recovery codes after the reset: %d", len(cs))
		}
		if fs, _ := h.Store.FactorsByUser(ctx, keep.User.ID); len(fs) != 1 {
			t.Errorf("another user's factors after the reset: %+v", fs)
		}
		h.Clock.Advance(31e9)
		if err := h.Accounts.VerifyTOTP(ctx, p.User, codeAt(t, e.Secret, h.Clock.Now())); err == nil {
			t.Error("the reset factor's code still verifies")
		}
		if err := h.Accounts.UseRecoveryCode(ctx, p.User, codes[0]); err == nil {
			t.Error("a reset recovery code still works")
		}
		evs, err := h.Store.AuditEvents(ctx, latch.AuditQuery{Action: latch.AuditFactorsReset, TargetID: p.User.ID})
		if err != nil || len(evs) != 1 || evs[0].ActorType != latch.ActorClient || evs[0].TenantID != latch.DefaultTenantID {
			t.Errorf("audit of the reset = %+v, %v", evs, err)
		}
		mail, err := h.Store.MailMessages(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		notices := 0
		for _, m := range mail {
			if m.Template == latch.MailFactorsReset {
				notices++
				data, err := account.OpenMailData(h.Keys, m.Data)
				if m.To != "reset-me@example.com" || err != nil || data["login_url"] == "" {
					t.Errorf("notice to %s, data %v, %v", m.To, data, err)
				}
			}
		}
		if notices != 1 {
			t.Errorf("%d reset notices queued, want 1", notices)
		}
	})
}
