package storetest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch"
)

// The conformance tests of apps' authorization codes and the grant
// sessions made from them (issue 15): RedeemAppCode.

var appCodeTests = []struct {
	name string
	fn   func(t *testing.T, st latch.Store)
}{
	{"AppCode/RoundTrip", testAppCodeRoundTrip},
	{"AppCode/RedeemOnce", testRedeemAppCodeOnce},
	{"AppCode/Replay", testRedeemAppCodeReplay},
	{"AppCode/Expired", testRedeemAppCodeExpired},
	{"AppCode/Concurrent", testRedeemAppCodeConcurrent},
	{"AppCode/NativeApart", testNativeAndAppCodesApart},
	{"AppCode/GrantMismatch", testRedeemAppCodeGrantMismatch},
}

// appCodeFixture is a user, an app, a browser session and an app code of
// theirs, stored.
type appCodeFixture struct {
	user    latch.User
	app     latch.App
	browser latch.Session
	code    latch.AuthorizationCode
}

func newAppCodeFixture(t *testing.T, st latch.Store, hash string) appCodeFixture {
	t.Helper()
	tn := createTenant(t, st, "Codes "+hash)
	f := appCodeFixture{user: createUser(t, st, hash+"@example.com"), app: createApp(t, st, tn.ID)}
	f.browser = createSession(t, st, f.user.ID, nil)
	f.code = latch.AuthorizationCode{
		Hash: []byte(hash), UserID: f.user.ID, CodeChallenge: "challenge", RedirectURI: "https://shop.example/callback",
		CreatedAt: at(0), ExpiresAt: at(1),
		AppID: f.app.ID, Nonce: "n-0S6_WzA2Mj", Scopes: []string{latch.AppScopeOpenID, latch.AppScopeEmail},
		AuthTime: at(0).Add(-time.Second), AMR: []string{"pwd", "otp"}, ParentSessionID: f.browser.ID,
	}
	if err := st.CreateAuthorizationCode(t.Context(), f.code); err != nil {
		t.Fatalf("CreateAuthorizationCode: %v", err)
	}
	return f
}

// grant is the session a redemption of f's code stores.
func (f appCodeFixture) grant(t *testing.T) latch.NewSession {
	return latch.NewSession{
		Session: latch.Session{
			ID: newID(t), UserID: f.user.ID, Kind: latch.KindSession, Scopes: f.code.Scopes,
			CreatedAt: at(0), ExpiresAt: at(60),
			AppID: f.app.ID, AuthTime: f.code.AuthTime, AMR: f.code.AMR, ParentSessionID: f.browser.ID,
		},
		RefreshHash: []byte("grant-refresh-" + newID(t)),
	}
}

func wantAppCode(t *testing.T, got, want latch.AuthorizationCode) {
	t.Helper()
	want.CreatedAt, want.ExpiresAt, want.AuthTime = stored(want.CreatedAt), stored(want.ExpiresAt), stored(want.AuthTime)
	if string(got.Hash) != string(want.Hash) || got.UserID != want.UserID || got.CodeChallenge != want.CodeChallenge ||
		got.RedirectURI != want.RedirectURI || !got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		got.AppID != want.AppID || got.Nonce != want.Nonce || !slices.Equal(got.Scopes, want.Scopes) ||
		!got.AuthTime.Equal(want.AuthTime) || got.AuthTime.Location() != time.UTC ||
		!slices.Equal(got.AMR, want.AMR) || got.ParentSessionID != want.ParentSessionID {
		t.Fatalf("code %+v, want %+v", got, want)
	}
}

func wantGrant(t *testing.T, got, want latch.Session) {
	t.Helper()
	if got.ID != want.ID || got.UserID != want.UserID || got.Kind != want.Kind || !slices.Equal(got.Scopes, want.Scopes) ||
		got.AppID != want.AppID || !got.AuthTime.Equal(stored(want.AuthTime)) || !slices.Equal(got.AMR, want.AMR) ||
		got.ParentSessionID != want.ParentSessionID {
		t.Fatalf("grant session %+v, want %+v", got, want)
	}
}

