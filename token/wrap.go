package token

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
)

// wrappedPrefix marks a private key stored encrypted (AES-256-GCM under
// the key encryption key, with the key's id as associated data, so a
// ciphertext cannot be moved to another key's row).
var wrappedPrefix = []byte("latch-kek-v1:")

func wrapKey(kek []byte, keyID string, der []byte) ([]byte, error) {
	aead, err := kekAEAD(kek)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := append(append([]byte{}, wrappedPrefix...), nonce...)
	return aead.Seal(out, nonce, der, []byte(keyID)), nil
}

// unwrapKey returns the PKCS#8 DER of a stored key: as stored when it was
// not encrypted (keys from before encryption was configured), decrypted
// otherwise.
func unwrapKey(kek []byte, keyID string, stored []byte) ([]byte, error) {
	if !bytes.HasPrefix(stored, wrappedPrefix) {
		return stored, nil
	}
	if kek == nil {
		return nil, fmt.Errorf("token: signing key %s is encrypted; set the key encryption key (LATCH_KEY_ENCRYPTION_KEY)", keyID)
	}
	aead, err := kekAEAD(kek)
	if err != nil {
		return nil, err
	}
	rest := stored[len(wrappedPrefix):]
	if len(rest) < aead.NonceSize() {
		return nil, fmt.Errorf("token: signing key %s: encrypted form is truncated", keyID)
	}
	der, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], []byte(keyID))
	if err != nil {
		return nil, fmt.Errorf("token: signing key %s does not decrypt with this key encryption key", keyID)
	}
	return der, nil
}

func kekAEAD(kek []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
