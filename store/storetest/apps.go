package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/latchid/latch"
)

// The conformance tests of latch.AppStore: apps (OAuth clients of end
// users) and the consents users gave them.

var appTests = []struct {
	name string
	fn   func(t *testing.T, st latch.Store)
}{
	{"App/RoundTrip", testAppRoundTrip},
	{"App/Invalid", testAppInvalid},
	{"App/Update", testUpdateApp},
	{"App/UpdateConcurrent", testUpdateAppConcurrent},
	{"App/RotateSecret", testRotateAppSecret},
	{"App/Revoke", testRevokeApp},
	{"App/Paging", testAppsByTenant},
	{"Consent/Union", testUpsertConsent},
	{"Consent/Revoke", testRevokeConsent},
	{"Consent/Cascade", testConsentCascade},
}

// newApp returns a confidential app of tenantID with a fresh id, not yet
// stored.
func newApp(t *testing.T, tenantID string) latch.App {
	return latch.App{
		ID: "app_" + strings.ReplaceAll(newID(t), "-", ""), TenantID: tenantID, Name: "Shop",
		Type: latch.AppConfidential, SecretHash: []byte("secret-hash"),
		RedirectURIs: []string{"https://shop.example/callback"}, Scopes: []string{latch.AppScopeOpenID},
		CreatedAt: at(0), UpdatedAt: at(0),
	}
}

func createApp(t *testing.T, st latch.Store, tenantID string) latch.App {
	t.Helper()
	a := newApp(t, tenantID)
	if err := st.CreateApp(t.Context(), a, nil); err != nil {
		t.Fatalf("CreateApp: %v", err)
	}
	a.CreatedAt, a.UpdatedAt = stored(a.CreatedAt), stored(a.UpdatedAt)
	return a
}

func app(t *testing.T, st latch.Store, id string) latch.App {
	t.Helper()
	a, err := st.AppByID(t.Context(), id)
	if err != nil {
		t.Fatalf("AppByID(%s): %v", id, err)
	}
	checkTimes(t, "App", a)
	return a
}

// auditCount counts the events of action on target.
func auditCount(t *testing.T, st latch.Store, action, target string) int {
	t.Helper()
	return len(events(t, st, latch.AuditQuery{Action: action, TargetID: target}))
}

func testAppRoundTrip(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Apps")
	in := latch.App{
		ID: "app_Round-Trip.1", TenantID: strings.ToUpper(tn.ID), Name: "Shop ✓", Type: latch.AppConfidential,
		SecretHash: []byte{0x00, 0x01, 0xfe, 0xff}, FirstParty: true,
		// Exact strings: a space, a query and Unicode come back as given.
		RedirectURIs:           []string{"https://shop.example/cb?a=1&b=2", "http://127.0.0.1:8080/cb", "https://shop.example/ü path"},
		PostLogoutRedirectURIs: []string{"https://shop.example/bye"},
		Scopes:                 []string{latch.AppScopeOpenID, latch.AppScopeEmail, latch.AppScopeOfflineAccess},
		ClientCredentials:      true, PKCEOptional: true, CreatedAt: at(0), UpdatedAt: at(1),
	}
	ev := latch.AuditEvent{TenantID: tn.ID, At: at(0), Action: latch.AuditAppCreate, ActorType: latch.ActorOperator, TargetID: in.ID}
	if err := st.CreateApp(ctx, in, &ev); err != nil {
		t.Fatal(err)
	}
	want := in
	want.TenantID, want.CreatedAt, want.UpdatedAt = tn.ID, stored(at(0)), stored(at(1))
	equal(t, "AppByID", app(t, st, in.ID), want)
	if got := auditCount(t, st, latch.AuditAppCreate, in.ID); got != 1 {
		t.Errorf("%d app.create events, want 1", got)
	}

	// A public app: no secret, no lists beyond its redirect; empty lists
	// come back nil.
	pub := newApp(t, tn.ID)
	pub.Type, pub.SecretHash, pub.PostLogoutRedirectURIs = latch.AppPublic, nil, []string{}
	if err := st.CreateApp(ctx, pub, nil); err != nil {
		t.Fatal(err)
	}
	pub.CreatedAt, pub.UpdatedAt, pub.PostLogoutRedirectURIs = stored(at(0)), stored(at(0)), nil
	equal(t, "public app", app(t, st, pub.ID), pub)

	// An app made without the PKCE exception does not have it.
	plain := createApp(t, st, tn.ID)
	if got := app(t, st, plain.ID); got.PKCEOptional {
		t.Errorf("an app stored without PKCEOptional reads back with it")
	}

	// Ids are opaque and compared exactly.
	_, err := st.AppByID(ctx, strings.ToUpper(in.ID))
	wantNotFound(t, err)
	for _, id := range []string{"", "app_unknown", "bad\x00id", "\xff"} {
		_, err := st.AppByID(ctx, id)
		wantNotFound(t, err)
	}

	// A taken id is a Conflict and writes neither the app nor its event.
	dup := newApp(t, tn.ID)
	dup.ID, dup.Name = in.ID, "Other"
	wantError(t, st.CreateApp(ctx, dup, &latch.AuditEvent{Action: latch.AuditAppCreate, TargetID: "dup"}), latch.KindConflict, latch.CodeAlreadyExists)
	if got := app(t, st, in.ID); got.Name != in.Name {
		t.Errorf("a duplicate overwrote the app: name %q", got.Name)
	}
	if got := auditCount(t, st, latch.AuditAppCreate, "dup"); got != 0 {
		t.Errorf("a refused app left %d audit events", got)
	}

	// An unknown (or malformed) tenant is NotFound.
	for _, tenant := range []string{newID(t), "not-a-uuid"} {
		wantNotFound(t, st.CreateApp(ctx, newApp(t, tenant), nil))
	}
}

