package latch

import "time"

// Job kinds: the requests whose work is done after they are answered.
const (
	JobRecovery = "recovery" // a recovery link asked for (POST /v1/recover, the recover page)
	JobSignUp   = "sign_up"  // a sign-up by email (seed 003)
)

// Job is a request Latch answered before doing its work: recovery and
// sign-up answer the same, at the same speed, whether or not an account
// exists, so the lookup and the email come afterwards. The job is stored
// before the answer, so what was answered survives a crash or a database
// failure while its work runs. Data (the email, names and client address)
// is sealed by the caller; the row is deleted once the work is done.
type Job struct {
	ID            string // UUIDv7
	Kind          string
	Data          []byte // sealed
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
}
