package storetest

import (
	"strings"
	"testing"

	"github.com/latchid/latch"
)

// The conformance tests of latch.UserStore's outside identities: linking,
// unlinking, the issuer that scopes a subject, and claiming an unfinished
// sign-up.

// Identities are linked to existing users and found again by (provider,
// subject); a pair can belong to one user only.
func testAddIdentity(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "linked@example.com")
	other := createUser(t, st, "other-linked@example.com")
	if _, err := st.UserByIdentity(ctx, issuerGitHub, "gh-7"); !latch.IsKind(err, latch.KindNotFound) {
		t.Fatalf("unlinked identity: %v", err)
	}
	ident := latch.Identity{UserID: strings.ToUpper(u.ID), Provider: latch.ProviderGitHub, Issuer: issuerGitHub, Subject: "gh-7", Email: "linked@example.com", CreatedAt: t0}
	if err := st.AddIdentity(ctx, ident, nil); err != nil {
		t.Fatal(err)
	}
	got, err := st.UserByIdentity(ctx, issuerGitHub, "gh-7")
	if err != nil || got.ID != u.ID {
		t.Fatalf("UserByIdentity = %v, %v; want %s", got.ID, err, u.ID)
	}
	if _, err := st.UserByIdentity(ctx, issuerGoogle, "gh-7"); !latch.IsKind(err, latch.KindNotFound) {
		t.Errorf("same subject, other provider: %v", err)
	}
	ids, err := st.IdentitiesByUser(ctx, u.ID)
	if err != nil || len(ids) != 1 || ids[0].Subject != "gh-7" || !ids[0].CreatedAt.Equal(stored(t0)) {
		t.Fatalf("IdentitiesByUser = %+v, %v", ids, err)
	}
	taken := ident
	taken.UserID = other.ID
	wantError(t, st.AddIdentity(ctx, taken, nil), latch.KindConflict, latch.CodeIdentityTaken)
	missing := latch.Identity{UserID: newID(t), Provider: latch.ProviderGoogle, Issuer: issuerGoogle, Subject: "g-1"}
	wantNotFound(t, st.AddIdentity(ctx, missing, nil))
	wantNotFound(t, st.AddIdentity(ctx, latch.Identity{UserID: "not-a-uuid", Provider: latch.ProviderGoogle, Issuer: issuerGoogle, Subject: "g-2"}, nil))
	wantError(t, st.AddIdentity(ctx, latch.Identity{UserID: u.ID, Provider: latch.ProviderGoogle}, nil), latch.KindInvalid, latch.CodeInvalidRequest)
	if ids, _ := st.IdentitiesByUser(ctx, other.ID); len(ids) != 0 {
		t.Errorf("refused links were stored: %+v", ids)
	}
}

// An identity can be unlinked unless it is the last way to sign in.
func testRemoveIdentity(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "unlink@example.com", Active: true, CreatedAt: t0},
		Identity: &latch.Identity{Provider: latch.ProviderGoogle, Issuer: issuerGoogle, Subject: "g-unlink"}})
	if err != nil {
		t.Fatal(err)
	}
	other := createUser(t, st, "not-mine@example.com")
	first, _ := st.IdentitiesByUser(ctx, u.ID)
	wantError(t, st.RemoveIdentity(ctx, u.ID, first[0].ID), latch.KindConflict, latch.CodeLastSignInMethod)
	wantNotFound(t, st.RemoveIdentity(ctx, other.ID, first[0].ID))
	wantNotFound(t, st.RemoveIdentity(ctx, u.ID, newID(t)))
	wantNotFound(t, st.RemoveIdentity(ctx, u.ID, "nope"))

	if err := st.AddIdentity(ctx, latch.Identity{UserID: u.ID, Provider: latch.ProviderGitHub, Issuer: issuerGitHub, Subject: "gh-unlink"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveIdentity(ctx, u.ID, first[0].ID); err != nil {
		t.Fatalf("with a second identity: %v", err)
	}
	left, _ := st.IdentitiesByUser(ctx, u.ID)
	if len(left) != 1 || left[0].Provider != latch.ProviderGitHub {
		t.Fatalf("left %+v", left)
	}
	wantError(t, st.RemoveIdentity(ctx, u.ID, left[0].ID), latch.KindConflict, latch.CodeLastSignInMethod)
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, NewHash: "h", At: at(1)}); err != nil {
		t.Fatal(err)
	}
	if err := st.RemoveIdentity(ctx, u.ID, left[0].ID); err != nil {
		t.Fatalf("with a password: %v", err)
	}
	if ids, _ := st.IdentitiesByUser(ctx, u.ID); len(ids) != 0 {
		t.Fatalf("left %+v", ids)
	}
}

