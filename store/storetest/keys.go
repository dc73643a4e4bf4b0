package storetest

import (
	"testing"

	"github.com/latchid/latch"
)

// The conformance tests of latch.KeyStore: the keys that sign access
// tokens.

func testSigningKeys(t *testing.T, st latch.Store) {
	ctx := t.Context()
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("SigningKeys of an empty store = %v", keys)
	}
	add := []latch.SigningKey{
		{ID: "k-newest", Algorithm: "EdDSA", Private: []byte{0x30, 0x2e, 0x00, 0xff}, CreatedAt: at(30)},
		{ID: "k-b", Algorithm: "ES256", Private: []byte("private-b"), CreatedAt: at(10)},
		{ID: "k-a", Algorithm: "ES256", Private: []byte("private-a"), CreatedAt: at(10)},
		{ID: "k-oldest", Algorithm: "ES256", Private: []byte("private-o"), CreatedAt: at(-30)},
	}
	for _, k := range add {
		if err := st.AddSigningKey(ctx, k); err != nil {
			t.Fatalf("AddSigningKey(%s): %v", k.ID, err)
		}
	}
	keys, err = st.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []latch.SigningKey
	for _, i := range []int{3, 2, 1, 0} { // oldest first, ties by id
		k := add[i]
		k.CreatedAt = stored(k.CreatedAt)
		want = append(want, k)
	}
	for _, k := range keys {
		checkTimes(t, "SigningKey", k)
	}
	equal(t, "SigningKeys", keys, want)

	err = st.AddSigningKey(ctx, latch.SigningKey{ID: "k-a", Algorithm: "EdDSA", Private: []byte("other"), CreatedAt: at(40)})
	if !latch.IsKind(err, latch.KindConflict) {
		t.Errorf("duplicate key id: %v, want Conflict", err)
	}
	if keys, _ := st.SigningKeys(ctx); len(keys) != len(add) {
		t.Errorf("%d keys after a duplicate, want %d", len(keys), len(add))
	}
}
