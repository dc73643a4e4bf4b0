package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

// This file holds latch.OutboxStore and latch.LinkStore: the mail outbox and
// password links.

const mailColumns = `m.id, m.to_address, m.template, m.data, m.created_at, m.attempts, m.next_attempt_at,
	m.sent_at, m.failed_at, m.last_error`

// mailDest is userDest for mailColumns.
func mailDest(m *latch.MailMessage) ([]any, func()) {
	dest := []any{&m.ID, &m.To, &m.Template, &m.Data, &m.CreatedAt, &m.Attempts, &m.NextAttemptAt,
		&m.SentAt, &m.FailedAt, &m.LastError}
	return dest, func() {
		if len(m.Data) == 0 {
			m.Data = nil
		}
		m.CreatedAt, m.NextAttemptAt = utc(m.CreatedAt), utc(m.NextAttemptAt)
		m.SentAt, m.FailedAt = utcPtr(m.SentAt), utcPtr(m.FailedAt)
	}
}

func scanMail(row pgx.Row) (latch.MailMessage, error) {
	var m latch.MailMessage
	dest, finish := mailDest(&m)
	if err := row.Scan(dest...); err != nil {
		return latch.MailMessage{}, err
	}
	finish()
	return m, nil
}

// insertMail enqueues m, if not nil, in tx: a message is enqueued with the
// change that sends it or not at all. m must have been through
// contract.MailMessage.
func insertMail(ctx context.Context, tx pgx.Tx, m *latch.MailMessage) error {
	if m == nil {
		return nil
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO mail_outbox (id, to_address, template, data, created_at, attempts, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, 0, $6)
		ON CONFLICT (id) DO NOTHING`,
		m.ID, m.To, m.Template, m.Data, m.CreatedAt, m.NextAttemptAt)
	return oneRow(tag, err, contract.AlreadyExists("mail message"))
}

// EnqueueMail implements latch.Store.
func (s *Store) EnqueueMail(ctx context.Context, m latch.MailMessage) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	m, err := contract.MailMessage(m, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx pgx.Tx) error { return insertMail(ctx, tx, &m) })
}

// ClaimMail implements latch.Store in one statement. FOR UPDATE SKIP
// LOCKED lets replicas claim side by side: a message another claim has
// locked is passed over rather than waited for, and once that claim
// commits the message is no longer due. mail_outbox_due serves the scan.
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
	// Each row carries the time it was due, for collectClaimed to put
	// them back in the order they were claimed.
	rows, err := s.pool.Query(ctx, `
		WITH due AS (
			SELECT id, next_attempt_at FROM mail_outbox
			WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
			ORDER BY next_attempt_at, id
			LIMIT $2
			FOR UPDATE SKIP LOCKED
		)
		UPDATE mail_outbox m SET attempts = m.attempts + 1, next_attempt_at = $3
		FROM due WHERE m.id = due.id
		RETURNING `+mailColumns+`, due.next_attempt_at`, now, contract.ClaimLimit(limit), until)
	return collectClaimed(rows, err, mailDest, func(m *latch.MailMessage) string { return m.ID })
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
	tag, err := s.pool.Exec(ctx, `
		UPDATE mail_outbox SET sent_at = COALESCE(sent_at, $1), data = NULL WHERE id = $2`,
		contract.Or(at, s.now), id)
	return fail(oneRow(tag, err, contract.NotFound("mail message")))
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
	retryAt = contract.Or(retryAt, func() time.Time { return at })
	lastError = contract.LastError(lastError)
	return s.write(ctx, func(tx pgx.Tx) error {
		var err error
		var n int64
		if giveUp {
			n, err = rowsAffected(tx.Exec(ctx, `
				UPDATE mail_outbox SET failed_at = $1, data = NULL, last_error = $2
				WHERE id = $3 AND sent_at IS NULL AND failed_at IS NULL`, at, lastError, id))
		} else {
			n, err = rowsAffected(tx.Exec(ctx, `
				UPDATE mail_outbox SET next_attempt_at = $1, last_error = $2
				WHERE id = $3 AND sent_at IS NULL AND failed_at IS NULL`, retryAt, lastError, id))
		}
		if err != nil || n > 0 {
			return err
		}
		// Nothing changed: tell a finished message from an unknown one.
		return mailExists(ctx, tx, id)
	})
}

// mailExists checks that the outbox holds the message id, whatever its
// state: NotFound otherwise.
func mailExists(ctx context.Context, tx pgx.Tx, id string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM mail_outbox WHERE id = $1`, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return contract.NotFound("mail message")
	}
	return err
}

