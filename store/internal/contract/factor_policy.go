package contract

import (
	"slices"
	"strings"

	"github.com/latchid/latch"
)

// FactorPolicy checks a factor policy before it is stored and returns
// its allowed kinds as the column both backends keep: the kinds in
// latch.FactorPolicyKinds' order, comma-separated.
func FactorPolicy(p latch.FactorPolicy) (string, error) {
	for _, k := range p.Allowed {
		if !slices.Contains(latch.FactorPolicyKinds, k) {
			return "", Invalid("allowed", "unknown factor kind")
		}
	}
	if !slices.Contains(p.Allowed, latch.FactorTOTP) && !slices.Contains(p.Allowed, latch.FactorWebAuthn) {
		return "", Invalid("allowed", "a factor policy allows TOTP or WebAuthn (recovery codes are only a backup)")
	}
	var kinds []string
	for _, k := range latch.FactorPolicyKinds {
		if slices.Contains(p.Allowed, k) {
			kinds = append(kinds, string(k))
		}
	}
	return strings.Join(kinds, ","), nil
}

// DecodeFactorPolicy is the stored form back.
func DecodeFactorPolicy(required bool, allowed string) latch.FactorPolicy {
	p := latch.FactorPolicy{Required: required}
	for k := range strings.SplitSeq(allowed, ",") {
		if k != "" {
			p.Allowed = append(p.Allowed, latch.FactorKind(k))
		}
	}
	return p
}

// DataKey checks a data key before it is stored.
func DataKey(k latch.DataKey) error {
	if k.ID == "" || !Text(k.ID) {
		return Invalid("id", "the data key id is empty or not text")
	}
	if len(k.Key) == 0 {
		return Invalid("key", "the data key is empty")
	}
	return nil
}
