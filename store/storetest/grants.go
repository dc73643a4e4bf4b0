package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/latchid/latch"
)

// The conformance tests of apps' grants ending (issue 15): a revoked app,
// a withdrawn consent and a browser signed out end the grants they gave,
// in the same write; and AppCodeByHash, which a redemption reads first.

var grantTests = []struct {
	name string
	fn   func(t *testing.T, st latch.Store)
}{
	{"AppCode/ByHash", testAppCodeByHash},
	{"Grants/RevokeApp", testRevokeAppEndsGrants},
	{"Grants/RevokeConsent", testRevokeConsentEndsGrants},
	{"Grants/EndBrowserSession", testRevokeSessionAndGrants},
	{"Grants/AdminRevokesBrowserSession", testRevokeSessionsEndsGrants},
	{"RefreshToken/Head", testRefreshTokenHead},
}

// createGrant stores a live grant of userID at appID made from the
// browser session parentID ("" for none), expiring at(60).
func createGrant(t *testing.T, st latch.Store, userID, appID, parentID string) latch.Session {
	t.Helper()
	s := latch.Session{
		ID: newID(t), UserID: userID, Kind: latch.KindApp, Scopes: []string{latch.AppScopeOpenID},
		CreatedAt: at(0), ExpiresAt: at(60), AppID: appID, AuthTime: at(0), AMR: []string{"pwd"}, ParentSessionID: parentID,
	}
	if err := st.CreateSession(t.Context(), latch.NewSession{Session: s}); err != nil {
		t.Fatalf("CreateSession(grant): %v", err)
	}
	return s
}

func wantRevokedAt(t *testing.T, st latch.Store, what, id string, when time.Time) {
	t.Helper()
	s := session(t, st, id)
	if s.RevokedAt == nil || !s.RevokedAt.Equal(stored(when)) {
		t.Errorf("%s: revoked at %v, want %v", what, s.RevokedAt, stored(when))
	}
}

func wantLive(t *testing.T, st latch.Store, what, id string) {
	t.Helper()
	if s := session(t, st, id); s.RevokedAt != nil {
		t.Errorf("%s: revoked at %v, want live", what, s.RevokedAt)
	}
}

// An app's code is read as stored, whatever its state, and nothing is
// written: the code stays redeemable. Latch's own codes are not an app's.
func testAppCodeByHash(t *testing.T, st latch.Store) {
	f := newAppCodeFixture(t, st, "by-hash")
	got, err := st.AppCodeByHash(t.Context(), f.code.Hash)
	if err != nil {
		t.Fatal(err)
	}
	wantAppCode(t, got, f.code)
	checkTimes(t, "AuthorizationCode", got)
	if _, err := st.RedeemAppCode(t.Context(), f.code.Hash, at(0), f.grant(t)); err != nil {
		t.Fatalf("a read spent the code: %v", err)
	}
	// Used (and, read with no clock, whether expired or not): still read,
	// for the redemption to tell the replay.
	got, err = st.AppCodeByHash(t.Context(), f.code.Hash)
	if err != nil {
		t.Fatalf("a used code: %v", err)
	}
	wantAppCode(t, got, f.code)

	native := latch.AuthorizationCode{Hash: []byte("by-hash-native"), UserID: f.user.ID, CodeChallenge: "c",
		RedirectURI: "https://app.example/cb", CreatedAt: at(0), ExpiresAt: at(1)}
	if err := st.CreateAuthorizationCode(t.Context(), native); err != nil {
		t.Fatal(err)
	}
	_, err = st.AppCodeByHash(t.Context(), native.Hash)
	wantNotFound(t, err)
	_, err = st.AppCodeByHash(t.Context(), []byte("never-made"))
	wantNotFound(t, err)
}

