package postgres_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/postgres"
)

// TestMigrateRehashedFrom checks 00008 on a schema that has a password:
// the credential keeps working as a session condition, a rehash then
// records the replaced hash as a digest only (the weaker hash is not
// copied), and going down and up again works.
func TestMigrateRehashedFrom(t *testing.T) {
	ctx := t.Context()
	url, db, p := schemaAt(t, 7)
	const userID = "0190b8a2-7c1e-7d3a-9f00-0000000000a8"
	for _, q := range []string{
		`INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name, profile_picture,
			verified, active, admin, created_at, updated_at)
		 VALUES ('` + userID + `', '` + latch.DefaultTenantID + `', 'r@example.com', 'r@example.com', '', '', '', false, true, false, now(), now())`,
		`INSERT INTO credentials (user_id, hash, created_at, updated_at) VALUES ('` + userID + `', 'weak-hash', now(), now())`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	session := func(while string) error {
		return st.CreateSession(ctx, latch.NewSession{
			Session:           latch.Session{ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, Kind: latch.KindSession, CreatedAt: time.Unix(0, 0), ExpiresAt: time.Unix(3600, 0)},
			WhilePasswordHash: while,
		})
	}
	if err := session("weak-hash"); err != nil {
		t.Fatalf("a session on a password stored before 00008: %v", err)
	}
	if err := st.ReplacePasswordHash(ctx, userID, "weak-hash", "strong-hash", time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	var from []byte
	if err := db.QueryRowContext(ctx, `SELECT rehashed_from FROM credentials WHERE user_id = $1`, userID).Scan(&from); err != nil {
		t.Fatal(err)
	}
	if len(from) == 0 || bytes.Contains(from, []byte("weak-hash")) {
		t.Fatalf("rehashed_from = %q: want a digest of the replaced hash, not the hash", from)
	}
	if err := session("weak-hash"); err != nil {
		t.Fatalf("a session on the replaced hash: %v", err)
	}

	if _, err := p.DownTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := session("strong-hash"); err != nil {
		t.Fatalf("a session on the current hash after down and up: %v", err)
	}
}
