package pace_test

import (
	"testing"

	"github.com/latchid/latch/internal/testenv"
)

// TestDatabaseUnavailable: while the database is down, seed 002 answers
// 503 with Retry-After as a JSON:API error document. The seed documents
// 501 for "an internal error"; an outage is not one (retrying helps), so
// it gets the standard status in the seed's shape.
func TestDatabaseUnavailable(t *testing.T) {
	const want = `{"errors":[{"id":"REQUEST_ID","status":"503","code":"service-unavailable","title":"Service unavailable","detail":"The service is temporarily unavailable; try again later"}]}` + "\n"
	testenv.ForEachOutage(t, func(t *testing.T, o *testenv.Outage) {
		_, pair := o.OAuthUser(t, "down@example.com")
		bearer := map[string]string{"Authorization": "Bearer " + pair.AccessToken}

		o.Down()
		testenv.WantUnavailable(t, "request a password email", o.Do(t, "PUT", requestPath, bearer, ""), "application/vnd.api+json", want)

		o.Up()
		if res := o.Do(t, "PUT", requestPath, bearer, ""); res.Status != 202 {
			t.Errorf("request once the database is back: %d %s", res.Status, res.Body)
		}
	})
}
