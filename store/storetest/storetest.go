// Package storetest is the conformance suite of latch.Store: every backend's
// tests call Run, so the backends cannot drift apart in behaviour (emails
// compare case-insensitively, times come back UTC to the microsecond,
// conflicts and absences are the same *latch.Error) and a use case tested
// over one backend holds over the other. It follows Dex's
// storage/conformance.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// Run runs the suite. open must return a fresh, migrated, empty store each
// time it is called, close it when t ends, and be safe to call from
// parallel subtests: each subtest opens its own store and runs in parallel
// with the others.
func Run(t *testing.T, open func(t *testing.T) latch.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st latch.Store)
	}{
		{"CreateUser/RoundTrip", testCreateUserRoundTrip},
		{"CreateUser/Defaults", testCreateUserDefaults},
		{"CreateUser/Numbers", testCreateUserNumbers},
		{"CreateUser/DuplicateEmail", testCreateUserDuplicateEmail},
		{"CreateUser/CanonicalEmail", testCreateUserCanonicalEmail},
		{"CreateUser/DuplicateID", testCreateUserDuplicateID},
		{"CreateUser/Identity", testCreateUserIdentity},
		{"CreateUser/DuplicateIdentity", testCreateUserDuplicateIdentity},
		{"CreateUser/Password", testCreateUserPassword},
		{"CreateUser/Invalid", testCreateUserInvalid},
		{"Identity/AddAndFind", testAddIdentity},
		{"Identity/Remove", testRemoveIdentity},
		{"Identity/ByIssuer", testIdentityByIssuer},
		{"Identity/AuditedLink", testAddIdentityAudited},
		{"Identity/ClaimUnfinished", testClaimUnfinishedUser},
		{"Identity/ClaimRefused", testClaimRefused},
		{"Users/VerifiedBy", testVerifiedBy},
		{"Users/VerifyDetachesUnproven", testVerifyDetachesUnproven},
		{"Credential/HashExists", testCredentialHashExists},
		{"AuthorizationCode/SingleUse", testAuthorizationCode},
		{"Lookups/NotFound", testNotFound},
		{"Lookups/CanonicalID", testCanonicalID},
		{"ChangePassword/CompareAndSwap", testChangePasswordCAS},
		{"ChangePassword/RevokesOtherSessions", testChangePasswordRevokes},
		{"ChangePassword/KeepSessions", testChangePasswordKeepSessions},
		{"ChangePassword/ConflictWritesNothing", testChangePasswordConflictWritesNothing},
		{"ChangePassword/Concurrent", testChangePasswordConcurrent},
		{"ReplacePasswordHash", testReplacePasswordHash},
		{"Session/RoundTrip", testSessionRoundTrip},
		{"Session/Invalid", testSessionInvalid},
		{"Session/Revoke", testRevokeSession},
		{"Session/Purge", testPurgeSessions},
		{"Session/WhilePasswordHash", testSessionWhilePasswordHash},
		{"Session/WhilePasswordHashRace", testSessionWhilePasswordHashRace},
		{"Session/WhileRehashedHash", testSessionWhileRehashedHash},
		{"Session/WhileRehashedHashRace", testSessionWhileRehashedHashRace},
		{"Session/RacingRehash", testSessionRacingRehash},
		{"ChangePassword/AfterRehash", testChangePasswordAfterRehash},
		{"RefreshToken/Rotate", testRotate},
		{"RefreshToken/Reuse", testRotateReuse},
		{"RefreshToken/SessionEnded", testRotateSessionEnded},
		{"RefreshToken/Concurrent", testRotateConcurrent},
		{"RefreshToken/ReuseInterval", testRotateReuseInterval},
		{"RefreshToken/ReuseIntervalConcurrent", testRotateReuseIntervalConcurrent},
		{"SigningKeys", testSigningKeys},
		{"Tenant/Create", testCreateTenant},
		{"Tenant/Isolation", testTenantIsolation},
		{"Client/RoundTrip", testClientRoundTrip},
		{"Client/Revoke", testRevokeClient},
		{"ClientToken/RoundTrip", testClientTokenRoundTrip},
		{"ClientToken/Rotate", testRotateClientToken},
		{"ClientToken/RotateEnded", testRotateClientTokenEnded},
		{"ClientToken/RotateConcurrent", testRotateClientTokenConcurrent},
		{"ClientToken/Reuse", testRotateClientTokenReuse},
		{"ClientToken/ReuseConcurrent", testRotateClientTokenReuseConcurrent},
		{"AdminUsers/ByNumber", testUserByNumber},
		{"AdminUsers/List", testListUsers},
		{"AdminUsers/Update", testUpdateUser},
		{"AdminUsers/Delete", testDeleteUser},
		{"AdminUsers/Sessions", testSessionsByUser},
		{"AdminUsers/RevokeSessions", testRevokeSessions},
		{"Policy/RoundTrip", testTenantPolicy},
		{"Audit/AppendAndQuery", testAudit},
		{"Audit/Pagination", testAuditPagination},
		{"Audit/Details", testAuditDetails},
		{"Audit/WithChanges", testAuditWithChanges},
		{"Audit/NotWithFailedChanges", testAuditNotWithFailedChanges},
		{"ChangePassword/Overwrite", testChangePasswordOverwrite},
		{"ChangePassword/MustChange", testChangePasswordMustChange},
		{"PasswordHistory", testPasswordHistory},
		{"Mail/Enqueue", testEnqueueMail},
		{"Mail/ClaimLease", testClaimMailLease},
		{"Mail/ClaimOrder", testClaimMailOrder},
		{"Mail/ClaimConcurrent", testClaimMailConcurrent},
		{"Mail/Sent", testMarkMailSent},
		{"Mail/Failed", testMarkMailFailed},
		{"Mail/List", testMailMessages},
		{"Mail/Purge", testPurgeMail},
		{"Mail/CreateUser", testCreateUserMail},
		{"PasswordLink/Create", testCreatePasswordLink},
		{"PasswordLink/CreateConcurrent", testCreatePasswordLinkConcurrent},
		{"PasswordLink/ChangePassword", testChangePasswordWithLink},
		{"PasswordLink/FirstPasswordAndVerify", testSetFirstPasswordWithLink},
		{"PasswordLink/ChangePasswordConcurrent", testChangePasswordWithLinkConcurrent},
		{"PasswordLink/UseRacesNewLink", testLinkUseRacesNewLink},
		{"PasswordLink/Purge", testPurgePasswordLinks},
		{"PasswordLink/EndedByPasswordChange", testChangePasswordEndsLinks},
		{"PasswordLink/LastRequestWins", testNewerLinkWinsWhateverItsTime},
		{"Close", testClose},
	}
	tests = append(tests, jobTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// t0 carries nanoseconds and a zone other than UTC, so every round trip
// checks that times come back truncated to the microsecond and in UTC.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+2", 2*60*60))

// at returns t0 plus n minutes.
func at(n int) time.Time { return t0.Add(time.Duration(n) * time.Minute) }

// stored is the form in which a store returns t.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func storedPtr(t time.Time) *time.Time {
	s := stored(t)
	return &s
}

