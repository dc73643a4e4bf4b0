package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// The conformance tests of latch.AdminStore, and of what administration
// added to the core methods (audit events, MustChange, Overwrite).

func createTenant(t *testing.T, st latch.Store, name string) latch.Tenant {
	t.Helper()
	tn, err := st.CreateTenant(t.Context(), latch.Tenant{Name: name, CreatedAt: at(0)}, nil)
	if err != nil {
		t.Fatalf("CreateTenant(%q): %v", name, err)
	}
	return tn
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

// newClient returns a client of tenantID with a fresh id, not yet stored.
func newClient(t *testing.T, tenantID string, created time.Time) latch.Client {
	return latch.Client{
		ID: "cli_" + strings.ReplaceAll(newID(t), "-", ""), TenantID: tenantID, Name: "client",
		Scope: latch.ScopeManageUsers, SecretHash: []byte("secret-hash"), CreatedAt: created,
	}
}

func createClient(t *testing.T, st latch.Store, tenantID string) latch.Client {
	t.Helper()
	c := newClient(t, tenantID, at(0))
	if err := st.CreateClient(t.Context(), c, nil); err != nil {
		t.Fatalf("CreateClient: %v", err)
	}
	c.CreatedAt = stored(c.CreatedAt)
	return c
}

// createClientToken stores a grant of clientID, created at(0), expiring
// at(60).
func createClientToken(t *testing.T, st latch.Store, clientID, refresh string) latch.ClientToken {
	t.Helper()
	tok := latch.ClientToken{ID: newID(t), ClientID: clientID, RefreshHash: []byte(refresh), CreatedAt: at(0), ExpiresAt: at(60)}
	if err := st.CreateClientToken(t.Context(), tok); err != nil {
		t.Fatalf("CreateClientToken: %v", err)
	}
	tok.CreatedAt, tok.ExpiresAt = stored(tok.CreatedAt), stored(tok.ExpiresAt)
	return tok
}

func clientToken(t *testing.T, st latch.Store, id string) (latch.ClientToken, latch.Client) {
	t.Helper()
	tok, c, err := st.ClientTokenWithClient(t.Context(), id)
	if err != nil {
		t.Fatalf("ClientTokenWithClient(%s): %v", id, err)
	}
	checkTimes(t, "ClientToken", tok)
	checkTimes(t, "Client", c)
	return tok, c
}

func client(t *testing.T, st latch.Store, id string) latch.Client {
	t.Helper()
	c, err := st.ClientByID(t.Context(), id)
	if err != nil {
		t.Fatalf("ClientByID(%s): %v", id, err)
	}
	checkTimes(t, "Client", c)
	return c
}

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

func testCreateTenant(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tenants, err := st.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tenants) != 1 || tenants[0].ID != latch.DefaultTenantID || tenants[0].Number != 1 || tenants[0].Name != "default" {
		t.Fatalf("Tenants of a new store = %+v, want the default tenant, number 1", tenants)
	}
	def := tenants[0]
	checkTimes(t, "Tenant", def)
	got, err := st.TenantByID(ctx, strings.ToUpper(latch.DefaultTenantID))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "TenantByID(default)", got, def)

	id := newID(t)
	ev := latch.AuditEvent{TenantID: id, At: at(1), Action: latch.AuditTenantCreate, ActorType: latch.ActorOperator, TargetID: id}
	acme, err := st.CreateTenant(ctx, latch.Tenant{ID: strings.ToUpper(id), Number: 77, Name: "Acme", CreatedAt: at(1)}, &ev)
	if err != nil {
		t.Fatal(err)
	}
	want := latch.Tenant{ID: id, Number: acme.Number, Name: "Acme", CreatedAt: stored(at(1))}
	checkTimes(t, "Tenant", acme)
	equal(t, "CreateTenant", acme, want)
	if acme.Number <= 1 {
		t.Errorf("Number = %d, want > 1 (the default tenant's)", acme.Number)
	}
	got, err = st.TenantByID(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "TenantByID", got, want)

	before := time.Now().Add(-time.Second)
	gen, err := st.CreateTenant(ctx, latch.Tenant{Name: "Globex"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if u, err := uuid.Parse(gen.ID); err != nil || u.Version() != 7 || u.String() != gen.ID {
		t.Errorf("generated tenant ID = %q, want a canonical UUIDv7", gen.ID)
	}
	if gen.Number <= acme.Number {
		t.Errorf("Number = %d after %d", gen.Number, acme.Number)
	}
	if gen.CreatedAt.Before(before) || gen.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("zero CreatedAt became %v", gen.CreatedAt)
	}
	checkTimes(t, "Tenant", gen)

	// Refused creations, one carrying an event that must not be written.
	_, err = st.CreateTenant(ctx, latch.Tenant{Name: "Acme"}, &latch.AuditEvent{Action: latch.AuditTenantCreate, TargetID: "dup"})
	wantError(t, err, latch.KindConflict, latch.CodeNameTaken)
	_, err = st.CreateTenant(ctx, latch.Tenant{ID: id, Name: "Other"}, nil)
	wantError(t, err, latch.KindConflict, latch.CodeAlreadyExists)
	_, err = st.CreateTenant(ctx, latch.Tenant{ID: "acme", Name: "Acme 2"}, nil)
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	_, err = st.CreateTenant(ctx, latch.Tenant{Name: ""}, nil)
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)

	// Numbers are never reused: the next one is larger than any before.
	initech := createTenant(t, st, "Initech")
	if initech.Number <= gen.Number {
		t.Errorf("Number = %d after %d", initech.Number, gen.Number)
	}
	tenants, err = st.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "Tenants", tenants, []latch.Tenant{def, want, gen, initech})

	wantEvents(t, "tenant events", events(t, st, latch.AuditQuery{Action: latch.AuditTenantCreate}), ev)

	_, err = st.TenantByID(ctx, newID(t))
	wantNotFound(t, err)
	_, err = st.TenantByID(ctx, "acme")
	wantNotFound(t, err)
}

