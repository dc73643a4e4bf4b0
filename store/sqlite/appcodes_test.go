package sqlite

import (
	"database/sql"
	"testing"
	"time"

	"github.com/latchid/latch"
)

// TestRedeemAppCodeRecords checks what the Store interface does not show:
// a redemption records its grant session on the code, and a replay marks
// the code replayed (for the audit and for operators).
func TestRedeemAppCodeRecords(t *testing.T) {
	ctx := t.Context()
	st, _ := storeAt(t, 17)
	const userID = "0190b8a2-7c1e-7d3a-9f00-0000000000c1"
	const grantID = "0190b8a2-7c1e-7d3a-9f00-0000000000c2"
	for _, q := range []string{
		`INSERT INTO users (id, tenant_id, email, email_normalized, first_name, last_name, profile_picture,
			verified, active, admin, created_at, updated_at)
		 VALUES ('` + userID + `', '` + latch.DefaultTenantID + `', 'c@example.com', 'c@example.com', '', '', '', 0, 1, 0, 0, 0)`,
		`INSERT INTO apps (id, tenant_id, name, type, secret_hash, first_party, redirect_uris, post_logout_redirect_uris,
			scopes, client_credentials, created_at, updated_at)
		 VALUES ('app_c', '` + latch.DefaultTenantID + `', 'Shop', 'public', NULL, 0, '[]', '[]', 'openid', 0, 0, 0)`,
	} {
		if _, err := st.writer.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Unix(1000, 0).UTC()
	code := latch.AuthorizationCode{Hash: []byte("h"), UserID: userID, AppID: "app_c", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	if err := st.CreateAuthorizationCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	grant := latch.NewSession{Session: latch.Session{ID: grantID, UserID: userID, AppID: "app_c", Kind: latch.KindSession,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}}
	if _, err := st.RedeemAppCode(ctx, code.Hash, t0, grant); err != nil {
		t.Fatal(err)
	}
	var recorded sql.NullString
	var replayed sql.NullInt64
	read := func() {
		t.Helper()
		if err := st.writer.QueryRowContext(ctx, `SELECT grant_session_id, replayed_at FROM authorization_codes WHERE hash = ?`,
			code.Hash).Scan(&recorded, &replayed); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if recorded.String != grantID || replayed.Valid {
		t.Fatalf("after one redemption grant_session_id = %v, replayed_at = %v; want %s, NULL", recorded, replayed, grantID)
	}
	grant.Session.ID = "0190b8a2-7c1e-7d3a-9f00-0000000000c3"
	replayAt := t0.Add(time.Second)
	if _, err := st.RedeemAppCode(ctx, code.Hash, replayAt, grant); !latch.IsCode(err, latch.CodeAuthorizationCodeReused) {
		t.Fatalf("replay: %v", err)
	}
	read()
	if recorded.String != grantID || replayed.Int64 != replayAt.UnixMicro() {
		t.Fatalf("after a replay grant_session_id = %v, replayed_at = %v; want %s, %d", recorded, replayed, grantID, replayAt.UnixMicro())
	}
}
