package onelogin_test

import (
	"os"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
)

// TestDatabaseUnavailable: while the database is down, seed 001 answers
// 503 with Retry-After in its status envelope (testdata/unavailable.json),
// not 500, and sets passwords again once it is back.
func TestDatabaseUnavailable(t *testing.T) {
	want, err := os.ReadFile("testdata/unavailable.json")
	if err != nil {
		t.Fatal(err)
	}
	testenv.ForEachOutage(t, func(t *testing.T, o *testenv.Outage) {
		_, _, tok := o.APIClient(t, latch.ScopeManageAll, "", false)
		u := o.PasswordUser(t, "target@example.com", oldPassword, "", false)

		o.Down()
		testenv.WantUnavailable(t, "set password", o.Do(t, "PUT", setPath(u.Number), seedHeaders(tok), body(newPassword, newPassword, nil)), "application/json", string(want))

		o.Up()
		if res := o.Do(t, "PUT", setPath(u.Number), seedHeaders(tok), body(newPassword, newPassword, nil)); res.Status != 200 {
			t.Errorf("set password once the database is back: %d %s", res.Status, res.Body)
		}
	})
}
