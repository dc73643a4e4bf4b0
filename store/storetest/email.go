package storetest

import (
	"testing"

	"github.com/latchid/latch"
)

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