// The issuers of the tests' identities.
var (
	issuerGitHub = latch.WellKnownIssuer(latch.ProviderGitHub)
	issuerGoogle = latch.WellKnownIssuer(latch.ProviderGoogle)
)

// An identity is (issuer, subject): two OIDC issuers that hand out the
// same subject are two people, each found by their own issuer, and a
// provider type is never a key.
func testIdentityByIssuer(t *testing.T, st latch.Store) {
	ctx := t.Context()
	corp := "https://sso.corp.example"
	partner := "https://id.partner.example"
	alice, err := st.CreateUser(ctx, latch.NewUser{
		User:     latch.User{Email: "alice@corp.example", Active: true, CreatedAt: at(0)},
		Identity: &latch.Identity{Provider: latch.ProviderOIDC, Issuer: corp, Subject: "same-sub"},
	})
	if err != nil {
		t.Fatal(err)
	}
	mallory, err := st.CreateUser(ctx, latch.NewUser{
		User:     latch.User{Email: "mallory@partner.example", Active: true, CreatedAt: at(0)},
		Identity: &latch.Identity{Provider: latch.ProviderOIDC, Issuer: partner, Subject: "same-sub"},
	})
	if err != nil {
		t.Fatalf("the same subject at another issuer of the same type: %v", err)
	}
	for issuer, want := range map[string]string{corp: alice.ID, partner: mallory.ID} {
		got, err := st.UserByIdentity(ctx, issuer, "same-sub")
		if err != nil || got.ID != want {
			t.Errorf("UserByIdentity(%s) = %s, %v; want %s", issuer, got.ID, err, want)
		}
	}
	if _, err := st.UserByIdentity(ctx, "https://sso.corp.example/", "same-sub"); !latch.IsKind(err, latch.KindNotFound) {
		t.Errorf("an issuer that differs by a slash found %v", err)
	}
	if _, err := st.UserByIdentity(ctx, "", "same-sub"); !latch.IsKind(err, latch.KindNotFound) {
		t.Errorf("no issuer: %v", err)
	}
	ids, err := st.IdentitiesByUser(ctx, mallory.ID)
	if err != nil || len(ids) != 1 || ids[0].Issuer != partner || ids[0].Provider != latch.ProviderOIDC {
		t.Fatalf("IdentitiesByUser = %+v, %v", ids, err)
	}
	// The same (issuer, subject) is one person: taken, whatever the type
	// says.
	err = st.AddIdentity(ctx, latch.Identity{UserID: mallory.ID, Provider: latch.ProviderGoogle, Issuer: corp, Subject: "same-sub"}, nil)
	wantError(t, err, latch.KindConflict, latch.CodeIdentityTaken)
	// An identity needs its issuer.
	err = st.AddIdentity(ctx, latch.Identity{UserID: mallory.ID, Provider: latch.ProviderOIDC, Subject: "no-issuer"}, nil)
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	_, err = st.CreateUser(ctx, latch.NewUser{
		User:     latch.User{Email: "noissuer@example.com", Active: true},
		Identity: &latch.Identity{Provider: latch.ProviderOIDC, Subject: "no-issuer"},
	})
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	if _, err := st.UserByEmail(ctx, "noissuer@example.com"); !latch.IsKind(err, latch.KindNotFound) {
		t.Errorf("a refused identity left its user behind: %v", err)
	}
}

// A link by verified email is audited in its own transaction.
func testAddIdentityAudited(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "audited-link@example.com")
	ev := &latch.AuditEvent{TenantID: u.TenantID, At: at(1), Action: latch.AuditIdentityLink, ActorType: latch.ActorUser, ActorID: u.ID, TargetID: u.ID}
	if err := st.AddIdentity(ctx, latch.Identity{UserID: u.ID, Provider: latch.ProviderGitHub, Issuer: issuerGitHub, Subject: "gh-audit"}, ev); err != nil {
		t.Fatal(err)
	}
	// A refused link writes no event.
	other := createUser(t, st, "audited-link-2@example.com")
	ev2 := *ev
	ev2.TargetID = other.ID
	err := st.AddIdentity(ctx, latch.Identity{UserID: other.ID, Provider: latch.ProviderGitHub, Issuer: issuerGitHub, Subject: "gh-audit"}, &ev2)
	wantError(t, err, latch.KindConflict, latch.CodeIdentityTaken)
	events, err := st.AuditEvents(ctx, latch.AuditQuery{TenantID: u.TenantID, Action: latch.AuditIdentityLink, Limit: 10})
	if err != nil || len(events) != 1 || events[0].TargetID != u.ID {
		t.Fatalf("audit = %+v, %v; want the one successful link", events, err)
	}
}