// A tenant's listings never show another tenant's users, clients or
// events, whatever the filter.
func testTenantIsolation(t *testing.T, st latch.Store) {
	ctx := t.Context()
	a, b := createTenant(t, st, "A"), createTenant(t, st, "B")
	ua1 := createUserIn(t, st, a.ID, "a1@example.com")
	ub := createUserIn(t, st, b.ID, "B.User@Example.com")
	ua2 := createUserIn(t, st, strings.ToUpper(a.ID), "a2@example.com")
	ud := createUser(t, st, "default@example.com")
	if ua2.TenantID != a.ID {
		t.Errorf("TenantID = %q, want canonical %q", ua2.TenantID, a.ID)
	}

	list := func(q latch.UserQuery) []latch.User {
		t.Helper()
		users, err := st.ListUsers(ctx, q)
		if err != nil {
			t.Fatalf("ListUsers(%+v): %v", q, err)
		}
		for _, u := range users {
			checkTimes(t, "User", u)
		}
		return users
	}
	equal(t, "ListUsers(A)", list(latch.UserQuery{TenantID: a.ID}), []latch.User{ua1, ua2})
	equal(t, "ListUsers(B)", list(latch.UserQuery{TenantID: strings.ToUpper(b.ID)}), []latch.User{ub})
	equal(t, "ListUsers(default)", list(latch.UserQuery{TenantID: latch.DefaultTenantID}), []latch.User{ud})
	for _, email := range []string{ub.Email, "b.user@example.com"} {
		if got := list(latch.UserQuery{TenantID: a.ID, Email: email}); len(got) != 0 {
			t.Errorf("ListUsers(A, email of B's user %q) = %+v, want none", email, got)
		}
	}
	equal(t, "ListUsers(B, email)", list(latch.UserQuery{TenantID: b.ID, Email: "  B.USER@example.COM "}), []latch.User{ub})
	equal(t, "ListUsers(A, email)", list(latch.UserQuery{TenantID: a.ID, Email: "A2@example.com"}), []latch.User{ua2})
	if got := list(latch.UserQuery{TenantID: newID(t)}); len(got) != 0 {
		t.Errorf("ListUsers(unknown tenant) = %+v", got)
	}
	for _, bad := range []string{"", "acme"} {
		_, err := st.ListUsers(ctx, latch.UserQuery{TenantID: bad})
		wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)
	}

	ca, cb := createClient(t, st, a.ID), createClient(t, st, b.ID)
	clients := func(tenantID string) []latch.Client {
		t.Helper()
		cs, err := st.Clients(ctx, tenantID)
		if err != nil {
			t.Fatalf("Clients(%q): %v", tenantID, err)
		}
		return cs
	}
	equal(t, "Clients(A)", clients(a.ID), []latch.Client{ca})
	equal(t, "Clients(B)", clients(strings.ToUpper(b.ID)), []latch.Client{cb})
	if got := clients(latch.DefaultTenantID); len(got) != 0 {
		t.Errorf("Clients(default) = %+v", got)
	}
	if got := clients(""); len(got) != 2 {
		t.Errorf("Clients(\"\") = %+v, want both", got)
	}
	_, err := st.Clients(ctx, "acme")
	wantError(t, err, latch.KindInvalid, latch.CodeInvalidRequest)

	for _, e := range []latch.AuditEvent{
		{TenantID: a.ID, At: at(1), Action: latch.AuditLoginSuccess, TargetID: ua1.ID},
		{TenantID: b.ID, At: at(2), Action: latch.AuditLoginSuccess, TargetID: ub.ID},
	} {
		if err := st.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got := events(t, st, latch.AuditQuery{TenantID: a.ID})
	if len(got) != 1 || got[0].TargetID != ua1.ID {
		t.Errorf("AuditEvents(A) = %+v", got)
	}
	if got := events(t, st, latch.AuditQuery{TenantID: a.ID, TargetID: ub.ID}); len(got) != 0 {
		t.Errorf("AuditEvents(A, B's user) = %+v", got)
	}
}

