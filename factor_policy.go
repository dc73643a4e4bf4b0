package latch

// FactorPolicy is a tenant's policy on second factors (issue 16).
type FactorPolicy struct {
	// Required: every account of the tenant must have a second factor;
	// an account without one is made to enrol at its next sign-in.
	Required bool
	// Allowed are the kinds of factor the tenant's accounts may enrol and
	// use, in FactorPolicyKinds' order: always at least one of TOTP and
	// WebAuthn (recovery codes are only a backup, never the one factor).
	Allowed []FactorKind
}

// FactorRecoveryCode names recovery codes in a FactorPolicy. It is no
// kind of Factor row: recovery codes are kept apart (RecoveryCode).
const FactorRecoveryCode FactorKind = "recovery_code"

// FactorPolicyKinds are the kinds a FactorPolicy may allow, in the order
// it lists them.
var FactorPolicyKinds = []FactorKind{FactorTOTP, FactorWebAuthn, FactorRecoveryCode}

// Allows reports whether the policy allows kind.
func (p FactorPolicy) Allows(kind FactorKind) bool {
	for _, k := range p.Allowed {
		if k == kind {
			return true
		}
	}
	return false
}

// AuditFactorPolicyUpdate: an administrator changed the tenant's factor
// policy.
const AuditFactorPolicyUpdate = "factor_policy.update"