func newID(t *testing.T) string {
	t.Helper()
	u, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return u.String()
}

// createUser stores a user with the given email and explicit times.
func createUser(t *testing.T, st latch.Store, email string) latch.User {
	t.Helper()
	u, err := st.CreateUser(t.Context(), latch.NewUser{User: latch.User{
		Email: email, Active: true, CreatedAt: at(0), UpdatedAt: at(0),
	}})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

func createUserWithPassword(t *testing.T, st latch.Store, email, hash string) latch.User {
	t.Helper()
	u, err := st.CreateUser(t.Context(), latch.NewUser{
		User:         latch.User{Email: email, Active: true, CreatedAt: at(0), UpdatedAt: at(0)},
		PasswordHash: hash,
	})
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

// createSession stores a live session of user, expiring an hour after t0.
func createSession(t *testing.T, st latch.Store, userID string, refresh []byte) latch.Session {
	t.Helper()
	s := latch.Session{
		ID: newID(t), UserID: userID, Kind: latch.KindSession, Scopes: latch.SessionScopes(),
		CreatedAt: at(0), ExpiresAt: at(60),
	}
	if err := st.CreateSession(t.Context(), latch.NewSession{Session: s, RefreshHash: refresh}); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return s
}

func session(t *testing.T, st latch.Store, id string) latch.Session {
	t.Helper()
	s, _, err := st.SessionWithUser(t.Context(), id)
	if err != nil {
		t.Fatalf("SessionWithUser(%s): %v", id, err)
	}
	return s
}

func history(t *testing.T, st latch.Store, userID string) []string {
	t.Helper()
	hashes, err := st.PasswordHistory(t.Context(), userID, 100)
	if err != nil {
		t.Fatalf("PasswordHistory: %v", err)
	}
	return hashes
}

// wantError fails unless err is a *latch.Error of kind and code.
func wantError(t *testing.T, err error, kind latch.Kind, code string) {
	t.Helper()
	var le *latch.Error
	if !errors.As(err, &le) {
		t.Fatalf("error = %#v (%v), want *latch.Error %s/%s", err, err, kind, code)
	}
	if le.Kind != kind || le.Code != code {
		t.Fatalf("error = %s/%s (%v), want %s/%s", le.Kind, le.Code, err, kind, code)
	}
	if le.Message == "" {
		t.Errorf("error %s/%s has no message", kind, code)
	}
}

func wantNotFound(t *testing.T, err error) {
	t.Helper()
	wantError(t, err, latch.KindNotFound, latch.CodeNotFound)
}

// checkTimes fails if any time.Time field of v (a struct or pointer to one)
// is not in UTC or carries sub-microsecond precision.
func checkTimes(t *testing.T, what string, v any) {
	t.Helper()
	rv := reflect.Indirect(reflect.ValueOf(v))
	for i := range rv.NumField() {
		f := rv.Field(i)
		var tm time.Time
		switch x := f.Interface().(type) {
		case time.Time:
			tm = x
		case *time.Time:
			if x == nil {
				continue
			}
			tm = *x
		default:
			continue
		}
		name := rv.Type().Field(i).Name
		if tm.Location() != time.UTC {
			t.Errorf("%s.%s location = %v, want UTC", what, name, tm.Location())
		}
		if tm.Nanosecond()%1000 != 0 {
			t.Errorf("%s.%s = %v, not truncated to the microsecond", what, name, tm)
		}
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

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
	_, err = st.RotateRefreshToken(t.Context(), []byte("absent-refresh"), []byte("next"), at(1), 0)
	wantNotFound(t, err)
	_, err = st.RotateRefreshToken(t.Context(), nil, []byte("next"), at(1), 0)
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

func testChangePasswordCAS(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "cas@example.com")
	change := func(prev, next string, when time.Time) error {
		return st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: prev, NewHash: next, At: when})
	}
	wantHash := func(hash string, created, updated time.Time) {
		t.Helper()
		c, err := st.Credential(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkTimes(t, "Credential", c)
		equal(t, "Credential", c, latch.Credential{UserID: u.ID, Hash: hash, CreatedAt: stored(created), UpdatedAt: stored(updated)})
	}

	// A previous hash when there is no credential: nothing to swap.
	wantError(t, change("h0", "h1", at(1)), latch.KindConflict, latch.CodeConcurrentUpdate)
	_, err := st.Credential(ctx, u.ID)
	wantNotFound(t, err)

	if err := change("", "h1", at(2)); err != nil {
		t.Fatalf("first password: %v", err)
	}
	wantHash("h1", at(2), at(2))

	// A first password again: there is one now.
	wantError(t, change("", "h2", at(3)), latch.KindConflict, latch.CodeConcurrentUpdate)
	// A stale previous hash.
	wantError(t, change("h0", "h2", at(3)), latch.KindConflict, latch.CodeConcurrentUpdate)
	wantHash("h1", at(2), at(2))

	if err := change("h1", "h2", at(4)); err != nil {
		t.Fatalf("change: %v", err)
	}
	wantHash("h2", at(2), at(4))
	equal(t, "password history", history(t, st, u.ID), []string{"h2", "h1"})

	err = st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h2", At: at(5)})
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
}

func testChangePasswordRevokes(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "rev@example.com", "h1")
	other := createUserWithPassword(t, st, "other@example.com", "o1")
	keep := createSession(t, st, u.ID, nil)
	drop1 := createSession(t, st, u.ID, []byte("drop1-refresh"))
	drop2 := createSession(t, st, u.ID, nil)
	earlier := createSession(t, st, u.ID, nil)
	if err := st.RevokeSession(ctx, earlier.ID, at(1)); err != nil {
		t.Fatal(err)
	}
	others := createSession(t, st, other.ID, nil)

	if err := st.ChangePassword(ctx, latch.PasswordChange{
		UserID: u.ID, PreviousHash: "h1", NewHash: "h2", KeepSessionID: keep.ID, At: at(10),
	}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		id      string
		revoked *time.Time
	}{
		{"the kept session", keep.ID, nil},
		{"another session", drop1.ID, storedPtr(at(10))},
		{"a third session", drop2.ID, storedPtr(at(10))},
		{"a session revoked before", earlier.ID, storedPtr(at(1))},
		{"another user's session", others.ID, nil},
	} {
		s := session(t, st, tc.id)
		checkTimes(t, tc.name, s)
		equal(t, tc.name+" RevokedAt", s.RevokedAt, tc.revoked)
	}
	// The revoked session's refresh token no longer rotates.
	_, err := st.RotateRefreshToken(ctx, []byte("drop1-refresh"), []byte("drop1-next"), at(11), 0)
	wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)

	// No KeepSessionID revokes every session.
	if err := st.ChangePassword(ctx, latch.PasswordChange{
		UserID: u.ID, PreviousHash: "h2", NewHash: "h3", At: at(20),
	}); err != nil {
		t.Fatal(err)
	}
	equal(t, "kept session after a change keeping none", session(t, st, keep.ID).RevokedAt, storedPtr(at(20)))
	equal(t, "other user's session", session(t, st, others.ID).RevokedAt, nil)
	equal(t, "password history", history(t, st, u.ID), []string{"h3", "h2", "h1"})
	equal(t, "other user's history", history(t, st, other.ID), []string{"o1"})
}