func testClientRoundTrip(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Clients")
	in := latch.Client{
		ID: "cli_Round-Trip.1", TenantID: strings.ToUpper(tn.ID), Name: "CI deploys", Scope: latch.ScopeManageAll,
		Super: true, SecretHash: []byte{0x00, 0x01, 0xfe, 0xff}, CreatedAt: at(0),
	}
	ev := latch.AuditEvent{TenantID: tn.ID, At: at(0), Action: latch.AuditClientCreate, ActorType: latch.ActorOperator, TargetID: in.ID}
	if err := st.CreateClient(ctx, in, &ev); err != nil {
		t.Fatal(err)
	}
	want := in
	want.TenantID, want.CreatedAt = tn.ID, stored(at(0))
	equal(t, "ClientByID", client(t, st, in.ID), want)
	if !want.Live() {
		t.Error("a new client is not live")
	}

	// Client ids are opaque: kept as given, even when they look like a
	// UUID, and compared exactly.
	for _, id := range []string{strings.ToUpper(newID(t)), "{" + newID(t) + "}"} {
		c := newClient(t, tn.ID, at(1))
		c.ID = id
		if err := st.CreateClient(ctx, c, nil); err != nil {
			t.Fatalf("CreateClient(%q): %v", id, err)
		}
		if got := client(t, st, id); got.ID != id {
			t.Errorf("client id %q came back as %q", id, got.ID)
		}
		_, err := st.ClientByID(ctx, strings.ToLower(strings.Trim(id, "{}")))
		wantNotFound(t, err)
	}
	_, err := st.ClientByID(ctx, strings.ToUpper(in.ID))
	wantNotFound(t, err)

	// Stored already revoked; oldest first in the listing.
	old := newClient(t, tn.ID, at(-5))
	old.Scope, old.RevokedAt = latch.ScopeReadUsers, new(at(-1))
	if err := st.CreateClient(ctx, old, nil); err != nil {
		t.Fatal(err)
	}
	old.CreatedAt, old.RevokedAt = stored(old.CreatedAt), storedPtr(at(-1))
	equal(t, "revoked client", client(t, st, old.ID), old)
	cs, err := st.Clients(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 4 || cs[0].ID != old.ID || cs[1].ID != in.ID {
		t.Errorf("Clients = %+v, want the oldest first", cs)
	}

	dup := newClient(t, tn.ID, at(2))
	dup.ID = in.ID
	wantError(t, st.CreateClient(ctx, dup, &latch.AuditEvent{Action: latch.AuditClientCreate}), latch.KindConflict, latch.CodeAlreadyExists)
	equal(t, "client after a duplicate", client(t, st, in.ID), want)
	for _, tc := range []struct {
		name   string
		mutate func(*latch.Client)
		kind   latch.Kind
	}{
		{"unknown tenant", func(c *latch.Client) { c.TenantID = newID(t) }, latch.KindNotFound},
		{"malformed tenant", func(c *latch.Client) { c.TenantID = "acme" }, latch.KindNotFound},
		{"no id", func(c *latch.Client) { c.ID = "" }, latch.KindInvalid},
		{"id not UTF-8", func(c *latch.Client) { c.ID = "cli_\xff" }, latch.KindInvalid},
		{"unknown scope", func(c *latch.Client) { c.Scope = "root" }, latch.KindInvalid},
		{"no secret", func(c *latch.Client) { c.SecretHash = nil }, latch.KindInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, tn.ID, at(3))
			tc.mutate(&c)
			err := st.CreateClient(ctx, c, nil)
			if !latch.IsKind(err, tc.kind) {
				t.Fatalf("CreateClient: %v, want %s", err, tc.kind)
			}
			if c.ID != "" {
				_, err = st.ClientByID(ctx, c.ID)
				wantNotFound(t, err)
			}
		})
	}
	for _, id := range []string{"", "cli_unknown", "cli_\x00", "\xff"} {
		_, err := st.ClientByID(ctx, id)
		wantNotFound(t, err)
	}
	wantEvents(t, "client events", events(t, st, latch.AuditQuery{Action: latch.AuditClientCreate}), ev)
}

func testRevokeClient(t *testing.T, st latch.Store) {
	ctx := t.Context()
	c := createClient(t, st, latch.DefaultTenantID)
	other := createClient(t, st, latch.DefaultTenantID)
	ev := latch.AuditEvent{TenantID: latch.DefaultTenantID, At: at(3), Action: latch.AuditClientRevoke, TargetID: c.ID}
	if err := st.RevokeClient(ctx, c.ID, at(3), &ev); err != nil {
		t.Fatal(err)
	}
	want := c
	want.RevokedAt = storedPtr(at(3))
	got := client(t, st, c.ID)
	equal(t, "revoked client", got, want)
	if got.Live() {
		t.Error("revoked client is live")
	}
	// Again: no error, and the first time stays.
	if err := st.RevokeClient(ctx, c.ID, at(9), nil); err != nil {
		t.Fatal(err)
	}
	equal(t, "client revoked twice", client(t, st, c.ID), want)
	equal(t, "another client", client(t, st, other.ID), other)
	for _, id := range []string{"", "cli_unknown", strings.ToUpper(c.ID), "\x00"} {
		wantNotFound(t, st.RevokeClient(ctx, id, at(4), &latch.AuditEvent{Action: latch.AuditClientRevoke}))
	}
	wantEvents(t, "revocation events", events(t, st, latch.AuditQuery{Action: latch.AuditClientRevoke}), ev)
}

func testClientTokenRoundTrip(t *testing.T, st latch.Store) {
	ctx := t.Context()
	c := createClient(t, st, latch.DefaultTenantID)
	in := latch.ClientToken{ID: strings.ToUpper(newID(t)), ClientID: c.ID, RefreshHash: []byte{0, 1, 2, 0xff},
		CreatedAt: at(0), ExpiresAt: at(60)}
	if err := st.CreateClientToken(ctx, in); err != nil {
		t.Fatal(err)
	}
	want := in
	want.ID, want.CreatedAt, want.ExpiresAt = strings.ToLower(in.ID), stored(at(0)), stored(at(60))
	tok, gc := clientToken(t, st, "{"+in.ID+"}")
	equal(t, "ClientToken", tok, want)
	equal(t, "its Client", gc, c)
	if !tok.Live(at(59)) || tok.Live(at(60)) {
		t.Error("Live is wrong around ExpiresAt")
	}

	// Created revoked.
	revoked := latch.ClientToken{ID: newID(t), ClientID: c.ID, RefreshHash: []byte("ct-revoked"), CreatedAt: at(0), ExpiresAt: at(60), RevokedAt: new(at(1))}
	if err := st.CreateClientToken(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	tok, _ = clientToken(t, st, revoked.ID)
	equal(t, "RevokedAt", tok.RevokedAt, storedPtr(at(1)))

	for _, tc := range []struct {
		name   string
		mutate func(*latch.ClientToken)
		kind   latch.Kind
	}{
		{"duplicate id", func(t *latch.ClientToken) { t.ID = want.ID }, latch.KindConflict},
		{"duplicate refresh hash", func(t *latch.ClientToken) { t.RefreshHash = in.RefreshHash }, latch.KindConflict},
		{"unknown client", func(t *latch.ClientToken) { t.ClientID = "cli_unknown" }, latch.KindNotFound},
		{"no client", func(t *latch.ClientToken) { t.ClientID = "" }, latch.KindNotFound},
		{"malformed id", func(t *latch.ClientToken) { t.ID = "grant-1" }, latch.KindInvalid},
		{"no id", func(t *latch.ClientToken) { t.ID = "" }, latch.KindInvalid},
		{"no refresh hash", func(t *latch.ClientToken) { t.RefreshHash = nil }, latch.KindInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := latch.ClientToken{ID: newID(t), ClientID: c.ID, RefreshHash: []byte("ct-" + tc.name), CreatedAt: at(0), ExpiresAt: at(60)}
			tc.mutate(&tok)
			err := st.CreateClientToken(ctx, tok)
			if !latch.IsKind(err, tc.kind) {
				t.Fatalf("CreateClientToken: %v, want %s", err, tc.kind)
			}
			if tc.kind == latch.KindConflict {
				wantError(t, err, latch.KindConflict, latch.CodeAlreadyExists)
			}
		})
	}
	equal(t, "token after refused duplicates", func() latch.ClientToken { tok, _ := clientToken(t, st, want.ID); return tok }(), want)

	for _, id := range []string{newID(t), "grant-1", ""} {
		_, _, err := st.ClientTokenWithClient(ctx, id)
		wantNotFound(t, err)
	}

	// A revoked client still comes back with its grants: the caller
	// refuses them.
	if err := st.RevokeClient(ctx, c.ID, at(5), nil); err != nil {
		t.Fatal(err)
	}
	tok, gc = clientToken(t, st, want.ID)
	equal(t, "grant of a revoked client", tok, want)
	equal(t, "revoked client RevokedAt", gc.RevokedAt, storedPtr(at(5)))
	if gc.Live() {
		t.Error("revoked client is live")
	}
}

