package account_test

import (
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/token"
)

// TestRotateSigningKeyFamilies: the operator rotates each family on its
// own; the native keys' retire time waits for the longest native token
// (a link here), the OpenID keys' for an access token only; an announced
// rotation counts from its activation, and one announced too briefly for
// the JWKS cache is refused. Clients of the admin API rotate nothing.
func TestRotateSigningKeyFamilies(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		h = testenv.NewHarnessWithOIDCAlgorithm(t, h.Store, token.RS256)
		ctx := t.Context()
		cfg := account.DefaultConfig()
		now := h.Clock.Now()
		op := account.Operator("")

		native, err := h.Accounts.RotateSigningKey(ctx, op, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		wantRetire := now.Add(max(cfg.AccessTokenTTL, cfg.LinkTTL) + token.RefreshInterval)
		if native.Key.Algorithm != token.ES256 || !native.ActivatesAt.Equal(now) || !native.RetireAt.Equal(wantRetire) {
			t.Errorf("native rotation: %+v, want retire at %v", native, wantRetire)
		}

		openid, err := h.Accounts.RotateSigningKey(ctx, op, token.RS256, 0)
		if err != nil {
			t.Fatal(err)
		}
		if wantRetire := now.Add(cfg.AccessTokenTTL + token.RefreshInterval); openid.Key.Algorithm != token.RS256 || !openid.RetireAt.Equal(wantRetire) {
			t.Errorf("OpenID rotation: %+v, want retire at %v", openid, wantRetire)
		}

		announced, err := h.Accounts.RotateSigningKey(ctx, op, token.RS256, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if activates := now.Add(time.Hour); !announced.ActivatesAt.Equal(activates) || !announced.RetireAt.Equal(activates.Add(cfg.AccessTokenTTL+token.RefreshInterval)) {
			t.Errorf("announced rotation: %+v", announced)
		}
		keys, err := h.Accounts.SigningKeys(ctx, op)
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]token.KeyState{}
		for _, k := range keys {
			states[k.ID] = k.State
		}
		if states[announced.Key.ID] != token.KeyAnnounced || states[openid.Key.ID] != token.KeySigning || states[native.Key.ID] != token.KeySigning {
			t.Errorf("keys after an announced rotation: %+v", keys)
		}

		for name, call := range map[string]func() error{
			"announced for less than the JWKS cache": func() error {
				_, err := h.Accounts.RotateSigningKey(ctx, op, token.RS256, account.MinKeyAnnouncement-time.Second)
				return err
			},
			"an algorithm no family has": func() error { _, err := h.Accounts.RotateSigningKey(ctx, op, token.EdDSA, 0); return err },
		} {
			if err := call(); !latch.IsKind(err, latch.KindInvalid) {
				t.Errorf("%s: %v, want Invalid", name, err)
			}
		}
		if _, err := h.Accounts.RotateSigningKey(ctx, account.Admin{Client: &latch.Client{}}, "", 0); !latch.IsKind(err, latch.KindForbidden) {
			t.Errorf("a client rotating: %v", err)
		}
	})
}
