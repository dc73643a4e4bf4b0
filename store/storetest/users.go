package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// The conformance tests of latch.UserStore: users, how their emails and
// ids are looked up, and their administration.

func testCreateUserRoundTrip(t *testing.T, st latch.Store) {
	ctx := t.Context()
	id := newID(t)
	in := latch.User{
		ID: id, TenantID: latch.DefaultTenantID, Email: "Ada.Lovelace@Example.COM",
		FirstName: "Ada", LastName: "Lovelace", ProfilePicture: "https://example.com/ada.png",
		Verified: true, VerifiedBy: latch.EmailVerifiedByProvider, Active: true, Admin: true,
		CreatedAt: at(0), UpdatedAt: at(5),
	}
	got, err := st.CreateUser(ctx, latch.NewUser{User: in})
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.Number = got.Number
	want.CreatedAt, want.UpdatedAt = stored(at(0)), stored(at(5))
	if got.Number <= 0 {
		t.Errorf("Number = %d, want > 0", got.Number)
	}
	checkTimes(t, "CreateUser", got)
	equal(t, "CreateUser", got, want)

	byID, err := st.UserByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	checkTimes(t, "UserByID", byID)
	equal(t, "UserByID", byID, want)

	// The email is stored as given and found whatever its case or
	// surrounding space.
	for _, email := range []string{"Ada.Lovelace@Example.COM", "ada.lovelace@example.com", "  ADA.LOVELACE@EXAMPLE.COM\t"} {
		byEmail, err := st.UserByEmail(ctx, email)
		if err != nil {
			t.Fatalf("UserByEmail(%q): %v", email, err)
		}
		equal(t, fmt.Sprintf("UserByEmail(%q)", email), byEmail, want)
	}

	ids, err := st.IdentitiesByUser(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 {
		t.Errorf("IdentitiesByUser of a user without identities = %v, want none", ids)
	}
	_, err = st.Credential(ctx, id)
	wantNotFound(t, err)
}

func testCreateUserDefaults(t *testing.T, st latch.Store) {
	before := time.Now().Add(-time.Second)
	got, err := st.CreateUser(t.Context(), latch.NewUser{User: latch.User{Email: "zero@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Second)
	u, err := uuid.Parse(got.ID)
	if err != nil || u.Version() != 7 || u.String() != got.ID {
		t.Errorf("generated ID = %q, want a canonical UUIDv7", got.ID)
	}
	if got.TenantID != latch.DefaultTenantID {
		t.Errorf("TenantID = %q, want the default tenant", got.TenantID)
	}
	if got.CreatedAt.Before(before) || got.CreatedAt.After(after) {
		t.Errorf("zero CreatedAt became %v, want the time of the call", got.CreatedAt)
	}
	if !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("zero UpdatedAt became %v, want CreatedAt %v", got.UpdatedAt, got.CreatedAt)
	}
	checkTimes(t, "CreateUser", got)
	byID, err := st.UserByID(t.Context(), got.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "UserByID", byID, got)
}

func testCreateUserNumbers(t *testing.T, st latch.Store) {
	// Numbers are assigned by the database, unique and increasing; gaps
	// are allowed (a Postgres sequence does not roll back).
	seen := map[int64]bool{}
	var last int64
	for i := range 5 {
		u := createUser(t, st, fmt.Sprintf("n%d@example.com", i))
		if u.Number <= last || seen[u.Number] {
			t.Errorf("user %d: Number = %d after %d", i, u.Number, last)
		}
		seen[u.Number] = true
		last = u.Number
		got, err := st.UserByID(t.Context(), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Number != u.Number {
			t.Errorf("UserByID Number = %d, CreateUser returned %d", got.Number, u.Number)
		}
	}
}

func testCreateUserDuplicateEmail(t *testing.T, st latch.Store) {
	first := createUser(t, st, "Grace@Example.com")
	for _, email := range []string{"Grace@Example.com", "grace@example.com", "GRACE@EXAMPLE.COM", " grace@example.com "} {
		t.Run(email, func(t *testing.T) {
			_, err := st.CreateUser(t.Context(), latch.NewUser{
				User:         latch.User{Email: email, CreatedAt: at(1)},
				Identity:     &latch.Identity{Provider: latch.ProviderGitHub, Issuer: issuerGitHub, Subject: "dup-" + email},
				PasswordHash: "$argon2id$dup",
			})
			wantError(t, err, latch.KindConflict, latch.CodeEmailTaken)
			var le *latch.Error
			errors.As(err, &le)
			if le.Message != "email already registered" {
				t.Errorf("Message = %q", le.Message)
			}
		})
	}
	got, err := st.UserByEmail(t.Context(), "grace@example.com")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "the first user", got, first)
	// The failed creations stored no identity: the subjects are still free.
	for i, email := range []string{"Grace@Example.com", "grace@example.com"} {
		_, err := st.CreateUser(t.Context(), latch.NewUser{
			User:     latch.User{Email: fmt.Sprintf("other%d@example.com", i), CreatedAt: at(1)},
			Identity: &latch.Identity{Provider: latch.ProviderGitHub, Issuer: issuerGitHub, Subject: "dup-" + email},
		})
		if err != nil {
			t.Errorf("identity of a failed CreateUser was kept: %v", err)
		}
	}
}

func testCreateUserDuplicateID(t *testing.T, st latch.Store) {
	first := createUser(t, st, "first@example.com")
	_, err := st.CreateUser(t.Context(), latch.NewUser{User: latch.User{
		ID: first.ID, Email: "second@example.com", CreatedAt: at(1),
	}})
	if !latch.IsKind(err, latch.KindConflict) {
		t.Fatalf("duplicate user id: error = %v, want Conflict", err)
	}
	_, err = st.UserByEmail(t.Context(), "second@example.com")
	wantNotFound(t, err)
}

func testCreateUserIdentity(t *testing.T, st latch.Store) {
	ctx := t.Context()
	explicit := newID(t)
	u, err := st.CreateUser(ctx, latch.NewUser{
		User: latch.User{Email: "linus@example.com", CreatedAt: at(0)},
		Identity: &latch.Identity{
			ID: explicit, Provider: latch.ProviderGitHub, Issuer: issuerGitHub, Subject: "1024", Email: "linus@github.example",
			CreatedAt: at(1),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := st.CreateUser(ctx, latch.NewUser{
		User: latch.User{Email: "ken@example.com", CreatedAt: at(2)},
		// No ID, no UserID, no CreatedAt: the store fills them in.
		Identity: &latch.Identity{Provider: latch.ProviderGoogle, Issuer: issuerGoogle, Subject: "1024", UserID: "ignored"},
	})
	if err != nil {
		t.Fatalf("same subject at another provider: %v", err)
	}

	got, err := st.IdentitiesByUser(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "IdentitiesByUser", got, []latch.Identity{{
		ID: explicit, UserID: u.ID, Provider: latch.ProviderGitHub, Issuer: issuerGitHub, Subject: "1024",
		Email: "linus@github.example", CreatedAt: stored(at(1)),
	}})

	got, err = st.IdentitiesByUser(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("IdentitiesByUser = %v, want one", got)
	}
	checkTimes(t, "Identity", got[0])
	if id, err := uuid.Parse(got[0].ID); err != nil || id.Version() != 7 {
		t.Errorf("generated identity ID = %q, want a UUIDv7", got[0].ID)
	}
	if got[0].UserID != v.ID {
		t.Errorf("identity UserID = %q, want the new user's %q", got[0].UserID, v.ID)
	}
	if !got[0].CreatedAt.Equal(stored(at(2))) {
		t.Errorf("zero identity CreatedAt became %v, want the user's %v", got[0].CreatedAt, stored(at(2)))
	}
}

func testCreateUserDuplicateIdentity(t *testing.T, st latch.Store) {
	ctx := t.Context()
	createUserIdentity := func(email string) error {
		_, err := st.CreateUser(ctx, latch.NewUser{
			User:         latch.User{Email: email, CreatedAt: at(0)},
			Identity:     &latch.Identity{Provider: latch.ProviderGoogle, Issuer: issuerGoogle, Subject: "sub-1"},
			PasswordHash: "$argon2id$x",
		})
		return err
	}
	if err := createUserIdentity("one@example.com"); err != nil {
		t.Fatal(err)
	}
	err := createUserIdentity("two@example.com")
	wantError(t, err, latch.KindConflict, latch.CodeIdentityTaken)

	// Nothing of the failed CreateUser was written: not the user, so its
	// email is still free.
	_, err = st.UserByEmail(ctx, "two@example.com")
	wantNotFound(t, err)
	if _, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "two@example.com", CreatedAt: at(1)}}); err != nil {
		t.Errorf("email of a failed CreateUser was kept: %v", err)
	}
}

func testCreateUserPassword(t *testing.T, st latch.Store) {
	u, err := st.CreateUser(t.Context(), latch.NewUser{
		User:         latch.User{Email: "pw@example.com", CreatedAt: at(0), UpdatedAt: at(3)},
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Credential(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	checkTimes(t, "Credential", c)
	equal(t, "Credential", c, latch.Credential{
		UserID: u.ID, Hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		CreatedAt: stored(at(0)), UpdatedAt: stored(at(0)),
	})
	equal(t, "password history", history(t, st, u.ID), []string{"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"})
}

func testCreateUserInvalid(t *testing.T, st latch.Store) {
	tests := []struct {
		name string
		nu   latch.NewUser
	}{
		{"malformed user id", latch.NewUser{User: latch.User{ID: "user-1", Email: "a@example.com"}}},
		{"malformed tenant id", latch.NewUser{User: latch.User{TenantID: "acme", Email: "b@example.com"}}},
		{"unknown tenant", latch.NewUser{User: latch.User{TenantID: newID(t), Email: "c@example.com"}}},
		{"malformed identity id", latch.NewUser{
			User:     latch.User{Email: "d@example.com"},
			Identity: &latch.Identity{ID: "x", Provider: latch.ProviderOIDC, Issuer: "https://sso.example", Subject: "s"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.CreateUser(t.Context(), tc.nu)
			wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
			_, err = st.UserByEmail(t.Context(), tc.nu.User.Email)
			wantNotFound(t, err)
		})
	}
}

func testNotFound(t *testing.T, st latch.Store) {
	u := createUser(t, st, "present@example.com")
	createSession(t, st, u.ID, []byte("present-refresh"))
	unknown := newID(t)
	for _, id := range []string{unknown, "not-a-uuid", "", "'; DROP TABLE users; --"} {
		t.Run(fmt.Sprintf("id=%q", id), func(t *testing.T) {
			ctx := t.Context()
			_, err := st.UserByID(ctx, id)
			wantNotFound(t, err)
			_, err = st.IdentitiesByUser(ctx, id)
			wantNotFound(t, err)
			_, err = st.Credential(ctx, id)
			wantNotFound(t, err)
			_, _, err = st.SessionWithUser(ctx, id)
			wantNotFound(t, err)
			err = st.RevokeSession(ctx, id, at(1))
			wantNotFound(t, err)
			err = st.ChangePassword(ctx, latch.PasswordChange{UserID: id, NewHash: "h", At: at(1)})
			wantNotFound(t, err)
			err = st.ReplacePasswordHash(ctx, id, "a", "b", at(1))
			wantNotFound(t, err)
			err = st.CreateSession(ctx, latch.NewSession{Session: latch.Session{
				ID: newID(t), UserID: id, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60),
			}})
			wantNotFound(t, err)
		})
	}
	_, err := st.UserByEmail(t.Context(), "absent@example.com")
	wantNotFound(t, err)
	_, err = st.RotateRefreshToken(t.Context(), genuine(newID(t), []byte("absent-refresh"), 0, at(1), 0))
	wantNotFound(t, err)
	_, err = st.RotateRefreshToken(t.Context(), latch.RefreshRotation{SessionID: newID(t), NextHash: []byte("next"), At: at(1)})
	wantNotFound(t, err)
}

func testCanonicalID(t *testing.T, st latch.Store) {
	// An id is a UUID whatever its spelling, and comes back canonical.
	u := createUserWithPassword(t, st, "canon@example.com", "h1")
	upper := strings.ToUpper(u.ID)
	got, err := st.UserByID(t.Context(), upper)
	if err != nil {
		t.Fatalf("UserByID(upper case): %v", err)
	}
	if got.ID != u.ID {
		t.Errorf("ID = %q, want %q", got.ID, u.ID)
	}
	if c, err := st.Credential(t.Context(), upper); err != nil || c.UserID != u.ID {
		t.Errorf("Credential(upper case) = %+v, %v", c, err)
	}
	sid := newID(t)
	if err := st.CreateSession(t.Context(), latch.NewSession{Session: latch.Session{
		ID: strings.ToUpper(sid), UserID: upper, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60),
	}}); err != nil {
		t.Fatal(err)
	}
	s, su, err := st.SessionWithUser(t.Context(), "{"+sid+"}")
	if err != nil {
		t.Fatalf("SessionWithUser(braced): %v", err)
	}
	if s.ID != sid || s.UserID != u.ID || su.ID != u.ID {
		t.Errorf("session ids = %q, %q, %q; want canonical %q, %q", s.ID, s.UserID, su.ID, sid, u.ID)
	}
}

func createUserIn(t *testing.T, st latch.Store, tenantID, email string) latch.User {
	t.Helper()
	u, err := st.CreateUser(t.Context(), latch.NewUser{User: latch.User{
		TenantID: tenantID, Email: email, Active: true, CreatedAt: at(0), UpdatedAt: at(0),
	}})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

func testUserByNumber(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "number@example.com")
	v := createUser(t, st, "number2@example.com")
	for _, want := range []latch.User{u, v} {
		got, err := st.UserByNumber(ctx, want.Number)
		if err != nil {
			t.Fatal(err)
		}
		checkTimes(t, "User", got)
		equal(t, "UserByNumber", got, want)
	}
	for _, n := range []int64{0, -1, v.Number + 1000} {
		_, err := st.UserByNumber(ctx, n)
		wantNotFound(t, err)
	}
}

func testListUsers(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Paged")
	var users []latch.User
	for i := range 7 {
		users = append(users, createUserIn(t, st, tn.ID, fmt.Sprintf("p%d@example.com", i)))
		createUser(t, st, fmt.Sprintf("elsewhere%d@example.com", i)) // interleaved numbers of another tenant
	}
	list := func(q latch.UserQuery) []latch.User {
		t.Helper()
		got, err := st.ListUsers(ctx, q)
		if err != nil {
			t.Fatalf("ListUsers(%+v): %v", q, err)
		}
		return got
	}
	equal(t, "all", list(latch.UserQuery{TenantID: tn.ID}), users)
	// Pages of 3, each after the last number of the one before.
	var paged []latch.User
	var after int64
	for range 10 {
		page := list(latch.UserQuery{TenantID: tn.ID, AfterNumber: after, Limit: 3})
		if len(page) > 3 {
			t.Fatalf("page of %d, want at most 3", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		after = page[len(page)-1].Number
	}
	equal(t, "paged", paged, users)
	equal(t, "after the third", list(latch.UserQuery{TenantID: tn.ID, AfterNumber: users[2].Number, Limit: 2}), users[3:5])

	// The email filter, with the cursor.
	equal(t, "by email", list(latch.UserQuery{TenantID: tn.ID, Email: "P3@Example.com"}), users[3:4])
	if got := list(latch.UserQuery{TenantID: tn.ID, Email: "p3@example.com", AfterNumber: users[3].Number}); len(got) != 0 {
		t.Errorf("email filter past the user: %+v", got)
	}
	if got := list(latch.UserQuery{TenantID: tn.ID, Email: "p3"}); len(got) != 0 {
		t.Errorf("email filter is not exact: %+v", got)
	}
	if got := list(latch.UserQuery{TenantID: tn.ID, Email: " "}); len(got) != 0 {
		t.Errorf("an email of spaces matched %+v", got)
	}
	_, err := st.ListUsers(ctx, latch.UserQuery{TenantID: tn.ID, Email: "p\x00@example.com"})
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)

	// No limit is 50.
	big := createTenant(t, st, "Big")
	for i := range 52 {
		createUserIn(t, st, big.ID, fmt.Sprintf("big%d@example.com", i))
	}
	for _, limit := range []int{0, -1} {
		if got := list(latch.UserQuery{TenantID: big.ID, Limit: limit}); len(got) != 50 {
			t.Errorf("Limit %d: %d users, want 50", limit, len(got))
		}
	}
	if got := list(latch.UserQuery{TenantID: big.ID, Limit: 5000}); len(got) != 52 {
		t.Errorf("Limit 5000: %d users, want 52", len(got))
	}
}

func testUpdateUser(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{
		Email: "update@example.com", FirstName: "Ada", LastName: "Byron", ProfilePicture: "pic",
		Active: true, CreatedAt: at(0), UpdatedAt: at(0),
	}})
	if err != nil {
		t.Fatal(err)
	}
	other := createUser(t, st, "bystander@example.com")
	mine := createSession(t, st, u.ID, nil)
	theirs := createSession(t, st, other.ID, nil)
	ev := auditEvent(latch.AuditUserUpdate, u.ID, 5)
	got, err := st.UpdateUser(ctx, latch.UserUpdate{ID: strings.ToUpper(u.ID), FirstName: new("Augusta"), Active: new(false), At: at(5), Audit: ev})
	if err != nil {
		t.Fatal(err)
	}
	// Deactivation revokes the user's sessions in the same transaction,
	// and nobody else's.
	if s, _, err := st.SessionWithUser(ctx, mine.ID); err != nil || s.RevokedAt == nil || !s.RevokedAt.Equal(stored(at(5))) {
		t.Fatalf("the deactivated user's session: %+v, %v", s, err)
	}
	if s, _, err := st.SessionWithUser(ctx, theirs.ID); err != nil || s.RevokedAt != nil {
		t.Fatalf("another user's session: %+v, %v", s, err)
	}
	want := u
	want.FirstName, want.Active, want.UpdatedAt = "Augusta", false, stored(at(5))
	checkTimes(t, "User", got)
	equal(t, "UpdateUser", got, want)
	byID, err := st.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "UserByID after UpdateUser", byID, want)

	got, err = st.UpdateUser(ctx, latch.UserUpdate{ID: u.ID, LastName: new(""), Admin: new(true), Verified: new(true), At: at(6)})
	if err != nil {
		t.Fatal(err)
	}
	want.LastName, want.Admin, want.Verified, want.VerifiedBy, want.UpdatedAt = "", true, true, latch.EmailAsserted, stored(at(6))
	equal(t, "second UpdateUser", got, want)

	got, err = st.UpdateUser(ctx, latch.UserUpdate{ID: u.ID, Admin: new(false), At: at(7)})
	if err != nil {
		t.Fatal(err)
	}
	want.Admin, want.UpdatedAt = false, stored(at(7))
	equal(t, "third UpdateUser", got, want)

	// Nothing to change: only the time moves.
	got, err = st.UpdateUser(ctx, latch.UserUpdate{ID: u.ID, At: at(8)})
	if err != nil {
		t.Fatal(err)
	}
	want.UpdatedAt = stored(at(8))
	equal(t, "empty UpdateUser", got, want)

	bystander, err := st.UserByID(ctx, other.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "other user", bystander, other)

	for _, id := range []string{newID(t), "user-1", ""} {
		_, err := st.UpdateUser(ctx, latch.UserUpdate{ID: id, FirstName: new("X"), At: at(9), Audit: auditEvent(latch.AuditUserUpdate, id, 9)})
		wantNotFound(t, err)
	}
	wantEvents(t, "update events", events(t, st, latch.AuditQuery{Action: latch.AuditUserUpdate}), *ev)
}

func testDeleteUser(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u, err := st.CreateUser(ctx, latch.NewUser{
		User:         latch.User{Email: "Delete.Me@example.com", Active: true, CreatedAt: at(0), UpdatedAt: at(0)},
		Identity:     &latch.Identity{Provider: latch.ProviderGitHub, Issuer: issuerGitHub, Subject: "gh-delete"},
		PasswordHash: "h-delete",
	})
	if err != nil {
		t.Fatal(err)
	}
	s := createSession(t, st, u.ID, []byte("del-r0"))
	if err := st.CreateAuthorizationCode(ctx, latch.AuthorizationCode{Hash: []byte("del-code"), UserID: u.ID, CreatedAt: at(0), ExpiresAt: at(10)}); err != nil {
		t.Fatal(err)
	}
	other := createUserWithPassword(t, st, "keep-me@example.com", "h-keep")
	kept := createSession(t, st, other.ID, []byte("keep-r0"))
	earlier := auditEvent(latch.AuditLoginSuccess, u.ID, 1)
	if err := st.AppendAudit(ctx, *earlier); err != nil {
		t.Fatal(err)
	}

	ev := auditEvent(latch.AuditUserDelete, u.ID, 2)
	if err := st.DeleteUser(ctx, strings.ToUpper(u.ID), ev); err != nil {
		t.Fatal(err)
	}
	_, err = st.UserByID(ctx, u.ID)
	wantNotFound(t, err)
	_, err = st.UserByNumber(ctx, u.Number)
	wantNotFound(t, err)
	_, _, err = st.SessionWithUser(ctx, s.ID)
	wantNotFound(t, err)
	_, err = st.RotateRefreshToken(ctx, genuine(s.ID, []byte("del-r0"), 0, at(3), 0))
	wantNotFound(t, err)
	_, err = st.Credential(ctx, u.ID)
	wantNotFound(t, err)
	_, err = st.IdentitiesByUser(ctx, u.ID)
	wantNotFound(t, err)
	_, err = st.UserByIdentity(ctx, issuerGitHub, "gh-delete")
	wantNotFound(t, err)
	_, err = st.ConsumeAuthorizationCode(ctx, []byte("del-code"), at(3))
	wantNotFound(t, err)
	if h := history(t, st, u.ID); len(h) != 0 {
		t.Errorf("password history of a deleted user: %v", h)
	}
	if ss, err := st.SessionsByUser(ctx, u.ID, at(3)); err != nil || len(ss) != 0 {
		t.Errorf("SessionsByUser of a deleted user = %+v, %v", ss, err)
	}

	// The events about the user stay.
	wantEvents(t, "events about the deleted user", events(t, st, latch.AuditQuery{TargetID: u.ID}), *ev, *earlier)

	// Others are untouched.
	equal(t, "other user's session", session(t, st, kept.ID).RevokedAt, nil)
	if c, err := st.Credential(ctx, other.ID); err != nil || c.Hash != "h-keep" {
		t.Errorf("other user's credential = %+v, %v", c, err)
	}

	// Again, or unknown: NotFound, and no event.
	for _, id := range []string{u.ID, "user-1", ""} {
		wantNotFound(t, st.DeleteUser(ctx, id, auditEvent(latch.AuditUserDelete, u.ID, 3)))
	}
	if got := events(t, st, latch.AuditQuery{}); len(got) != 2 {
		t.Errorf("%d events after refused deletions, want 2", len(got))
	}

	// The email and the identity are free again.
	if _, err := st.CreateUser(ctx, latch.NewUser{
		User:     latch.User{Email: "delete.me@example.com", CreatedAt: at(4)},
		Identity: &latch.Identity{Provider: latch.ProviderGitHub, Issuer: issuerGitHub, Subject: "gh-delete"},
	}); err != nil {
		t.Errorf("recreating the deleted user: %v", err)
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

// testCreateUserCanonicalEmail: addresses are unique, and found, under
// their canonical form (latch.CanonicalEmail): case, full-width forms and
// the Unicode or A-label spelling of a domain are one address; a
// look-alike is not; an address without a canonical form is refused.
func testCreateUserCanonicalEmail(t *testing.T, st latch.Store) {
	ctx := t.Context()
	ada := createUser(t, st, "Ada@Example.com")
	idn := createUser(t, st, "bob@bücher.de")
	kelvin := createUser(t, st, "kelvin@example.com")
	for email, want := range map[string]latch.User{
		"ada@example.com":      ada,
		"  ＡＤＡ@ｅｘａｍｐｌｅ.COM ":   ada,
		"BOB@XN--BCHER-KVA.DE": idn,
		"bob@Bücher.de":        idn,
		"KELVIN@example.com":   kelvin,
	} {
		got, err := st.UserByEmail(ctx, email)
		if err != nil || got.ID != want.ID {
			t.Errorf("UserByEmail(%q) = %+v, %v; want user %s", email, got, err, want.ID)
		}
		list, err := st.ListUsers(ctx, latch.UserQuery{TenantID: latch.DefaultTenantID, Email: email, Limit: 10})
		if err != nil || len(list) != 1 || list[0].ID != want.ID {
			t.Errorf("ListUsers(email %q) = %+v, %v; want user %s", email, list, err, want.ID)
		}
	}
	for _, email := range []string{"ａda@example.com", "bob@xn--bcher-kva.de", "Kelvin@EXAMPLE.com"} {
		_, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: email}})
		wantError(t, err, latch.KindConflict, latch.CodeEmailTaken)
	}
	for _, email := range []string{"\u212Aelvin@example.com", "kelvin\u200b@example.com", "\u0130lya@example.com"} {
		if got, err := st.UserByEmail(ctx, email); err == nil {
			t.Errorf("UserByEmail(%q) found %s", email, got.Email)
		}
	}
	for _, email := range []string{"\u212Aelvin@example.com", "kelvin\u200b@example.com", "not an address", ""} {
		_, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: email}})
		wantError(t, err, latch.KindInvalid, latch.CodeInvalidEmail)
	}
	// A dotted capital I is its own address, not "ilya".
	ilya := createUser(t, st, "ilya@example.com")
	dotted := createUser(t, st, "\u0130lya@example.com")
	if dotted.ID == ilya.ID {
		t.Fatal("the dotted capital I is the same account as ilya")
	}
	if got, err := st.UserByEmail(ctx, "i\u0307lya@example.com"); err != nil || got.ID != dotted.ID {
		t.Errorf("UserByEmail(i + U+0307) = %+v, %v", got, err)
	}
}