// testChangePasswordKeepSessions: a first password may keep every session
// of the user; a replacement may not, and is refused without a write.
func testChangePasswordKeepSessions(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "keep-first@example.com")
	s1 := createSession(t, st, u.ID, []byte("keep-first-r0"))
	s2 := createSession(t, st, u.ID, nil)
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, NewHash: "k1", KeepSessions: true, At: at(10)}); err != nil {
		t.Fatal(err)
	}
	equal(t, "a session after a first password", session(t, st, s1.ID).RevokedAt, nil)
	equal(t, "another session after a first password", session(t, st, s2.ID).RevokedAt, nil)
	equal(t, "password history", history(t, st, u.ID), []string{"k1"})
	if _, err := st.RotateRefreshToken(ctx, []byte("keep-first-r0"), []byte("keep-first-r1"), at(11), 0); err != nil {
		t.Errorf("refresh after a first password: %v", err)
	}

	for name, pc := range map[string]latch.PasswordChange{
		"change":    {UserID: u.ID, PreviousHash: "k1", NewHash: "k2", KeepSessions: true, At: at(20)},
		"overwrite": {UserID: u.ID, NewHash: "k2", Overwrite: true, KeepSessions: true, At: at(20)},
	} {
		err := st.ChangePassword(ctx, pc)
		wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
		equal(t, name+": password history", history(t, st, u.ID), []string{"k1"})
		equal(t, name+": session", session(t, st, s2.ID).RevokedAt, nil)
	}
}

