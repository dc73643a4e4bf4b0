package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// This file holds what the two leased queues, the jobs and the mail
// outbox, share: a claim reads a batch of due rows and leases them (one
// more attempt, due again when the lease ends), so that the work of a
// worker that stops is handed out again once its lease has run out.

// leaseRows leases the rows of table (jobs or mail_outbox) whose ids a claim
// has just read in tx, until until; what names the rows in the error. The
// writer is serialized, so the rows read are the ones leased: no other
// claim runs in between, and a count that differs is a bug.
func leaseRows(ctx context.Context, tx *sql.Tx, table, what string, ids []string, until time.Time) error {
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `
		UPDATE `+table+` SET attempts = attempts + 1, next_attempt_at = ?
		WHERE id IN (SELECT value FROM json_each(?))`, micros(until), string(list))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n != int64(len(ids)) {
		return fmt.Errorf("sqlite: claimed %s changed under the writer", what)
	}
	return nil
}
