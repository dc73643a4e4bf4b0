package token

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Seal encrypts and authenticates plaintext for a value the browser keeps
// (a cookie) and gives back unchanged. The key is derived (HKDF-SHA256)
// from the current signing key and purpose, so every replica shares it
// without another secret to configure, and a value sealed for one purpose
// cannot be opened as another.
func (k *Keys) Seal(purpose string, plaintext []byte) (string, error) {
	aead, err := sealAEAD(k.signingSet().secret, purpose)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plaintext, []byte(purpose))), nil
}

// errUnsealed hides why a value did not open: tampered, truncated, from
// another key or purpose, all alike.
var errUnsealed = errors.New("token: sealed value is invalid")

// Open reverses Seal. It tries the signing key's derived key first, then
// every other key that is not retired: a value sealed before a rotation
// (a cookie, a message waiting in the outbox) still opens.
func (k *Keys) Open(purpose, sealed string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil {
		return nil, errUnsealed
	}
	for _, secret := range k.set.Load().openSecrets {
		aead, err := sealAEAD(secret, purpose)
		if err != nil {
			return nil, err
		}
		if len(raw) < aead.NonceSize() {
			return nil, errUnsealed
		}
		if out, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(purpose)); err == nil {
			return out, nil
		}
	}
	return nil, errUnsealed
}

func sealAEAD(secret []byte, purpose string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, "latch seal "+purpose, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
