package royalti_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
)

// jobsDown is a real store that cannot record a job: the database
// unreachable when a sign-up comes.
type jobsDown struct{ latch.Store }

func (jobsDown) EnqueueJob(context.Context, latch.Job) error {
	// What the stores answer for a database they cannot reach.
	return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, RetryAfter: 3 * time.Second,
		Message: "the database is unavailable; try again later", Err: errors.New("test: the database is unreachable")}
}

// Issue 11, item 2: POST /auth/signup answers 201 only once the request
// is recorded; when it cannot be, 503 with Retry-After in the seed's
// error shape.
func TestSignUpNotRecordedIs503(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			h := testenv.NewHarness(t, jobsDown{b.Open(t)})
			srv := h.Server(t)
			res, err := http.Post(srv.URL+"/auth/signup", "application/json",
				strings.NewReader(`{"email":"someone@example.com","firstName":"A","lastName":"B"}`))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			raw, _ := io.ReadAll(res.Body)
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil || res.Header.Get("Retry-After") == "" || strings.Contains(string(raw), "test:") {
				t.Fatalf("got %d %v %s", res.StatusCode, res.Header, raw)
			}
			wantError(t, res.StatusCode, body, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
		})
	}
}
