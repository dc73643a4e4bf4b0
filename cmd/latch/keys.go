package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/token"
)

func keysListCommand(inv *invocation) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "list the signing keys, oldest first, one JSON line each (never a private part)",
		Long: `List the keys that sign tokens, oldest first, one JSON line each:
state "announced" (published; signs from activates_at), "signing" (the one
of its family that signs new tokens), "verifying"
(replaced by a rotation; still verifies and is published in the JWKS until
retire_at) or "retired" (verifies nothing; deleted within the hour by latch
serve). "families" says what the key's algorithm signs: "native" (Latch's
own access tokens, LATCH_SIGNING_ALG) and/or "openid" (ID tokens and apps'
access tokens, LATCH_OIDC_SIGNING_ALG); each family has one signing key.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := inv.open()
			if err != nil {
				return err
			}
			defer a.Close()
			keys, err := a.accounts.SigningKeys(inv.ctx, account.Operator(""))
			if err != nil {
				return describe(err)
			}
			enc := json.NewEncoder(inv.stdout)
			for _, k := range keys {
				families := k.Families
				if families == nil {
					families = []string{} // an algorithm no longer configured: [] rather than null
				}
				out := map[string]any{"id": k.ID, "algorithm": k.Algorithm, "families": families, "state": k.State, "created_at": k.CreatedAt}
				if k.ActivatesAt != nil {
					out["activates_at"] = *k.ActivatesAt
				}
				if k.RotatedAt != nil {
					out["rotated_at"] = *k.RotatedAt
				}
				if k.RetireAt != nil {
					out["retire_at"] = *k.RetireAt
				}
				if err := enc.Encode(out); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

func keysRotateCommand(inv *invocation) *cobra.Command {
	var alg string
	var announce time.Duration
	cmd := &cobra.Command{
		Use:   "rotate [--alg RS256] [--announce 1h]",
		Short: "make a new key sign; the old ones verify until their tokens expire",
		Long: fmt.Sprintf(`Make a new key of LATCH_SIGNING_ALG (or, with --alg, of the algorithm given:
LATCH_OIDC_SIGNING_ALG rotates the key of ID tokens and apps' access tokens)
the one that signs. The keys of that algorithm it replaces keep verifying,
and stay in the JWKS, until every token they may have signed has expired (for
the native keys the longest of LATCH_ACCESS_TOKEN_TTL, LATCH_LINK_TTL and the
latest live personal or project token; for the OpenID keys
LATCH_ACCESS_TOKEN_TTL; plus %v); then they are retired, and latch serve
deletes them. Running replicas sign with the new key within %v. Prints the
new key, when it signs, and the old keys' retire time as JSON.

With --announce (at least %v) the new key is published in the JWKS at once
but signs only after that time ("announced" in latch keys list); the old
keys sign until then. Relying parties that cache the JWKS (max-age 300 s)
then know the new key before they meet it. Without it the new key signs at
once, as a stolen key needs.

A rotation does not end sessions. Against a stolen key, rotate and then end
the sessions (latch sessions revoke) that matter.`, token.RefreshInterval, token.RefreshInterval, account.MinKeyAnnouncement),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := inv.open()
			if err != nil {
				return err
			}
			defer a.Close()
			r, err := a.accounts.RotateSigningKey(inv.ctx, account.Operator(""), alg, announce)
			if err != nil {
				return describe(err)
			}
			return json.NewEncoder(inv.stdout).Encode(map[string]any{
				"signing_key": r.Key.ID, "algorithm": r.Key.Algorithm, "created_at": r.Key.CreatedAt, "activates_at": r.ActivatesAt, "previous_keys_retire_at": r.RetireAt,
			})
		},
	}
	cmd.Flags().StringVar(&alg, "alg", "", "the algorithm of the family to rotate: LATCH_SIGNING_ALG (the default) or LATCH_OIDC_SIGNING_ALG")
	cmd.Flags().DurationVar(&announce, "announce", 0, "publish the new key now and let it sign only after this long (0: at once)")
	return cmd
}

// refreshKeys reads the signing keys again every token.RefreshInterval
// until ctx ends: a key rotated by `latch keys rotate` (or another
// replica) signs here within it, and a retired one leaves the JWKS.
func refreshKeys(ctx context.Context, keys *token.Keys, log *slog.Logger) {
	tick := time.NewTicker(token.RefreshInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := keys.Refresh(ctx); err != nil && ctx.Err() == nil {
				log.Warn("reading the signing keys again", "err", err)
			}
		}
	}
}
