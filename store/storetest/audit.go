package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// The conformance tests of latch.AuditStore: the audit log, and that a
// change and its event are written together or not at all.

func events(t *testing.T, st latch.Store, q latch.AuditQuery) []latch.AuditEvent {
	t.Helper()
	evs, err := st.AuditEvents(t.Context(), q)
	if err != nil {
		t.Fatalf("AuditEvents(%+v): %v", q, err)
	}
	for i, e := range evs {
		checkTimes(t, "AuditEvent", e)
		if i > 0 && e.ID >= evs[i-1].ID {
			t.Errorf("AuditEvents(%+v): id %d after %d, want newest (largest) first", q, e.ID, evs[i-1].ID)
		}
	}
	return evs
}

// auditEvent returns an event of the default tenant about target.
func auditEvent(action, target string, n int) *latch.AuditEvent {
	return &latch.AuditEvent{
		TenantID: latch.DefaultTenantID, At: at(n), Action: action, ActorType: latch.ActorClient,
		ActorID: "cli_actor", TargetID: target, IP: "192.0.2.7", Details: map[string]string{"n": fmt.Sprint(n)},
	}
}

// wantEvents fails unless got holds want's events, in that order, as a
// store returns them (ids assigned, times stored).
func wantEvents(t *testing.T, what string, got []latch.AuditEvent, want ...latch.AuditEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d:\n got %+v\nwant %+v", what, len(got), len(want), got, want)
	}
	for i := range want {
		w := want[i]
		w.At = stored(w.At)
		if id, err := uuid.Parse(w.TenantID); err == nil {
			w.TenantID = id.String()
		}
		if got[i].ID <= 0 {
			t.Errorf("%s: event %d has id %d", what, i, got[i].ID)
		}
		w.ID = got[i].ID
		equal(t, fmt.Sprintf("%s: event %d", what, i), got[i], w)
	}
}