// RevokeApp ends every live grant of the app, whoever's, and nothing
// else; the audit event says how many.
func testRevokeAppEndsGrants(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Grants")
	a, other := createApp(t, st, tn.ID), createApp(t, st, tn.ID)
	ada, bob := createUser(t, st, "ada-grants@example.com"), createUser(t, st, "bob-grants@example.com")
	browser := createSession(t, st, ada.ID, nil)
	g1 := createGrant(t, st, ada.ID, a.ID, browser.ID)
	g2 := createGrant(t, st, bob.ID, a.ID, "")
	ended := createGrant(t, st, bob.ID, a.ID, "")
	if err := st.RevokeSession(ctx, ended.ID, at(1)); err != nil {
		t.Fatal(err)
	}
	otherGrant := createGrant(t, st, ada.ID, other.ID, browser.ID)

	ev := &latch.AuditEvent{TenantID: tn.ID, At: at(5), Action: latch.AuditAppRevoke, ActorType: latch.ActorOperator,
		TargetID: a.ID, Details: map[string]string{"reason": "test"}}
	if err := st.RevokeApp(ctx, a.ID, at(5), ev); err != nil {
		t.Fatal(err)
	}
	wantRevokedAt(t, st, "ada's grant", g1.ID, at(5))
	wantRevokedAt(t, st, "bob's grant", g2.ID, at(5))
	wantRevokedAt(t, st, "a grant ended before", ended.ID, at(1))
	wantLive(t, st, "another app's grant", otherGrant.ID)
	wantLive(t, st, "the browser session", browser.ID)
	evs := events(t, st, latch.AuditQuery{Action: latch.AuditAppRevoke, TargetID: a.ID})
	if len(evs) != 1 || evs[0].Details["grants_revoked"] != "2" || evs[0].Details["reason"] != "test" {
		t.Fatalf("audit events %+v, want one with grants_revoked 2 and the caller's details", evs)
	}
	if len(ev.Details) != 1 {
		t.Errorf("the caller's details were written: %v", ev.Details)
	}

	// Again: the first time stays, nothing more is ended.
	if err := st.RevokeApp(ctx, a.ID, at(6), &latch.AuditEvent{Action: latch.AuditAppRevoke, TargetID: a.ID}); err != nil {
		t.Fatal(err)
	}
	wantRevokedAt(t, st, "ada's grant after a second revocation", g1.ID, at(5))
	if evs := events(t, st, latch.AuditQuery{Action: latch.AuditAppRevoke, TargetID: a.ID}); len(evs) != 2 || evs[0].Details["grants_revoked"] != "0" {
		t.Fatalf("audit events %+v, want the second with grants_revoked 0", evs)
	}
	// An unknown app ends nothing and is NotFound.
	wantNotFound(t, st.RevokeApp(ctx, "app_unknown", at(7), nil))
}

