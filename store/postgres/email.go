package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latchid/latch"
)

// rekeyEmails gives every user listed in email_rekey_pending (by migration
// 00006) its canonical address and key, as latch.EmailRekeys decides, in
// one transaction. Replicas starting together take turns on the table's
// lock; the later ones find nobody listed, at the cost of one query.
func (s *Store) rekeyEmails(ctx context.Context) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE email_rekey_pending IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			SELECT u.id::text, u.email, u.email_normalized FROM users u
			JOIN email_rekey_pending p ON p.user_id = u.id
			ORDER BY u.created_at, u.number`)
		if err != nil {
			return err
		}
		stored, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (latch.StoredEmail, error) {
			var e latch.StoredEmail
			err := row.Scan(&e.UserID, &e.Email, &e.OldKey)
			return e, err
		})
		if err != nil || len(stored) == 0 {
			return err
		}
		var lookupErr error
		taken := func(key string) bool {
			var found bool
			err := tx.QueryRow(ctx, `
				SELECT EXISTS (SELECT 1 FROM users u WHERE u.email_normalized = $1
				AND NOT EXISTS (SELECT 1 FROM email_rekey_pending p WHERE p.user_id = u.id))`, key).Scan(&found)
			if err != nil && lookupErr == nil {
				lookupErr = err
			}
			return found || err != nil
		}
		rekeys := latch.EmailRekeys(stored, taken)
		if lookupErr != nil {
			return lookupErr
		}
		// Out of the way first, so that no row meets another's old key.
		if _, err := tx.Exec(ctx, `
			UPDATE users SET email_normalized = 'rekey:' || id::text
			WHERE id IN (SELECT user_id FROM email_rekey_pending)`); err != nil {
			return err
		}
		batch := &pgx.Batch{}
		for _, r := range rekeys {
			batch.Queue(`UPDATE users SET email = $1, email_normalized = $2 WHERE id = $3`, r.Email, r.Key, r.UserID)
		}
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM email_rekey_pending`)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: canonical emails: %w", err)
	}
	return nil
}