func testAudit(t *testing.T, st latch.Store) {
	ctx := t.Context()
	ta, tb := newID(t), newID(t)
	in := []latch.AuditEvent{
		{TenantID: ta, At: at(1), Action: latch.AuditLoginSuccess, ActorType: latch.ActorUser, ActorID: "u1", TargetID: "u1", IP: "192.0.2.1", Details: map[string]string{"method": "password"}},
		{TenantID: ta, At: at(2), Action: latch.AuditPasswordReset, ActorType: latch.ActorClient, ActorID: "cli_1", TargetID: "u2", IP: "2001:db8::1"},
		{TenantID: tb, At: at(3), Action: latch.AuditLoginSuccess, ActorType: latch.ActorUser, ActorID: "u3", TargetID: "u3"},
		{At: at(4), Action: latch.AuditTenantCreate, ActorType: latch.ActorOperator},
		{TenantID: strings.ToUpper(ta), At: at(3), Action: latch.AuditLoginFailure, ActorType: latch.ActorAnonymous, TargetID: "u1", IP: "192.0.2.9"},
	}
	for _, e := range in {
		e.ID = 999 // assigned by the store, whatever the caller says
		if err := st.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	e1, e2, e3, e4, e5 := in[0], in[1], in[2], in[3], in[4]
	all := events(t, st, latch.AuditQuery{})
	wantEvents(t, "all", all, e5, e4, e3, e2, e1)
	for _, tc := range []struct {
		name string
		q    latch.AuditQuery
		want []latch.AuditEvent
	}{
		{"tenant", latch.AuditQuery{TenantID: ta}, []latch.AuditEvent{e5, e2, e1}},
		{"tenant in upper case", latch.AuditQuery{TenantID: strings.ToUpper(tb)}, []latch.AuditEvent{e3}},
		{"unknown tenant", latch.AuditQuery{TenantID: newID(t)}, nil},
		{"action", latch.AuditQuery{Action: latch.AuditLoginSuccess}, []latch.AuditEvent{e3, e1}},
		{"actor", latch.AuditQuery{ActorID: "cli_1"}, []latch.AuditEvent{e2}},
		{"target", latch.AuditQuery{TargetID: "u1"}, []latch.AuditEvent{e5, e1}},
		// Since is inclusive and filters on At, not on the order of ids.
		{"since", latch.AuditQuery{Since: at(3)}, []latch.AuditEvent{e5, e4, e3}},
		{"since, exact to the microsecond", latch.AuditQuery{Since: stored(at(4)).Add(time.Microsecond)}, nil},
		{"tenant and action", latch.AuditQuery{TenantID: ta, Action: latch.AuditLoginSuccess}, []latch.AuditEvent{e1}},
		{"tenant, target and since", latch.AuditQuery{TenantID: ta, TargetID: "u1", Since: at(2)}, []latch.AuditEvent{e5}},
		{"before", latch.AuditQuery{BeforeID: all[1].ID}, []latch.AuditEvent{e3, e2, e1}},
		{"before, with a filter and a limit", latch.AuditQuery{BeforeID: all[0].ID, TenantID: ta, Limit: 1}, []latch.AuditEvent{e2}},
		{"before the first", latch.AuditQuery{BeforeID: all[4].ID}, nil},
		{"limit", latch.AuditQuery{Limit: 2}, []latch.AuditEvent{e5, e4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantEvents(t, tc.name, events(t, st, tc.q), tc.want...)
		})
	}
	_, err := st.AuditEvents(ctx, latch.AuditQuery{TenantID: "acme"})
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	_, err = st.AuditEvents(ctx, latch.AuditQuery{TargetID: "\xff"})
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)

	wantError(t, st.AppendAudit(ctx, latch.AuditEvent{ActorType: latch.ActorUser}), latch.KindInvalid, latch.CodeInvalidRequest)
	wantError(t, st.AppendAudit(ctx, latch.AuditEvent{TenantID: "acme", Action: "x"}), latch.KindInvalid, latch.CodeInvalidRequest)

	// A zero At is now.
	before := time.Now().Add(-time.Second)
	if err := st.AppendAudit(ctx, latch.AuditEvent{Action: "zero.time"}); err != nil {
		t.Fatal(err)
	}
	got := events(t, st, latch.AuditQuery{Action: "zero.time"})
	if len(got) != 1 || got[0].At.Before(before) || got[0].At.After(time.Now().Add(time.Second)) {
		t.Errorf("zero At became %+v", got)
	}
	if got[0].ID <= all[0].ID {
		t.Errorf("id %d after %d", got[0].ID, all[0].ID)
	}
}

func testAuditPagination(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := newID(t)
	const n = 60
	for i := range n {
		e := latch.AuditEvent{TenantID: tn, At: at(i), Action: "page", Details: map[string]string{"i": fmt.Sprint(i)}}
		if err := st.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AppendAudit(ctx, latch.AuditEvent{At: at(100), Action: "elsewhere"}); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, -5} {
		got := events(t, st, latch.AuditQuery{TenantID: tn, Limit: limit})
		if len(got) != 50 || got[0].Details["i"] != "59" {
			t.Errorf("Limit %d: %d events, first %+v; want 50, newest first", limit, len(got), got[0])
		}
	}
	if got := events(t, st, latch.AuditQuery{Limit: 5000}); len(got) != n+1 {
		t.Errorf("Limit 5000: %d events, want %d", len(got), n+1)
	}
	var paged []latch.AuditEvent
	var before int64
	for range n {
		page := events(t, st, latch.AuditQuery{TenantID: tn, BeforeID: before, Limit: 7})
		if len(page) == 0 {
			break
		}
		if len(page) > 7 {
			t.Fatalf("page of %d", len(page))
		}
		paged = append(paged, page...)
		before = page[len(page)-1].ID
	}
	if len(paged) != n {
		t.Fatalf("paged through %d events, want %d", len(paged), n)
	}
	for i, e := range paged {
		if want := fmt.Sprint(n - 1 - i); e.Details["i"] != want || !e.At.Equal(stored(at(n-1-i))) {
			t.Errorf("event %d of the pages: %+v, want i=%s", i, e, want)
		}
		if i > 0 && e.ID >= paged[i-1].ID {
			t.Errorf("pages overlap or go backwards at %d", i)
		}
	}
}

