package contract

import (
	"bytes"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchid/latch"
)

// MaxFactorName bounds a factor's name (a label the user chose).
const MaxFactorName = 100

// MaxCredentialID bounds a WebAuthn credential id (WebAuthn §5.1: at most
// 1023 bytes).
const MaxCredentialID = 1023

// WebAuthnChallenge checks a challenge to store and fills its CreatedAt.
func WebAuthnChallenge(c latch.WebAuthnChallenge, now func() time.Time) (latch.WebAuthnChallenge, error) {
	if len(c.Hash) == 0 {
		return c, Invalid("hash", "a challenge hash is empty")
	}
	if c.Purpose == "" || !Text(c.Purpose) {
		return c, Invalid("purpose", "a challenge needs its purpose")
	}
	if c.UserID != "" {
		id, ok := ID(c.UserID)
		if !ok {
			return c, NotFound("user")
		}
		c.UserID = id
	}
	if c.ExpiresAt.IsZero() {
		return c, Invalid("expires_at", "a challenge expires")
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = Time(Or(c.CreatedAt, now)), Time(c.ExpiresAt), nil
	return c, nil
}

// PasskeyCounter is the error of a passkey whose sign count did not
// increase.
func PasskeyCounter() *latch.Error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodePasskeyCounter, Message: "the passkey's sign count did not increase"}
}

// Factor checks a factor to create and fills its CreatedAt; ids come back
// in canonical form.
func Factor(f latch.Factor, now func() time.Time) (latch.Factor, error) {
	id, ok := ID(f.ID)
	if !ok {
		return latch.Factor{}, Invalid("id", "the factor id is not a UUID")
	}
	userID, ok := ID(f.UserID)
	if !ok {
		return latch.Factor{}, NotFound("user")
	}
	f.ID, f.UserID = id, userID
	switch f.Kind {
	case latch.FactorTOTP:
		if len(f.Secret) == 0 {
			return latch.Factor{}, Invalid("secret", "a TOTP factor needs its sealed secret")
		}
	case latch.FactorWebAuthn:
		if len(f.CredentialID) == 0 || len(f.CredentialID) > MaxCredentialID {
			return latch.Factor{}, Invalid("credential_id", "a passkey needs its credential id (1..1023 bytes)")
		}
		if len(f.PublicKey) == 0 {
			return latch.Factor{}, Invalid("public_key", "a passkey needs its public key")
		}
		if len(f.UserHandle) == 0 || len(f.UserHandle) > 64 {
			return latch.Factor{}, Invalid("user_handle", "a passkey needs its user handle (1..64 bytes)")
		}
		for _, t := range f.Transports {
			if t == "" || strings.ContainsAny(t, ", ") || !Text(t) {
				return latch.Factor{}, Invalid("transports", "a transport is a plain word")
			}
		}
	default:
		return latch.Factor{}, Invalid("kind", "unknown factor kind")
	}
	if f.Name == "" || !Text(f.Name) || utf8.RuneCountInString(f.Name) > MaxFactorName {
		return latch.Factor{}, Invalid("name", "the factor name is empty, too long or not text")
	}
	if f.LastStep < 0 {
		return latch.Factor{}, Invalid("last_step", "a time step is never negative")
	}
	f.CreatedAt = Time(Or(f.CreatedAt, now))
	f.ConfirmedAt, f.LastUsedAt = TimePtr(f.ConfirmedAt), TimePtr(f.LastUsedAt)
	return f, nil
}

// RecoveryHashes checks the hashes of a new set of recovery codes: none
// empty, none repeated.
func RecoveryHashes(hashes [][]byte) error {
	for i, h := range hashes {
		if len(h) == 0 {
			return Invalid("hashes", "a recovery code hash is empty")
		}
		for _, g := range hashes[:i] {
			if bytes.Equal(g, h) {
				return Invalid("hashes", "a recovery code hash is repeated")
			}
		}
	}
	return nil
}

// FactorStepUsed is the error of a TOTP step accepted before (a replay),
// or of a factor that cannot take one (not confirmed).
func FactorStepUsed() *latch.Error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodeFactorStepUsed, Message: "this code was used already"}
}

// FactorConfirmed is the error of confirming a confirmed factor.
func FactorConfirmed() *latch.Error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodeFactorConfirmed, Message: "the factor is confirmed already"}
}
