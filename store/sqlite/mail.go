package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

// This file holds latch.OutboxStore and latch.LinkStore: the mail outbox and
// password links.

const mailColumns = `id, to_address, template, data, created_at, attempts, next_attempt_at,
	sent_at, failed_at, last_error`

func scanMail(row scanner) (latch.MailMessage, error) {
	var m latch.MailMessage
	var created, next int64
	var sent, failed sql.NullInt64
	if err := row.Scan(&m.ID, &m.To, &m.Template, &m.Data, &created, &m.Attempts, &next,
		&sent, &failed, &m.LastError); err != nil {
		return latch.MailMessage{}, err
	}
	if len(m.Data) == 0 {
		m.Data = nil
	}
	m.CreatedAt, m.NextAttemptAt = fromMicros(created), fromMicros(next)
	m.SentAt, m.FailedAt = fromNullMicros(sent), fromNullMicros(failed)
	return m, nil
}

// insertMail enqueues m, if not nil, in tx: a message is enqueued with the
// change that sends it or not at all. m must have been through
// contract.MailMessage.
func insertMail(ctx context.Context, tx *sql.Tx, m *latch.MailMessage) error {
	if m == nil {
		return nil
	}
	res, err := tx.ExecContext(ctx, `
		INSERT INTO mail_outbox (id, to_address, template, data, created_at, attempts, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, 0, ?)
		ON CONFLICT (id) DO NOTHING`,
		m.ID, m.To, m.Template, m.Data, micros(m.CreatedAt), micros(m.NextAttemptAt))
	return oneRow(res, err, contract.AlreadyExists("mail message"))
}

// EnqueueMail implements latch.Store.
func (s *Store) EnqueueMail(ctx context.Context, m latch.MailMessage) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	m, err := contract.MailMessage(m, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error { return insertMail(ctx, tx, &m) })
}

// dueMail selects the messages ClaimMail hands out; mail_outbox_due
// serves it.
const dueMail = `FROM mail_outbox
	WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
	ORDER BY next_attempt_at, id LIMIT ?`

// ClaimMail implements latch.Store. The writer is serialized, so the
// messages read are the ones leased: no other claim runs in between.
func (s *Store) ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]latch.MailMessage, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	now = contract.Or(now, s.now)
	until, err := contract.Lease(now, lease)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	var out []latch.MailMessage
	err = s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+mailColumns+` `+dueMail, micros(now), contract.ClaimLimit(limit))
		if err != nil {
			return err
		}
		if out, err = collect(rows, scanMail); err != nil || len(out) == 0 {
			return err
		}
		ids := make([]string, len(out))
		for i := range out {
			ids[i] = out[i].ID
			out[i].Attempts++
			out[i].NextAttemptAt = until
		}
		return leaseRows(ctx, tx, "mail_outbox", "messages", ids, until)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// OldestPendingMail implements latch.Store; mail_outbox_pending_created