// RevokeConsent ends the user's grants at the app and the user's unused
// codes for it, and nobody else's; without a consent it writes nothing.
func testRevokeConsentEndsGrants(t *testing.T, st latch.Store) {
	ctx := t.Context()
	f := newAppCodeFixture(t, st, "consent-grants")
	other := createApp(t, st, f.app.TenantID)
	bob := createUser(t, st, "bob-consent@example.com")
	for _, c := range []latch.AppConsent{
		{UserID: f.user.ID, AppID: f.app.ID, Scopes: []string{latch.AppScopeOpenID}, GrantedAt: at(0)},
		{UserID: bob.ID, AppID: f.app.ID, Scopes: []string{latch.AppScopeOpenID}, GrantedAt: at(0)},
	} {
		if _, err := st.UpsertConsent(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
	}
	mine := createGrant(t, st, f.user.ID, f.app.ID, f.browser.ID)
	bobs := createGrant(t, st, bob.ID, f.app.ID, "")
	elsewhere := createGrant(t, st, f.user.ID, other.ID, f.browser.ID)
	// A redeemed code stays, so that a replay is still told.
	redeemed := f.code
	redeemed.Hash = []byte("consent-grants-redeemed")
	if err := st.CreateAuthorizationCode(ctx, redeemed); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RedeemAppCode(ctx, redeemed.Hash, at(0), f.grant(t)); err != nil {
		t.Fatal(err)
	}
	bobsCode := f.code
	bobsCode.Hash, bobsCode.UserID, bobsCode.ParentSessionID = []byte("consent-grants-bob"), bob.ID, ""
	if err := st.CreateAuthorizationCode(ctx, bobsCode); err != nil {
		t.Fatal(err)
	}

	// Without a consent: NotFound, and nothing is ended.
	wantNotFound(t, st.RevokeConsent(ctx, f.user.ID, other.ID, &latch.AuditEvent{At: at(2), Action: latch.AuditConsentRevoke, TargetID: f.user.ID}))
	wantLive(t, st, "the grant of an app without consent", elsewhere.ID)

	ev := &latch.AuditEvent{At: at(3), Action: latch.AuditConsentRevoke, ActorType: latch.ActorUser, ActorID: f.user.ID,
		TargetID: f.user.ID, Details: map[string]string{"app_id": f.app.ID}}
	if err := st.RevokeConsent(ctx, f.user.ID, f.app.ID, ev); err != nil {
		t.Fatal(err)
	}
	wantRevokedAt(t, st, "the user's grant", mine.ID, at(3))
	wantLive(t, st, "another user's grant at the app", bobs.ID)
	wantLive(t, st, "the user's grant at another app", elsewhere.ID)
	wantLive(t, st, "the browser session", f.browser.ID)
	evs := events(t, st, latch.AuditQuery{Action: latch.AuditConsentRevoke, TargetID: f.user.ID})
	// The redeemed code's grant was live too: two grants of the user.
	if len(evs) != 1 || evs[0].Details["grants_revoked"] != "2" || evs[0].Details["app_id"] != f.app.ID {
		t.Fatalf("audit events %+v, want one with grants_revoked 2", evs)
	}
	// The unused code is gone; the used one is still a replay; another
	// user's code is untouched.
	_, err := st.RedeemAppCode(ctx, f.code.Hash, at(0), f.grant(t))
	wantNotFound(t, err)
	_, err = st.RedeemAppCode(ctx, redeemed.Hash, at(0), f.grant(t))
	wantError(t, err, latch.KindConflict, latch.CodeAuthorizationCodeReused)
	if _, err := st.AppCodeByHash(ctx, bobsCode.Hash); err != nil {
		t.Fatalf("another user's code: %v", err)
	}
	list, err := st.ConsentsByUser(ctx, bob.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("bob's consents = %+v, %v; want his one", list, err)
	}
}

// RevokeSessionAndGrants ends the session and the grants made from it,
// and no other grant; a session ended before still has its grants ended.
func testRevokeSessionAndGrants(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Browser")
	a, b := createApp(t, st, tn.ID), createApp(t, st, tn.ID)
	u := createUser(t, st, "browser-grants@example.com")
	browser, otherBrowser := createSession(t, st, u.ID, nil), createSession(t, st, u.ID, nil)
	g1 := createGrant(t, st, u.ID, a.ID, browser.ID)
	g2 := createGrant(t, st, u.ID, b.ID, browser.ID)
	fromOther := createGrant(t, st, u.ID, a.ID, otherBrowser.ID)
	orphan := createGrant(t, st, u.ID, a.ID, "")

	n, err := st.RevokeSessionAndGrants(ctx, browser.ID, at(4))
	if err != nil || n != 2 {
		t.Fatalf("RevokeSessionAndGrants = %d, %v; want 2", n, err)
	}
	wantRevokedAt(t, st, "the browser session", browser.ID, at(4))
	wantRevokedAt(t, st, "its grant at a", g1.ID, at(4))
	wantRevokedAt(t, st, "its grant at b", g2.ID, at(4))
	wantLive(t, st, "another browser's grant", fromOther.ID)
	wantLive(t, st, "a grant without a browser session", orphan.ID)
	wantLive(t, st, "another browser session", otherBrowser.ID)

	// Ended already: the first time stays, and a grant made from it since
	// (a code redeemed in between) is ended.
	late := createGrant(t, st, u.ID, a.ID, browser.ID)
	n, err = st.RevokeSessionAndGrants(ctx, browser.ID, at(9))
	if err != nil || n != 1 {
		t.Fatalf("RevokeSessionAndGrants again = %d, %v; want 1", n, err)
	}
	wantRevokedAt(t, st, "the browser session", browser.ID, at(4))
	wantRevokedAt(t, st, "a grant made after the sign-out", late.ID, at(9))

	for _, id := range []string{newID(t), "not-a-uuid"} {
		_, err = st.RevokeSessionAndGrants(ctx, id, at(10))
		wantNotFound(t, err)
	}
	live, err := st.SessionsByUser(ctx, u.ID, at(10))
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 0, len(live))
	for _, s := range live {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	want := []string{otherBrowser.ID, fromOther.ID, orphan.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("live sessions %v, want %v", ids, want)
	}
}

// An administrator's revocation of one session (RevokeSessions with a
// SessionID) ends the grants made from it too, and counts them; revoking
// it again ends a grant made since.
func testRevokeSessionsEndsGrants(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Admin browser")
	a := createApp(t, st, tn.ID)
	u := createUser(t, st, "admin-revokes-browser@example.com")
	browser, otherBrowser := createSession(t, st, u.ID, nil), createSession(t, st, u.ID, nil)
	g := createGrant(t, st, u.ID, a.ID, browser.ID)
	fromOther := createGrant(t, st, u.ID, a.ID, otherBrowser.ID)

	n, err := st.RevokeSessions(ctx, latch.SessionRevocation{UserID: u.ID, SessionID: browser.ID, At: at(4)})
	if err != nil || n != 2 {
		t.Fatalf("RevokeSessions(one session) = %d, %v; want 2 (the session and its grant)", n, err)
	}
	wantRevokedAt(t, st, "the browser session", browser.ID, at(4))
	wantRevokedAt(t, st, "its grant", g.ID, at(4))
	wantLive(t, st, "another browser's grant", fromOther.ID)
	wantLive(t, st, "another browser session", otherBrowser.ID)

	late := createGrant(t, st, u.ID, a.ID, browser.ID)
	n, err = st.RevokeSessions(ctx, latch.SessionRevocation{UserID: u.ID, SessionID: browser.ID, At: at(9)})
	if err != nil || n != 1 {
		t.Fatalf("RevokeSessions again = %d, %v; want 1 (the grant made since)", n, err)
	}
	wantRevokedAt(t, st, "the browser session", browser.ID, at(4))
	wantRevokedAt(t, st, "a grant made after the revocation", late.ID, at(9))
}

// RefreshTokenHead reads the chain's current generation and hash and
// writes nothing: the token read is still the one a rotation takes.
func testRefreshTokenHead(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "head@example.com")
	root := []byte("head-root")
	s := createSession(t, st, u.ID, root)
	for g := range int64(3) {
		gen, hash, err := st.RefreshTokenHead(ctx, s.ID)
		if err != nil || gen != g || !bytes.Equal(hash, chainLink(root, g)) {
			t.Fatalf("head at generation %d = %d %x, %v", g, gen, hash, err)
		}
		// Read twice: nothing moved.
		if again, _, err := st.RefreshTokenHead(ctx, s.ID); err != nil || again != g {
			t.Fatalf("second read = %d, %v; want %d", again, err, g)
		}
		if _, err := st.RotateRefreshToken(ctx, genuine(s.ID, root, g, at(int(g)+1), 0)); err != nil {
			t.Fatalf("rotating generation %d after reading it: %v", g, err)
		}
	}
	// Revoked: still read (whether the session is live is the caller's
	// question, from SessionWithUser).
	if err := st.RevokeSession(ctx, s.ID, at(10)); err != nil {
		t.Fatal(err)
	}
	if gen, _, err := st.RefreshTokenHead(ctx, s.ID); err != nil || gen != 3 {
		t.Fatalf("head of a revoked session = %d, %v; want 3", gen, err)
	}
	bare := createSession(t, st, u.ID, nil)
	for name, id := range map[string]string{"no chain": bare.ID, "unknown": newID(t), "malformed": "head"} {
		if _, _, err := st.RefreshTokenHead(ctx, id); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("%s: %v, want NotFound", name, err)
		}
	}
}