// MailMessages implements latch.Store.
func (s *Store) MailMessages(ctx context.Context, limit int) ([]latch.MailMessage, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `
		SELECT `+mailColumns+` FROM mail_outbox m ORDER BY m.created_at DESC, m.id DESC LIMIT $1`, contract.Limit(limit))
	return collect(rows, err, scanMail)
}

// OldestPendingMail implements latch.Store; mail_outbox_pending_created
// serves it.
func (s *Store) OldestPendingMail(ctx context.Context) (time.Time, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var oldest *time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT min(created_at) FROM mail_outbox WHERE sent_at IS NULL AND failed_at IS NULL`).Scan(&oldest)
	if err != nil {
		return time.Time{}, fail(err)
	}
	if oldest == nil {
		return time.Time{}, nil
	}
	return oldest.UTC(), nil
}

// CreatePasswordLink implements latch.Store. Locking the user row
// serializes the links of one user, so of two concurrent links of the
// same purpose the later supersedes the earlier: both cannot stay live.
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
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := lockUserRow(ctx, tx, l.UserID, contract.NotFound("user")); err != nil {
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
func supersedePasswordLinks(ctx context.Context, tx pgx.Tx, l latch.PasswordLink) error {
	_, err := tx.Exec(ctx, `
		UPDATE password_links SET used_at = $1
		WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1`,
		l.CreatedAt, l.UserID, l.Purpose)
	return err
}

// insertPasswordLink stores l; a taken hash is Conflict.
func insertPasswordLink(ctx context.Context, tx pgx.Tx, l latch.PasswordLink) error {
	tag, err := tx.Exec(ctx, `
		INSERT INTO password_links (hash, user_id, purpose, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (hash) DO NOTHING`,
		l.Hash, l.UserID, l.Purpose, l.CreatedAt, l.ExpiresAt)
	return oneRow(tag, err, contract.AlreadyExists("password link"))
}

// PasswordLink implements latch.Store.
func (s *Store) PasswordLink(ctx context.Context, hash []byte) (latch.PasswordLink, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if len(hash) == 0 {
		return latch.PasswordLink{}, contract.PasswordLinkNotFound()
	}
	var l latch.PasswordLink
	err := s.pool.QueryRow(ctx, `
		SELECT hash, user_id, purpose, created_at, expires_at, used_at FROM password_links WHERE hash = $1`,
		hash).Scan(&l.Hash, &l.UserID, &l.Purpose, &l.CreatedAt, &l.ExpiresAt, &l.UsedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return latch.PasswordLink{}, contract.PasswordLinkNotFound()
	}
	if err != nil {
		return latch.PasswordLink{}, fail(err)
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = utc(l.CreatedAt), utc(l.ExpiresAt), utcPtr(l.UsedAt)
	return l, nil
}

// usePasswordLink marks the link with hash used at at, if it is userID's
// and live at at; otherwise the error is PasswordLinkNotFound. Of two
// concurrent uses, the second waits for the first and then, re-checking
// used_at, matches nothing.
func usePasswordLink(ctx context.Context, tx pgx.Tx, hash []byte, userID string, at time.Time) error {
	tag, err := tx.Exec(ctx, `
		UPDATE password_links SET used_at = $1
		WHERE hash = $2 AND user_id = $3 AND used_at IS NULL AND expires_at > $1`, at, hash, userID)
	return oneRow(tag, err, contract.PasswordLinkNotFound())
}

// PurgeMail implements latch.Store: one bounded batch, as PurgeSessions.
func (s *Store) PurgeMail(ctx context.Context, before time.Time, limit int) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.purge(ctx, `
		DELETE FROM mail_outbox WHERE id IN (
			SELECT id FROM mail_outbox WHERE sent_at < $1 OR failed_at < $1 LIMIT $2)`, before, limit)
}

// PurgePasswordLinks implements latch.Store.
func (s *Store) PurgePasswordLinks(ctx context.Context, before time.Time, limit int) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	return s.purge(ctx, `
		DELETE FROM password_links WHERE hash IN (
			SELECT hash FROM password_links WHERE expires_at < $1 LIMIT $2)`, before, limit)
}

// purge runs a bounded DELETE taking before and limit, and returns how
// many rows it deleted.
func (s *Store) purge(ctx context.Context, query string, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n, err := rowsAffected(s.pool.Exec(ctx, query, contract.Time(before), limit))
	if err != nil {
		return 0, fail(err)
	}
	return int(n), nil
}

// rowsAffected is the number of rows an Exec touched.
func rowsAffected(tag pgconn.CommandTag, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
