package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// The conformance tests of latch.TenantStore: tenants, what separates
// them, and their password policies.

func createTenant(t *testing.T, st latch.Store, name string) latch.Tenant {
	t.Helper()
	tn, err := st.CreateTenant(t.Context(), latch.Tenant{Name: name, CreatedAt: at(0)}, nil)
	if err != nil {
		t.Fatalf("CreateTenant(%q): %v", name, err)
	}
	return tn
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
