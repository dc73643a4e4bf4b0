package main

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// The operator's administration commands: tenants, API clients, password
// policies and the audit log. Output is JSON, one document (or one line
// per record), for scripts.

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func tenantsCreateCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create --name N",
		Short: "create a tenant (seed 001's account)",
		Args:  noArgs,
	}
	fs := cmd.Flags()
	name := fs.String("name", "", "the tenant's name (required, unique)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *name == "" {
			return usageError(cmd, "--name is required")
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		t, err := a.accounts.CreateTenant(inv.ctx, account.Operator(""), *name)
		if err != nil {
			return describe(err)
		}
		return json.NewEncoder(inv.stdout).Encode(map[string]any{"id": t.ID, "number": t.Number, "name": t.Name})
	}
	return cmd
}

func tenantsListCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list the tenants, one JSON line each",
		Args:  noArgs,
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		tenants, err := a.accounts.Tenants(inv.ctx)
		if err != nil {
			return describe(err)
		}
		enc := json.NewEncoder(inv.stdout)
		for _, t := range tenants {
			if err := enc.Encode(map[string]any{"id": t.ID, "number": t.Number, "name": t.Name, "created_at": t.CreatedAt}); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}

func clientsCreateCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create --name N --scope SCOPE",
		Short: "create an API client; its secret is shown once",
		Long: `Create an API client of a tenant and print its client_id and client_secret
as JSON. The secret is shown this once; only its hash is kept.

Scopes, from weakest: "Authentication Only", "Read Users", "Manage Users",
"Read All", "Manage All". Only a --super client may act on administrators.`,
		Example: `  latch clients create --name ops --scope "Manage All" --tenant 0199...`,
		Args:    noArgs,
	}
	fs := cmd.Flags()
	name := fs.String("name", "", "a name for the client (required)")
	scope := fs.String("scope", "", `one of "Authentication Only", "Read Users", "Manage Users", "Read All", "Manage All" (required)`)
	tenant := fs.String("tenant", "", "the tenant's id (default: the default tenant)")
	super := fs.Bool("super", false, "allow the client to act on administrators")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *name == "" || *scope == "" {
			return usageError(cmd, "--name and --scope are required")
		}
		if _, ok := latch.ParseScope(*scope); !ok {
			return usageError(cmd, "unknown --scope %q (want Authentication Only, Read Users, Manage Users, Read All or Manage All)", *scope)
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		nc, err := a.accounts.CreateClient(inv.ctx, account.Operator(""), account.CreateClientInput{Name: *name, Scope: *scope, TenantID: *tenant, Super: *super})
		if err != nil {
			return describe(err)
		}
		// The secret is shown this once; only its hash is kept.
		return json.NewEncoder(inv.stdout).Encode(map[string]string{"client_id": nc.Client.ID, "client_secret": nc.Secret})
	}
	return cmd
}

func clientsListCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list API clients, one JSON line each (never a secret)",
		Args:  noArgs,
	}
	fs := cmd.Flags()
	tenant := fs.String("tenant", "", "only this tenant's clients")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		clients, err := a.accounts.Clients(inv.ctx, account.Operator(*tenant))
		if err != nil {
			return describe(err)
		}
		enc := json.NewEncoder(inv.stdout)
		for _, c := range clients {
			out := map[string]any{"client_id": c.ID, "name": c.Name, "scope": c.Scope, "tenant_id": c.TenantID, "super": c.Super, "created_at": c.CreatedAt}
			if c.RevokedAt != nil {
				out["revoked_at"] = *c.RevokedAt
			}
			if err := enc.Encode(out); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}

func clientsRevokeCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke --id CLIENT_ID",
		Short: "revoke an API client: its tokens stop working at once",
		Args:  noArgs,
	}
	fs := cmd.Flags()
	id := fs.String("id", "", "the client_id to revoke (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *id == "" {
			return usageError(cmd, "--id is required")
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		if err := a.accounts.RevokeClient(inv.ctx, account.Operator(""), *id); err != nil {
			return describe(err)
		}
		return json.NewEncoder(inv.stdout).Encode(map[string]any{"client_id": *id, "revoked": true})
	}
	return cmd
}

func policyShowCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show",
		Short: "show a tenant's password policy as JSON",
		Args:  noArgs,
	}
	fs := cmd.Flags()
	tenant := fs.String("tenant", "", "the tenant's id (default: the default tenant)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		p, err := a.accounts.Policy(inv.ctx, account.Operator(*tenant))
		if err != nil {
			return describe(err)
		}
		return printJSON(inv.stdout, policyJSON(p))
	}
	return cmd
}

func policyJSON(p latch.PasswordPolicy) latch.PasswordPolicy {
	if p.Require == nil {
		p.Require = []string{}
	}
	return p
}

func policySetCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "set",
		Short:   "change a tenant's password policy; flags not given stay as they are",
		Example: `  latch policy set --tenant 0199... --min-length 10 --require upper,lower,digit,special --history 3`,
		Args:    noArgs,
	}
	fs := cmd.Flags()
	tenant := fs.String("tenant", "", "the tenant's id (default: the default tenant)")
	minLength := fs.Int("min-length", 0, "minimum length in characters")
	maxLength := fs.Int("max-length", 0, "maximum length in characters")
	require := fs.String("require", "", `character classes required, comma-separated: lower,upper,digit,special ("" for none)`)
	specials := fs.String("specials", "", "the characters that count as special")
	history := fs.Int("history", 0, "refuse the last N passwords (0: off)")
	refuseCommon := fs.Bool("refuse-common", true, "refuse common passwords")
	refuseEmail := fs.Bool("refuse-email", true, "refuse passwords built from the email")
	minScore := fs.Int("min-score", 0, "minimum zxcvbn score 0-4 (0: off)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var ch account.PolicyChange
		fs.Visit(func(f *pflag.Flag) {
			switch f.Name {
			case "min-length":
				ch.MinLength = minLength
			case "max-length":
				ch.MaxLength = maxLength
			case "require":
				classes := []string{}
				for _, c := range strings.Split(*require, ",") {
					if c = strings.TrimSpace(c); c != "" {
						classes = append(classes, c)
					}
				}
				ch.Require = &classes
			case "specials":
				ch.Specials = specials
			case "history":
				ch.History = history
			case "refuse-common":
				ch.RefuseCommon = refuseCommon
			case "refuse-email":
				ch.RefuseEmail = refuseEmail
			case "min-score":
				ch.MinScore = minScore
			}
		})
		if ch.Require != nil {
			for _, c := range *ch.Require {
				if !slices.Contains([]string{"lower", "upper", "digit", "special"}, c) {
					return usageError(cmd, "unknown class %q in --require (want lower, upper, digit, special)", c)
				}
			}
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		p, err := a.accounts.SetPolicy(inv.ctx, account.Operator(*tenant), ch)
		if err != nil {
			return describe(err)
		}
		return printJSON(inv.stdout, policyJSON(p))
	}
	return cmd
}

// auditTailCommand prints the last events, oldest first, one JSON line each; with
// --follow it then prints new events as they come.
func auditTailCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tail",
		Short: "print the last audit events, oldest first, one JSON line each",
		Long: `Print the last audit events (who did what to whom, when, from where), oldest
first, one JSON line each; with --follow, then print new events as they come.`,
		Example: `  latch audit tail --tenant 0199... --action password.reset -n 100
  latch audit tail --follow`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	tenant := fs.String("tenant", "", "only this tenant's events")
	action := fs.String("action", "", "only events with this action (e.g. password.reset)")
	n := fs.IntP("limit", "n", 20, "how many past events to print (0-1000)")
	follow := fs.Bool("follow", false, "keep printing new events")
	interval := fs.Duration("interval", time.Second, "how often --follow looks for new events")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *n < 0 || *n > 1000 {
			return usageError(cmd, "-n must be between 0 and 1000")
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		op := account.Operator(*tenant)
		enc := json.NewEncoder(inv.stdout)
		print := func(events []latch.AuditEvent) error {
			for i := len(events) - 1; i >= 0; i-- {
				if err := enc.Encode(auditJSON(events[i])); err != nil {
					return err
				}
			}
			return nil
		}
		// The newest event seen, and the ids printed near it: on PostgreSQL
		// ids are taken when a transaction inserts and become visible when it
		// commits, so an event may appear after one with a larger id. Each
		// poll looks back followLag ids below the newest seen and prints what
		// it has not printed yet.
		const followLag = 1000
		var newest int64
		printed := map[int64]bool{}
		events, err := a.accounts.AuditEvents(inv.ctx, op, latch.AuditQuery{Action: *action, Limit: max(*n, 1)})
		if err != nil {
			return describe(err)
		}
		if len(events) > 0 {
			newest = events[0].ID
		}
		for _, e := range events {
			printed[e.ID] = true
		}
		if *n > 0 {
			if err := print(events); err != nil {
				return err
			}
		}
		// Whatever existed at start counts as seen, printed or not (-n).
		start := newest
		for *follow {
			select {
			case <-inv.ctx.Done():
				return nil
			case <-time.After(*interval):
			}
			// Newest first: page back to followLag below the newest seen.
			var fresh []latch.AuditEvent
			floor := newest - followLag
			before := int64(0)
			for {
				events, err := a.accounts.AuditEvents(inv.ctx, op, latch.AuditQuery{Action: *action, BeforeID: before, Limit: 500})
				if err != nil {
					return describe(err)
				}
				for _, e := range events {
					if e.ID > floor && e.ID > start && !printed[e.ID] {
						fresh = append(fresh, e)
					}
				}
				if len(events) < 500 || events[len(events)-1].ID <= floor {
					break
				}
				before = events[len(events)-1].ID
			}
			for _, e := range fresh {
				printed[e.ID] = true
				newest = max(newest, e.ID)
			}
			for id := range printed {
				if id <= newest-followLag {
					delete(printed, id)
				}
			}
			if err := print(fresh); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}

func auditJSON(e latch.AuditEvent) map[string]any {
	out := map[string]any{"id": e.ID, "at": e.At, "action": e.Action, "actor_type": e.ActorType}
	for k, v := range map[string]string{"tenant_id": e.TenantID, "actor_id": e.ActorID, "target_id": e.TargetID, "ip": e.IP} {
		if v != "" {
			out[k] = v
		}
	}
	if len(e.Details) > 0 {
		out["details"] = e.Details
	}
	return out
}
