package storetest

import (
	"testing"

	"github.com/latchid/latch"
)

// LegacyEmail is an account stored before the canonical form existed, as
// a store's migrate test inserts it (email_normalized was the address
// lowercased by strings.ToLower) before applying migration 00006.
type LegacyEmail struct {
	ID, Email, OldKey string
}

// LegacyEmails are the accounts CheckRekeyedEmails expects, oldest first.
var LegacyEmails = []LegacyEmail{
	{"0190b8a2-7c1e-7d3a-9f00-000000000001", "ａda@example.com", "ａda@example.com"},
	{"0190b8a2-7c1e-7d3a-9f00-000000000002", "Ada@Example.com", "ada@example.com"},
	{"0190b8a2-7c1e-7d3a-9f00-000000000003", "\u212Aelvin@example.com", "kelvin@example.com"},
	{"0190b8a2-7c1e-7d3a-9f00-000000000004", "Bob@Bücher.de", "bob@bücher.de"},
	{"0190b8a2-7c1e-7d3a-9f00-000000000005", "ｃarl@example.com", "ｃarl@example.com"},
}

// CheckRekeyedEmails checks LegacyEmails after migration 00006 and the
// store's rekey: plain and IDN addresses are canonical; the full-width
// spelling that collides with the plain one, and the Kelvin sign, keep
// their address under a legacy key: nobody's canonical address finds
// them, the Kelvin one is still found by typing it as before, and the
// ASCII address it used to block is free (with create, the check makes
// that account).
func CheckRekeyedEmails(t *testing.T, st latch.Store, create bool) {
	t.Helper()
	ctx := t.Context()
	l := LegacyEmails
	for _, c := range []struct {
		lookup, id, email string
	}{
		{"ada@example.com", l[1].ID, "ada@example.com"},
		{"ａda@example.com", l[1].ID, "ada@example.com"},
		{"\u212Aelvin@example.com", l[2].ID, "\u212Aelvin@example.com"},
		{"bob@xn--bcher-kva.de", l[3].ID, "bob@xn--bcher-kva.de"},
		{"BOB@bücher.de", l[3].ID, "bob@xn--bcher-kva.de"},
		{"carl@example.com", l[4].ID, "carl@example.com"},
	} {
		got, err := st.UserByEmail(ctx, c.lookup)
		if err != nil || got.ID != c.id || got.Email != c.email {
			t.Errorf("UserByEmail(%q) = %s %q, %v; want %s %q", c.lookup, got.ID, got.Email, err, c.id, c.email)
		}
	}
	if got, err := st.UserByID(ctx, l[0].ID); err != nil || got.Email != l[0].Email {
		t.Errorf("the full-width account: %+v, %v; want it kept as it was", got, err)
	}
	if got, err := st.UserByEmail(ctx, "kelvin@example.com"); !latch.IsKind(err, latch.KindNotFound) {
		t.Errorf("UserByEmail(kelvin@example.com) = %+v, %v; want not found", got, err)
	}
	if !create {
		return
	}
	if _, err := st.CreateUser(ctx, latch.NewUser{User: latch.User{Email: "kelvin@example.com"}}); err != nil {
		t.Fatalf("the ASCII address the Kelvin sign blocked: %v", err)
	}
}
