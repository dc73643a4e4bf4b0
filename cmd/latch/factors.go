package main

import (
	"encoding/json"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// Second factors (issue 16) for the operator: a user's reset, a tenant's
// factor policy.

func usersResetFactorsCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reset-factors --email E | --id ID | --number N",
		Short: "remove every second factor and recovery code of an account",
		Long: `Remove every second factor (authenticator apps, passkeys) and every recovery
code of an account, for a person who lost their authenticator and their codes.
The person is told by email; the audit log records it. Sessions stay; the
account enrols a new factor at its next sign-in if its tenant requires one.`,
		Args: noArgs,
	}
	who := addUserSelector(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := who.check(cmd); err != nil {
			return err
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		u, err := who.find(inv, a)
		if err != nil {
			return err
		}
		if err := a.accounts.AdminResetFactors(inv.ctx, account.Operator(""), account.UserRef{ID: u.ID}); err != nil {
			return describe(err)
		}
		return json.NewEncoder(inv.stdout).Encode(map[string]any{"id": u.ID, "number": u.Number, "email": u.Email, "factors_reset": true})
	}
	return cmd
}

// factorPolicyJSON is the policy as the native API shows it.
func factorPolicyJSON(p latch.FactorPolicy) map[string]any {
	allowed := []string{}
	for _, k := range p.Allowed {
		allowed = append(allowed, string(k))
	}
	return map[string]any{"required": p.Required, "allowed": allowed}
}

func policyShowFactorsCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show-factors",
		Short: "show a tenant's second-factor policy as JSON",
		Args:  noArgs,
	}
	tenant := cmd.Flags().String("tenant", "", "the tenant's id (default: the default tenant)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		p, err := a.accounts.FactorPolicy(inv.ctx, account.Operator(*tenant))
		if err != nil {
			return describe(err)
		}
		return printJSON(inv.stdout, factorPolicyJSON(p))
	}
	return cmd
}

func policySetFactorsCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "set-factors",
		Short:   "change a tenant's second-factor policy; flags not given stay as they are",
		Example: `  latch policy set-factors --tenant 0199... --required --allowed totp,webauthn,recovery_code`,
		Args:    noArgs,
	}
	fs := cmd.Flags()
	tenant := fs.String("tenant", "", "the tenant's id (default: the default tenant)")
	required := fs.Bool("required", false, "every account must have a second factor (enrolment is forced at the next sign-in)")
	allowed := fs.String("allowed", "", "the factors allowed, comma-separated: totp,webauthn,recovery_code (at least totp or webauthn)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var ch account.FactorPolicyChange
		if fs.Changed("required") {
			ch.Required = required
		}
		if fs.Changed("allowed") {
			kinds := []string{}
			for k := range strings.SplitSeq(*allowed, ",") {
				if k = strings.TrimSpace(k); k != "" {
					kinds = append(kinds, k)
				}
			}
			ch.Allowed = &kinds
		}
		if ch == (account.FactorPolicyChange{}) {
			return usageError(cmd, "nothing to change: give --required and/or --allowed")
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		p, err := a.accounts.SetFactorPolicy(inv.ctx, account.Operator(*tenant), ch)
		if err != nil {
			return describe(err)
		}
		return printJSON(inv.stdout, factorPolicyJSON(p))
	}
	return cmd
}
