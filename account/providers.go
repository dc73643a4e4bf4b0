package account

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/latchid/latch"
)

// LegacyAttribution is where the identities of one provider type, stored
// before Latch recorded issuers, belong.
type LegacyAttribution struct {
	Type   latch.Provider
	Count  int
	Issuer string
}

// PlanLegacyAttribution decides, for each provider type that has identities
// without an issuer (counts), the issuer they belong to, where that is no
// guess: Google's identities belong to the one configured google provider
// (or Google's public issuer when none is); LinkedIn and Facebook
// identities, which no provider can be configured for (they come from
// imports), to the vendor's one public issuer. OIDC and GitHub identities
// are never attributed by Latch: the provider configured today says
// nothing about where a row stored before came from (a move from
// github.com to GitHub Enterprise, whose small user ids collide with
// github.com's, or a dropped second OIDC provider, would hand one issuer's
// users to another's subjects). For them, and for several google
// providers, the answer is an error that says what the operator can do.
// It is a pure function, tested as a table.
func PlanLegacyAttribution(counts map[latch.Provider]int, configured []latch.ProviderInstance) ([]LegacyAttribution, error) {
	types := make([]latch.Provider, 0, len(counts))
	for t, n := range counts {
		if n > 0 {
			types = append(types, t)
		}
	}
	slices.Sort(types)
	var plan []LegacyAttribution
	var problems []string
	for _, t := range types {
		var issuers, names []string
		for _, p := range configured {
			if p.Type == t {
				names = append(names, fmt.Sprintf("%s (%s)", p.Name, p.Issuer))
				if !slices.Contains(issuers, p.Issuer) {
					issuers = append(issuers, p.Issuer)
				}
			}
		}
		explicit := t == latch.ProviderOIDC || t == latch.ProviderGitHub
		switch {
		case explicit && len(issuers) == 1:
			problems = append(problems, fmt.Sprintf(
				"%d identities of type %q were stored before Latch bound identities to their provider's issuer. "+
					"Latch will not guess where they came from; if they are all %s's, run: latch identities attribute --type %s --issuer %s",
				counts[t], t, names[0], t, issuers[0]))
		case len(issuers) == 1:
			plan = append(plan, LegacyAttribution{Type: t, Count: counts[t], Issuer: issuers[0]})
		case len(issuers) == 0 && !explicit:
			plan = append(plan, LegacyAttribution{Type: t, Count: counts[t], Issuer: latch.WellKnownIssuer(t)})
		case len(issuers) == 0:
			problems = append(problems, fmt.Sprintf(
				"%d identities of type %q were stored before Latch bound identities to their provider's issuer, and no %s provider is configured. "+
					"Configure the provider they came from, or attribute them: latch identities attribute --type %s --issuer <issuer URL%s>",
				counts[t], t, t, t, githubHint(t)))
		default:
			problems = append(problems, fmt.Sprintf(
				"%d identities of type %q were stored before Latch bound identities to their provider's issuer, and several %s providers are configured: %s. "+
					"A subject means something only at its own issuer, so Latch will not guess. Attribute them to the provider they came from: latch identities attribute --type %s --issuer <issuer URL%s>",
				counts[t], t, t, strings.Join(names, ", "), t, githubHint(t)))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return plan, nil
}

func githubHint(t latch.Provider) string {
	if t == latch.ProviderGitHub {
		return "; for GitHub its API URL, such as https://api.github.com"
	}
	return ""
}

// AttributeLegacyIdentities binds the identities stored before Latch
// recorded issuers to the configured providers they belong to (see
// PlanLegacyAttribution) and returns what it did. `latch serve` runs it
// at every start and refuses to start on its error.
func (s *Service) AttributeLegacyIdentities(ctx context.Context, configured []latch.ProviderInstance) ([]LegacyAttribution, error) {
	counts, err := s.store.LegacyIdentityCount(ctx)
	if err != nil || len(counts) == 0 {
		return nil, err
	}
	plan, err := PlanLegacyAttribution(counts, configured)
	if err != nil {
		return nil, err
	}
	for i, a := range plan {
		n, err := s.AttributeIdentities(ctx, a.Type, a.Issuer)
		if err != nil {
			return plan[:i], err
		}
		plan[i].Count = n
	}
	return plan, nil
}

// AttributeIdentities binds every identity of type provider stored without
// an issuer to issuer (the operator's `latch identities attribute`).
func (s *Service) AttributeIdentities(ctx context.Context, provider latch.Provider, issuer string) (int, error) {
	n, err := s.store.AttributeLegacyIdentities(ctx, provider, issuer)
	if latch.IsCode(err, latch.CodeIdentityTaken) {
		return 0, fmt.Errorf("identities of type %q: some subject is already linked at %s, so they cannot all be that issuer's; attribute them to their own issuer", provider, issuer)
	}
	if err != nil {
		return 0, err
	}
	if n > 0 {
		ev := latch.AuditEvent{At: s.now(), Action: latch.AuditIdentityAttribute, ActorType: latch.ActorOperator,
			TenantID: latch.DefaultTenantID,
			Details:  map[string]string{"provider": string(provider), "issuer": issuer, "count": fmt.Sprint(n)}}
		s.appendAudit(ctx, ev)
	}
	return n, nil
}

// CheckProviders verifies, before a service starts, that each configured
// provider serves a tenant that exists.
func (s *Service) CheckProviders(ctx context.Context, configured []latch.ProviderInstance) error {
	for _, p := range configured {
		tenant := cmp.Or(p.TenantID, latch.DefaultTenantID)
		if _, err := s.store.TenantByID(ctx, tenant); err != nil {
			if latch.IsKind(err, latch.KindNotFound) {
				return fmt.Errorf("provider %s serves tenant %s, which does not exist (latch tenants list)", p.Name, tenant)
			}
			return err
		}
	}
	return nil
}
