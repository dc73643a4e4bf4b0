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

// This file holds latch.FactorStore: second factors and recovery codes.

const factorColumns = `id, user_id, kind, name, secret, created_at, confirmed_at, last_used_at, last_step`

func scanFactor(row scanner) (latch.Factor, error) {
	var f latch.Factor
	var kind string
	var created int64
	var confirmed, used sql.NullInt64
	if err := row.Scan(&f.ID, &f.UserID, &kind, &f.Name, &f.Secret, &created, &confirmed, &used, &f.LastStep); err != nil {
		return latch.Factor{}, err
	}
	f.Kind = latch.FactorKind(kind)
	f.CreatedAt, f.ConfirmedAt, f.LastUsedAt = fromMicros(created), fromNullMicros(confirmed), fromNullMicros(used)
	return f, nil
}

// CreateFactor implements latch.Store.
func (s *Store) CreateFactor(ctx context.Context, f latch.Factor, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	f, err := contract.Factor(f, s.now)
	if err != nil {
		return err
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO factors (`+factorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			f.ID, f.UserID, string(f.Kind), f.Name, f.Secret, micros(f.CreatedAt),
			microsPtr(f.ConfirmedAt), microsPtr(f.LastUsedAt), f.LastStep)
		if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
			return contract.NotFound("user")
		}
		if err := oneRow(res, err, contract.AlreadyExists("factor")); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// FactorsByUser implements latch.Store. factors_user_id serves it.
func (s *Store) FactorsByUser(ctx context.Context, userID string) ([]latch.Factor, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok {
		return nil, nil
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT `+factorColumns+` FROM factors
		WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fail(err)
	}
	return collect(rows, scanFactor)
}

// FactorByID implements latch.Store.
func (s *Store) FactorByID(ctx context.Context, id string) (latch.Factor, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return latch.Factor{}, contract.NotFound("factor")
	}
	f, err := scanFactor(s.reader.QueryRowContext(ctx, `SELECT `+factorColumns+` FROM factors WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return latch.Factor{}, contract.NotFound("factor")
	}
	if err != nil {
		return latch.Factor{}, fail(err)
	}
	return f, nil
}

// factorExists tells an unknown factor (NotFound) from one a conditional
// update did not match (ifThere).
func factorExists(ctx context.Context, tx *sql.Tx, id string, ifThere error) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM factors WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return contract.NotFound("factor")
	}
	if err != nil {
		return err
	}
	return ifThere
}

// ConfirmFactor implements latch.Store.
func (s *Store) ConfirmFactor(ctx context.Context, id string, step int64, at time.Time, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return contract.NotFound("factor")
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	at = contract.Or(at, s.now)
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE factors SET confirmed_at = ?, last_used_at = ?, last_step = max(last_step, ?)
			WHERE id = ? AND confirmed_at IS NULL`, micros(at), micros(at), step, id)
		if err := oneRow(res, err, nil); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return factorExists(ctx, tx, id, contract.FactorConfirmed())
		}
		return appendAudit(ctx, tx, ev)
	})
}

// DeleteFactor implements latch.Store.
func (s *Store) DeleteFactor(ctx context.Context, userID, id string, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, okUser := contract.ID(userID)
	id, ok := contract.ID(id)
	if !ok || !okUser {
		return contract.NotFound("factor")
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM factors WHERE id = ? AND user_id = ?`, id, userID)
		if err := oneRow(res, err, contract.NotFound("factor")); err != nil {
			return err
		}
		return appendAudit(ctx, tx, ev)
	})
}

// UseTOTPStep implements latch.Store: one conditional update.
func (s *Store) UseTOTPStep(ctx context.Context, id string, step int64, at time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return contract.NotFound("factor")
	}
	at = contract.Or(at, s.now)
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE factors SET last_step = ?, last_used_at = ?
			WHERE id = ? AND confirmed_at IS NOT NULL AND last_step < ?`, step, micros(at), id, step)
		if err := oneRow(res, err, nil); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return factorExists(ctx, tx, id, contract.FactorStepUsed())
		}
		return nil
	})
}

// ReplaceRecoveryCodes implements latch.Store.
func (s *Store) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte, at time.Time, audit *latch.AuditEvent) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok {
		return contract.NotFound("user")
	}
	if err := contract.RecoveryHashes(hashes); err != nil {
		return err
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	at = contract.Or(at, s.now)
	return s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return contract.NotFound("user")
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash, created_at) VALUES (?, ?, ?)`,
				userID, h, micros(at)); err != nil {
				return err
			}
		}
		return appendAudit(ctx, tx, ev)
	})
}

// UseRecoveryCode implements latch.Store: one conditional update.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte, at time.Time, audit *latch.AuditEvent, notice *latch.MailMessage) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok || len(hash) == 0 {
		return contract.NotFound("recovery code")
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return err
	}
	mail, err := contract.MailPtr(notice, at, s.now)
	if err != nil {
		return err
	}
	at = contract.Or(at, s.now)
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recovery_codes SET used_at = ?
			WHERE user_id = ? AND hash = ? AND used_at IS NULL`, micros(at), userID, hash)
		if err := oneRow(res, err, contract.NotFound("recovery code")); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		return insertMail(ctx, tx, mail)
	})
}

// RecoveryCodes implements latch.Store.
func (s *Store) RecoveryCodes(ctx context.Context, userID string) ([]latch.RecoveryCode, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok {
		return nil, nil
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT user_id, hash, created_at, used_at FROM recovery_codes WHERE user_id = ?`, userID)
	if err != nil {
		return nil, fail(err)
	}
	return collect(rows, func(row scanner) (latch.RecoveryCode, error) {
		var c latch.RecoveryCode
		var created int64
		var used sql.NullInt64
		if err := row.Scan(&c.UserID, &c.Hash, &created, &used); err != nil {
			return latch.RecoveryCode{}, err
		}
		c.CreatedAt, c.UsedAt = fromMicros(created), fromNullMicros(used)
		return c, nil
	})
}

// ResetFactors implements latch.Store.
func (s *Store) ResetFactors(ctx context.Context, userID string, audit *latch.AuditEvent, notice *latch.MailMessage) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	userID, ok := contract.ID(userID)
	if !ok {
		return 0, contract.NotFound("user")
	}
	ev, err := contract.AuditPtr(audit, s.now)
	if err != nil {
		return 0, err
	}
	mail, err := contract.MailPtr(notice, time.Time{}, s.now)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return contract.NotFound("user")
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM factors WHERE user_id = ?`, userID)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		if err := appendAudit(ctx, tx, ev); err != nil {
			return err
		}
		return insertMail(ctx, tx, mail)
	})
	return int(n), err
}