func testRotateClientToken(t *testing.T, st latch.Store) {
	ctx := t.Context()
	c := createClient(t, st, latch.DefaultTenantID)
	other := createClient(t, st, latch.DefaultTenantID)
	old := createClientToken(t, st, c.ID, "ct-r0")
	createClientToken(t, st, other.ID, "ct-elsewhere")

	// next.ClientID is ignored: the successor belongs to the old grant's
	// client.
	// It expires in an hour from now, so that it can be rotated at now.
	later := time.Now().Add(time.Hour)
	next := latch.ClientToken{ID: newID(t), ClientID: other.ID, RefreshHash: []byte("ct-r1"), CreatedAt: at(5), ExpiresAt: later}
	gotTok, got, err := st.RotateClientToken(ctx, []byte("ct-r0"), next, 0)
	if err != nil {
		t.Fatal(err)
	}
	checkTimes(t, "Client", got)
	equal(t, "rotated client", got, c)
	equal(t, "grant in force", gotTok, latch.ClientToken{ID: next.ID, ClientID: c.ID, RefreshHash: []byte("ct-r1"),
		CreatedAt: stored(at(5)), ExpiresAt: stored(later)})
	oldTok, _ := clientToken(t, st, old.ID)
	want := old
	want.RevokedAt = storedPtr(at(5))
	equal(t, "old grant", oldTok, want)
	newTok, nc := clientToken(t, st, next.ID)
	equal(t, "new grant", newTok, latch.ClientToken{ID: next.ID, ClientID: c.ID, RefreshHash: []byte("ct-r1"),
		CreatedAt: stored(at(5)), ExpiresAt: stored(later)})
	equal(t, "new grant's client", nc, c)

	// Single use: see testRotateClientTokenReuse.

	// Rotating into a refresh hash that exists is a Conflict and uses
	// nothing up.
	_, _, err = st.RotateClientToken(ctx, []byte("ct-r1"), latch.ClientToken{ID: newID(t), RefreshHash: []byte("ct-elsewhere"), CreatedAt: at(7), ExpiresAt: at(67)}, 0)
	wantError(t, err, latch.KindConflict, latch.CodeAlreadyExists)
	// So does reusing a grant id.
	_, _, err = st.RotateClientToken(ctx, []byte("ct-r1"), latch.ClientToken{ID: old.ID, RefreshHash: []byte("ct-r2"), CreatedAt: at(7), ExpiresAt: at(67)}, 0)
	wantError(t, err, latch.KindConflict, latch.CodeAlreadyExists)
	equal(t, "grant after failed rotations", func() *time.Time { tok, _ := clientToken(t, st, next.ID); return tok.RevokedAt }(), nil)
	// A zero CreatedAt is now.
	r2 := latch.ClientToken{ID: newID(t), RefreshHash: []byte("ct-r2"), ExpiresAt: time.Now().Add(time.Hour)}
	if _, _, err := st.RotateClientToken(ctx, []byte("ct-r1"), r2, 0); err != nil {
		t.Fatalf("rotation after failed ones: %v", err)
	}
	if tok, _ := clientToken(t, st, r2.ID); time.Since(tok.CreatedAt).Abs() > time.Minute {
		t.Errorf("zero CreatedAt became %v", tok.CreatedAt)
	}

	for _, tc := range []struct {
		name string
		old  []byte
		next latch.ClientToken
		kind latch.Kind
	}{
		{"unknown", []byte("ct-unknown"), latch.ClientToken{ID: newID(t), RefreshHash: []byte("x1"), CreatedAt: at(8), ExpiresAt: at(9)}, latch.KindNotFound},
		{"no old hash", nil, latch.ClientToken{ID: newID(t), RefreshHash: []byte("x2"), CreatedAt: at(8), ExpiresAt: at(9)}, latch.KindNotFound},
		{"malformed next id", []byte("ct-r2"), latch.ClientToken{ID: "grant", RefreshHash: []byte("x3"), CreatedAt: at(8), ExpiresAt: at(9)}, latch.KindInvalid},
		{"no next hash", []byte("ct-r2"), latch.ClientToken{ID: newID(t), CreatedAt: at(8), ExpiresAt: at(9)}, latch.KindInvalid},
	} {
		_, _, err := st.RotateClientToken(ctx, tc.old, tc.next, 0)
		if !latch.IsKind(err, tc.kind) {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.kind)
		}
	}
	// The refused rotations left ct-r2 usable.
	if _, _, err := st.RotateClientToken(ctx, []byte("ct-r2"), latch.ClientToken{ID: newID(t), RefreshHash: []byte("ct-r3"), CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}, 0); err != nil {
		t.Errorf("rotation after refused ones: %v", err)
	}
}

