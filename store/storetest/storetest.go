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
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// Run runs the suite. open must return a fresh, migrated, empty store each
// time it is called, close it when t ends, and be safe to call from
// parallel subtests: each subtest opens its own store and runs in parallel
// with the others.
//
// The tests live in a file per part of latch.Store (users.go,
// credentials.go, sessions.go, ...); this list names them all, by the
// subtest names other tools refer to.
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
		{"SigningKeys/Rotate", testRotateSigningKey},
		{"SigningKeys/Announced", testAnnouncedSigningKey},
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
		{"Session/LatestExpiry", testLatestSessionExpiry},
		{"AdminUsers/RevokeSessions", testRevokeSessions},
		{"Policy/RoundTrip", testTenantPolicy},
		{"Audit/AppendAndQuery", testAudit},
		{"Audit/Pagination", testAuditPagination},
		{"Audit/Details", testAuditDetails},
		{"Audit/WithChanges", testAuditWithChanges},
		{"Audit/NotWithFailedChanges", testAuditNotWithFailedChanges},
		{"Audit/OnSessions", testAuditOnSessions},
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
		{"Mail/OldestPending", testOldestPendingMail},
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
	tests = append(tests, appTests...)
	tests = append(tests, appCodeTests...)
	tests = append(tests, grantTests...)
	tests = append(tests, factorTests...)
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