func testAppInvalid(t *testing.T, st latch.Store) {
	tn := createTenant(t, st, "Apps")
	for name, change := range map[string]func(a *latch.App){
		"public with a secret":           func(a *latch.App) { a.Type = latch.AppPublic },
		"confidential without a secret":  func(a *latch.App) { a.SecretHash = nil },
		"unknown type":                   func(a *latch.App) { a.Type = "hybrid" },
		"public with client_credentials": func(a *latch.App) { a.Type, a.SecretHash, a.ClientCredentials = latch.AppPublic, nil, true },
		"public with pkce_optional":      func(a *latch.App) { a.Type, a.SecretHash, a.PKCEOptional = latch.AppPublic, nil, true },
		"scope with a space":             func(a *latch.App) { a.Scopes = []string{"openid email"} },
		"empty scope":                    func(a *latch.App) { a.Scopes = []string{""} },
		"NUL in a redirect":              func(a *latch.App) { a.RedirectURIs = []string{"https://x.example/\x00"} },
		"empty id":                       func(a *latch.App) { a.ID = "" },
	} {
		a := newApp(t, tn.ID)
		change(&a)
		var le *latch.Error
		err := st.CreateApp(t.Context(), a, nil)
		if !asError(err, &le) || le.Kind != latch.KindInvalid {
			t.Errorf("%s: CreateApp = %v, want Invalid", name, err)
		}
	}
	apps, err := st.AppsByTenant(t.Context(), latch.AppQuery{TenantID: tn.ID})
	if err != nil || len(apps) != 0 {
		t.Errorf("refused apps were stored: %v, %v", apps, err)
	}
}

