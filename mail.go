package latch

import "time"

// Mail templates: what a message is. The mail package renders each from
// its data when it delivers.
const (
	MailSetPassword  = "set_password"  // a link to set a first password (seed 002)
	MailPasswordSet  = "password_set"  // "your password was set or changed"
	MailVerifyEmail  = "verify_email"  // sign-up: a link to verify the email and set a password (seed 003)
	MailSignupExists = "signup_exists" // sign-up for an email that has an account
	MailRecovery     = "recovery"      // a link to choose a new password
	// MailRecoveryCodeUsed: "a recovery code was used on your account".
	MailRecoveryCodeUsed = "recovery_code_used"
	// MailPasskeyAdded: "a passkey was added to your account".
	MailPasskeyAdded = "passkey_added"
	// MailFactorsReset: "an administrator removed your second factors".
	MailFactorsReset = "factors_reset"
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