// testRotateClientTokenReuse: a replaced grant's refresh token presented
// again revokes its whole chain (the access tokens of every grant of it
// stop), except within the reuse interval with the refresh hash of the
// grant that replaced it, which is answered again while in force.
func testRotateClientTokenReuse(t *testing.T, st latch.Store) {
	ctx := t.Context()
	c := createClient(t, st, latch.DefaultTenantID)
	const interval = 10 * time.Second
	used := at(5)
	after := func(d time.Duration) time.Time { return used.Add(d) }
	rotate := func(old, next string, when time.Time, reuse time.Duration) (latch.ClientToken, latch.ClientToken, error) {
		n := latch.ClientToken{ID: newID(t), RefreshHash: []byte(next), CreatedAt: when, ExpiresAt: at(60)}
		got, _, err := st.RotateClientToken(ctx, []byte(old), n, reuse)
		return n, got, err
	}
	// chain starts a grant p+"0" and replaces it with p+"1".
	chain := func(t *testing.T, p string) (latch.ClientToken, latch.ClientToken) {
		t.Helper()
		first := createClientToken(t, st, c.ID, p+"0")
		second, got, err := rotate(p+"0", p+"1", used, interval)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, "grant in force", got.ID, second.ID)
		return first, second
	}
	revokedAt := func(t *testing.T, tok latch.ClientToken) *time.Time {
		t.Helper()
		got, _ := clientToken(t, st, tok.ID)
		return got.RevokedAt
	}

	t.Run("reuse revokes the chain", func(t *testing.T) {
		first, second := chain(t, "cr-")
		third, _, err := rotate("cr-1", "cr-2", after(time.Minute), interval)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = rotate("cr-0", "cr-1b", after(2*time.Minute), interval)
		wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
		equal(t, "first grant", revokedAt(t, first), storedPtr(used))
		equal(t, "second grant", revokedAt(t, second), storedPtr(after(time.Minute)))
		equal(t, "the grant in force", revokedAt(t, third), storedPtr(after(2*time.Minute)))
		// The reuse stored nothing, and the chain's newest no longer
		// rotates.
		_, _, err = rotate("cr-1b", "cr-x", after(3*time.Minute), interval)
		wantNotFound(t, err)
		_, _, err = rotate("cr-2", "cr-3", after(3*time.Minute), interval)
		wantNotFound(t, err)
		// Another chain of the same client is not touched.
		other := createClientToken(t, st, c.ID, "cr-other")
		equal(t, "another chain", revokedAt(t, other), nil)
	})
	t.Run("same successor within the interval", func(t *testing.T) {
		_, second := chain(t, "cg-")
		for _, d := range []time.Duration{0, 5 * time.Second, interval - time.Microsecond, -5 * time.Second} {
			_, got, err := rotate("cg-0", "cg-1", after(d), interval)
			if err != nil {
				t.Fatalf("again after %v: %v", d, err)
			}
			want, _ := clientToken(t, st, second.ID)
			equal(t, "grant in force", got, want)
			equal(t, "its RevokedAt", want.RevokedAt, nil)
		}
		// Nothing was written: the successor rotates once.
		if _, _, err := rotate("cg-1", "cg-2", after(6*time.Second), interval); err != nil {
			t.Fatalf("rotating the successor: %v", err)
		}
	})
	for name, tc := range map[string]struct {
		prepare func(t *testing.T, p string)
		next    string
		when    time.Duration
		reuse   time.Duration
	}{
		"after the interval": {when: interval, reuse: interval},
		"another successor":  {next: "other", when: time.Second, reuse: interval},
		"interval off":       {when: time.Second, reuse: 0},
		"successor replaced too": {when: 2 * time.Second, reuse: interval, prepare: func(t *testing.T, p string) {
			if _, _, err := rotate(p+"1", p+"2", after(time.Second), interval); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(name, func(t *testing.T) {
			p := "c-" + strings.ReplaceAll(name, " ", "-") + "-"
			first, second := chain(t, p)
			if tc.prepare != nil {
				tc.prepare(t, p)
			}
			next := p + "1"
			if tc.next != "" {
				next = p + tc.next
			}
			_, _, err := rotate(p+"0", next, after(tc.when), tc.reuse)
			wantError(t, err, latch.KindUnauthenticated, latch.CodeRefreshTokenReused)
			equal(t, "first grant", revokedAt(t, first), storedPtr(used))
			if got := revokedAt(t, second); got == nil {
				t.Error("the successor was not revoked")
			}
		})
	}
	t.Run("client revoked", func(t *testing.T) {
		c2 := createClient(t, st, latch.DefaultTenantID)
		createClientToken(t, st, c2.ID, "crv-0")
		if _, _, err := st.RotateClientToken(ctx, []byte("crv-0"), latch.ClientToken{ID: newID(t), RefreshHash: []byte("crv-1"), CreatedAt: used, ExpiresAt: at(60)}, interval); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeClient(ctx, c2.ID, after(time.Second), nil); err != nil {
			t.Fatal(err)
		}
		_, _, err := rotate("crv-0", "crv-1", after(2*time.Second), interval)
		wantNotFound(t, err)
	})
}

// testRotateClientTokenReuseConcurrent: concurrent presentations of one
// client refresh token, all with the successor's refresh hash derived from
// it, all get the same grant; exactly one is stored.
func testRotateClientTokenReuseConcurrent(t *testing.T, st latch.Store) {
	c := createClient(t, st, latch.DefaultTenantID)
	u := createUser(t, st, "ctgrace@example.com")
	warmUp(t, st, u.ID)
	for round := range 5 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			ctx := t.Context()
			contested := fmt.Sprintf("ctg-contested-%d", round)
			successor := fmt.Appendf(nil, "ctg-next-%d", round)
			createClientToken(t, st, c.ID, contested)
			const n = 20
			errs := make([]error, n)
			got := make([]latch.ClientToken, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				next := latch.ClientToken{ID: newID(t), RefreshHash: successor, CreatedAt: at(5), ExpiresAt: at(65)}
				wg.Go(func() {
					<-start
					got[i], _, errs[i] = st.RotateClientToken(ctx, []byte(contested), next, 10*time.Second)
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				if err != nil || got[i].ID != got[0].ID {
					t.Fatalf("presentation %d: %v, grant %s (first: %s)", i, err, got[i].ID, got[0].ID)
				}
			}
			tok, _ := clientToken(t, st, got[0].ID)
			equal(t, "the grant's RevokedAt", tok.RevokedAt, nil)
		})
	}
}

