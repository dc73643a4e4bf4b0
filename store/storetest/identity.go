package storetest

import (
	"testing"

	"github.com/latchid/latch"
)

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

// Whose word verified an email is kept: an operator or client's is
// "asserted", a link the person opened is "link", and unmarking clears it.
func testVerifiedBy(t *testing.T, st latch.Store) {
	ctx := t.Context()
	asserted, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "vb-asserted@example.com", Verified: true, Active: true}})
	if err != nil {
		t.Fatal(err)
	}
	if asserted.VerifiedBy != latch.EmailAsserted || !asserted.Verified {
		t.Errorf("created verified without saying how: %q, %v; want asserted", asserted.VerifiedBy, asserted.Verified)
	}
	byProvider, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "vb-provider@example.com", VerifiedBy: latch.EmailVerifiedByProvider, Active: true}})
	if err != nil {
		t.Fatal(err)
	}
	if !byProvider.Verified {
		t.Error("VerifiedBy provider did not make the user verified")
	}
	if _, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "vb-bad@example.com", VerifiedBy: "trust-me", Active: true}}); !latch.IsKind(err, latch.KindInvalid) {
		t.Errorf("an unknown verification: %v", err)
	}
	yes, no := true, false
	update := func(id string, v *bool) latch.User {
		t.Helper()
		u, err := st.UpdateUser(ctx, latch.UserUpdate{ID: id, Verified: v, At: at(2)})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	// An administrator marking a proven email verified again changes
	// nothing; marking an unverified one makes it asserted, not proven.
	if got := update(byProvider.ID, &yes); got.VerifiedBy != latch.EmailVerifiedByProvider {
		t.Errorf("re-marking a provider-verified email: %q", got.VerifiedBy)
	}
	plain := createUser(t, st, "vb-plain@example.com")
	if got := update(plain.ID, &yes); got.VerifiedBy != latch.EmailAsserted || !got.Verified {
		t.Errorf("marked verified by an administrator: %q, %v; want asserted", got.VerifiedBy, got.Verified)
	}
	if got := update(plain.ID, nil); got.VerifiedBy != latch.EmailAsserted {
		t.Errorf("an update without verified changed it: %q", got.VerifiedBy)
	}
	if got := update(byProvider.ID, &no); got.VerifiedBy != latch.EmailUnverified || got.Verified {
		t.Errorf("unmarked: %q, %v", got.VerifiedBy, got.Verified)
	}
	// A password set through a link proves the address, even one an
	// administrator had asserted.
	withPassword := createUserWithPassword(t, st, "vb-link@example.com", "h1")
	update(withPassword.ID, &yes)
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: withPassword.ID, PreviousHash: "h1", NewHash: "h2", Verify: true, At: at(3)}); err != nil {
		t.Fatal(err)
	}
	got, err := st.UserByID(ctx, withPassword.ID)
	if err != nil || got.VerifiedBy != latch.EmailVerifiedByLink || !got.Verified {
		t.Errorf("after a link: %q, %v, %v", got.VerifiedBy, got.Verified, err)
	}
}

// A link that proves the address of an account nobody had proven it for
// (made by a provider that did not verify the email) detaches whatever
// signed in to it before: its identities and sessions. An account whose
// address was proven keeps both.
func testVerifyDetachesUnproven(t *testing.T, st latch.Store) {
	ctx := t.Context()
	unproven, err := st.CreateUser(ctx, latch.NewUser{
		User:     latch.User{Email: "unproven@example.com", Active: true, CreatedAt: at(0)},
		Identity: &latch.Identity{Provider: latch.ProviderOIDC, Issuer: "https://loose.example", Subject: "squatter"},
	})
	if err != nil {
		t.Fatal(err)
	}
	proven, err := st.CreateUser(ctx, latch.NewUser{
		User:     latch.User{Email: "proven@example.com", VerifiedBy: latch.EmailVerifiedByProvider, Active: true, CreatedAt: at(0)},
		Identity: &latch.Identity{Provider: latch.ProviderOIDC, Issuer: "https://strict.example", Subject: "owner"},
	})
	if err != nil {
		t.Fatal(err)
	}
	squatterSession := createSession(t, st, unproven.ID, nil)
	ownerSession := createSession(t, st, proven.ID, nil)
	for _, u := range []latch.User{unproven, proven} {
		if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, NewHash: "h-" + u.ID, KeepSessions: true, Verify: true, At: at(3)}); err != nil {
			t.Fatal(err)
		}
	}
	if ids, err := st.IdentitiesByUser(ctx, unproven.ID); err != nil || len(ids) != 0 {
		t.Errorf("the unproven account's identities after the link: %+v, %v", ids, err)
	}
	if _, err := st.UserByIdentity(ctx, "https://loose.example", "squatter"); !latch.IsKind(err, latch.KindNotFound) {
		t.Errorf("the squatter's identity still signs in: %v", err)
	}
	equal(t, "the squatter's session RevokedAt", session(t, st, squatterSession.ID).RevokedAt, storedPtr(at(3)))
	if ids, err := st.IdentitiesByUser(ctx, proven.ID); err != nil || len(ids) != 1 {
		t.Errorf("the proven account's identities after the link: %+v, %v", ids, err)
	}
	if s := session(t, st, ownerSession.ID); s.RevokedAt != nil {
		t.Error("a first password on a proven account ended its session")
	}
	for _, u := range []latch.User{unproven, proven} {
		got, err := st.UserByID(ctx, u.ID)
		if err != nil || got.VerifiedBy != latch.EmailVerifiedByLink && got.VerifiedBy != latch.EmailVerifiedByProvider {
			t.Errorf("%s after the link: %q, %v", u.Email, got.VerifiedBy, err)
		}
	}
}
