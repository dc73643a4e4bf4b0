package password

import "context"

// Hooks for the external tests (package password_test); compiled only with
// them.

// Encode is Argon2Hash's PHC encoding, the inverse of ParseArgon2.
func Encode(h Argon2Hash) string { return h.encode() }

// DummyHash is the hash VerifyDummy checks against.
func (h *Hasher) DummyHash() string { return h.dummy }

// HoldSlot takes a slot as Hash would, so a test can fill the Hasher.
func (h *Hasher) HoldSlot(ctx context.Context) (release func(), err error) {
	if err := h.acquire(ctx); err != nil {
		return nil, err
	}
	return h.release, nil
}

// OnHashing installs a hook called with +1 when a hash starts (slot held)
// and -1 when it ends. Set it before the Hasher is shared.
func (h *Hasher) OnHashing(f func(delta int)) { h.hashing = f }