func testUpdateApp(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Apps")
	a := createApp(t, st, tn.ID)
	name, first, cc, pkceOptional := "Shop 2", true, true, true
	redirects := []string{"https://shop.example/a", "https://shop.example/b"}
	postLogout := []string{"https://shop.example/bye"}
	scopes := []string{latch.AppScopeOpenID, latch.AppScopeProfile}
	got, err := st.UpdateApp(ctx, latch.AppUpdate{
		ID: a.ID, Name: &name, RedirectURIs: &redirects, PostLogoutRedirectURIs: &postLogout, Scopes: &scopes,
		FirstParty: &first, ClientCredentials: &cc, PKCEOptional: &pkceOptional, At: at(5),
		Audit: &latch.AuditEvent{TenantID: tn.ID, Action: latch.AuditAppUpdate, ActorType: latch.ActorOperator, TargetID: a.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := a
	want.Name, want.RedirectURIs, want.PostLogoutRedirectURIs, want.Scopes = name, redirects, postLogout, scopes
	want.FirstParty, want.ClientCredentials, want.PKCEOptional, want.UpdatedAt = true, true, true, stored(at(5))
	equal(t, "UpdateApp", got, want)
	equal(t, "AppByID after UpdateApp", app(t, st, a.ID), want)
	if n := auditCount(t, st, latch.AuditAppUpdate, a.ID); n != 1 {
		t.Errorf("%d app.update events, want 1", n)
	}

	// nil fields stay; an empty list clears.
	none := []string{}
	got, err = st.UpdateApp(ctx, latch.AppUpdate{ID: a.ID, PostLogoutRedirectURIs: &none, At: at(6)})
	if err != nil {
		t.Fatal(err)
	}
	want.PostLogoutRedirectURIs, want.UpdatedAt = nil, stored(at(6))
	equal(t, "UpdateApp clearing post-logout URIs", got, want)

	// The PKCE exception is cleared as it is set, and stays cleared.
	off := false
	got, err = st.UpdateApp(ctx, latch.AppUpdate{ID: a.ID, PKCEOptional: &off, At: at(7)})
	if err != nil {
		t.Fatal(err)
	}
	want.PKCEOptional, want.UpdatedAt = false, stored(at(7))
	equal(t, "UpdateApp clearing pkce_optional", got, want)
	equal(t, "AppByID after clearing pkce_optional", app(t, st, a.ID), want)

	// A public app cannot be given client_credentials: nothing is written.
	pub := newApp(t, tn.ID)
	pub.Type, pub.SecretHash = latch.AppPublic, nil
	if err := st.CreateApp(ctx, pub, nil); err != nil {
		t.Fatal(err)
	}
	_, err = st.UpdateApp(ctx, latch.AppUpdate{ID: pub.ID, ClientCredentials: &cc, Name: &name,
		Audit: &latch.AuditEvent{Action: latch.AuditAppUpdate, TargetID: pub.ID}})
	var le *latch.Error
	if !asError(err, &le) || le.Kind != latch.KindInvalid {
		t.Errorf("UpdateApp(public, client_credentials) = %v, want Invalid", err)
	}
	if got := app(t, st, pub.ID); got.ClientCredentials || got.Name == name {
		t.Errorf("a refused update was written: %+v", got)
	}
	// Nor the PKCE exception: a public app proves itself by PKCE alone.
	_, err = st.UpdateApp(ctx, latch.AppUpdate{ID: pub.ID, PKCEOptional: &pkceOptional, Name: &name,
		Audit: &latch.AuditEvent{Action: latch.AuditAppUpdate, TargetID: pub.ID}})
	if !asError(err, &le) || le.Kind != latch.KindInvalid || le.Field != "pkce_optional" {
		t.Errorf("UpdateApp(public, pkce_optional) = %v, want Invalid on pkce_optional", err)
	}
	if got := app(t, st, pub.ID); got.PKCEOptional || got.Name == name {
		t.Errorf("a refused update was written: %+v", got)
	}
	if n := auditCount(t, st, latch.AuditAppUpdate, pub.ID); n != 0 {
		t.Errorf("a refused update left %d audit events", n)
	}

	_, err = st.UpdateApp(ctx, latch.AppUpdate{ID: "app_unknown", Name: &name})
	wantNotFound(t, err)
}

// testUpdateAppConcurrent: updates of different fields at once all hold
// (each reads the row it changes inside its transaction).
func testUpdateAppConcurrent(t *testing.T, st latch.Store) {
	tn := createTenant(t, st, "Apps")
	a := createApp(t, st, tn.ID)
	first, cc, pkceOptional := true, true, true
	name := "Renamed"
	var wg sync.WaitGroup
	for _, up := range []latch.AppUpdate{
		{ID: a.ID, FirstParty: &first}, {ID: a.ID, ClientCredentials: &cc}, {ID: a.ID, Name: &name},
		{ID: a.ID, PKCEOptional: &pkceOptional},
	} {
		wg.Go(func() {
			if _, err := st.UpdateApp(t.Context(), up); err != nil {
				t.Errorf("UpdateApp: %v", err)
			}
		})
	}
	wg.Wait()
	if got := app(t, st, a.ID); !got.FirstParty || !got.ClientCredentials || !got.PKCEOptional || got.Name != name {
		t.Errorf("after concurrent updates: %+v, want every change", got)
	}
}

func testRotateAppSecret(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Apps")
	a := createApp(t, st, tn.ID)
	ev := latch.AuditEvent{TenantID: tn.ID, Action: latch.AuditAppSecretRotate, ActorType: latch.ActorOperator, TargetID: a.ID}
	if err := st.RotateAppSecret(ctx, a.ID, []byte("new-hash"), at(3), &ev); err != nil {
		t.Fatal(err)
	}
	got := app(t, st, a.ID)
	if string(got.SecretHash) != "new-hash" || !got.UpdatedAt.Equal(stored(at(3))) {
		t.Errorf("after RotateAppSecret: hash %q, updated %v", got.SecretHash, got.UpdatedAt)
	}
	if n := auditCount(t, st, latch.AuditAppSecretRotate, a.ID); n != 1 {
		t.Errorf("%d app.secret_rotate events, want 1", n)
	}

	pub := newApp(t, tn.ID)
	pub.Type, pub.SecretHash = latch.AppPublic, nil
	if err := st.CreateApp(ctx, pub, nil); err != nil {
		t.Fatal(err)
	}
	var le *latch.Error
	if err := st.RotateAppSecret(ctx, pub.ID, []byte("h"), at(3), nil); !asError(err, &le) || le.Kind != latch.KindInvalid {
		t.Errorf("RotateAppSecret(public) = %v, want Invalid", err)
	}
	if got := app(t, st, pub.ID); got.SecretHash != nil {
		t.Errorf("a public app got a secret: %q", got.SecretHash)
	}
	if err := st.RotateAppSecret(ctx, a.ID, nil, at(3), nil); !asError(err, &le) || le.Kind != latch.KindInvalid {
		t.Errorf("RotateAppSecret(empty hash) = %v, want Invalid", err)
	}
	wantNotFound(t, st.RotateAppSecret(ctx, "app_unknown", []byte("h"), at(3), nil))
}

func testRevokeApp(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Apps")
	a := createApp(t, st, tn.ID)
	ev := latch.AuditEvent{TenantID: tn.ID, Action: latch.AuditAppRevoke, ActorType: latch.ActorOperator, TargetID: a.ID}
	if err := st.RevokeApp(ctx, a.ID, at(2), &ev); err != nil {
		t.Fatal(err)
	}
	got := app(t, st, a.ID)
	if got.Usable() || !got.RevokedAt.Equal(stored(at(2))) {
		t.Errorf("after RevokeApp: revoked_at %v", got.RevokedAt)
	}
	// Again: the first time stays.
	if err := st.RevokeApp(ctx, a.ID, at(9), &ev); err != nil {
		t.Fatal(err)
	}
	if got := app(t, st, a.ID); !got.RevokedAt.Equal(stored(at(2))) {
		t.Errorf("a second revocation moved revoked_at to %v", got.RevokedAt)
	}
	if n := auditCount(t, st, latch.AuditAppRevoke, a.ID); n != 2 {
		t.Errorf("%d app.revoke events, want 2", n)
	}
	wantNotFound(t, st.RevokeApp(ctx, "app_unknown", at(2), nil))
}

func testAppsByTenant(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Apps")
	other := createTenant(t, st, "Other")
	createApp(t, st, other.ID)
	var ids []string
	// Ids that sort differently by bytes and by a locale's rules: the
	// order must be the same on every backend.
	for _, id := range []string{"app_b", "app_B", "app_a", "app_Z", "app_é", "app_1"} {
		a := newApp(t, tn.ID)
		a.ID = id
		if err := st.CreateApp(ctx, a, nil); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	want := []string{"app_1", "app_B", "app_Z", "app_a", "app_b", "app_é"}
	var got []string
	after := ""
	for page := 0; page < 10; page++ {
		apps, err := st.AppsByTenant(ctx, latch.AppQuery{TenantID: tn.ID, AfterID: after, Limit: 4})
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) > 4 {
			t.Fatalf("page of %d apps, limit 4", len(apps))
		}
		if len(apps) == 0 {
			break
		}
		for _, a := range apps {
			if a.TenantID != tn.ID {
				t.Errorf("app %s of tenant %s listed for %s", a.ID, a.TenantID, tn.ID)
			}
			got = append(got, a.ID)
		}
		after = apps[len(apps)-1].ID
	}
	equal(t, "AppsByTenant pages", got, want)

	var le *latch.Error
	if _, err := st.AppsByTenant(ctx, latch.AppQuery{}); !asError(err, &le) || le.Kind != latch.KindInvalid {
		t.Errorf("AppsByTenant without a tenant = %v, want Invalid", err)
	}
	if apps, err := st.AppsByTenant(ctx, latch.AppQuery{TenantID: newID(t)}); err != nil || len(apps) != 0 {
		t.Errorf("AppsByTenant(unknown tenant) = %v, %v; want none", apps, err)
	}
}

func testUpsertConsent(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Apps")
	a := createApp(t, st, tn.ID)
	b := createApp(t, st, tn.ID)
	u := createUser(t, st, "consent@example.com")

	ev := latch.AuditEvent{Action: latch.AuditConsentGrant, ActorType: latch.ActorUser, ActorID: u.ID, TargetID: a.ID}
	got, err := st.UpsertConsent(ctx, latch.AppConsent{UserID: strings.ToUpper(u.ID), AppID: a.ID,
		Scopes: []string{"openid", "email"}, GrantedAt: at(1)}, &ev)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "first consent", got, latch.AppConsent{UserID: u.ID, AppID: a.ID, Scopes: []string{"openid", "email"}, GrantedAt: stored(at(1))})

	// A second grant adds its scopes, each once, in the order granted.
	got, err = st.UpsertConsent(ctx, latch.AppConsent{UserID: u.ID, AppID: a.ID,
		Scopes: []string{"email", "offline_access", "openid"}, GrantedAt: at(3)}, &ev)
	if err != nil {
		t.Fatal(err)
	}
	wantA := latch.AppConsent{UserID: u.ID, AppID: a.ID, Scopes: []string{"openid", "email", "offline_access"}, GrantedAt: stored(at(3))}
	equal(t, "union", got, wantA)
	if _, err := st.UpsertConsent(ctx, latch.AppConsent{UserID: u.ID, AppID: b.ID, Scopes: []string{"openid"}, GrantedAt: at(2)}, nil); err != nil {
		t.Fatal(err)
	}
	consents, err := st.ConsentsByUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range consents {
		checkTimes(t, "AppConsent", c)
	}
	equal(t, "ConsentsByUser (latest first)", consents, []latch.AppConsent{
		wantA, {UserID: u.ID, AppID: b.ID, Scopes: []string{"openid"}, GrantedAt: stored(at(2))},
	})
	if n := auditCount(t, st, latch.AuditConsentGrant, a.ID); n != 2 {
		t.Errorf("%d consent.grant events, want 2", n)
	}

	// Concurrent grants of different scopes: the union holds every one.
	c := createApp(t, st, tn.ID)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			_, err := st.UpsertConsent(ctx, latch.AppConsent{UserID: u.ID, AppID: c.ID, Scopes: []string{fmt.Sprintf("s%d", i)}, GrantedAt: at(4)}, nil)
			if err != nil {
				t.Errorf("UpsertConsent: %v", err)
			}
		})
	}
	wg.Wait()
	consents, _ = st.ConsentsByUser(ctx, u.ID)
	for _, k := range consents {
		if k.AppID == c.ID && len(k.Scopes) != 4 {
			t.Errorf("concurrent grants kept %v, want 4 scopes", k.Scopes)
		}
	}

	// Unknown user or app: NotFound, nothing written.
	_, err = st.UpsertConsent(ctx, latch.AppConsent{UserID: newID(t), AppID: a.ID, Scopes: []string{"openid"}}, &ev)
	wantNotFound(t, err)
	_, err = st.UpsertConsent(ctx, latch.AppConsent{UserID: u.ID, AppID: "app_unknown", Scopes: []string{"openid"}}, &ev)
	wantNotFound(t, err)
	if n := auditCount(t, st, latch.AuditConsentGrant, a.ID); n != 2 {
		t.Errorf("refused grants left events: %d consent.grant, want 2", n)
	}
	if consents, err := st.ConsentsByUser(ctx, newID(t)); err != nil || len(consents) != 0 {
		t.Errorf("ConsentsByUser(unknown) = %v, %v", consents, err)
	}
}