// serves it.
func (s *Store) OldestPendingMail(ctx context.Context) (time.Time, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var oldest sql.NullInt64
	err := s.reader.QueryRowContext(ctx, `
		SELECT min(created_at) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&oldest)
	if err != nil {
		return time.Time{}, fail(err)
	}
	if !oldest.Valid {
		return time.Time{}, nil
	}
	return fromMicros(oldest.Int64), nil
}

// MarkMailSent implements latch.Store. Marking a sent message again keeps
// the first time.
func (s *Store) MarkMailSent(ctx context.Context, id string, at time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return contract.NotFound("mail message")
	}
	res, err := s.writer.ExecContext(ctx, `
		UPDATE mail_outbox SET sent_at = COALESCE(sent_at, ?), data = NULL WHERE id = ?`,
		micros(contract.Or(at, s.now)), id)
	return fail(oneRow(res, err, contract.NotFound("mail message")))
}

// MarkMailFailed implements latch.Store. A message that is sent or failed
// already stays as it is (a worker whose lease ran out may report after
// another delivered it): the call succeeds and changes nothing.
func (s *Store) MarkMailFailed(ctx context.Context, id, lastError string, retryAt time.Time, giveUp bool, at time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return contract.NotFound("mail message")
	}
	at = contract.Or(at, s.now)
	lastError = contract.LastError(lastError)
	return s.write(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if giveUp {
			res, err = tx.ExecContext(ctx, `
				UPDATE mail_outbox SET failed_at = ?, data = NULL, last_error = ?
				WHERE id = ? AND sent_at IS NULL AND failed_at IS NULL`, micros(at), lastError, id)
		} else {
			res, err = tx.ExecContext(ctx, `
				UPDATE mail_outbox SET next_attempt_at = ?, last_error = ?
				WHERE id = ? AND sent_at IS NULL AND failed_at IS NULL`,
				micros(contract.Or(retryAt, func() time.Time { return at })), lastError, id)
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		// Nothing changed: tell a finished message from an unknown one.
		return mailExists(ctx, tx, id)
	})
}

// mailExists checks that the outbox holds the message id, whatever its
// state: NotFound otherwise.
func mailExists(ctx context.Context, tx *sql.Tx, id string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM mail_outbox WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return contract.NotFound("mail message")
	}
	return err
}

// MailMessages implements latch.Store.
func (s *Store) MailMessages(ctx context.Context, limit int) ([]latch.MailMessage, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.reader.QueryContext(ctx, `
		SELECT `+mailColumns+` FROM mail_outbox ORDER BY created_at DESC, id DESC LIMIT ?`, contract.Limit(limit))
	if err != nil {
		return nil, fail(err)
	}
	return collect(rows, scanMail)
}

// CreatePasswordLink implements latch.Store.
func (s *Store) CreatePasswordLink(ctx context.Context, l latch.PasswordLink, m latch.MailMessage) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	l, err := contract.PasswordLink(l, s.now)
	if err != nil {
		return err
	}
	mail, err := contract.MailPtr(&m, l.CreatedAt, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := userExists(ctx, tx, l.UserID); err != nil {
			return err
		}
		if err := supersedePasswordLinks(ctx, tx, l); err != nil {
			return err
		}
		if err := insertPasswordLink(ctx, tx, l); err != nil {
			return err
		}
		return insertMail(ctx, tx, mail)
	})
}

// supersedePasswordLinks uses up, at l's creation, every live link of l's
// user for l's purpose: of a user's links for one purpose, only the last
// sent works.
func supersedePasswordLinks(ctx context.Context, tx *sql.Tx, l latch.PasswordLink) error {
	_, err := tx.ExecContext(ctx, `
		UPDATE password_links SET used_at = ?1
		WHERE user_id = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?1`,
		micros(l.CreatedAt), l.UserID, l.Purpose)
	return err
}

// insertPasswordLink stores l; a taken hash is Conflict.
func insertPasswordLink(ctx context.Context, tx *sql.Tx, l latch.PasswordLink) error {
	_, err := tx.ExecContext(ctx, `
		INSERT INTO password_links (hash, user_id, purpose, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?)`,
		l.Hash, l.UserID, l.Purpose, micros(l.CreatedAt), micros(l.ExpiresAt))
	if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return contract.AlreadyExists("password link")
	}
	return err
}

// PasswordLink implements latch.Store.
func (s *Store) PasswordLink(ctx context.Context, hash []byte) (latch.PasswordLink, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if len(hash) == 0 {
		return latch.PasswordLink{}, contract.PasswordLinkNotFound()
	}
	var l latch.PasswordLink
	var created, expires int64
	var used sql.NullInt64
	err := s.reader.QueryRowContext(ctx, `
		SELECT hash, user_id, purpose, created_at, expires_at, used_at FROM password_links WHERE hash = ?`,
		hash).Scan(&l.Hash, &l.UserID, &l.Purpose, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return latch.PasswordLink{}, contract.PasswordLinkNotFound()
	}
	if err != nil {
		return latch.PasswordLink{}, fail(err)
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return l, nil
}

// usePasswordLink marks the link with hash used at at, if it is userID's
// and live at at; otherwise the error is PasswordLinkNotFound.
func usePasswordLink(ctx context.Context, tx *sql.Tx, hash []byte, userID string, at int64) error {
	res, err := tx.ExecContext(ctx, `
		UPDATE password_links SET used_at = ?1
		WHERE hash = ?2 AND user_id = ?3 AND used_at IS NULL AND expires_at > ?1`, at, hash, userID)
	return oneRow(res, err, contract.PasswordLinkNotFound())
}

// PurgeMail implements latch.Store: one bounded batch, as PurgeSessions.
func (s *Store) PurgeMail(ctx context.Context, before time.Time, limit int) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.purge(ctx, `
		DELETE FROM mail_outbox WHERE id IN (
			SELECT id FROM mail_outbox WHERE sent_at < ?1 OR failed_at < ?1 LIMIT ?2)`, before, limit)
}

// PurgePasswordLinks implements latch.Store.
func (s *Store) PurgePasswordLinks(ctx context.Context, before time.Time, limit int) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.purge(ctx, `
		DELETE FROM password_links WHERE hash IN (
			SELECT hash FROM password_links WHERE expires_at < ?1 LIMIT ?2)`, before, limit)
}

// purge runs a bounded DELETE taking before and limit, and returns how
// many rows it deleted.
func (s *Store) purge(ctx context.Context, query string, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := s.writer.ExecContext(ctx, query, micros(before), limit)
	if err != nil {
		return 0, fail(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fail(err)
	}
	return int(n), nil
}
