package contract

import (
	"time"
	"unicode/utf8"

	"github.com/latchid/latch"
)

// MaxLastError is the most bytes of a delivery error a message keeps: an
// SMTP server's answer is the caller's to log, the outbox only needs a
// reminder of it.
const MaxLastError = 1000

// MailMessage returns m in the form the backends enqueue it: the id
// canonical (generated if empty), the times truncated and defaulted
// (CreatedAt to now, NextAttemptAt to CreatedAt), an empty Data as nil,
// and the delivery state of a new message (no attempts, neither sent nor
// failed, no error), whatever m said.
func MailMessage(m latch.MailMessage, now func() time.Time) (latch.MailMessage, error) {
	if m.ID == "" {
		id, err := NewID()
		if err != nil {
			return m, err
		}
		m.ID = id
	} else if id, ok := ID(m.ID); ok {
		m.ID = id
	} else {
		return m, Invalid("id", "mail message id must be a UUID")
	}
	if m.To == "" || !Text(m.To) {
		return m, Invalid("to", "a message needs a recipient, in UTF-8 text")
	}
	if m.Template == "" || !Text(m.Template) {
		return m, Invalid("template", "a message needs a template, in UTF-8 text")
	}
	if len(m.Data) == 0 {
		m.Data = nil
	}
	m.CreatedAt = Or(m.CreatedAt, now)
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	} else {
		m.NextAttemptAt = Time(m.NextAttemptAt)
	}
	m.Attempts, m.SentAt, m.FailedAt, m.LastError = 0, nil, nil, ""
	return m, nil
}

// MailPtr is MailMessage for the optional message a change carries. A zero
// CreatedAt becomes created, the time of the change, rather than the time
// of the call.
func MailPtr(m *latch.MailMessage, created time.Time, now func() time.Time) (*latch.MailMessage, error) {
	if m == nil {
		return nil, nil
	}
	v := *m
	if v.CreatedAt.IsZero() && !created.IsZero() {
		v.CreatedAt = created
	}
	v, err := MailMessage(v, now)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// LastError returns a delivery error in the form the backends keep it:
// Text (what is not is replaced, as in audit events: recording a failure
// must not fail), and at most MaxLastError bytes, cut between characters.
func LastError(s string) string {
	s = sanitize(s)
	if len(s) <= MaxLastError {
		return s
	}
	i := MaxLastError
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i]
}

// Lease returns the time a claimed message may be taken again. A lease
// that is not positive would hand the message to the next worker at once.
func Lease(now time.Time, lease time.Duration) (time.Time, error) {
	if lease <= 0 {
		return time.Time{}, Invalid("lease", "the lease must be positive")
	}
	return Time(now.Add(lease)), nil
}

// ClaimLimit bounds the batch ClaimMail hands out: at most MaxLimit.
func ClaimLimit(n int) int { return min(n, MaxLimit) }

// PasswordLink returns l in the form the backends store: the user id
// canonical, the times truncated (CreatedAt defaulted), and unused (a link
// is created live). A malformed user id is NotFound, like any user that
// does not exist.
func PasswordLink(l latch.PasswordLink, now func() time.Time) (latch.PasswordLink, error) {
	if len(l.Hash) == 0 {
		return l, Invalid("hash", "password link hash is empty")
	}
	if l.Purpose == "" || !Text(l.Purpose) {
		return l, Invalid("purpose", "a password link needs a purpose, in UTF-8 text")
	}
	if l.ExpiresAt.IsZero() {
		return l, Invalid("expires_at", "a password link needs an expiry")
	}
	userID, ok := ID(l.UserID)
	if !ok {
		return l, NotFound("user")
	}
	l.UserID = userID
	l.CreatedAt = Or(l.CreatedAt, now)
	l.ExpiresAt = Time(l.ExpiresAt)
	l.UsedAt = nil
	return l, nil
}

// PasswordLinkNotFound is the error for a link that is unknown, used,
// expired or someone else's: the caller cannot tell which.
func PasswordLinkNotFound() *latch.Error { return NotFound("password link") }