func testChangePasswordConflictWritesNothing(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "nothing@example.com", "h1")
	s := createSession(t, st, u.ID, nil)
	err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "stale", NewHash: "h2", At: at(5)})
	wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
	equal(t, "session after a failed change", session(t, st, s.ID).RevokedAt, nil)
	equal(t, "history after a failed change", history(t, st, u.ID), []string{"h1"})
}

func testChangePasswordConcurrent(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "race@example.com")
	warmUp(t, st, u.ID)
	const n = 50
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = st.ChangePassword(ctx, latch.PasswordChange{
				UserID: u.ID, NewHash: fmt.Sprintf("hash-%d", i), At: at(1),
			})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Errorf("both %d and %d set the first password", winner, i)
			}
			winner = i
		case latch.IsCode(err, latch.CodeConcurrentUpdate) && latch.IsKind(err, latch.KindConflict):
		default:
			t.Errorf("writer %d: %v, want nil or Conflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer succeeded")
	}
	c, err := st.Credential(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("hash-%d", winner); c.Hash != want {
		t.Errorf("stored hash = %q, want the winner's %q", c.Hash, want)
	}
	equal(t, "password history", history(t, st, u.ID), []string{c.Hash})
}

func testReplacePasswordHash(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "rehash@example.com", "weak")
	s := createSession(t, st, u.ID, nil)
	if err := st.ReplacePasswordHash(ctx, u.ID, "weak", "strong", at(7)); err != nil {
		t.Fatal(err)
	}
	c, err := st.Credential(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Credential", c, latch.Credential{UserID: u.ID, Hash: "strong", CreatedAt: stored(at(0)), UpdatedAt: stored(at(7))})
	// A rehash is the same password: no history, no revocation.
	equal(t, "session", session(t, st, s.ID).RevokedAt, nil)
	equal(t, "history", history(t, st, u.ID), []string{"weak"})

	err = st.ReplacePasswordHash(ctx, u.ID, "weak", "stronger", at(8))
	wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
	if c, _ := st.Credential(ctx, u.ID); c.Hash != "strong" {
		t.Errorf("hash after a failed replace = %q", c.Hash)
	}

	bare := createUser(t, st, "bare@example.com")
	err = st.ReplacePasswordHash(ctx, bare.ID, "weak", "strong", at(8))
	wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
	err = st.ReplacePasswordHash(ctx, u.ID, "strong", "", at(8))
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
}

func testSessionRoundTrip(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{
		Email: "sess@example.com", FirstName: "S", Verified: true, Active: true, CreatedAt: at(0), UpdatedAt: at(1),
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   latch.Session
		want latch.Session
	}{
		{"session", latch.Session{
			Kind: latch.KindSession, Scopes: []string{latch.ScopeUserRead, latch.ScopeUserUpdate},
			CreatedAt: at(0), ExpiresAt: at(60),
		}, latch.Session{
			Kind: latch.KindSession, Scopes: []string{latch.ScopeUserRead, latch.ScopeUserUpdate},
			CreatedAt: stored(at(0)), ExpiresAt: stored(at(60)),
		}},
		{"no scopes", latch.Session{
			Kind: latch.KindProject, Scopes: []string{}, CreatedAt: at(0), ExpiresAt: at(60),
		}, latch.Session{
			Kind: latch.KindProject, CreatedAt: stored(at(0)), ExpiresAt: stored(at(60)),
		}},
		{"created revoked", latch.Session{
			Kind: latch.KindPersonal, Scopes: []string{latch.ScopeUserRead},
			CreatedAt: at(0), ExpiresAt: at(60), RevokedAt: new(at(1)),
		}, latch.Session{
			Kind: latch.KindPersonal, Scopes: []string{latch.ScopeUserRead},
			CreatedAt: stored(at(0)), ExpiresAt: stored(at(60)), RevokedAt: storedPtr(at(1)),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.ID, tc.in.UserID = newID(t), u.ID
			tc.want.ID, tc.want.UserID = tc.in.ID, u.ID
			if err := st.CreateSession(ctx, latch.NewSession{Session: tc.in}); err != nil {
				t.Fatal(err)
			}
			s, su, err := st.SessionWithUser(ctx, tc.in.ID)
			if err != nil {
				t.Fatal(err)
			}
			checkTimes(t, "Session", s)
			checkTimes(t, "User", su)
			equal(t, "Session", s, tc.want)
			equal(t, "User", su, u)
		})
	}
}

func testSessionInvalid(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "sinv@example.com")
	s := createSession(t, st, u.ID, []byte("taken-refresh"))

	dup := s
	err := st.CreateSession(ctx, latch.NewSession{Session: dup})
	if !latch.IsKind(err, latch.KindConflict) {
		t.Errorf("duplicate session id: %v, want Conflict", err)
	}
	fresh := s
	fresh.ID = newID(t)
	err = st.CreateSession(ctx, latch.NewSession{Session: fresh, RefreshHash: []byte("taken-refresh")})
	if !latch.IsKind(err, latch.KindConflict) {
		t.Errorf("duplicate refresh hash: %v, want Conflict", err)
	}
	// The session of the failed call was not kept.
	_, _, err = st.SessionWithUser(ctx, fresh.ID)
	wantNotFound(t, err)

	for _, tc := range []struct {
		name   string
		mutate func(*latch.Session)
	}{
		{"malformed id", func(s *latch.Session) { s.ID = "sess-1" }},
		{"empty id", func(s *latch.Session) { s.ID = "" }},
		{"scope with a space", func(s *latch.Session) { s.Scopes = []string{"user:read user:update"} }},
		{"empty scope", func(s *latch.Session) { s.Scopes = []string{""} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := latch.Session{ID: newID(t), UserID: u.ID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60)}
			tc.mutate(&in)
			wantError(t, st.CreateSession(ctx, latch.NewSession{Session: in}), latch.KindInvalid, latch.CodeInvalidRequest)
		})
	}
}

