package latch

import (
	"context"
	"time"
)

// Mail templates: what a message is. The mail package renders each from
// its data when it delivers.
const (
	MailSetPassword  = "set_password"  // a link to set a first password (seed 002)
	MailPasswordSet  = "password_set"  // "your password was set or changed"
	MailVerifyEmail  = "verify_email"  // sign-up: a link to verify the email and set a password (seed 003)
	MailSignupExists = "signup_exists" // sign-up for an email that has an account
	MailRecovery     = "recovery"      // a link to choose a new password
)

// MailMessage is one email in the durable outbox. Data (the template's
// values, which may hold a link token) is sealed by the caller, so the
// database never holds a link in clear, and is erased once the message is
// sent.
type MailMessage struct {
	ID            string // UUIDv7
	To            string
	Template      string
	Data          []byte // sealed; nil once sent
	CreatedAt     time.Time
	Attempts      int
	NextAttemptAt time.Time
	SentAt        *time.Time
	FailedAt      *time.Time // given up
	LastError     string
}

// MailStatus says where a message is.
func (m MailMessage) Status() string {
	switch {
	case m.SentAt != nil:
		return "sent"
	case m.FailedAt != nil:
		return "failed"
	}
	return "pending"
}

// Link purposes.
const (
	LinkSetPassword = "set_password" // seed 002: first password for an account without one
	LinkRecovery    = "recovery"     // a forgotten password
)

// PasswordLink is a single-use link that lets whoever holds it set the
// password of UserID. Only the SHA-256 of its token is stored.
type PasswordLink struct {
	Hash      []byte
	UserID    string
	Purpose   string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time // used, or superseded by a newer link
}

// Live reports whether the link may still be used at now.
func (l PasswordLink) Live(now time.Time) bool {
	return l.UsedAt == nil && now.Before(l.ExpiresAt)
}

// MailStore is the outbox and the password links.
type MailStore interface {
	// EnqueueMail adds a message to the outbox (NextAttemptAt zero: now).
	EnqueueMail(ctx context.Context, m MailMessage) error
	// ClaimMail returns up to limit messages due at now (not sent, not
	// failed, NextAttemptAt <= now), oldest first, and pushes their
	// NextAttemptAt to now+lease and Attempts up by one in the same
	// transaction, so that another worker (another replica) does not take
	// them while this one delivers. A crash mid-delivery leaves the
	// message to be taken again once the lease ends.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]MailMessage, error)
	// MarkMailSent records delivery and erases Data.
	MarkMailSent(ctx context.Context, id string, at time.Time) error
	// MarkMailFailed records a failed attempt: retry at retryAt, or, when
	// giveUp, mark the message failed for good (Data erased).
	MarkMailFailed(ctx context.Context, id, lastError string, retryAt time.Time, giveUp bool, at time.Time) error
	// MailMessages lists the outbox, newest first.
	MailMessages(ctx context.Context, limit int) ([]MailMessage, error)

	// CreatePasswordLink stores l, marks every live link of the same user
	// and purpose used (a new link invalidates the older ones, whatever
	// their times say: requests for one user are serialized, and the last
	// one wins) and enqueues m, in one transaction.
	CreatePasswordLink(ctx context.Context, l PasswordLink, m MailMessage) error
	// PasswordLink returns the link with hash (live or not), or NotFound.
	PasswordLink(ctx context.Context, hash []byte) (PasswordLink, error)

	// PurgeMail deletes at most limit messages sent or failed before
	// before; PurgePasswordLinks at most limit links that expired before
	// before. Both return how many they deleted.
	PurgeMail(ctx context.Context, before time.Time, limit int) (int, error)
	PurgePasswordLinks(ctx context.Context, before time.Time, limit int) (int, error)
}
