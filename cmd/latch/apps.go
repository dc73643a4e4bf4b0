package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// The apps commands: OAuth clients of end users (issue 15), which sign
// their users in through Latch. Not API clients (`latch clients`), which
// administer a tenant. Output is JSON, one line per app; a secret is
// printed once, on stdout, with a warning on stderr.

// appJSON is an app as the commands print it: never its secret hash.
func appJSON(a latch.App) map[string]any {
	out := map[string]any{
		"client_id": a.ID, "tenant_id": a.TenantID, "name": a.Name, "type": a.Type, "first_party": a.FirstParty,
		"redirect_uris": nonNil(a.RedirectURIs), "post_logout_redirect_uris": nonNil(a.PostLogoutRedirectURIs),
		"scopes": nonNil(a.Scopes), "client_credentials": a.ClientCredentials, "pkce_optional": a.PKCEOptional,
		"created_at": a.CreatedAt, "updated_at": a.UpdatedAt,
	}
	if a.RevokedAt != nil {
		out["revoked_at"] = *a.RevokedAt
	}
	return out
}

// nonNil prints an empty list as [], not null.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// printSecret prints the app with its secret on stdout, and on stderr the
// warning that it will not be shown again.
func printSecret(inv *invocation, cmd *cobra.Command, na account.NewApp) error {
	out := appJSON(na.App)
	if na.Secret != "" {
		out["client_secret"] = na.Secret
		fmt.Fprintf(inv.stderr, "%s: the client_secret is shown this once; store it now (Latch keeps only its hash)\n", commandName(cmd))
	}
	return json.NewEncoder(inv.stdout).Encode(out)
}

// checkAppFlags refuses, before anything is opened, the redirect URIs and
// scopes the registration would refuse, naming the flag and the fix.
func checkAppFlags(cmd *cobra.Command, redirects, postLogout, scopes []string) error {
	for _, list := range []struct {
		flag string
		uris []string
	}{{"--redirect-uri", redirects}, {"--post-logout-redirect-uri", postLogout}} {
		for _, u := range list.uris {
			if err := account.AppRedirectURI(u); err != nil {
				return usageError(cmd, "%s %q: %v", list.flag, u, err)
			}
		}
	}
	for _, sc := range scopes {
		if !slices.Contains(latch.AppScopes(), sc) {
			return usageError(cmd, "unknown --scope %q (want some of %s, openid included)", sc, strings.Join(latch.AppScopes(), ","))
		}
	}
	if scopes != nil && !slices.Contains(scopes, latch.AppScopeOpenID) {
		return usageError(cmd, "--scope must include openid")
	}
	return nil
}

func appsCreateCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create --name N --type public|confidential --redirect-uri U...",
		Short: "register an app that signs its users in through Latch; a confidential app's secret is shown once",
		Long: `Register an app (an OAuth 2.0 / OpenID Connect client of end users) in a
tenant and print it as JSON: its client_id and, for a confidential app, its
client_secret, shown this once (only its hash is kept).

A public app (a browser or native app) has no secret and proves itself by
PKCE alone; a confidential app (a server) has a secret too. Redirect URIs
are matched exactly: each must be an https URL (or http on 127.0.0.1, [::1]
or localhost), without fragment or wildcard; give --redirect-uri once per URI.

Every app must use PKCE (S256). --pkce-optional is the one exception, for a
confidential app whose relying party cannot send PKCE (Dex's OIDC connector,
for one): its authorization requests may leave PKCE out, and its secret alone
then guards its codes. A request that does send PKCE is still checked. Set
it only for such a relying party; it is audited, and cleared with
latch apps update --id ID --pkce-optional=false.`,
		Example: `  latch apps create --name Shop --type confidential \
    --redirect-uri https://shop.example/callback --scope openid,email --tenant 0199...
  latch apps create --name CLI --type public --redirect-uri http://127.0.0.1:8765/cb
  latch apps create --name Dex --type confidential --pkce-optional \
    --redirect-uri https://dex.example/callback`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	name := fs.String("name", "", "the app's name, shown to users on the consent page (required)")
	typ := fs.String("type", "", "public (PKCE only) or confidential (a secret too) (required)")
	redirects := fs.StringArray("redirect-uri", nil, "a redirect URI, matched exactly (required; repeat for each, up to 20)")
	postLogout := fs.StringArray("post-logout-redirect-uri", nil, "a URI to return to after sign-out (repeat for each, up to 20)")
	scopes := fs.StringSlice("scope", []string{latch.AppScopeOpenID, latch.AppScopeProfile, latch.AppScopeEmail}, "the scopes the app may ask for, of "+strings.Join(latch.AppScopes(), ","))
	clientCredentials := fs.Bool("client-credentials", false, "allow the client_credentials grant (confidential apps only)")
	firstParty := fs.Bool("first-party", false, "the operator's own app: no consent screen")
	pkceOptional := fs.Bool("pkce-optional", false, "the one exception to PKCE for every app: for a relying party that cannot send PKCE (confidential apps only; audited)")
	tenant := fs.String("tenant", "", "the tenant's id (default: the default tenant)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *name == "" || *typ == "" || len(*redirects) == 0 {
			return usageError(cmd, "--name, --type and at least one --redirect-uri are required")
		}
		if *typ != string(latch.AppPublic) && *typ != string(latch.AppConfidential) {
			return usageError(cmd, "unknown --type %q (want public or confidential)", *typ)
		}
		if *clientCredentials && *typ != string(latch.AppConfidential) {
			return usageError(cmd, "--client-credentials needs --type confidential")
		}
		if *pkceOptional && *typ != string(latch.AppConfidential) {
			return usageError(cmd, "--pkce-optional needs --type confidential (a public app proves itself by PKCE alone)")
		}
		if err := checkAppFlags(cmd, *redirects, *postLogout, *scopes); err != nil {
			return err
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		na, err := a.accounts.CreateApp(inv.ctx, account.Operator(*tenant), account.AppInput{
			Name: *name, Type: latch.AppType(*typ), RedirectURIs: *redirects, PostLogoutRedirectURIs: *postLogout,
			Scopes: *scopes, FirstParty: *firstParty, ClientCredentials: *clientCredentials, PKCEOptional: *pkceOptional,
		})
		if err != nil {
			return describe(err)
		}
		return printSecret(inv, cmd, na)
	}
	return cmd
}

// maxAppsListed is one below the store's largest page: the list asks for
// one more app than it shows, to tell whether more follow.
const maxAppsListed = 999

func appsListCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "list a tenant's apps, one JSON line each (never a secret)",
		Long: `List a tenant's apps, one JSON line each, in client_id order. When more
apps exist than -n allows, a note on stderr gives the --after to continue with.`,
		Example: `  latch apps list --tenant 0199...`,
		Args:    noArgs,
	}
	fs := cmd.Flags()
	tenant := fs.String("tenant", "", "the tenant's id (default: the default tenant)")
	after := fs.String("after", "", "start after this client_id (the note of the previous page)")
	limit := fs.IntP("limit", "n", 100, fmt.Sprintf("how many apps at most (1-%d)", maxAppsListed))
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *limit < 1 || *limit > maxAppsListed {
			return usageError(cmd, "-n must be between 1 and %d", maxAppsListed)
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		// One more than asked tells whether there is a next page.
		apps, err := a.accounts.Apps(inv.ctx, account.Operator(*tenant), *after, *limit+1)
		if err != nil {
			return describe(err)
		}
		more := len(apps) > *limit
		apps = apps[:min(len(apps), *limit)]
		enc := json.NewEncoder(inv.stdout)
		for _, app := range apps {
			if err := enc.Encode(appJSON(app)); err != nil {
				return err
			}
		}
		if more {
			fmt.Fprintf(inv.stderr, "%s: more apps follow; continue with --after %s\n", commandName(cmd), apps[len(apps)-1].ID)
		}
		return nil
	}
	return cmd
}

func appsShowCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "show --id CLIENT_ID",
		Short: "show one app as JSON (never its secret)",
		Args:  noArgs,
	}
	id := cmd.Flags().String("id", "", "the app's client_id (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *id == "" {
			return usageError(cmd, "--id is required")
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		app, err := a.accounts.App(inv.ctx, account.Operator(""), *id)
		if err != nil {
			return describe(err)
		}
		return printJSON(inv.stdout, appJSON(app))
	}
	return cmd
}

func appsUpdateCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "update --id CLIENT_ID [flags]",
		Short: "change an app's name, URIs, scopes, grants or PKCE exception (its type and secret stay)",
		Long: `Change the settings given and keep the others. A list flag replaces the whole
list: give every URI the app keeps. --no-post-logout-redirect-uris clears that
list. The type cannot change: register a new app instead.

--pkce-optional=true gives a confidential app the one exception to PKCE for
every app, for a relying party that cannot send PKCE; --pkce-optional=false
takes it away. Either change is audited.`,
		Example: `  latch apps update --id Xy... --redirect-uri https://shop.example/a --redirect-uri https://shop.example/b
  latch apps update --id Xy... --first-party=false
  latch apps update --id Xy... --pkce-optional=false`,
		Args: noArgs,
	}
	fs := cmd.Flags()
	id := fs.String("id", "", "the app's client_id (required)")
	name := fs.String("name", "", "a new name")
	redirects := fs.StringArray("redirect-uri", nil, "the redirect URIs (repeat for each; replaces the list)")
	postLogout := fs.StringArray("post-logout-redirect-uri", nil, "the post-logout URIs (repeat for each; replaces the list)")
	clearPostLogout := fs.Bool("no-post-logout-redirect-uris", false, "remove every post-logout URI")
	scopes := fs.StringSlice("scope", nil, "the scopes, of "+strings.Join(latch.AppScopes(), ",")+" (replaces the list)")
	firstParty := fs.Bool("first-party", false, "the operator's own app: no consent screen (--first-party=false to undo)")
	clientCredentials := fs.Bool("client-credentials", false, "allow the client_credentials grant (--client-credentials=false to undo)")
	pkceOptional := fs.Bool("pkce-optional", false, "the one exception to PKCE, for a relying party that cannot send it (confidential apps only; --pkce-optional=false to undo)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *id == "" {
			return usageError(cmd, "--id is required")
		}
		if *clearPostLogout && fs.Changed("post-logout-redirect-uri") {
			return usageError(cmd, "give --post-logout-redirect-uri or --no-post-logout-redirect-uris, not both")
		}
		var ch account.AppChange
		if fs.Changed("name") {
			ch.Name = name
		}
		if fs.Changed("redirect-uri") {
			ch.RedirectURIs = redirects
		}
		if fs.Changed("post-logout-redirect-uri") {
			ch.PostLogoutRedirectURIs = postLogout
		}
		if *clearPostLogout {
			ch.PostLogoutRedirectURIs = &[]string{}
		}
		if fs.Changed("scope") {
			ch.Scopes = scopes
		}
		if fs.Changed("first-party") {
			ch.FirstParty = firstParty
		}
		if fs.Changed("client-credentials") {
			ch.ClientCredentials = clientCredentials
		}
		if fs.Changed("pkce-optional") {
			ch.PKCEOptional = pkceOptional
		}
		if ch == (account.AppChange{}) {
			return usageError(cmd, "nothing to change: give at least one of --name, --redirect-uri, --post-logout-redirect-uri, --no-post-logout-redirect-uris, --scope, --first-party, --client-credentials, --pkce-optional")
		}
		var scopeList []string
		if ch.Scopes != nil {
			scopeList = *scopes
		}
		if err := checkAppFlags(cmd, *redirects, *postLogout, scopeList); err != nil {
			return err
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		app, err := a.accounts.UpdateApp(inv.ctx, account.Operator(""), *id, ch)
		if err != nil {
			return describe(err)
		}
		return json.NewEncoder(inv.stdout).Encode(appJSON(app))
	}
	return cmd
}

func appsRotateSecretCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rotate-secret --id CLIENT_ID",
		Short: "give a confidential app a new secret, shown once; the old one stops at once",
		Args:  noArgs,
	}
	id := cmd.Flags().String("id", "", "the app's client_id (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *id == "" {
			return usageError(cmd, "--id is required")
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		na, err := a.accounts.RotateAppSecret(inv.ctx, account.Operator(""), *id)
		if err != nil {
			return describe(err)
		}
		return printSecret(inv, cmd, na)
	}
	return cmd
}

func appsRevokeCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "revoke --id CLIENT_ID",
		Short: "revoke an app: it can no longer sign anyone in",
		Args:  noArgs,
	}
	id := cmd.Flags().String("id", "", "the app's client_id (required)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *id == "" {
			return usageError(cmd, "--id is required")
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		if err := a.accounts.RevokeApp(inv.ctx, account.Operator(""), *id); err != nil {
			return describe(err)
		}
		return json.NewEncoder(inv.stdout).Encode(map[string]any{"client_id": *id, "revoked": true})
	}
	return cmd
}