// A session begun by a login is stored only while the password the login
// verified is still the stored one.
func testSessionWhilePasswordHash(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "while@example.com", "h1")
	nopw := createUser(t, st, "nopw@example.com")
	ns := func(userID string) latch.NewSession {
		return latch.NewSession{Session: latch.Session{ID: newID(t), UserID: userID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60)},
			RefreshHash: []byte("while-" + newID(t)), WhilePasswordHash: "h1"}
	}
	ok := ns(u.ID)
	if err := st.CreateSession(ctx, ok); err != nil {
		t.Fatalf("with the current hash: %v", err)
	}
	session(t, st, ok.Session.ID)
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h1", NewHash: "h2", At: at(1)}); err != nil {
		t.Fatal(err)
	}
	for name, in := range map[string]latch.NewSession{"old hash": ns(u.ID), "no password": ns(nopw.ID)} {
		wantError(t, st.CreateSession(ctx, in), latch.KindConflict, latch.CodeConcurrentUpdate)
		_, _, err := st.SessionWithUser(ctx, in.Session.ID)
		if !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("%s: a refused session was stored (%v)", name, err)
		}
		_, err = st.RotateRefreshToken(ctx, in.RefreshHash, []byte("next-"+in.Session.ID), at(2), 0)
		if !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("%s: a refused session's refresh token was stored (%v)", name, err)
		}
	}
}

// Logins and a password change race: every session a login managed to
// store with the old hash ends revoked by the change, or was refused.
func testSessionWhilePasswordHashRace(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "race-login@example.com", "old")
	warmUp(t, st, u.ID)
	const logins = 20
	ids := make([]string, logins)
	errs := make([]error, logins)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range logins {
		ids[i] = newID(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = st.CreateSession(ctx, latch.NewSession{
				Session:           latch.Session{ID: ids[i], UserID: u.ID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60)},
				WhilePasswordHash: "old",
			})
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "old", NewHash: "new", At: at(5)}); err != nil {
			t.Error(err)
		}
	}()
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
			continue
		}
		if s := session(t, st, ids[i]); s.RevokedAt == nil {
			t.Errorf("login %d: a session started with the old password survived the change", i)
		}
	}
}

// Sessions that ended (expired or revoked) before the cut-off go, with
// their refresh tokens, in batches; live ones and recent ones stay.
func testPurgeSessions(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "purge@example.com")
	mk := func(expires int, refresh string) latch.Session {
		s := latch.Session{ID: newID(t), UserID: u.ID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(expires)}
		var hash []byte
		if refresh != "" {
			hash = []byte(refresh)
		}
		if err := st.CreateSession(ctx, latch.NewSession{Session: s, RefreshHash: hash}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	expiredA, expiredB := mk(10, "purge-a"), mk(20, "")
	revokedOld := mk(1000, "")
	if err := st.RevokeSession(ctx, revokedOld.ID, at(5)); err != nil {
		t.Fatal(err)
	}
	revokedRecent := mk(1000, "")
	if err := st.RevokeSession(ctx, revokedRecent.ID, at(50)); err != nil {
		t.Fatal(err)
	}
	live := mk(1000, "purge-live")
	cut := at(30)

	n, err := st.PurgeSessions(ctx, cut, 2)
	if err != nil || n != 2 {
		t.Fatalf("first batch of 2: %d, %v", n, err)
	}
	n, err = st.PurgeSessions(ctx, cut, 100)
	if err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v; want the third ended session", n, err)
	}
	if n, err := st.PurgeSessions(ctx, cut, 100); err != nil || n != 0 {
		t.Fatalf("nothing left to purge: %d, %v", n, err)
	}
	for _, gone := range []latch.Session{expiredA, expiredB, revokedOld} {
		if _, _, err := st.SessionWithUser(ctx, gone.ID); !latch.IsKind(err, latch.KindNotFound) {
			t.Errorf("ended session %s still there (%v)", gone.ID, err)
		}
	}
	if _, err := st.RotateRefreshToken(ctx, []byte("purge-a"), []byte("purge-a2"), at(31), 0); !latch.IsKind(err, latch.KindNotFound) {
		t.Errorf("a purged session's refresh token survived: %v", err)
	}
	for _, kept := range []latch.Session{revokedRecent, live} {
		session(t, st, kept.ID)
	}
	if _, err := st.RotateRefreshToken(ctx, []byte("purge-live"), []byte("purge-live2"), at(31), 0); err != nil {
		t.Errorf("a live session's refresh token: %v", err)
	}
}

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

