package account_test

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/token"
)

// A TOTP factor outlives the signing keys: enrolled, then `latch keys
// rotate` twice with the replaced keys retired and deleted, and a restart
// of the keys, its codes still verify (the secret is sealed with the data
// key, not a signing key).
func TestTOTPSurvivesKeyRotations(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "totp-rotate@example.com")
		e := enrolConfirmed(t, h, p)
		codes, err := h.Accounts.RegenerateRecoveryCodes(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		op := account.Operator("")
		for range 2 {
			rotated, err := h.Accounts.RotateSigningKey(ctx, op, token.ES256, 0)
			if err != nil {
				t.Fatal(err)
			}
			h.Clock.Advance(rotated.RetireAt.Sub(h.Clock.Now()) + time.Minute)
			if n, err := h.Store.DeleteRetiredSigningKeys(ctx, h.Clock.Now()); err != nil || n == 0 {
				t.Fatalf("DeleteRetiredSigningKeys: %d, %v", n, err)
			}
			if err := h.Keys.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Accounts.VerifyTOTP(ctx, p.User, codeAt(t, e.Secret, h.Clock.Now())); err != nil {
			t.Fatalf("a TOTP code after two rotations: %v", err)
		}
		if err := h.Accounts.UseRecoveryCode(ctx, p.User, codes[0]); err != nil {
			t.Fatalf("a recovery code after two rotations: %v", err)
		}
	})
}

// Recovery codes are stored as keyed hashes: not the unkeyed SHA-256 of
// user id and code a stolen database could be searched with, and the
// same code of another account has another hash.
func TestRecoveryCodeHashesAreKeyed(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		a := principal(t, h, "keyed-a@example.com")
		codes, err := h.Accounts.RegenerateRecoveryCodes(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := h.Store.RecoveryCodes(ctx, a.User.ID)
		if err != nil || len(stored) != len(codes) {
			t.Fatalf("RecoveryCodes: %d, %v", len(stored), err)
		}
		for _, c := range codes {
			normal := bytes.ReplaceAll([]byte(c), []byte("-"), nil)
			for _, unkeyed := range [][]byte{
				sum(append(append([]byte("latch recovery code\x00"+a.User.ID), 0), normal...)),
				sum(append(append([]byte(a.User.ID), 0), normal...)),
				sum(normal),
			} {
				for _, rc := range stored {
					if bytes.Equal(rc.Hash, unkeyed) {
						t.Fatalf("code %s is stored as an unkeyed SHA-256", c)
					}
				}
			}
		}
		if err := h.Accounts.UseRecoveryCode(ctx, a.User, codes[1]); err != nil {
			t.Fatalf("a keyed code does not verify: %v", err)
		}
	})
}

func sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
