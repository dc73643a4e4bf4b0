package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latchid/latch"
)

// rekeyEmails gives every user listed in email_rekey_pending (by migration
// 00006) its canonical address and key, as latch.EmailRekeys decides, in
// one transaction. With nobody listed it costs one query.
func (s *Store) rekeyEmails(ctx context.Context) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `
			SELECT u.id, u.email, u.email_normalized FROM users u
			JOIN email_rekey_pending p ON p.user_id = u.id
			ORDER BY u.created_at, u.number`)
		if err != nil {
			return err
		}
		var stored []latch.StoredEmail
		for rows.Next() {
			var e latch.StoredEmail
			if err := rows.Scan(&e.UserID, &e.Email, &e.OldKey); err != nil {
				rows.Close()
				return err
			}
			stored = append(stored, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(stored) == 0 {
			return err
		}
		var lookupErr error
		taken := func(key string) bool {
			var n int
			err := tx.QueryRowContext(ctx, `
				SELECT count(*) FROM users u WHERE u.email_normalized = ?
				AND NOT EXISTS (SELECT 1 FROM email_rekey_pending p WHERE p.user_id = u.id)`, key).Scan(&n)
			if err != nil && lookupErr == nil {
				lookupErr = err
			}
			return n > 0 || err != nil
		}
		rekeys := latch.EmailRekeys(stored, taken)
		if lookupErr != nil {
			return lookupErr
		}
		// Out of the way first, so that no row meets another's old key.
		if _, err := tx.ExecContext(ctx, `
			UPDATE users SET email_normalized = 'rekey:' || id
			WHERE id IN (SELECT user_id FROM email_rekey_pending)`); err != nil {
			return err
		}
		for _, r := range rekeys {
			if _, err := tx.ExecContext(ctx, `UPDATE users SET email = ?, email_normalized = ? WHERE id = ?`,
				r.Email, r.Key, r.UserID); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM email_rekey_pending`)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: migrate: canonical emails: %w", err)
	}
	return nil
}