func testRotateClientTokenEnded(t *testing.T, st latch.Store) {
	ctx := t.Context()
	c := createClient(t, st, latch.DefaultTenantID)
	rotate := func(refresh string, when time.Time) (latch.ClientToken, error) {
		next := latch.ClientToken{ID: newID(t), RefreshHash: []byte(refresh + "-next"), CreatedAt: when, ExpiresAt: when.Add(time.Hour)}
		_, _, err := st.RotateClientToken(ctx, []byte(refresh), next, 0)
		return next, err
	}
	// Expired: at and after ExpiresAt (at(60)).
	expired := createClientToken(t, st, c.ID, "ct-expired")
	for _, when := range []time.Time{at(60), at(61)} {
		next, err := rotate("ct-expired", when)
		wantNotFound(t, err)
		_, _, err = st.ClientTokenWithClient(ctx, next.ID)
		wantNotFound(t, err)
	}
	equal(t, "expired grant", func() *time.Time { tok, _ := clientToken(t, st, expired.ID); return tok.RevokedAt }(), nil)
	createClientToken(t, st, c.ID, "ct-edge")
	if _, err := rotate("ct-edge", stored(at(60)).Add(-time.Microsecond)); err != nil {
		t.Errorf("rotation just before expiry: %v", err)
	}

	// Revoked.
	revoked := latch.ClientToken{ID: newID(t), ClientID: c.ID, RefreshHash: []byte("ct-revoked"), CreatedAt: at(0), ExpiresAt: at(60), RevokedAt: new(at(1))}
	if err := st.CreateClientToken(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	_, err := rotate("ct-revoked", at(2))
	wantNotFound(t, err)

	// The client revoked: no grant of it rotates, and nothing is used up.
	live := createClientToken(t, st, c.ID, "ct-live")
	if err := st.RevokeClient(ctx, c.ID, at(3), nil); err != nil {
		t.Fatal(err)
	}
	next, err := rotate("ct-live", at(4))
	wantNotFound(t, err)
	_, _, err = st.ClientTokenWithClient(ctx, next.ID)
	wantNotFound(t, err)
	equal(t, "grant of a revoked client", func() *time.Time { tok, _ := clientToken(t, st, live.ID); return tok.RevokedAt }(), nil)
}

func testRotateClientTokenConcurrent(t *testing.T, st latch.Store) {
	c := createClient(t, st, latch.DefaultTenantID)
	u := createUser(t, st, "ctrace@example.com")
	warmUp(t, st, u.ID)
	for round := range 5 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			ctx := t.Context()
			contested := fmt.Sprintf("ct-contested-%d", round)
			old := createClientToken(t, st, c.ID, contested)
			const n = 20
			errs := make([]error, n)
			nexts := make([]latch.ClientToken, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				nexts[i] = latch.ClientToken{ID: newID(t), RefreshHash: fmt.Appendf(nil, "ct-next-%d-%d", round, i), CreatedAt: at(5), ExpiresAt: at(65)}
				wg.Go(func() {
					<-start
					_, _, errs[i] = st.RotateClientToken(ctx, []byte(contested), nexts[i], 0)
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for i, err := range errs {
				_, _, lookErr := st.ClientTokenWithClient(ctx, nexts[i].ID)
				switch {
				case err == nil:
					wins++
					if lookErr != nil {
						t.Errorf("rotation %d succeeded but stored no grant: %v", i, lookErr)
					}
				case latch.IsCode(err, latch.CodeRefreshTokenReused):
					if lookErr == nil {
						t.Errorf("rotation %d failed but stored its grant", i)
					}
				default:
					t.Errorf("rotation %d: %v, want nil or refresh_token_reused", i, err)
				}
			}
			if wins != 1 {
				t.Errorf("%d rotations succeeded, want exactly 1", wins)
			}
			tok, _ := clientToken(t, st, old.ID)
			equal(t, "RevokedAt", tok.RevokedAt, storedPtr(at(5)))
			// Every loser was a reuse, so the winner's grant ends revoked
			// with its chain.
			for i, err := range errs {
				if err == nil {
					tok, _ := clientToken(t, st, nexts[i].ID)
					equal(t, "the winner's RevokedAt", tok.RevokedAt, storedPtr(at(5)))
				}
			}
		})
	}
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
	_, err = st.RotateRefreshToken(ctx, []byte("del-r0"), []byte("del-r1"), at(3), 0)
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

// createSessionAt stores a session of userID created at(created) and
// expiring at(expires).
func createSessionAt(t *testing.T, st latch.Store, userID string, created, expires int) latch.Session {
	t.Helper()
	s := latch.Session{ID: newID(t), UserID: userID, Kind: latch.KindSession, Scopes: latch.SessionScopes(),
		CreatedAt: at(created), ExpiresAt: at(expires)}
	if err := st.CreateSession(t.Context(), latch.NewSession{Session: s}); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	s.CreatedAt, s.ExpiresAt = stored(s.CreatedAt), stored(s.ExpiresAt)
	return s
}

func testSessionsByUser(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "sessions@example.com")
	other := createUser(t, st, "other-sessions@example.com")
	s1 := createSessionAt(t, st, u.ID, 0, 60)
	s2 := createSessionAt(t, st, u.ID, 1, 60)
	s3 := createSessionAt(t, st, u.ID, 2, 60)
	if err := st.RevokeSession(ctx, s3.ID, at(3)); err != nil {
		t.Fatal(err)
	}
	s4 := createSessionAt(t, st, u.ID, 3, 5)
	createSessionAt(t, st, other.ID, 4, 60)

	list := func(userID string, now time.Time) []latch.Session {
		t.Helper()
		ss, err := st.SessionsByUser(ctx, userID, now)
		if err != nil {
			t.Fatalf("SessionsByUser: %v", err)
		}
		for _, s := range ss {
			checkTimes(t, "Session", s)
		}
		return ss
	}
	equal(t, "live at 4 minutes", list(u.ID, at(4)), []latch.Session{s4, s2, s1})
	equal(t, "live at 5 minutes", list(strings.ToUpper(u.ID), at(5)), []latch.Session{s2, s1})
	if got := list(u.ID, at(60)); len(got) != 0 {
		t.Errorf("live at the hour: %+v", got)
	}
	for _, id := range []string{newID(t), "user-1", ""} {
		if got := list(id, at(4)); len(got) != 0 {
			t.Errorf("SessionsByUser(%q) = %+v", id, got)
		}
	}
}

func testRevokeSessions(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUser(t, st, "revoke-all@example.com")
	other := createUser(t, st, "other-revoke@example.com")
	s1 := createSessionAt(t, st, u.ID, 0, 60)
	s2 := createSessionAt(t, st, u.ID, 1, 60)
	expired := createSessionAt(t, st, u.ID, 2, 5)
	o1 := createSessionAt(t, st, other.ID, 0, 60)

	revoke := func(r latch.SessionRevocation) (int, error) {
		t.Helper()
		return st.RevokeSessions(ctx, r)
	}
	for name, r := range map[string]latch.SessionRevocation{
		"another user's session": {UserID: u.ID, SessionID: o1.ID},
		"unknown session":        {UserID: u.ID, SessionID: newID(t)},
		"malformed session":      {UserID: u.ID, SessionID: "sess-1"},
		"unknown user":           {UserID: newID(t)},
		"malformed user":         {UserID: "user-1"},
		"no user":                {SessionID: s1.ID},
	} {
		r.At, r.Audit = at(9), auditEvent(latch.AuditSessionRevoke, r.UserID, 9)
		n, err := revoke(r)
		wantNotFound(t, err)
		if n != 0 {
			t.Errorf("%s: revoked %d", name, n)
		}
	}
	equal(t, "another user's session", session(t, st, o1.ID).RevokedAt, nil)
	equal(t, "the user's session", session(t, st, s1.ID).RevokedAt, nil)

	ev := auditEvent(latch.AuditSessionRevoke, u.ID, 10)
	n, err := revoke(latch.SessionRevocation{UserID: strings.ToUpper(u.ID), SessionID: strings.ToUpper(s1.ID), At: at(10), Audit: ev})
	if err != nil || n != 1 {
		t.Fatalf("revoking one session: %d, %v", n, err)
	}
	equal(t, "revoked session", session(t, st, s1.ID).RevokedAt, storedPtr(at(10)))
	n, err = revoke(latch.SessionRevocation{UserID: u.ID, SessionID: s1.ID, At: at(11)})
	if err != nil || n != 0 {
		t.Fatalf("revoking a revoked session: %d, %v; want 0, nil", n, err)
	}
	equal(t, "session revoked twice", session(t, st, s1.ID).RevokedAt, storedPtr(at(10)))

	// All: the live ones only (s2; s1 is revoked, expired has ended).
	n, err = revoke(latch.SessionRevocation{UserID: u.ID, At: at(12)})
	if err != nil || n != 1 {
		t.Fatalf("revoking all: %d, %v; want 1", n, err)
	}
	equal(t, "s1", session(t, st, s1.ID).RevokedAt, storedPtr(at(10)))
	equal(t, "s2", session(t, st, s2.ID).RevokedAt, storedPtr(at(12)))
	equal(t, "expired", session(t, st, expired.ID).RevokedAt, nil)
	equal(t, "other user's", session(t, st, o1.ID).RevokedAt, nil)
	n, err = revoke(latch.SessionRevocation{UserID: u.ID, At: at(13)})
	if err != nil || n != 0 {
		t.Fatalf("revoking all again: %d, %v; want 0", n, err)
	}
	if ss, _ := st.SessionsByUser(ctx, u.ID, at(13)); len(ss) != 0 {
		t.Errorf("live sessions after revoking all: %+v", ss)
	}
	wantEvents(t, "revocation events", events(t, st, latch.AuditQuery{Action: latch.AuditSessionRevoke}), *ev)
}

func testTenantPolicy(t *testing.T, st latch.Store) {
	ctx := t.Context()
	tn := createTenant(t, st, "Policed")
	_, err := st.TenantPolicy(ctx, tn.ID)
	wantNotFound(t, err)

	p := latch.PasswordPolicy{
		MinLength: 12, MaxLength: 64, Require: []string{"lower", "upper", "digit", "special"},
		Specials: `!"#$%&'()*+,-./:;<=>?@[\]^_{|}~` + "`", History: 5, RefuseCommon: true, RefuseEmail: true, MinScore: 3,
	}
	ev := latch.AuditEvent{TenantID: tn.ID, At: at(1), Action: latch.AuditPolicyUpdate, ActorType: latch.ActorClient, ActorID: "cli_x"}
	if err := st.SetTenantPolicy(ctx, strings.ToUpper(tn.ID), p, at(1), &ev); err != nil {
		t.Fatal(err)
	}
	got, err := st.TenantPolicy(ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "TenantPolicy", got, p)

	// Set again: replaced whole.
	p2 := latch.PasswordPolicy{MinLength: 8}
	if err := st.SetTenantPolicy(ctx, tn.ID, p2, at(2), nil); err != nil {
		t.Fatal(err)
	}
	got, err = st.TenantPolicy(ctx, strings.ToUpper(tn.ID))
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "TenantPolicy after a second set", got, p2)

	// Another tenant has none.
	_, err = st.TenantPolicy(ctx, latch.DefaultTenantID)
	wantNotFound(t, err)
	for _, id := range []string{newID(t), "acme", ""} {
		wantNotFound(t, st.SetTenantPolicy(ctx, id, p, at(3), &latch.AuditEvent{Action: latch.AuditPolicyUpdate}))
		_, err = st.TenantPolicy(ctx, id)
		wantNotFound(t, err)
	}
	wantEvents(t, "policy events", events(t, st, latch.AuditQuery{}), ev)
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

// An administrator's reset sets the password whatever is stored.
func testChangePasswordOverwrite(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "overwrite@example.com", "h1")
	keep := createSession(t, st, u.ID, nil)
	drop := createSession(t, st, u.ID, nil)
	for i, prev := range []string{"stale", "h1", ""} {
		hash := fmt.Sprintf("reset-%d", i)
		if err := st.ChangePassword(ctx, latch.PasswordChange{
			UserID: u.ID, PreviousHash: prev, NewHash: hash, Overwrite: true, MustChange: true,
			KeepSessionID: keep.ID, At: at(5 + i),
		}); err != nil {
			t.Fatalf("overwrite over PreviousHash %q: %v", prev, err)
		}
		c, err := st.Credential(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		checkTimes(t, "Credential", c)
		equal(t, "Credential", c, latch.Credential{UserID: u.ID, Hash: hash, MustChange: true, CreatedAt: stored(at(0)), UpdatedAt: stored(at(5 + i))})
	}
	equal(t, "history", history(t, st, u.ID), []string{"reset-2", "reset-1", "reset-0", "h1"})
	equal(t, "kept session", session(t, st, keep.ID).RevokedAt, nil)
	equal(t, "other session", session(t, st, drop.ID).RevokedAt, storedPtr(at(5)))

	// No password yet: the overwrite creates it.
	bare := createUser(t, st, "bare-overwrite@example.com")
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: bare.ID, PreviousHash: "whatever", NewHash: "first", Overwrite: true, At: at(9)}); err != nil {
		t.Fatal(err)
	}
	c, err := st.Credential(ctx, bare.ID)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "created Credential", c, latch.Credential{UserID: bare.ID, Hash: "first", CreatedAt: stored(at(9)), UpdatedAt: stored(at(9))})

	wantNotFound(t, st.ChangePassword(ctx, latch.PasswordChange{UserID: newID(t), NewHash: "x", Overwrite: true, At: at(10)}))
	wantError(t, st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, Overwrite: true, At: at(10)}), latch.KindInvalid, latch.CodeInvalidRequest)
}