// A code is redeemed once, before it expires, and never again.
func testAuthorizationCode(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "code@example.com")
	code := latch.AuthorizationCode{Hash: []byte("code-hash"), UserID: u.ID, CodeChallenge: "challenge", RedirectURI: "https://app.example/cb",
		CreatedAt: t0, ExpiresAt: at(1)}
	if err := st.CreateAuthorizationCode(ctx, code); err != nil {
		t.Fatal(err)
	}
	wantError(t, st.CreateAuthorizationCode(ctx, code), latch.KindConflict, latch.CodeAlreadyExists)
	wantNotFound(t, st.CreateAuthorizationCode(ctx, latch.AuthorizationCode{Hash: []byte("x"), UserID: newID(t), ExpiresAt: at(1)}))

	got, err := st.ConsumeAuthorizationCode(ctx, []byte("code-hash"), t0.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := code
	want.CreatedAt, want.ExpiresAt = stored(t0), stored(at(1))
	if string(got.Hash) != "code-hash" || got.UserID != u.ID || got.CodeChallenge != "challenge" || got.RedirectURI != want.RedirectURI ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.ExpiresAt.Location() != time.UTC {
		t.Fatalf("consumed %+v, want %+v", got, want)
	}
	_, err = st.ConsumeAuthorizationCode(ctx, []byte("code-hash"), t0.Add(31*time.Second))
	wantNotFound(t, err)

	late := latch.AuthorizationCode{Hash: []byte("late-hash"), UserID: u.ID, CreatedAt: t0, ExpiresAt: at(1)}
	if err := st.CreateAuthorizationCode(ctx, late); err != nil {
		t.Fatal(err)
	}
	_, err = st.ConsumeAuthorizationCode(ctx, []byte("late-hash"), at(1))
	wantNotFound(t, err)
	_, err = st.ConsumeAuthorizationCode(ctx, []byte("never-made"), t0)
	wantNotFound(t, err)

	// Expired codes are purged; live ones stay.
	live := latch.AuthorizationCode{Hash: []byte("live-hash"), UserID: u.ID, CreatedAt: t0, ExpiresAt: at(100)}
	if err := st.CreateAuthorizationCode(ctx, live); err != nil {
		t.Fatal(err)
	}
	n, err := st.PurgeAuthorizationCodes(ctx, at(2), 100)
	if err != nil || n != 2 {
		t.Fatalf("purged %d codes, %v; want the two that expired at 1 minute", n, err)
	}
	if _, err := st.ConsumeAuthorizationCode(ctx, []byte("live-hash"), at(3)); err != nil {
		t.Fatalf("a live code was purged: %v", err)
	}

	// Concurrent redemptions: exactly one wins.
	race := latch.AuthorizationCode{Hash: []byte("race-hash"), UserID: u.ID, CreatedAt: t0, ExpiresAt: at(10)}
	if err := st.CreateAuthorizationCode(ctx, race); err != nil {
		t.Fatal(err)
	}
	warmUp(t, st, u.ID)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.ConsumeAuthorizationCode(ctx, []byte("race-hash"), at(1)); err == nil {
				wins.Add(1)
			} else if !latch.IsKind(err, latch.KindNotFound) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d redemptions of one code succeeded", wins.Load())
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

func testRevokeSession(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "revoke@example.com")
	s := createSession(t, st, u.ID, nil)
	if err := st.RevokeSession(ctx, s.ID, at(3)); err != nil {
		t.Fatal(err)
	}
	// Revoked sessions are still returned: the caller decides.
	got := session(t, st, s.ID)
	checkTimes(t, "Session", got)
	equal(t, "RevokedAt", got.RevokedAt, storedPtr(at(3)))
	if got.Live(at(4)) {
		t.Error("revoked session is live")
	}
	// Revoking again is no error and keeps the first time.
	if err := st.RevokeSession(ctx, s.ID, at(9)); err != nil {
		t.Fatal(err)
	}
	equal(t, "RevokedAt after a second revocation", session(t, st, s.ID).RevokedAt, storedPtr(at(3)))
}

func testRotate(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "rotate@example.com")
	s := createSession(t, st, u.ID, []byte("r0"))
	want := session(t, st, s.ID)

	got, err := st.RotateRefreshToken(ctx, []byte("r0"), []byte("r1"), at(5), 0)
	if err != nil {
		t.Fatal(err)
	}
	checkTimes(t, "Session", got)
	equal(t, "rotated session", got, want)
	got, err = st.RotateRefreshToken(ctx, []byte("r1"), []byte("r2"), at(6), 0)
	if err != nil {
		t.Fatalf("rotating the successor: %v", err)
	}
	equal(t, "rotated session", got, want)
	equal(t, "session after rotations", session(t, st, s.ID), want)

	// Rotating into a hash that exists is a Conflict and uses nothing up.
	other := createSession(t, st, u.ID, []byte("elsewhere"))
	_, err = st.RotateRefreshToken(ctx, []byte("r2"), []byte("elsewhere"), at(7), 0)
	if !latch.IsKind(err, latch.KindConflict) {
		t.Errorf("rotating into an existing hash: %v, want Conflict", err)
	}
	if _, err := st.RotateRefreshToken(ctx, []byte("r2"), []byte("r3"), at(8), 0); err != nil {
		t.Errorf("token after a failed rotation: %v", err)
	}
	_, err = st.RotateRefreshToken(ctx, []byte("r3"), nil, at(9), 0)
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	equal(t, "the other session", session(t, st, other.ID).RevokedAt, nil)
}

