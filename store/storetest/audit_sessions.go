package storetest

import (
	"testing"

	"github.com/latchid/latch"
)

// testAuditOnSessions: the event of a sign-in is carried by its session
// row (NewSession.Audit), yet the log is one stream: AuditEvents lists
// those events with the appended ones, in one id order, with the same
// filters and pagination; and an event outlives its session, purged or
// deleted with its user, keeping its id.
func testAuditOnSessions(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tb := newID(t)
	ann := createUserWithPassword(t, st, "ann@example.com", "h1")
	bob := createUser(t, st, "bob@example.com")
	login := func(u latch.User, tenant string, n int, ip string) latch.AuditEvent {
		return latch.AuditEvent{
			TenantID: tenant, At: at(n), Action: latch.AuditLoginSuccess, ActorType: latch.ActorUser,
			ActorID: u.ID, TargetID: u.ID, IP: ip, Details: map[string]string{"method": "password"},
		}
	}
	start := func(u latch.User, ev *latch.AuditEvent, while string) (latch.Session, error) {
		s := latch.Session{ID: newID(t), UserID: u.ID, Kind: latch.KindSession, Scopes: latch.SessionScopes(), CreatedAt: at(0), ExpiresAt: at(60)}
		return s, st.CreateSession(ctx, latch.NewSession{Session: s, RefreshHash: []byte("root-" + s.ID), Audit: ev, WhilePasswordHash: while})
	}
	appendEv := func(e *latch.AuditEvent) latch.AuditEvent {
		t.Helper()
		if err := st.AppendAudit(ctx, *e); err != nil {
			t.Fatal(err)
		}
		return *e
	}

	e1 := appendEv(auditEvent(latch.AuditPasswordSet, ann.ID, 1))
	l1 := login(ann, latch.DefaultTenantID, 2, "192.0.2.1")
	s1, err := start(ann, &l1, "h1")
	if err != nil {
		t.Fatal(err)
	}
	fail := latch.AuditEvent{TenantID: latch.DefaultTenantID, At: at(3), Action: latch.AuditLoginFailure, ActorType: latch.ActorAnonymous, TargetID: ann.ID, IP: "192.0.2.9"}
	e2 := appendEv(&fail)
	l2 := login(bob, tb, 4, "2001:db8::2")
	s2, err := start(bob, &l2, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := start(bob, nil, ""); err != nil { // no event: nothing listed
		t.Fatal(err)
	}
	refused := login(ann, latch.DefaultTenantID, 5, "192.0.2.5")
	refused.IP = "refused"
	_, err = start(ann, &refused, "not-the-password")
	wantError(t, err, latch.KindConflict, latch.CodeConcurrentUpdate)
	e3 := appendEv(auditEvent(latch.AuditPasswordReset, bob.ID, 6))

	all := events(t, st, latch.AuditQuery{})
	wantEvents(t, "all", all, e3, l2, e2, l1, e1)
	for _, tc := range []struct {
		name string
		q    latch.AuditQuery
		want []latch.AuditEvent
	}{
		{"tenant", latch.AuditQuery{TenantID: latch.DefaultTenantID}, []latch.AuditEvent{e3, e2, l1, e1}},
		{"other tenant", latch.AuditQuery{TenantID: tb}, []latch.AuditEvent{l2}},
		{"action", latch.AuditQuery{Action: latch.AuditLoginSuccess}, []latch.AuditEvent{l2, l1}},
		{"actor", latch.AuditQuery{ActorID: ann.ID}, []latch.AuditEvent{l1}},
		{"target", latch.AuditQuery{TargetID: ann.ID}, []latch.AuditEvent{e2, l1, e1}},
		{"since", latch.AuditQuery{Since: at(4)}, []latch.AuditEvent{e3, l2}},
		{"before a session's event", latch.AuditQuery{BeforeID: all[1].ID}, []latch.AuditEvent{e2, l1, e1}},
		{"before, with a filter and a limit", latch.AuditQuery{BeforeID: all[2].ID, TargetID: ann.ID, Limit: 1}, []latch.AuditEvent{l1}},
		{"limit", latch.AuditQuery{Limit: 3}, []latch.AuditEvent{e3, l2, e2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantEvents(t, tc.name, events(t, st, tc.q), tc.want...)
		})
	}
	// Paging one event at a time walks the whole stream once.
	var paged []latch.AuditEvent
	for before := int64(0); ; {
		page := events(t, st, latch.AuditQuery{BeforeID: before, Limit: 1})
		if len(page) == 0 {
			break
		}
		paged = append(paged, page...)
		before = page[0].ID
	}
	equal(t, "paged one at a time", paged, all)

	// Events outlive their sessions, with the same ids: a purged session,
	// and the sessions of a deleted user.
	if err := st.RevokeSession(ctx, s1.ID, at(7)); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PurgeSessions(ctx, at(8), 10); err != nil || n != 1 {
		t.Fatalf("PurgeSessions: %d, %v; want the revoked session", n, err)
	}
	_, _, err = st.SessionWithUser(ctx, s1.ID)
	wantNotFound(t, err)
	equal(t, "after the purge", events(t, st, latch.AuditQuery{}), all)
	if err := st.DeleteUser(ctx, bob.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = st.SessionWithUser(ctx, s2.ID)
	wantNotFound(t, err)
	equal(t, "after the user's deletion", events(t, st, latch.AuditQuery{}), all)
	wantEvents(t, "a moved event by its filters", events(t, st, latch.AuditQuery{TenantID: tb, Action: latch.AuditLoginSuccess}), l2)

	// New events still come after every id handed out.
	e4 := appendEv(auditEvent(latch.AuditPasswordReset, ann.ID, 9))
	l3 := login(ann, latch.DefaultTenantID, 10, "192.0.2.3")
	if _, err := start(ann, &l3, ""); err != nil {
		t.Fatal(err)
	}
	wantEvents(t, "newest", events(t, st, latch.AuditQuery{Limit: 3}), l3, e4, e3)
}