// The new fields of codes and sessions come back as stored, and a native
// session has none of them.
func testAppCodeRoundTrip(t *testing.T, st latch.Store) {
	f := newAppCodeFixture(t, st, "round-trip")
	g := f.grant(t)
	got, err := st.RedeemAppCode(t.Context(), f.code.Hash, at(0).Add(10*time.Second), g)
	if err != nil {
		t.Fatal(err)
	}
	wantAppCode(t, got, f.code)
	wantGrant(t, session(t, st, g.Session.ID), g.Session)

	native := session(t, st, f.browser.ID)
	if native.AppID != "" || !native.AuthTime.IsZero() || native.AMR != nil || native.ParentSessionID != "" {
		t.Fatalf("native session %+v has app fields", native)
	}
	// The listing reads the same columns.
	list, err := st.SessionsByUser(t.Context(), f.user.ID, at(1))
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list, func(s latch.Session) bool { return s.ID == g.Session.ID })
	if i < 0 {
		t.Fatalf("SessionsByUser = %+v, want the grant among them", list)
	}
	wantGrant(t, list[i], g.Session)

	// Bad fields are refused, not stored half.
	bad := f.code
	bad.Hash, bad.ParentSessionID = []byte("bad-parent"), "not-a-uuid"
	wantError(t, st.CreateAuthorizationCode(t.Context(), bad), latch.KindInvalid, latch.CodeInvalidRequest)
	bad.ParentSessionID, bad.AMR = "", []string{"p w d"}
	wantError(t, st.CreateAuthorizationCode(t.Context(), bad), latch.KindInvalid, latch.CodeInvalidRequest)
	bad.AMR, bad.AppID = nil, "app_unknown"
	wantNotFound(t, st.CreateAuthorizationCode(t.Context(), bad))
	_, err = st.RedeemAppCode(t.Context(), bad.Hash, at(0), f.grant(t))
	wantNotFound(t, err)
}

// A redemption spends the code and stores its grant; the code then is no
// longer redeemable, natively or as an app's.
func testRedeemAppCodeOnce(t *testing.T, st latch.Store) {
	f := newAppCodeFixture(t, st, "once")
	g := f.grant(t)
	if _, err := st.RedeemAppCode(t.Context(), f.code.Hash, at(0), g); err != nil {
		t.Fatal(err)
	}
	if s := session(t, st, g.Session.ID); !s.Live(at(1)) {
		t.Fatalf("grant %+v is not live", s)
	}
	_, err := st.ConsumeAuthorizationCode(t.Context(), f.code.Hash, at(0))
	wantNotFound(t, err)
}

// A second redemption is a replay: Conflict, and the grant made by the
// first is revoked (RFC 6749 section 4.1.2), and nothing new is stored.
func testRedeemAppCodeReplay(t *testing.T, st latch.Store) {
	f := newAppCodeFixture(t, st, "replay")
	first := f.grant(t)
	if _, err := st.RedeemAppCode(t.Context(), f.code.Hash, at(0), first); err != nil {
		t.Fatal(err)
	}
	second := f.grant(t)
	_, err := st.RedeemAppCode(t.Context(), f.code.Hash, at(0).Add(5*time.Second), second)
	wantError(t, err, latch.KindConflict, latch.CodeAuthorizationCodeReused)
	s := session(t, st, first.Session.ID)
	if s.RevokedAt == nil || !s.RevokedAt.Equal(stored(at(0).Add(5*time.Second))) {
		t.Fatalf("first grant after the replay = %+v, want revoked at the replay", s)
	}
	if _, _, err := st.SessionWithUser(t.Context(), second.Session.ID); !latch.IsKind(err, latch.KindNotFound) {
		t.Fatalf("the replay's grant was stored: %v", err)
	}
	// The browser session that approved the code is not the app's grant.
	if b := session(t, st, f.browser.ID); b.RevokedAt != nil {
		t.Fatalf("browser session revoked by the replay: %+v", b)
	}
	// A replay of a replay is still one, even after expiry.
	_, err = st.RedeemAppCode(t.Context(), f.code.Hash, at(5), f.grant(t))
	wantError(t, err, latch.KindConflict, latch.CodeAuthorizationCodeReused)
}

// An expired or unknown code is NotFound and spends nothing.
func testRedeemAppCodeExpired(t *testing.T, st latch.Store) {
	f := newAppCodeFixture(t, st, "expired")
	g := f.grant(t)
	_, err := st.RedeemAppCode(t.Context(), f.code.Hash, at(1), g)
	wantNotFound(t, err)
	if _, _, err := st.SessionWithUser(t.Context(), g.Session.ID); !latch.IsKind(err, latch.KindNotFound) {
		t.Fatalf("an expired code stored its grant: %v", err)
	}
	_, err = st.RedeemAppCode(t.Context(), []byte("never-made"), at(0), f.grant(t))
	wantNotFound(t, err)
	// Not spent: still unused before its expiry (a clock behind).
	if _, err := st.RedeemAppCode(t.Context(), f.code.Hash, at(0), f.grant(t)); err != nil {
		t.Fatalf("an expired-looking attempt spent the code: %v", err)
	}
}

