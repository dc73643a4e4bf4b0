package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchid/latch"
	"github.com/latchid/latch/store/internal/contract"
)

// This file holds latch.FactorStore: second factors and recovery codes.

const factorColumns = `id, user_id, kind, name, secret, created_at, confirmed_at, last_used_at, last_step,
	credential_id, public_key, attestation_type, aaguid, sign_count, transports, backup_eligible, backup_state, user_handle`

func scanFactor(row scanner) (latch.Factor, error) {
	var f latch.Factor
	var kind, transports string
	var created, signCount int64
	var confirmed, used sql.NullInt64
	if err := row.Scan(&f.ID, &f.UserID, &kind, &f.Name, &f.Secret, &created, &confirmed, &used, &f.LastStep,
		&f.CredentialID, &f.PublicKey, &f.AttestationType, &f.AAGUID, &signCount, &transports, &f.BackupEligible, &f.BackupState, &f.UserHandle); err != nil {
		return latch.Factor{}, err
	}
	f.Kind = latch.FactorKind(kind)
	f.SignCount = uint32(signCount)
	if transports != "" {
		f.Transports = strings.Split(transports, ",")
	}
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
			INSERT INTO factors (`+factorColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`,
			f.ID, f.UserID, string(f.Kind), f.Name, f.Secret, micros(f.CreatedAt),
			microsPtr(f.ConfirmedAt), microsPtr(f.LastUsedAt), f.LastStep,
			nilIfEmpty(f.CredentialID), nilIfEmpty(f.PublicKey), f.AttestationType, nilIfEmpty(f.AAGUID), int64(f.SignCount),
			strings.Join(f.Transports, ","), f.BackupEligible, f.BackupState, nilIfEmpty(f.UserHandle))
		if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
			return contract.NotFound("user")
		}
		if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE {
			return contract.AlreadyExists("passkey")
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

// nilIfEmpty stores an empty byte slice as NULL (the unique credential_id
// index then ignores the factors that are not passkeys).
func nilIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// FactorByCredentialID implements latch.Store. factors_credential_id
// serves it.
func (s *Store) FactorByCredentialID(ctx context.Context, credentialID []byte) (latch.Factor, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if len(credentialID) == 0 || len(credentialID) > contract.MaxCredentialID {
		return latch.Factor{}, contract.NotFound("passkey")
	}
	f, err := scanFactor(s.reader.QueryRowContext(ctx, `SELECT `+factorColumns+` FROM factors
		WHERE credential_id = ? AND kind = 'webauthn'`, credentialID))
	if errors.Is(err, sql.ErrNoRows) {
		return latch.Factor{}, contract.NotFound("passkey")
	}
	if err != nil {
		return latch.Factor{}, fail(err)
	}
	return f, nil
}

// UpdatePasskeyUse implements latch.Store: one conditional update.
func (s *Store) UpdatePasskeyUse(ctx context.Context, id string, signCount uint32, backupState bool, at time.Time) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	id, ok := contract.ID(id)
	if !ok {
		return contract.NotFound("passkey")
	}
	at = contract.Or(at, s.now)
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE factors SET sign_count = ?1, backup_state = ?2, last_used_at = ?3
			WHERE id = ?4 AND kind = 'webauthn' AND confirmed_at IS NOT NULL
			  AND (sign_count < ?1 OR (sign_count = 0 AND ?1 = 0))`, int64(signCount), backupState, micros(at), id)
		if err := oneRow(res, err, nil); err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n > 0 {
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM factors WHERE id = ? AND kind = 'webauthn' AND confirmed_at IS NOT NULL`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return contract.NotFound("passkey")
		}
		if err != nil {
			return err
		}
		return contract.PasskeyCounter()
	})
}

// CreateWebAuthnChallenge implements latch.Store.
func (s *Store) CreateWebAuthnChallenge(ctx context.Context, c latch.WebAuthnChallenge) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	c, err := contract.WebAuthnChallenge(c, s.now)
	if err != nil {
		return err
	}
	var userID any
	if c.UserID != "" {
		userID = c.UserID
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			INSERT INTO webauthn_challenges (hash, purpose, user_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (hash) DO NOTHING`, c.Hash, c.Purpose, userID, micros(c.CreatedAt), micros(c.ExpiresAt))
		if sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
			return contract.NotFound("user")
		}
		return oneRow(res, err, contract.AlreadyExists("challenge"))
	})
}

// ConsumeWebAuthnChallenge implements latch.Store: one UPDATE marks the
// challenge used only if it is unused, unexpired and of purpose, so two
// answers cannot both succeed.
func (s *Store) ConsumeWebAuthnChallenge(ctx context.Context, hash []byte, purpose string, at time.Time) (latch.WebAuthnChallenge, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if len(hash) == 0 {
		return latch.WebAuthnChallenge{}, contract.NotFound("challenge")
	}
	at = contract.Or(at, s.now)
	var c latch.WebAuthnChallenge
	var userID sql.NullString
	var created, expires int64
	var used sql.NullInt64
	err := s.writer.QueryRowContext(ctx, `
		UPDATE webauthn_challenges SET used_at = ?1
		WHERE hash = ?2 AND purpose = ?3 AND used_at IS NULL AND expires_at > ?1
		RETURNING hash, purpose, user_id, created_at, expires_at, used_at`,
		micros(at), hash, purpose).Scan(&c.Hash, &c.Purpose, &userID, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return latch.WebAuthnChallenge{}, contract.NotFound("challenge")
	}
	if err != nil {
		return latch.WebAuthnChallenge{}, fail(err)
	}
	c.UserID = userID.String
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return c, nil
}

// PurgeWebAuthnChallenges implements latch.Store.
func (s *Store) PurgeWebAuthnChallenges(ctx context.Context, before time.Time, limit int) (int, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if limit <= 0 {
		return 0, nil
	}
	res, err := s.writer.ExecContext(ctx, `
		DELETE FROM webauthn_challenges WHERE hash IN (
			SELECT hash FROM webauthn_challenges WHERE expires_at < ? LIMIT ?)`, micros(before), limit)
	if err != nil {
		return 0, fail(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fail(err)
	}
	return int(n), nil
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
