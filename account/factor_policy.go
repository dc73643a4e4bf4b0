package account

// A tenant's second-factor policy (issue 16): "second factor required"
// and "allowed factors".
//
// For the sign-in and passkey code: call
//
//	pol, err := s.factorPolicy(ctx, user.TenantID)
//
// for the policy in force (the tenant's, or DefaultFactorPolicy if it has
// none; an error only when the store fails). pol.Required with no
// confirmed factor allowed by pol means the sign-in answers
// mfa_enrolment_required; pol.Allows(kind) says whether a factor kind may
// be enrolled or used (latch.FactorRecoveryCode for recovery codes). To
// refuse the enrolment of a kind, call s.factorAllowed(ctx, tenantID,
// kind): nil, or Forbidden factor_not_allowed with a message for people.

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/latchid/latch"
)

// CodeFactorNotAllowed: the tenant's policy does not allow this kind of
// second factor.
const CodeFactorNotAllowed = "factor_not_allowed"

// DefaultFactorPolicy is the policy of a tenant that has not set one: no
// second factor required, every kind allowed.
func DefaultFactorPolicy() latch.FactorPolicy {
	return latch.FactorPolicy{Allowed: slices.Clone(latch.FactorPolicyKinds)}
}

// factorPolicy returns the tenant's second-factor policy, or the default.
func (s *Service) factorPolicy(ctx context.Context, tenantID string) (latch.FactorPolicy, error) {
	if tenantID == "" {
		tenantID = latch.DefaultTenantID
	}
	p, err := s.store.TenantFactorPolicy(ctx, tenantID)
	if latch.IsKind(err, latch.KindNotFound) {
		return DefaultFactorPolicy(), nil
	}
	return p, err
}

// factorKindNames are the kinds as people read them.
var factorKindNames = map[latch.FactorKind]string{
	latch.FactorTOTP:         "authenticator apps (TOTP)",
	latch.FactorWebAuthn:     "passkeys",
	latch.FactorRecoveryCode: "recovery codes",
}

// factorAllowed refuses kind if the tenant's policy does not allow it.
func (s *Service) factorAllowed(ctx context.Context, tenantID string, kind latch.FactorKind) error {
	p, err := s.factorPolicy(ctx, tenantID)
	if err != nil {
		return err
	}
	if p.Allows(kind) {
		return nil
	}
	return &latch.Error{Kind: latch.KindForbidden, Code: CodeFactorNotAllowed,
		Message: "Your organisation does not allow " + factorKindNames[kind] + " as a second factor."}
}

// FactorPolicy returns the second-factor policy of the admin's tenant.
func (s *Service) FactorPolicy(ctx context.Context, a Admin) (latch.FactorPolicy, error) {
	if err := a.Authorize(OpGetFactorPolicy); err != nil {
		return latch.FactorPolicy{}, err
	}
	return s.factorPolicy(ctx, a.tenant())
}

// FactorPolicyChange is an administrator's change of the factor policy;
// nil fields stay as they are.
type FactorPolicyChange struct {
	Required *bool
	// Allowed replaces the allowed kinds: of "totp", "webauthn" and
	// "recovery_code", with at least one of the first two.
	Allowed *[]string
}

// SetFactorPolicy changes the second-factor policy of the admin's tenant
// and returns the policy now in force. Making a factor required does not
// end any session: each account without a factor is made to enrol at its
// next sign-in. Factors of a kind no longer allowed stay stored (an
// administrator may allow the kind again) but are not offered.
func (s *Service) SetFactorPolicy(ctx context.Context, a Admin, ch FactorPolicyChange) (latch.FactorPolicy, error) {
	if err := a.Authorize(OpSetFactorPolicy); err != nil {
		return latch.FactorPolicy{}, err
	}
	tenantID := a.tenant()
	p, err := s.factorPolicy(ctx, tenantID)
	if err != nil {
		return latch.FactorPolicy{}, err
	}
	if ch.Required != nil {
		p.Required = *ch.Required
	}
	if ch.Allowed != nil {
		allowed, err := allowedKinds(*ch.Allowed)
		if err != nil {
			return latch.FactorPolicy{}, err
		}
		p.Allowed = allowed
	}
	ev := s.auditEvent(ctx, a, latch.AuditFactorPolicyUpdate, tenantID, "")
	kinds := make([]string, len(p.Allowed))
	for i, k := range p.Allowed {
		kinds[i] = string(k)
	}
	ev.Details = map[string]string{"required": strconv.FormatBool(p.Required), "allowed": strings.Join(kinds, ",")}
	if err := s.store.SetTenantFactorPolicy(ctx, tenantID, p, s.now(), &ev); err != nil {
		return latch.FactorPolicy{}, err
	}
	return p, nil
}

// allowedKinds checks the kinds an administrator lists: known ones
// (case and spaces do not matter), at least one of TOTP and WebAuthn. They
// come back in latch.FactorPolicyKinds' order, without repeats.
func allowedKinds(names []string) ([]latch.FactorKind, error) {
	seen := map[latch.FactorKind]bool{}
	for _, n := range names {
		k := latch.FactorKind(strings.ToLower(strings.TrimSpace(n)))
		if !slices.Contains(latch.FactorPolicyKinds, k) {
			return nil, latch.FieldError("allowed", latch.CodeInvalidRequest, "allowed may only list totp, webauthn and recovery_code")
		}
		seen[k] = true
	}
	if !seen[latch.FactorTOTP] && !seen[latch.FactorWebAuthn] {
		return nil, latch.FieldError("allowed", latch.CodeInvalidRequest, "allowed must list totp or webauthn: recovery codes are only a backup")
	}
	var out []latch.FactorKind
	for _, k := range latch.FactorPolicyKinds {
		if seen[k] {
			out = append(out, k)
		}
	}
	return out, nil
}
