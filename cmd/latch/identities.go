package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/latchid/latch"
)

// providerInstances is what the configured providers bind identities to.
func providerInstances(cfg config) []latch.ProviderInstance {
	out := make([]latch.ProviderInstance, 0, len(cfg.Providers))
	for _, p := range cfg.Providers {
		out = append(out, p.Instance())
	}
	return out
}

// bindProviders makes sure, before serving, that every provider serves a
// tenant that exists, and that every identity stored before Latch
// recorded issuers belongs to exactly one issuer: it binds those it can
// and refuses to start while any is ambiguous.
func (a *app) bindProviders(ctx context.Context) error {
	instances := providerInstances(a.cfg)
	if err := a.accounts.CheckProviders(ctx, instances); err != nil {
		return fmt.Errorf("providers: %w", err)
	}
	done, err := a.accounts.AttributeLegacyIdentities(ctx, instances)
	for _, d := range done {
		a.log.Info("identities bound to their provider's issuer", "type", d.Type, "issuer", d.Issuer, "count", d.Count)
	}
	if err != nil {
		return fmt.Errorf("identities: %w", err)
	}
	return nil
}

// identityInstance resolves users create's --provider (a configured
// provider's name, or a type) and --issuer into the instance the identity
// belongs to.
func identityInstance(cfg config, provider, issuer string) (latch.ProviderInstance, error) {
	for _, p := range cfg.Providers {
		if inst := p.Instance(); inst.Name == provider {
			if issuer != "" && issuer != inst.Issuer {
				return inst, cliError{fmt.Sprintf("users create: provider %s has issuer %s, not %s", provider, inst.Issuer, issuer)}
			}
			return inst, nil
		}
	}
	t, ok := latch.ParseProvider(provider)
	if !ok {
		return latch.ProviderInstance{}, cliError{fmt.Sprintf("users create: unknown --provider %q (want a configured provider's name, or google, github, linkedin, facebook or oidc)", provider)}
	}
	inst := latch.ProviderInstance{Type: t, Issuer: issuer}
	if inst.Issuer == "" {
		var found []latch.ProviderInstance
		for _, p := range cfg.Providers {
			if p.Instance().Type == t {
				found = append(found, p.Instance())
			}
		}
		switch {
		case len(found) == 1:
			inst = found[0]
		case len(found) > 1:
			return inst, cliError{fmt.Sprintf("users create: several %s providers are configured; name one with --provider or give --issuer", t)}
		default:
			inst.Issuer = latch.WellKnownIssuer(t)
		}
	}
	if inst.Issuer == "" {
		return inst, cliError{fmt.Sprintf("users create: --provider %s needs --issuer (the OIDC issuer URL)", t)}
	}
	if u, err := url.Parse(inst.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return inst, cliError{fmt.Sprintf("users create: --issuer %q is not an http(s) URL", inst.Issuer)}
	}
	return inst, nil
}

func identitiesAttributeCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "attribute --type T --issuer URL",
		Short: "bind identities stored before issuers were recorded to their issuer",
		Long: `Bind every identity of a provider type that was stored before Latch recorded
issuers to the issuer given. latch serve refuses to start while OIDC or GitHub
identities without an issuer exist, and names this command.`,
		Example: `  latch identities attribute --type oidc --issuer https://sso.corp.example`,
		Args:    noArgs,
	}
	typ := cmd.Flags().String("type", "", "the provider type of the identities: google|github|linkedin|facebook|oidc (required)")
	issuer := cmd.Flags().String("issuer", "", "the issuer they belong to: the OIDC issuer URL, or GitHub's API URL (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		t, ok := latch.ParseProvider(*typ)
		if !ok {
			return usageError(cmd, "--type %q: want google, github, linkedin, facebook or oidc", *typ)
		}
		if u, err := url.Parse(*issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return usageError(cmd, "--issuer %q: want the issuer's http(s) URL", *issuer)
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		n, err := a.accounts.AttributeIdentities(inv.ctx, t, *issuer)
		if err != nil {
			return err
		}
		return json.NewEncoder(inv.stdout).Encode(map[string]any{"type": t, "issuer": *issuer, "attributed": n})
	}
	return cmd
}
