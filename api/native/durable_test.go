package native_test

import (
	"context"
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
// unreachable when a recovery request comes.
type jobsDown struct{ latch.Store }

func (jobsDown) EnqueueJob(context.Context, latch.Job) error {
	// What the stores answer for a database they cannot reach.
	return &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, RetryAfter: 3 * time.Second,
		Message: "the database is unavailable; try again later", Err: errors.New("test: the database is unreachable")}
}

// Issue 11, item 2: POST /v1/recover answers 202 only once the request is
// recorded; when it cannot be, 503 with Retry-After, in the problem shape,
// with no internals.
func TestRecoverNotRecordedIs503(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			h := testenv.NewHarness(t, jobsDown{b.Open(t)})
			srv := h.Server(t)
			res, err := http.Post(srv.URL+"/v1/recover", "application/json", strings.NewReader(`{"email":"someone@example.com"}`))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
				res.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), `"status":503`) ||
				strings.Contains(string(body), "test:") {
				t.Fatalf("got %d %v %s", res.StatusCode, res.Header, body)
			}
		})
	}
}