func testAuditDetails(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tests := []struct {
		name string
		in   latch.AuditEvent
		want latch.AuditEvent
	}{
		{"nil details",
			latch.AuditEvent{Action: "d.nil", At: at(0)},
			latch.AuditEvent{Action: "d.nil", At: at(0)}},
		// None is none, whichever way the caller says it.
		{"empty details",
			latch.AuditEvent{Action: "d.empty", At: at(0), Details: map[string]string{}},
			latch.AuditEvent{Action: "d.empty", At: at(0)}},
		{"details",
			latch.AuditEvent{Action: "d.some", At: at(0), Details: map[string]string{
				"quote": `"\`, "unicode": "ünï 🔑", "empty": "", "": "empty key", "html": "<&>", "newline": "a\nb"}},
			latch.AuditEvent{Action: "d.some", At: at(0), Details: map[string]string{
				"quote": `"\`, "unicode": "ünï 🔑", "empty": "", "": "empty key", "html": "<&>", "newline": "a\nb"}}},
		// What Postgres cannot hold as text is replaced, alike on both
		// backends: a record must not make the change it records fail.
		{"not text",
			latch.AuditEvent{Action: "d.bytes", At: at(0), ActorID: "a\x00b", TargetID: "\xff", IP: "1\x00", Details: map[string]string{"k\x00": "v\xff", "nul": "\x00"}},
			latch.AuditEvent{Action: "d.bytes", At: at(0), ActorID: "a\uFFFDb", TargetID: "\uFFFD", IP: "1\uFFFD", Details: map[string]string{"k\uFFFD": "v\uFFFD", "nul": "\uFFFD"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := st.AppendAudit(ctx, tc.in); err != nil {
				t.Fatal(err)
			}
			wantEvents(t, tc.name, events(t, st, latch.AuditQuery{Action: tc.want.Action}), tc.want)
		})
	}
}

// Every change that takes an event writes it in its transaction.
func testAuditWithChanges(t *testing.T, st latch.Store) {
	ctx := t.Context()
	uid := newID(t)
	var want []latch.AuditEvent
	ev := func(action string, n int) *latch.AuditEvent {
		e := auditEvent(action, uid, n)
		want = append([]latch.AuditEvent{*e}, want...)
		return e
	}
	if _, err := st.CreateUser(ctx, latch.NewUser{
		User:         latch.User{ID: uid, Email: "audited@example.com", CreatedAt: at(0)},
		PasswordHash: "h1", Audit: ev(latch.AuditUserCreate, 1),
	}); err != nil {
		t.Fatal(err)
	}
	sid := newID(t)
	if err := st.CreateSession(ctx, latch.NewSession{
		Session:           latch.Session{ID: sid, UserID: uid, Kind: latch.KindSession, CreatedAt: at(2), ExpiresAt: at(60)},
		WhilePasswordHash: "h1", Audit: ev(latch.AuditLoginSuccess, 2),
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.ChangePassword(ctx, latch.PasswordChange{
		UserID: uid, PreviousHash: "h1", NewHash: "h2", KeepSessionID: sid, At: at(3), Audit: ev(latch.AuditPasswordChange, 3),
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.ChangePassword(ctx, latch.PasswordChange{
		UserID: uid, NewHash: "h3", Overwrite: true, MustChange: true, At: at(4), Audit: ev(latch.AuditPasswordReset, 4),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateUser(ctx, latch.UserUpdate{ID: uid, Admin: new(true), At: at(5), Audit: ev(latch.AuditUserUpdate, 5)}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RevokeSessions(ctx, latch.SessionRevocation{UserID: uid, At: at(6), Audit: ev(latch.AuditSessionRevoke, 6)}); err != nil {
		t.Fatal(err)
	}
	tn, err := st.CreateTenant(ctx, latch.Tenant{Name: "Audited", CreatedAt: at(7)}, ev(latch.AuditTenantCreate, 7))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, tn.ID, at(8))
	if err := st.CreateClient(ctx, c, ev(latch.AuditClientCreate, 8)); err != nil {
		t.Fatal(err)
	}
	if err := st.RevokeClient(ctx, c.ID, at(9), ev(latch.AuditClientRevoke, 9)); err != nil {
		t.Fatal(err)
	}
	if err := st.SetTenantPolicy(ctx, tn.ID, latch.PasswordPolicy{MinLength: 10}, at(10), ev(latch.AuditPolicyUpdate, 10)); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteUser(ctx, uid, ev(latch.AuditUserDelete, 11)); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "events", events(t, st, latch.AuditQuery{TargetID: uid}), want...)
}

// A change that fails writes no event; an event the store refuses fails
// the change.
func testAuditNotWithFailedChanges(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "unaudited@example.com", "h1")
	s := createSession(t, st, u.ID, nil)
	o := createSessionAt(t, st, createUser(t, st, "someone@example.com").ID, 0, 60)
	c := createClient(t, st, latch.DefaultTenantID)
	ev := func(n int) *latch.AuditEvent { return auditEvent("should.not.exist", u.ID, n) }

	wantError(t, st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "stale", NewHash: "h2", At: at(1), Audit: ev(1)}),
		latch.KindConflict, latch.CodeConcurrentUpdate)
	_, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "UNAUDITED@example.com"}, Audit: ev(2)})
	wantError(t, err, latch.KindConflict, latch.CodeEmailTaken)
	wantError(t, st.CreateSession(ctx, latch.NewSession{
		Session:           latch.Session{ID: newID(t), UserID: u.ID, Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60)},
		WhilePasswordHash: "stale", Audit: ev(3),
	}), latch.KindConflict, latch.CodeConcurrentUpdate)
	wantNotFound(t, st.CreateSession(ctx, latch.NewSession{
		Session: latch.Session{ID: newID(t), UserID: newID(t), Kind: latch.KindSession, CreatedAt: at(0), ExpiresAt: at(60)}, Audit: ev(4),
	}))
	_, err = st.UpdateUser(ctx, latch.UserUpdate{ID: newID(t), Active: new(false), Audit: ev(5)})
	wantNotFound(t, err)
	wantNotFound(t, st.DeleteUser(ctx, newID(t), ev(6)))
	_, err = st.RevokeSessions(ctx, latch.SessionRevocation{UserID: u.ID, SessionID: o.ID, Audit: ev(7)})
	wantNotFound(t, err)
	wantError(t, st.CreateClient(ctx, c, ev(8)), latch.KindConflict, latch.CodeAlreadyExists)
	wantNotFound(t, st.RevokeClient(ctx, "cli_unknown", at(9), ev(9)))
	wantNotFound(t, st.SetTenantPolicy(ctx, newID(t), latch.PasswordPolicy{}, at(10), ev(10)))
	_, err = st.CreateTenant(ctx, latch.Tenant{Name: "default"}, ev(11))
	wantError(t, err, latch.KindConflict, latch.CodeNameTaken)
	if got := events(t, st, latch.AuditQuery{}); len(got) != 0 {
		t.Fatalf("failed changes wrote events: %+v", got)
	}

	// An event without an action is refused, and with it the change.
	bad := &latch.AuditEvent{TargetID: u.ID}
	wantError(t, st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h1", NewHash: "h2", At: at(12), Audit: bad}),
		latch.KindInvalid, latch.CodeInvalidRequest)
	if c, err := st.Credential(ctx, u.ID); err != nil || c.Hash != "h1" {
		t.Errorf("credential after a refused event: %+v, %v", c, err)
	}
	equal(t, "session after a refused event", session(t, st, s.ID).RevokedAt, nil)
	_, err = st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "bad-event@example.com"}, Audit: bad})
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	_, err = st.UserByEmail(ctx, "bad-event@example.com")
	wantNotFound(t, err)
	_, err = st.UpdateUser(ctx, latch.UserUpdate{ID: u.ID, Admin: new(true), Audit: &latch.AuditEvent{Action: "x", TenantID: "acme"}})
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	if got, _ := st.UserByID(ctx, u.ID); got.Admin {
		t.Error("UpdateUser with a refused event changed the user")
	}
	if got := events(t, st, latch.AuditQuery{}); len(got) != 0 {
		t.Fatalf("refused events were written: %+v", got)
	}
}
