package royalti_test

import (
	"testing"
	"time"

	"github.com/latchid/latch/internal/testenv"
)

// TestDatabaseUnavailable: while the database is down, seed 003's
// setpassword answers 503 with Retry-After in the seed's error shape
// (the seed lists 500 for internal errors; an outage is not one), and
// works once it is back.
func TestDatabaseUnavailable(t *testing.T) {
	const want = `{"success":false,"error":{"code":"SERVICE_UNAVAILABLE","message":"The service is temporarily unavailable; try again later"}}` + "\n"
	testenv.ForEachOutage(t, func(t *testing.T, o *testenv.Outage) {
		u, _ := o.OAuthUser(t, "down@example.com")
		// A verification token as sign-up mails it (account.verifyPurpose).
		now := o.Clock.Now()
		tok, err := o.Keys.SignPurpose("verify-email", u.ID, now, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		headers := map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
		const body = `{"password":"securePassword123!"}`

		o.Down()
		testenv.WantUnavailable(t, "set password", o.Do(t, "POST", "/auth/setpassword", headers, body), "application/json", want)

		o.Up()
		if res := o.Do(t, "POST", "/auth/setpassword", headers, body); res.Status != 200 {
			t.Errorf("set password once the database is back: %d %s", res.Status, res.Body)
		}
	})
}