// An unfinished sign-up (unverified, no password, no identity) is given
// to the person a provider verified: identity linked, email verified by
// the provider, profile replaced, sessions revoked, audited, at once.
func testClaimUnfinishedUser(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{
		Email: "claimed@example.com", FirstName: "Squatter", LastName: "Name", Active: true, CreatedAt: at(0),
	}})
	if err != nil {
		t.Fatal(err)
	}
	sess := createSession(t, st, u.ID, []byte("claim-refresh"))
	ident := latch.Identity{UserID: u.ID, Provider: latch.ProviderOIDC, Issuer: "https://sso.example", Subject: "owner", Email: "claimed@example.com", CreatedAt: at(5)}
	ev := &latch.AuditEvent{TenantID: u.TenantID, At: at(5), Action: latch.AuditIdentityLink, ActorType: latch.ActorUser, ActorID: u.ID, TargetID: u.ID}
	got, err := st.ClaimUnfinishedUser(ctx, ident, latch.User{FirstName: "Real", LastName: "Owner", ProfilePicture: "https://pic.example/o.png"}, ev)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != u.ID || !got.Verified || got.VerifiedBy != latch.EmailVerifiedByProvider ||
		got.FirstName != "Real" || got.LastName != "Owner" || got.ProfilePicture != "https://pic.example/o.png" ||
		!got.UpdatedAt.Equal(stored(at(5))) {
		t.Errorf("claimed user = %+v", got)
	}
	read, err := st.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "the claimed user read back", read, got)
	byIdent, err := st.UserByIdentity(ctx, "https://sso.example", "owner")
	if err != nil || byIdent.ID != u.ID {
		t.Errorf("UserByIdentity after the claim = %v, %v", byIdent.ID, err)
	}
	equal(t, "the squatter's session RevokedAt", session(t, st, sess.ID).RevokedAt, storedPtr(at(5)))
	events, err := st.AuditEvents(ctx, latch.AuditQuery{TenantID: u.TenantID, Action: latch.AuditIdentityLink, Limit: 10})
	if err != nil || len(events) != 1 {
		t.Errorf("audit = %+v, %v", events, err)
	}
	// Claimed once: the account is finished now.
	again := ident
	again.ID, again.Subject = "", "second"
	_, err = st.ClaimUnfinishedUser(ctx, again, latch.User{FirstName: "Late"}, nil)
	wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
}

// Anything but an unfinished sign-up is refused, and nothing is written.
func testClaimRefused(t *testing.T, st latch.Store) {
	ctx := t.Context()
	withPassword := createUserWithPassword(t, st, "has-password@example.com", "h1")
	verified, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "asserted@example.com", Verified: true, Active: true}})
	if err != nil {
		t.Fatal(err)
	}
	admin, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "admin-unfinished@example.com", Active: true, Admin: true}})
	if err != nil {
		t.Fatal(err)
	}
	inactive, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "inactive@example.com", Active: false}})
	if err != nil {
		t.Fatal(err)
	}
	withIdentity, err := st.CreateUser(ctx, latch.NewUser{
		User:     latch.User{Email: "has-identity@example.com", Active: true},
		Identity: &latch.Identity{Provider: latch.ProviderGitHub, Issuer: issuerGitHub, Subject: "gh-has"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []latch.User{withPassword, verified, admin, inactive, withIdentity} {
		sess := createSession(t, st, u.ID, nil)
		_, err := st.ClaimUnfinishedUser(ctx, latch.Identity{UserID: u.ID, Provider: latch.ProviderOIDC, Issuer: "https://sso.example", Subject: "claim-" + u.ID},
			latch.User{FirstName: "Claimant"}, &latch.AuditEvent{TenantID: u.TenantID, At: at(1), Action: latch.AuditIdentityLink, ActorType: latch.ActorAnonymous, TargetID: u.ID})
		wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
		after, err := st.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, u.Email+" after a refused claim", after, u)
		if _, err := st.UserByIdentity(ctx, "https://sso.example", "claim-"+u.ID); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("%s: a refused claim linked its identity: %v", u.Email, err)
		}
		if s := session(t, st, sess.ID); s.RevokedAt != nil {
			t.Errorf("%s: a refused claim revoked a session", u.Email)
		}
	}
	events, err := st.AuditEvents(ctx, latch.AuditQuery{TenantID: latch.DefaultTenantID, Action: latch.AuditIdentityLink, Limit: 10})
	if err != nil || len(events) != 0 {
		t.Errorf("refused claims were audited: %+v, %v", events, err)
	}
}
