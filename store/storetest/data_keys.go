package storetest

import (
	"bytes"
	"testing"

	"github.com/latchid/latch"
)

// testDataKeys: data keys come back oldest first, bytes and times as
// stored; a taken id is a Conflict that changes nothing; they are apart
// from the signing keys (neither lists the other, a deletion of retired
// signing keys leaves them).
func testDataKeys(t *testing.T, st latch.Store) {
	ctx := t.Context()
	if got, err := st.DataKeys(ctx); err != nil || len(got) != 0 {
		t.Fatalf("DataKeys of a fresh store = %v, %v", got, err)
	}
	newer := latch.DataKey{ID: "dk-b", Key: []byte{0, 1, 0xfe, 0xff}, CreatedAt: at(2)}
	older := latch.DataKey{ID: "dk-a", Key: bytes.Repeat([]byte{7}, 32), CreatedAt: at(1)}
	for _, k := range []latch.DataKey{newer, older} {
		if err := st.AddDataKey(ctx, k); err != nil {
			t.Fatalf("AddDataKey(%s): %v", k.ID, err)
		}
	}
	err := st.AddDataKey(ctx, latch.DataKey{ID: "dk-a", Key: []byte("other"), CreatedAt: at(0)})
	if le := latch.AsError(err); le.Kind != latch.KindConflict || le.Code != latch.CodeAlreadyExists {
		t.Errorf("AddDataKey(taken id) = %v, want Conflict already_exists", err)
	}
	for _, bad := range []latch.DataKey{{ID: "", Key: []byte("k")}, {ID: "dk-c"}} {
		if err := st.AddDataKey(ctx, bad); !latch.IsKind(err, latch.KindInvalid) {
			t.Errorf("AddDataKey(%+v) = %v, want Invalid", bad, err)
		}
	}
	got, err := st.DataKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	older.CreatedAt, newer.CreatedAt = stored(older.CreatedAt), stored(newer.CreatedAt)
	equal(t, "DataKeys", got, []latch.DataKey{older, newer})
	if sks, _ := st.SigningKeys(ctx); len(sks) != 0 {
		t.Errorf("data keys listed as signing keys: %+v", sks)
	}
	if _, err := st.DeleteRetiredSigningKeys(ctx, at(1000)); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.DataKeys(ctx); len(got) != 2 {
		t.Errorf("data keys after deleting retired signing keys: %+v", got)
	}
}