func testRevokeConsent(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Apps")
	a := createApp(t, st, tn.ID)
	u := createUser(t, st, "revoke@example.com")
	if _, err := st.UpsertConsent(ctx, latch.AppConsent{UserID: u.ID, AppID: a.ID, Scopes: []string{"openid"}, GrantedAt: at(1)}, nil); err != nil {
		t.Fatal(err)
	}
	ev := latch.AuditEvent{Action: latch.AuditConsentRevoke, ActorType: latch.ActorUser, ActorID: u.ID, TargetID: a.ID}
	if err := st.RevokeConsent(ctx, u.ID, a.ID, &ev); err != nil {
		t.Fatal(err)
	}
	if consents, _ := st.ConsentsByUser(ctx, u.ID); len(consents) != 0 {
		t.Errorf("after RevokeConsent: %v", consents)
	}
	if n := auditCount(t, st, latch.AuditConsentRevoke, a.ID); n != 1 {
		t.Errorf("%d consent.revoke events, want 1", n)
	}
	// Gone: a second revocation is NotFound, and writes no event.
	wantNotFound(t, st.RevokeConsent(ctx, u.ID, a.ID, &ev))
	wantNotFound(t, st.RevokeConsent(ctx, "not-a-uuid", a.ID, nil))
	if n := auditCount(t, st, latch.AuditConsentRevoke, a.ID); n != 1 {
		t.Errorf("a refused revocation left an event: %d", n)
	}
	// A later grant starts afresh, not from the revoked scopes.
	if _, err := st.UpsertConsent(ctx, latch.AppConsent{UserID: u.ID, AppID: a.ID, Scopes: []string{"email"}, GrantedAt: at(2)}, nil); err != nil {
		t.Fatal(err)
	}
	consents, _ := st.ConsentsByUser(ctx, u.ID)
	if len(consents) != 1 || !equalStrings(consents[0].Scopes, []string{"email"}) {
		t.Errorf("after revoke and grant: %v, want only email", consents)
	}
}

