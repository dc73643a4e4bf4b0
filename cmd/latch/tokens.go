package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// scopeList collects a repeatable --scope flag; one value may also hold
// several scopes separated by spaces.
type scopeList []string

func (s *scopeList) String() string { return strings.Join(*s, " ") }
func (s *scopeList) Set(v string) error {
	for _, f := range strings.Fields(v) {
		*s = append(*s, f)
	}
	return nil
}
func (s *scopeList) Type() string { return "scope" }

func tokensIssueCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "issue --email E",
		Short: "issue an access token for a user, without a sign-in",
		Long: `Issue an access token for a user and print it alone on the last line of stdout.

session tokens are what a sign-in hands out (scopes user:read user:update,
refreshable); personal tokens carry the scopes you give; project tokens are
refused by user endpoints (403).

The token's issuer is LATCH_PUBLIC_URL (default http://LATCH_ADDR), as for
the tokens the service signs: a service with another LATCH_PUBLIC_URL
refuses it (at log level debug it says why). Run this command with the
service's variables.`,
		Example: `  TOKEN=$(latch tokens issue --email ada@example.com | tail -n1)
  latch tokens issue --email ada@example.com --kind personal --scope user:read --ttl 24h`,
		Args: noArgs,
	}
	f := cmd.Flags()
	email := f.String("email", "", "the user's email (required)")
	kind := f.String("kind", "session", "session, personal or project")
	var scopes scopeList
	f.Var(&scopes, "scope", "a scope to grant (repeatable)")
	ttl := f.Duration("ttl", 0, "lifetime (default: the session TTL, or 30 days for personal and project tokens)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *email == "" {
			return usageError(cmd, "--email is required")
		}
		k, ok := latch.ParseTokenKind(*kind)
		if !ok {
			return usageError(cmd, "unknown --kind %q (want session, personal or project)", *kind)
		}
		if *ttl < 0 {
			return usageError(cmd, "--ttl must be positive")
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		pair, err := a.accounts.IssueToken(inv.ctx, account.IssueTokenInput{Email: *email, Kind: k, Scopes: scopes, TTL: *ttl})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(inv.stderr, "latch: issuer %s (LATCH_PUBLIC_URL): a Latch serving with another LATCH_PUBLIC_URL refuses this token\n", a.cfg.PublicURL)
		_, err = fmt.Fprintln(inv.stdout, pair.AccessToken)
		return err
	}
	return cmd
}
