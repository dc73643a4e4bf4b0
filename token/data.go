package token

// The data key seals long-lived secrets (TOTP secrets, issue 16) and keys
// the hashes of recovery codes. Seal's key derives from the current
// signing key, which rotates and is deleted once retired: a TOTP secret
// sealed with it would stop opening. The data key is created once (by
// LoadKeys, like the first signing key; replicas that race settle on the
// oldest), kept in a table of its own (latch.DataKey; wrapped with the key
// encryption key when one is configured), so it is never published in the
// JWKS, nor listed, rotated or retired by `latch keys`. Sealed
// values name the data key's id, so a future rotation of the data key can
// open old values and re-seal them.

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// dataKeySize is the data key's length: 256 bits.
const dataKeySize = 32

// dataSealPrefix starts every value SealData makes; the data key's id
// follows, then a dot and the nonce and ciphertext (base64url).
const dataSealPrefix = "d1."

// dataKeyWrapID is what a data key is wrapped for (the associated data of
// wrapKey): never a signing key's id, so neither kind of wrapped key
// unwraps as the other.
func dataKeyWrapID(id string) string { return "data key " + id }

// loadDataKeys reads the data keys, creating the first if there is none:
// replicas that race to create it each add their own, read back, and all
// seal with the oldest.
func loadDataKeys(ctx context.Context, store latch.KeyStore, kek []byte, now time.Time) ([]latch.DataKey, error) {
	keys, err := store.DataKeys(ctx)
	if err != nil || len(keys) > 0 {
		return keys, err
	}
	secret := make([]byte, dataKeySize)
	_, _ = rand.Read(secret)
	k := latch.DataKey{ID: uuid.NewString(), Key: secret, CreatedAt: now.UTC()}
	if kek != nil {
		if k.Key, err = wrapKey(kek, dataKeyWrapID(k.ID), k.Key); err != nil {
			return nil, err
		}
	}
	if err := store.AddDataKey(ctx, k); err != nil {
		return nil, err
	}
	return store.DataKeys(ctx)
}

// useDataKeys unwraps the data keys (oldest first) into the set.
func (ks *keySet) useDataKeys(keys []latch.DataKey, kek []byte) error {
	ks.dataKeys = map[string][]byte{}
	for _, dk := range keys {
		key, err := unwrapKey(kek, dataKeyWrapID(dk.ID), dk.Key)
		if err != nil {
			return err
		}
		if len(key) != dataKeySize {
			return fmt.Errorf("token: data key %s is %d bytes, not %d", dk.ID, len(key), dataKeySize)
		}
		ks.dataKeys[dk.ID] = key
		if ks.dataKID == "" {
			ks.dataKID = dk.ID
		}
	}
	if ks.dataKID == "" {
		return fmt.Errorf("token: no data key")
	}
	return nil
}

// dataAEAD is the AEAD of a data key for purpose.
func dataAEAD(secret []byte, purpose string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, "latch data seal "+purpose, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// SealData encrypts and authenticates plaintext to be stored for as long
// as it is needed (a TOTP secret), under the data key: signing-key
// rotations do not affect it. A value sealed for one purpose does not open
// as another.
func (k *Keys) SealData(purpose string, plaintext []byte) (string, error) {
	set := k.set.Load()
	if set.dataKID == "" {
		return "", fmt.Errorf("token: no data key loaded")
	}
	aead, err := dataAEAD(set.dataKeys[set.dataKID], purpose)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	ad := []byte(set.dataKID + "\x00" + purpose)
	return dataSealPrefix + set.dataKID + "." + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plaintext, ad)), nil
}

// OpenData reverses SealData, with the data key the value names (read
// from the store again if this replica does not know it yet).
func (k *Keys) OpenData(purpose, sealed string) ([]byte, error) {
	rest, ok := strings.CutPrefix(sealed, dataSealPrefix)
	if !ok {
		return nil, errUnsealed
	}
	kid, body, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, errUnsealed
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil {
		return nil, errUnsealed
	}
	secret, ok := k.set.Load().dataKeys[kid]
	if !ok && k.reload() {
		secret, ok = k.set.Load().dataKeys[kid]
	}
	if !ok {
		return nil, errUnsealed
	}
	aead, err := dataAEAD(secret, purpose)
	if err != nil {
		return nil, err
	}
	if len(raw) < aead.NonceSize() {
		return nil, errUnsealed
	}
	out, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(kid+"\x00"+purpose))
	if err != nil {
		return nil, errUnsealed
	}
	return out, nil
}

// DataMAC is HMAC-SHA-256 of msg under a key derived (HKDF, its own label
// per purpose) from the current data key: a keyed hash for values a stolen
// database must not let anyone brute-force without the key (recovery
// codes). It is deterministic, so stored MACs are looked up by equality.
// It names no key: a future rotation of the data key must keep the oldest
// key for it (or have the values made again).
func (k *Keys) DataMAC(purpose string, msg []byte) ([]byte, error) {
	set := k.set.Load()
	if set.dataKID == "" {
		return nil, fmt.Errorf("token: no data key loaded")
	}
	key, err := hkdf.Key(sha256.New, set.dataKeys[set.dataKID], nil, "latch data mac "+purpose, 32)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil), nil
}
