package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

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

func tenantsCreate(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("tenants create")
	name := fs.String("name", "", "the tenant's name (required, unique)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" {
		return cliError{"tenants create: --name is required"}
	}
	a, err := newApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.Close()
	t, err := a.accounts.CreateTenant(ctx, account.Operator(""), *name)
	if err != nil {
		return describe(err)
	}
	return json.NewEncoder(stdout).Encode(map[string]any{"id": t.ID, "number": t.Number, "name": t.Name})
}

func tenantsList(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	if err := parseFlags(newFlags("tenants list"), args); err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.Close()
	tenants, err := a.accounts.Tenants(ctx)
	if err != nil {
		return describe(err)
	}
	enc := json.NewEncoder(stdout)
	for _, t := range tenants {
		if err := enc.Encode(map[string]any{"id": t.ID, "number": t.Number, "name": t.Name, "created_at": t.CreatedAt}); err != nil {
			return err
		}
	}
	return nil
}

func clientsCreate(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("clients create")
	name := fs.String("name", "", "a name for the client (required)")
	scope := fs.String("scope", "", `one of "Authentication Only", "Read Users", "Manage Users", "Read All", "Manage All" (required)`)
	tenant := fs.String("tenant", "", "the tenant's id (default: the default tenant)")
	super := fs.Bool("super", false, "allow the client to act on administrators")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *name == "" || *scope == "" {
		return cliError{"clients create: --name and --scope are required"}
	}
	if _, ok := latch.ParseScope(*scope); !ok {
		return cliError{fmt.Sprintf("clients create: unknown --scope %q (want Authentication Only, Read Users, Manage Users, Read All or Manage All)", *scope)}
	}
	a, err := newApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.Close()
	nc, err := a.accounts.CreateClient(ctx, account.Operator(""), account.CreateClientInput{Name: *name, Scope: *scope, TenantID: *tenant, Super: *super})
	if err != nil {
		return describe(err)
	}
	// The secret is shown this once; only its hash is kept.
	return json.NewEncoder(stdout).Encode(map[string]string{"client_id": nc.Client.ID, "client_secret": nc.Secret})
}

func clientsList(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("clients list")
	tenant := fs.String("tenant", "", "only this tenant's clients")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.Close()
	clients, err := a.accounts.Clients(ctx, account.Operator(*tenant))
	if err != nil {
		return describe(err)
	}
	enc := json.NewEncoder(stdout)
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

func clientsRevoke(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("clients revoke")
	id := fs.String("id", "", "the client_id to revoke (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *id == "" {
		return cliError{"clients revoke: --id is required"}
	}
	a, err := newApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.accounts.RevokeClient(ctx, account.Operator(""), *id); err != nil {
		return describe(err)
	}
	return json.NewEncoder(stdout).Encode(map[string]any{"client_id": *id, "revoked": true})
}

func policyShow(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("policy show")
	tenant := fs.String("tenant", "", "the tenant's id (default: the default tenant)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	a, err := newApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := a.accounts.Policy(ctx, account.Operator(*tenant))
	if err != nil {
		return describe(err)
	}
	return printJSON(stdout, policyJSON(p))
}

func policyJSON(p latch.PasswordPolicy) latch.PasswordPolicy {
	if p.Require == nil {
		p.Require = []string{}
	}
	return p
}

func policySet(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("policy set")
	tenant := fs.String("tenant", "", "the tenant's id (default: the default tenant)")
	minLength := fs.Int("min-length", 0, "minimum length in characters")
	maxLength := fs.Int("max-length", 0, "maximum length in characters")
	require := fs.String("require", "", `character classes required, comma-separated: lower,upper,digit,special ("" for none)`)
	specials := fs.String("specials", "", "the characters that count as special")
	history := fs.Int("history", 0, "refuse the last N passwords (0: off)")
	refuseCommon := fs.Bool("refuse-common", true, "refuse common passwords")
	refuseEmail := fs.Bool("refuse-email", true, "refuse passwords built from the email")
	minScore := fs.Int("min-score", 0, "minimum zxcvbn score 0-4 (0: off)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var ch account.PolicyChange
	fs.Visit(func(f *flag.Flag) {
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
				return cliError{fmt.Sprintf("policy set: unknown class %q in --require (want lower, upper, digit, special)", c)}
			}
		}
	}
	a, err := newApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.Close()
	p, err := a.accounts.SetPolicy(ctx, account.Operator(*tenant), ch)
	if err != nil {
		return describe(err)
	}
	return printJSON(stdout, policyJSON(p))
}

// auditTail prints the last events, oldest first, one JSON line each; with
// --follow it then prints new events as they come.
func auditTail(ctx context.Context, cfg config, args []string, stdout io.Writer) error {
	fs := newFlags("audit tail")
	tenant := fs.String("tenant", "", "only this tenant's events")
	action := fs.String("action", "", "only events with this action (e.g. password.reset)")
	n := fs.Int("n", 20, "how many past events to print")
	follow := fs.Bool("follow", false, "keep printing new events")
	interval := fs.Duration("interval", time.Second, "how often --follow looks for new events")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 0 || *n > 1000 {
		return cliError{"audit tail: -n must be between 0 and 1000"}
	}
	a, err := newApp(ctx, cfg, cfg.logger())
	if err != nil {
		return err
	}
	defer a.Close()
	op := account.Operator(*tenant)
	enc := json.NewEncoder(stdout)
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
	events, err := a.accounts.AuditEvents(ctx, op, latch.AuditQuery{Action: *action, Limit: max(*n, 1)})
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
		case <-ctx.Done():
			return nil
		case <-time.After(*interval):
		}
		// Newest first: page back to followLag below the newest seen.
		var fresh []latch.AuditEvent
		floor := newest - followLag
		before := int64(0)
		for {
			events, err := a.accounts.AuditEvents(ctx, op, latch.AuditQuery{Action: *action, BeforeID: before, Limit: 500})
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
