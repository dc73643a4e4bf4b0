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
		Long: `List the keys that sign access tokens, oldest first, one JSON line each:
state "signing" (the one that signs new tokens), "verifying" (replaced by a
rotation; still verifies and is published in the JWKS until retire_at) or
"retired" (verifies nothing; deleted within the hour by latch serve).`,
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
				out := map[string]any{"id": k.ID, "algorithm": k.Algorithm, "state": k.State, "created_at": k.CreatedAt}
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
	return &cobra.Command{
		Use:   "rotate",
		Short: "make a new key sign; the old ones verify until their tokens expire",
		Long: fmt.Sprintf(`Make a new key of LATCH_SIGNING_ALG the one that signs access tokens. The
keys it replaces keep verifying, and stay in the JWKS, until every token they
may have signed has expired (the longest of LATCH_ACCESS_TOKEN_TTL, LATCH_LINK_TTL
and the latest live personal or project token, plus %v); then they are
retired, and latch serve deletes them. Running replicas sign with the new key
within %v. Prints the new key and the old keys' retire time as JSON.

A rotation does not end sessions. Against a stolen key, rotate and then end
the sessions (latch sessions revoke) that matter.`, token.RefreshInterval, token.RefreshInterval),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := inv.open()
			if err != nil {
				return err
			}
			defer a.Close()
			r, err := a.accounts.RotateSigningKey(inv.ctx, account.Operator(""))
			if err != nil {
				return describe(err)
			}
			return json.NewEncoder(inv.stdout).Encode(map[string]any{
				"signing_key": r.Key.ID, "algorithm": r.Key.Algorithm, "created_at": r.Key.CreatedAt, "previous_keys_retire_at": r.RetireAt,
			})
		},
	}
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