func testChangePasswordMustChange(t *testing.T, st latch.Store) {
	ctx := t.Context()
	mustChange := func(userID string) bool {
		t.Helper()
		c, err := st.Credential(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		return c.MustChange
	}
	u, err := st.CreateUser(ctx, latch.NewUser{
		User: latch.User{Email: "must@example.com", CreatedAt: at(0)}, PasswordHash: "h1", MustChangePassword: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !mustChange(u.ID) {
		t.Error("CreateUser with MustChangePassword: MustChange false")
	}
	// A rehash is the same password: the mark stays.
	if err := st.ReplacePasswordHash(ctx, u.ID, "h1", "h1b", at(1)); err != nil {
		t.Fatal(err)
	}
	if !mustChange(u.ID) {
		t.Error("ReplacePasswordHash cleared MustChange")
	}
	// The user's own change clears it.
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h1b", NewHash: "h2", At: at(2)}); err != nil {
		t.Fatal(err)
	}
	if mustChange(u.ID) {
		t.Error("a change without MustChange kept it")
	}
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "h2", NewHash: "h3", MustChange: true, At: at(3)}); err != nil {
		t.Fatal(err)
	}
	if !mustChange(u.ID) {
		t.Error("a change with MustChange did not store it")
	}
	// A refused change leaves it as it is.
	wantError(t, st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: "stale", NewHash: "h4", At: at(4)}),
		latch.KindConflict, latch.CodeConcurrentUpdate)
	if !mustChange(u.ID) {
		t.Error("a refused change cleared MustChange")
	}

	// A first password may carry it too.
	bare := createUser(t, st, "must-first@example.com")
	if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: bare.ID, NewHash: "first", MustChange: true, At: at(5)}); err != nil {
		t.Fatal(err)
	}
	if !mustChange(bare.ID) {
		t.Error("a first password with MustChange did not store it")
	}
	// Without a password there is nothing to change.
	nopw, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "must-none@example.com"}, MustChangePassword: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Credential(ctx, nopw.ID)
	wantNotFound(t, err)
}

