package contract

import (
	"bytes"
	"time"
	"unicode/utf8"

	"github.com/latchid/latch"
)

// MaxFactorName bounds a factor's name (a label the user chose).
const MaxFactorName = 100

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