// Of concurrent redemptions exactly one succeeds; the others are replays,
// which revoke the winner's grant if it committed first.
func testRedeemAppCodeConcurrent(t *testing.T, st latch.Store) {
	f := newAppCodeFixture(t, st, "race")
	warmUp(t, st, f.user.ID)
	var wins, replays atomic.Int32
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			_, err := st.RedeemAppCode(t.Context(), f.code.Hash, at(0), f.grant(t))
			switch {
			case err == nil:
				wins.Add(1)
			case latch.IsCode(err, latch.CodeAuthorizationCodeReused):
				replays.Add(1)
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 || replays.Load() != 1 {
		t.Fatalf("%d redemptions won and %d were replays, want 1 and 1", wins.Load(), replays.Load())
	}
	live, err := st.SessionsByUser(t.Context(), f.user.ID, at(1))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range live {
		if s.AppID != "" {
			t.Fatalf("grant %+v still live after a replay", s)
		}
	}
}

// Latch's own codes still go through ConsumeAuthorizationCode, and the
// two kinds of codes are not interchangeable.
func testNativeAndAppCodesApart(t *testing.T, st latch.Store) {
	f := newAppCodeFixture(t, st, "apart")
	native := latch.AuthorizationCode{Hash: []byte("native"), UserID: f.user.ID, CodeChallenge: "c", RedirectURI: "https://app.example/cb",
		CreatedAt: at(0), ExpiresAt: at(1)}
	if err := st.CreateAuthorizationCode(t.Context(), native); err != nil {
		t.Fatal(err)
	}
	_, err := st.ConsumeAuthorizationCode(t.Context(), f.code.Hash, at(0))
	wantNotFound(t, err)
	_, err = st.RedeemAppCode(t.Context(), native.Hash, at(0), f.grant(t))
	wantNotFound(t, err)
	got, err := st.ConsumeAuthorizationCode(t.Context(), native.Hash, at(0))
	if err != nil {
		t.Fatal(err)
	}
	wantAppCode(t, got, native)
	// The app's code was not spent by the native attempt.
	if _, err := st.RedeemAppCode(t.Context(), f.code.Hash, at(0), f.grant(t)); err != nil {
		t.Fatal(err)
	}
}

// A grant that is not the code's user's and app's is refused and spends
// nothing.
func testRedeemAppCodeGrantMismatch(t *testing.T, st latch.Store) {
	f := newAppCodeFixture(t, st, "mismatch")
	other := createUser(t, st, "mismatch-other@example.com")
	g := f.grant(t)
	g.Session.UserID = other.ID
	_, err := st.RedeemAppCode(t.Context(), f.code.Hash, at(0), g)
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	if _, err := st.RedeemAppCode(t.Context(), f.code.Hash, at(0), f.grant(t)); err != nil {
		t.Fatalf("a refused grant spent the code: %v", err)
	}
}

// testFeedAppDeleted: deleting an app deletes its sessions (ON DELETE
// CASCADE), and the feed tells their user, as for any deleted session.
func testFeedAppDeleted(t *testing.T, b FeedBackend) {
	sink := watch(t, b)
	marker := createUser(t, b.Other, "app-marker@example.com")
	f := newAppCodeFixture(t, b.Other, "feed-app")
	g := f.grant(t)
	if _, err := b.Other.RedeemAppCode(t.Context(), f.code.Hash, at(0), g); err != nil {
		t.Fatal(err)
	}
	b.Exec(t, fmt.Sprintf(`DELETE FROM apps WHERE id = '%s'`, f.app.ID))
	if _, _, err := b.Other.SessionWithUser(t.Context(), g.Session.ID); !latch.IsKind(err, latch.KindNotFound) {
		t.Fatalf("the deleted app's session is still there: %v", err)
	}
	if b := session(t, b.Other, f.browser.ID); b.RevokedAt != nil {
		t.Fatalf("the browser session went with the app: %+v", b)
	}
	name := "mark"
	if _, err := b.Other.UpdateUser(t.Context(), latch.UserUpdate{ID: marker.ID, FirstName: &name, At: at(2)}); err != nil {
		t.Fatal(err)
	}
	if seen := sink.changedUntil(t, marker.ID); len(seen) != 1 || seen[f.user.ID] == 0 {
		t.Fatalf("told changes of %v, want of %s only", seen, f.user.ID)
	}
}