func testRotateReuse(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "reuse@example.com")
	s := createSession(t, st, u.ID, []byte("r0"))
	if _, err := st.RotateRefreshToken(ctx, []byte("r0"), []byte("r1"), at(5), 0); err != nil {
		t.Fatal(err)
	}
	// r0 again: someone kept a copy. The session is revoked, and that
	// revocation stands although the call fails.
	_, err := st.RotateRefreshToken(ctx, []byte("r0"), []byte("r1b"), at(6), 0)
	wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
	equal(t, "RevokedAt after reuse", session(t, st, s.ID).RevokedAt, storedPtr(at(6)))
	// Nor did the reuse store its new token.
	_, err = st.RotateRefreshToken(ctx, []byte("r1b"), []byte("r2"), at(7), 0)
	wantNotFound(t, err)
	// The legitimate successor is dead with its session.
	_, err = st.RotateRefreshToken(ctx, []byte("r1"), []byte("r2"), at(7), 0)
	wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)
	// Reuse once more: still reuse, and the first revocation time stays.
	_, err = st.RotateRefreshToken(ctx, []byte("r0"), []byte("r1c"), at(8), 0)
	wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
	equal(t, "RevokedAt after a second reuse", session(t, st, s.ID).RevokedAt, storedPtr(at(6)))

	// A session other than the reused token's is not touched.
	s2 := createSession(t, st, u.ID, []byte("s2-r0"))
	equal(t, "another session", session(t, st, s2.ID).RevokedAt, nil)
}

// testRotateReuseInterval: within the reuse interval, a used token
// presented again with the successor its use stored gets its session
// again, writing nothing, while that successor is unused; anything else
// is a reuse and revokes the session.
func testRotateReuseInterval(t *testing.T, st latch.Store) {
	u := createUser(t, st, "grace@example.com")
	const interval = 10 * time.Second
	used := at(5) // every chain below is first rotated at this instant
	after := func(d time.Duration) time.Time { return used.Add(d) }
	rotate := func(t *testing.T, old, next string, when time.Time) (latch.Session, error) {
		t.Helper()
		return st.RotateRefreshToken(t.Context(), []byte(old), []byte(next), when, interval)
	}
	// chain starts a session whose token p+"0" was rotated into p+"1".
	chain := func(t *testing.T, p string) latch.Session {
		t.Helper()
		s := createSession(t, st, u.ID, []byte(p+"0"))
		if _, err := rotate(t, p+"0", p+"1", used); err != nil {
			t.Fatal(err)
		}
		return s
	}
	revoked := func(t *testing.T, s latch.Session, want *time.Time) {
		t.Helper()
		equal(t, "RevokedAt", session(t, st, s.ID).RevokedAt, want)
	}

	t.Run("same successor within the interval", func(t *testing.T) {
		s := chain(t, "g-")
		want := session(t, st, s.ID)
		for _, d := range []time.Duration{0, 5 * time.Second, interval - time.Microsecond, -5 * time.Second} {
			got, err := rotate(t, "g-0", "g-1", after(d))
			if err != nil {
				t.Fatalf("again after %v: %v", d, err)
			}
			equal(t, "session", got, want)
		}
		revoked(t, s, nil)
		// Nothing was written: the successor is still the chain's newest,
		// and rotates once.
		if _, err := rotate(t, "g-1", "g-2", after(6*time.Second)); err != nil {
			t.Fatalf("rotating the successor: %v", err)
		}
		revoked(t, s, nil)
	})
	t.Run("after the interval", func(t *testing.T) {
		s := chain(t, "late-")
		_, err := rotate(t, "late-0", "late-1", after(interval))
		wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
		revoked(t, s, storedPtr(after(interval)))
		_, err = rotate(t, "late-1", "late-2", after(interval+time.Second))
		wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)
	})
	t.Run("another successor", func(t *testing.T) {
		s := chain(t, "other-")
		_, err := rotate(t, "other-0", "other-1b", after(time.Second))
		wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
		revoked(t, s, storedPtr(after(time.Second)))
		_, err = rotate(t, "other-1b", "other-2", after(2*time.Second))
		wantNotFound(t, err)
	})
	t.Run("successor rotated too", func(t *testing.T) {
		// Tab A refreshed twice; tab B's copy of the first token is now
		// two generations old: a reuse, although within the interval.
		s := chain(t, "twice-")
		if _, err := rotate(t, "twice-1", "twice-2", after(time.Second)); err != nil {
			t.Fatal(err)
		}
		_, err := rotate(t, "twice-0", "twice-1", after(2*time.Second))
		wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
		revoked(t, s, storedPtr(after(2*time.Second)))
	})
	t.Run("middle token within its interval", func(t *testing.T) {
		// The same with the middle token: its own successor is unused.
		s := chain(t, "mid-")
		if _, err := rotate(t, "mid-1", "mid-2", after(time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := rotate(t, "mid-1", "mid-2", after(2*time.Second)); err != nil {
			t.Fatalf("middle token again: %v", err)
		}
		revoked(t, s, nil)
	})
	t.Run("session revoked", func(t *testing.T) {
		s := chain(t, "rev-")
		if err := st.RevokeSession(t.Context(), s.ID, after(time.Second)); err != nil {
			t.Fatal(err)
		}
		_, err := rotate(t, "rev-0", "rev-1", after(2*time.Second))
		wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)
		revoked(t, s, storedPtr(after(time.Second)))
	})
	t.Run("interval off", func(t *testing.T) {
		s := chain(t, "off-")
		_, err := st.RotateRefreshToken(t.Context(), []byte("off-0"), []byte("off-1"), after(time.Second), 0)
		wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
		revoked(t, s, storedPtr(after(time.Second)))
	})
}