func testPasswordHistory(t *testing.T, st latch.Store) {
	ctx := t.Context()
	u := createUserWithPassword(t, st, "history@example.com", "h1")
	for i, next := range []string{"h2", "h3", "h4"} {
		if err := st.ChangePassword(ctx, latch.PasswordChange{UserID: u.ID, PreviousHash: fmt.Sprintf("h%d", i+1), NewHash: next, At: at(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	other := createUserWithPassword(t, st, "history-other@example.com", "o1")
	for _, tc := range []struct {
		id    string
		limit int
		want  []string
	}{
		{u.ID, 100, []string{"h4", "h3", "h2", "h1"}},
		{strings.ToUpper(u.ID), 2, []string{"h4", "h3"}},
		{u.ID, 1, []string{"h4"}},
		{u.ID, 0, nil},
		{u.ID, -1, nil},
		{other.ID, 10, []string{"o1"}},
		{newID(t), 10, nil},
		{"user-1", 10, nil},
	} {
		got, err := st.PasswordHistory(ctx, tc.id, tc.limit)
		if err != nil {
			t.Fatalf("PasswordHistory(%s, %d): %v", tc.id, tc.limit, err)
		}
		if len(got) != len(tc.want) || (len(got) > 0 && !slices.Equal(got, tc.want)) {
			t.Errorf("PasswordHistory(%s, %d) = %q, want %q", tc.id, tc.limit, got, tc.want)
		}
	}
}
