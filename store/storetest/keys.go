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

// testRotateSigningKey: a rotation marks every key of the new key's
// algorithm that still signs as rotated, to retire at the time given, and
// adds the new key, in one transaction; keys of another algorithm and keys
// rotated before keep their times. Retired keys are deleted, the others
// stay.
func testRotateSigningKey(t *testing.T, st latch.Store) {
	ctx := t.Context()
	for _, k := range []latch.SigningKey{
		{ID: "es-1", Algorithm: "ES256", Private: []byte("p1"), CreatedAt: at(0)},
		{ID: "ed-1", Algorithm: "EdDSA", Private: []byte("p2"), CreatedAt: at(1)},
	} {
		if err := st.AddSigningKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.RotateSigningKey(ctx, latch.SigningKey{ID: "es-2", Algorithm: "ES256", Private: []byte("p3"), CreatedAt: at(10)}, at(70)); err != nil {
		t.Fatalf("RotateSigningKey: %v", err)
	}
	if err := st.RotateSigningKey(ctx, latch.SigningKey{ID: "es-3", Algorithm: "ES256", Private: []byte("p4"), CreatedAt: at(20)}, at(80)); err != nil {
		t.Fatalf("RotateSigningKey again: %v", err)
	}
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		checkTimes(t, "SigningKey", k)
	}
	want := []latch.SigningKey{
		{ID: "es-1", Algorithm: "ES256", Private: []byte("p1"), CreatedAt: stored(at(0)), RotatedAt: storedPtr(at(10)), RetireAt: storedPtr(at(70))},
		{ID: "ed-1", Algorithm: "EdDSA", Private: []byte("p2"), CreatedAt: stored(at(1))},
		{ID: "es-2", Algorithm: "ES256", Private: []byte("p3"), CreatedAt: stored(at(10)), RotatedAt: storedPtr(at(20)), RetireAt: storedPtr(at(80))},
		{ID: "es-3", Algorithm: "ES256", Private: []byte("p4"), CreatedAt: stored(at(20))},
	}
	equal(t, "SigningKeys after two rotations", keys, want)

	// A duplicate id changes nothing, the older keys' times included.
	err = st.RotateSigningKey(ctx, latch.SigningKey{ID: "es-2", Algorithm: "ES256", Private: []byte("x"), CreatedAt: at(30)}, at(90))
	if !latch.IsKind(err, latch.KindConflict) {
		t.Errorf("rotation to a duplicate id: %v, want Conflict", err)
	}
	if keys, _ := st.SigningKeys(ctx); len(keys) != 4 || keys[3].RotatedAt != nil {
		t.Errorf("after a failed rotation: %+v", keys)
	}

	n, err := st.DeleteRetiredSigningKeys(ctx, at(70))
	if err != nil || n != 1 {
		t.Fatalf("DeleteRetiredSigningKeys at retire time: %d, %v; want 1", n, err)
	}
	if n, err := st.DeleteRetiredSigningKeys(ctx, at(79)); err != nil || n != 0 {
		t.Errorf("DeleteRetiredSigningKeys before the next retire time: %d, %v", n, err)
	}
	keys, _ = st.SigningKeys(ctx)
	equal(t, "SigningKeys after deleting the retired", keys, want[1:])
}

// testAnnouncedSigningKey: a rotation announced ahead stores the new key's
// activation, and the keys it replaces sign until then (RotatedAt is the
// activation, not the creation). A later rotation that activates sooner
// (a compromised key: rotate now) cuts the announced switch short: the
// old key and the announced one stop at its activation, keeping the
// retire time they had.
func testAnnouncedSigningKey(t *testing.T, st latch.Store) {
	ctx := t.Context()
	if err := st.AddSigningKey(ctx, latch.SigningKey{ID: "rs-1", Algorithm: "RS256", Private: []byte("p1"), CreatedAt: at(0)}); err != nil {
		t.Fatal(err)
	}
	announced := latch.SigningKey{ID: "rs-2", Algorithm: "RS256", Private: []byte("p2"), CreatedAt: at(10), ActivatesAt: new(at(40))}
	if err := st.RotateSigningKey(ctx, announced, at(100)); err != nil {
		t.Fatalf("RotateSigningKey announced: %v", err)
	}
	keys, err := st.SigningKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		checkTimes(t, "SigningKey", k)
	}
	equal(t, "SigningKeys after an announced rotation", keys, []latch.SigningKey{
		{ID: "rs-1", Algorithm: "RS256", Private: []byte("p1"), CreatedAt: stored(at(0)), RotatedAt: storedPtr(at(40)), RetireAt: storedPtr(at(100))},
		{ID: "rs-2", Algorithm: "RS256", Private: []byte("p2"), CreatedAt: stored(at(10)), ActivatesAt: storedPtr(at(40))},
	})

	if err := st.RotateSigningKey(ctx, latch.SigningKey{ID: "rs-3", Algorithm: "RS256", Private: []byte("p3"), CreatedAt: at(20)}, at(90)); err != nil {
		t.Fatalf("RotateSigningKey at once: %v", err)
	}
	keys, _ = st.SigningKeys(ctx)
	equal(t, "SigningKeys after a rotation at once cut the announced one short", keys, []latch.SigningKey{
		{ID: "rs-1", Algorithm: "RS256", Private: []byte("p1"), CreatedAt: stored(at(0)), RotatedAt: storedPtr(at(20)), RetireAt: storedPtr(at(100))},
		{ID: "rs-2", Algorithm: "RS256", Private: []byte("p2"), CreatedAt: stored(at(10)), ActivatesAt: storedPtr(at(40)), RotatedAt: storedPtr(at(20)), RetireAt: storedPtr(at(90))},
		{ID: "rs-3", Algorithm: "RS256", Private: []byte("p3"), CreatedAt: stored(at(20))},
	})

	// AddSigningKey keeps an activation too.
	if err := st.AddSigningKey(ctx, latch.SigningKey{ID: "ed-1", Algorithm: "EdDSA", Private: []byte("p4"), CreatedAt: at(30), ActivatesAt: new(at(35))}); err != nil {
		t.Fatal(err)
	}
	keys, _ = st.SigningKeys(ctx)
	if last := keys[len(keys)-1]; last.ID != "ed-1" || last.ActivatesAt == nil || !last.ActivatesAt.Equal(stored(at(35))) {
		t.Errorf("AddSigningKey with an activation: %+v", last)
	}
}