// testRotateReuseIntervalConcurrent: concurrent presentations of one
// token, all with the successor derived from it, all get the session;
// exactly one rotation is stored (a second insert of the successor would
// be a Conflict), and the session lives.
func testRotateReuseIntervalConcurrent(t *testing.T, st latch.Store) {
	u := createUser(t, st, "gracerace@example.com")
	warmUp(t, st, u.ID)
	for round := range 5 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			ctx := t.Context()
			contested := fmt.Appendf(nil, "grace-contested-%d", round)
			successor := fmt.Appendf(nil, "grace-successor-%d", round)
			s := createSession(t, st, u.ID, contested)
			const n = 20
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					_, errs[i] = st.RotateRefreshToken(ctx, contested, successor, at(5), 10*time.Second)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("presentation %d: %v", i, err)
				}
			}
			equal(t, "RevokedAt", session(t, st, s.ID).RevokedAt, nil)
			if _, err := st.RotateRefreshToken(ctx, successor, []byte("after-"+string(successor)), at(6), 10*time.Second); err != nil {
				t.Errorf("rotating the successor: %v", err)
			}
		})
	}
}

func testRotateSessionEnded(t *testing.T, st latch.Store) {
	u := createUser(t, st, "ended@example.com")
	tests := []struct {
		name   string
		revoke bool
		at     time.Time
	}{
		{"expired", false, at(61)},
		{"expiring now", false, at(60)},
		{"revoked", true, at(30)},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			old, next := fmt.Appendf(nil, "old-%d", i), fmt.Appendf(nil, "next-%d", i)
			s := createSession(t, st, u.ID, old) // expires at(60)
			if tc.revoke {
				if err := st.RevokeSession(ctx, s.ID, at(10)); err != nil {
					t.Fatal(err)
				}
			}
			_, err := st.RotateRefreshToken(ctx, old, next, tc.at, 0)
			wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)
			// No successor was stored, and the old token was not used up:
			// presenting it again is the same answer, not a reuse.
			_, err = st.RotateRefreshToken(ctx, next, []byte("x"), tc.at, 0)
			wantNotFound(t, err)
			_, err = st.RotateRefreshToken(ctx, old, next, tc.at, 0)
			wantError(t, err, latch.KindUnauthenticated, latch.CodeInvalidToken)
		})
	}
	// One microsecond before expiry still rotates.
	s := createSession(t, st, u.ID, []byte("edge"))
	if _, err := st.RotateRefreshToken(t.Context(), []byte("edge"), []byte("edge-2"), stored(at(60)).Add(-time.Microsecond), 0); err != nil {
		t.Errorf("rotation just before expiry: %v", err)
	}
	equal(t, "session", session(t, st, s.ID).RevokedAt, nil)
}

func testRotateConcurrent(t *testing.T, st latch.Store) {
	u := createUser(t, st, "rotrace@example.com")
	warmUp(t, st, u.ID)
	// Several rounds: one round may happen not to interleave.
	for round := range 5 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			ctx := t.Context()
			contested := fmt.Appendf(nil, "contested-%d", round)
			s := createSession(t, st, u.ID, contested)
			const n = 20
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					_, errs[i] = st.RotateRefreshToken(ctx, contested, fmt.Appendf(nil, "next-%d-%d", round, i), at(5), 0)
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for i, err := range errs {
				switch {
				case err == nil:
					wins++
				case latch.IsCode(err, latch.CodeRefreshTokenReused):
				default:
					t.Errorf("rotation %d: %v, want nil or refresh_token_reused", i, err)
				}
			}
			if wins != 1 {
				t.Errorf("%d rotations succeeded, want exactly 1", wins)
			}
			// Every loser was a reuse, so the session ends revoked.
			equal(t, "RevokedAt", session(t, st, s.ID).RevokedAt, storedPtr(at(5)))
		})
	}
}

// warmUp makes many concurrent reads so that a store with a connection
// pool has opened its connections: otherwise the first goroutine of a race
// finishes on the one open connection while the others wait for new ones,
// and nothing races.
func warmUp(t *testing.T, st latch.Store, userID string) {
	t.Helper()
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if _, err := st.UserByID(t.Context(), userID); err != nil {
				t.Errorf("warm-up: %v", err)
			}
		})
	}
	wg.Wait()
}

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

func testClose(t *testing.T, st latch.Store) {
	createUser(t, st, "close@example.com")
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// A closed store fails with a *latch.Error, never a raw driver error
	// or a panic. (open's cleanup closes it again, which must be harmless.)
	_, err := st.UserByEmail(context.Background(), "close@example.com")
	wantError(t, err, latch.KindInternal, "internal")
}
