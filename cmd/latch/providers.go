package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/latchid/latch"
	"github.com/latchid/latch/oidc"
)

// providerName is what may stand in /v1/oauth/{name}/… and in variable
// names.
var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// loadProviders reads LATCH_PROVIDERS (names, comma-separated) and, for
// each NAME, LATCH_PROVIDER_<NAME>_TYPE (oidc, google or github; by
// default google and github for those names, else oidc), _CLIENT_ID,
// _CLIENT_SECRET, _ISSUER (oidc), _SCOPES, and for github _AUTH_URL,
// _TOKEN_URL, _API_URL (GitHub Enterprise), and _TENANT (the id of the
// tenant its sign-ins land in; default the default tenant). Each provider's callback is
// publicURL/v1/oauth/<name>/callback.
func loadProviders(getenv func(string) string, publicURL string) ([]oidc.Provider, []string) {
	var providers []oidc.Provider
	var errs []string
	for _, name := range strings.Split(getenv("LATCH_PROVIDERS"), ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !providerName.MatchString(name) {
			errs = append(errs, fmt.Sprintf("LATCH_PROVIDERS: %q is not a provider name (lower-case letters, digits, '-')", name))
			continue
		}
		prefix := providerPrefix(name)
		// Every variable of the provider is read before any check, so
		// that each counts as known (see checkEnvironment) even when an
		// earlier one is wrong.
		values := map[string]string{}
		for _, key := range []string{"TYPE", "CLIENT_ID", "CLIENT_SECRET", "ISSUER", "SCOPES", "TENANT", "AUTH_URL", "TOKEN_URL", "API_URL"} {
			values[key] = strings.TrimSpace(getenv(prefix + key))
		}
		get := func(key string) string { return values[key] }
		kind := get("TYPE")
		if kind == "" {
			kind = "oidc"
			if name == "google" || name == "github" {
				kind = name
			}
		}
		clientID, secret := get("CLIENT_ID"), get("CLIENT_SECRET")
		if clientID == "" || secret == "" {
			errs = append(errs, prefix+"CLIENT_ID and "+prefix+"CLIENT_SECRET are required")
			continue
		}
		if kind != "github" {
			// GitHub Enterprise's endpoints: set on another type they
			// would be ignored without a word.
			for _, key := range []string{"AUTH_URL", "TOKEN_URL", "API_URL"} {
				if get(key) != "" {
					errs = append(errs, fmt.Sprintf("%s%s is for github providers (GitHub Enterprise); %s is %s", prefix, key, name, kind))
				}
			}
		}
		redirect := publicURL + "/v1/oauth/" + name + "/callback"
		scopes := strings.FieldsFunc(get("SCOPES"), func(r rune) bool { return r == ',' || r == ' ' })
		tenant := get("TENANT")
		if tenant != "" {
			u, err := uuid.Parse(tenant)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%sTENANT=%q: want the id (a UUID) of the tenant its sign-ins land in (latch tenants list)", prefix, tenant))
				continue
			}
			tenant = u.String()
		}
		cfg := oidc.OIDCConfig{Name: name, Issuer: get("ISSUER"), ClientID: clientID, ClientSecret: secret, RedirectURL: redirect, Scopes: scopes, TenantID: tenant}
		switch kind {
		case "oidc":
			if cfg.Issuer == "" {
				errs = append(errs, prefix+"ISSUER is required for an oidc provider")
				continue
			}
			cfg.Kind = latch.ProviderOIDC
			providers = append(providers, oidc.NewOIDC(cfg))
		case "google":
			providers = append(providers, oidc.NewGoogle(cfg))
		case "github":
			providers = append(providers, oidc.NewGitHub(oidc.GitHubConfig{Name: name, ClientID: clientID, ClientSecret: secret, RedirectURL: redirect,
				AuthURL: get("AUTH_URL"), TokenURL: get("TOKEN_URL"), APIURL: get("API_URL"), TenantID: tenant}))
		default:
			errs = append(errs, fmt.Sprintf("%sTYPE=%q: want oidc, google or github", prefix, kind))
		}
	}
	return providers, errs
}

// providerPrefix begins the variables of the provider called name:
// LATCH_PROVIDER_<NAME>_, upper-cased, '-' as '_'.
func providerPrefix(name string) string {
	return "LATCH_PROVIDER_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"
}
