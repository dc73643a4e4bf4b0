package devopness_test

import (
	"fmt"
	"testing"

	"github.com/latchid/latch/internal/testenv"
)

// TestDatabaseUnavailable: while the database is down, seed 000's
// endpoints answer 503 with Retry-After in Laravel's shape (the seed
// documents no 503; Laravel's own maintenance answer is
// {"message":"Service Unavailable"}), not 500, and work again once it is
// back.
func TestDatabaseUnavailable(t *testing.T) {
	const want = `{"message":"Service Unavailable"}` + "\n"
	testenv.ForEachOutage(t, func(t *testing.T, o *testenv.Outage) {
		o.PasswordUser(t, "down@example.com", newPassword, "", false)
		_, pair := o.OAuthUser(t, "oauth@example.com")
		login := fmt.Sprintf(`{"email":"down@example.com","password":%q}`, newPassword)
		set := fmt.Sprintf(`{"password":%q,"password_confirmation":%q}`, newPassword, newPassword)

		o.Down()
		testenv.WantUnavailable(t, "login", o.Do(t, "POST", "/users/login", jsonHeaders(""), login), "application/json", want)
		testenv.WantUnavailable(t, "set password", o.Do(t, "POST", "/users/me/password", jsonHeaders(pair.AccessToken), set), "application/json", want)

		o.Up()
		if res := o.Do(t, "POST", "/users/login", jsonHeaders(""), login); res.Status != 200 {
			t.Errorf("login once the database is back: %d %s", res.Status, res.Body)
		}
	})
}
