package latch_test

import (
	"testing"

	"github.com/latchid/latch"
)

func TestScopeGrants(t *testing.T) {
	// rows: scope; columns: ReadUsers, ManageUsers, ReadAll, ManageAll.
	want := map[latch.Scope][4]bool{
		latch.ScopeAuthenticationOnly: {false, false, false, false},
		latch.ScopeReadUsers:          {true, false, false, false},
		latch.ScopeManageUsers:        {true, true, false, false},
		latch.ScopeReadAll:            {true, false, true, false},
		latch.ScopeManageAll:          {true, true, true, true},
		latch.Scope("Root"):           {false, false, false, false},
	}
	perms := []latch.Permission{latch.PermReadUsers, latch.PermManageUsers, latch.PermReadAll, latch.PermManageAll}
	for sc, row := range want {
		for i, p := range perms {
			if got := sc.Grants(p); got != row[i] {
				t.Errorf("%q grants %d: got %v", sc, p, got)
			}
		}
	}
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]latch.Scope{
		"Manage All": latch.ScopeManageAll, "manage_all": latch.ScopeManageAll, " read-users ": latch.ScopeReadUsers,
		"AUTHENTICATION ONLY": latch.ScopeAuthenticationOnly, "Read All": latch.ScopeReadAll, "manage users": latch.ScopeManageUsers,
	} {
		if got, ok := latch.ParseScope(in); !ok || got != want {
			t.Errorf("ParseScope(%q) = %q, %v", in, got, ok)
		}
	}
	for _, bad := range []string{"", "all", "Manage", "ManageAll", "Manage  All"} {
		if _, ok := latch.ParseScope(bad); ok {
			t.Errorf("ParseScope(%q) accepted", bad)
		}
	}
}