// testConsentCascade: a deleted user's consents go with them; other
// users' stay. (Tenants and apps are never deleted: apps are revoked.)
func testConsentCascade(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Apps")
	a := createApp(t, st, tn.ID)
	gone := createUser(t, st, "gone@example.com")
	kept := createUser(t, st, "kept@example.com")
	for _, u := range []latch.User{gone, kept} {
		if _, err := st.UpsertConsent(ctx, latch.AppConsent{UserID: u.ID, AppID: a.ID, Scopes: []string{"openid"}, GrantedAt: at(1)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteUser(ctx, gone.ID, nil); err != nil {
		t.Fatal(err)
	}
	if consents, _ := st.ConsentsByUser(ctx, gone.ID); len(consents) != 0 {
		t.Errorf("a deleted user's consents remain: %v", consents)
	}
	if consents, _ := st.ConsentsByUser(ctx, kept.ID); len(consents) != 1 {
		t.Errorf("another user's consent went too: %v", consents)
	}
	// Revoking the app keeps its consents (a later slice ends its grants);
	// the app itself stays readable.
	if err := st.RevokeApp(ctx, a.ID, at(2), nil); err != nil {
		t.Fatal(err)
	}
	app(t, st, a.ID)
}

func equalStrings(a, b []string) bool { return slices.Equal(a, b) }

// asError reports whether err is a *latch.Error, setting *le.
func asError(err error, le **latch.Error) bool { return errors.As(err, le) }
