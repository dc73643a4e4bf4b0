package contract

import (
	"time"

	"github.com/latchid/latch"
)

// Job returns j in the form the backends store it: the id canonical
// (generated if empty), the times truncated and defaulted (CreatedAt to
// now, NextAttemptAt to CreatedAt), and the state of a new job (no
// attempts, no error), whatever j said. A job without a kind or without
// data is Invalid: there would be nothing to do.
func Job(j latch.Job, now func() time.Time) (latch.Job, error) {
	if j.ID == "" {
		id, err := NewID()
		if err != nil {
			return j, err
		}
		j.ID = id
	} else if id, ok := ID(j.ID); ok {
		j.ID = id
	} else {
		return j, Invalid("id", "job id must be a UUID")
	}
	if j.Kind == "" || !Text(j.Kind) {
		return j, Invalid("kind", "a job needs a kind, in UTF-8 text")
	}
	if len(j.Data) == 0 {
		return j, Invalid("data", "a job needs data")
	}
	j.CreatedAt = Or(j.CreatedAt, now)
	if j.NextAttemptAt.IsZero() {
		j.NextAttemptAt = j.CreatedAt
	} else {
		j.NextAttemptAt = Time(j.NextAttemptAt)
	}
	j.Attempts, j.LastError = 0, ""
	return j, nil
}
