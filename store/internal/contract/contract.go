// Package contract holds what the storage backends must agree on beyond
// their SQL: the *latch.Error each failure becomes, the canonical form of
// ids, times and scopes. Both backends call it so that the conformance suite
// (store/storetest) cannot see which one it is talking to.
package contract

import (
	"crypto/subtle"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/latchid/latch"
)

// ID returns the canonical (lowercase, hyphenated) form of a UUID, or false
// if s is not one. Both backends compare ids in this form: Postgres's uuid
// type would accept "{...}" or upper case and reject "abc" with an error,
// while SQLite's text column would silently treat them as other ids.
func ID(s string) (string, bool) {
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// NewID returns a fresh UUIDv7: time-ordered, so ids generated together
// land near each other in a B-tree index.
func NewID() (string, error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", latch.Internal(err)
	}
	return u.String(), nil
}

// Time is the form in which every time is stored and returned: UTC, without
// a monotonic reading, truncated to the microsecond, which is what Postgres's
// timestamptz keeps. Truncating before the write (rather than letting each
// database round its own way) makes both backends return the same value.
func Time(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// TimePtr is Time for an optional time.
func TimePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := Time(*t)
	return &v
}

// Or returns t, or now if t is zero: callers are expected to pass the times
// they mean, but a forgotten CreatedAt should not become year 1.
func Or(t time.Time, now func() time.Time) time.Time {
	if t.IsZero() {
		return Time(now())
	}
	return Time(t)
}

// JoinScopes encodes scopes as one space-separated string. A scope holding
// whitespace (which RFC 6749 forbids anyway) would not survive the round
// trip, so it is refused rather than silently split.
func JoinScopes(scopes []string) (string, error) {
	for _, s := range scopes {
		if s == "" || strings.IndexFunc(s, unicode.IsSpace) >= 0 {
			return "", &latch.Error{
				Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Field: "scopes",
				Message: "a scope must be non-empty and hold no whitespace",
			}
		}
	}
	return strings.Join(scopes, " "), nil
}

// SplitScopes decodes JoinScopes' output. No scopes is nil, so a session
// read back compares equal to one created with nil Scopes.
func SplitScopes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// NotFound is the error for an absent row; what names it ("user").
func NotFound(what string) *latch.Error {
	return &latch.Error{Kind: latch.KindNotFound, Code: latch.CodeNotFound, Message: what + " not found"}
}

// Invalid is the error for an argument the store cannot represent.
func Invalid(field, message string) *latch.Error {
	return &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Field: field, Message: message}
}

// KeepSessions refuses a PasswordChange that would keep every session
// while replacing a password: only a first password may (see
// latch.PasswordChange.KeepSessions), and a replacement that left a thief's
// session alive would be the worst mistake to make silently.
func KeepSessions(pc latch.PasswordChange) error {
	if pc.KeepSessions && (pc.Overwrite || pc.PreviousHash != "") {
		return Invalid("keep_sessions", "only a first password keeps every session")
	}
	return nil
}

// EmailKey is the email_normalized of a new account: the canonical form
// of its address (latch.CanonicalEmail). An address without one is
// refused: only accounts stored before the canonical form existed may
// have one (their key is latch.LegacyEmailKey).
func EmailKey(email string) (string, error) {
	key, err := latch.CanonicalEmail(email)
	if err != nil {
		return "", &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidEmail, Field: "email", Message: "not a valid email address"}
	}
	return key, nil
}

// EmailTaken is CreateUser's error for a duplicate email.
func EmailTaken() *latch.Error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodeEmailTaken, Message: "email already registered"}
}

// IdentityTaken is CreateUser's error for a duplicate (issuer, subject).
func IdentityTaken() *latch.Error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodeIdentityTaken, Message: "identity already linked to an account"}
}

// ConcurrentUpdate is the error of a failed password compare-and-swap.
func ConcurrentUpdate() *latch.Error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodeConcurrentUpdate, Message: "password was changed concurrently"}
}

// AlreadyExists is the error for a duplicate caller-chosen key.
func AlreadyExists(what string) *latch.Error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodeAlreadyExists, Message: what + " already exists"}
}

// WithinReuse reports whether a refresh token used at used may be
// presented again at at, with reuse interval interval (0: never). The
// window is symmetric: a replica whose clock runs a little behind the one
// that rotated the token sees a negative age.
func WithinReuse(used, at time.Time, interval time.Duration) bool {
	age := at.Sub(used)
	return interval > 0 && age < interval && age > -interval
}

// RefreshTokenReused is RotateRefreshToken's error for a token presented a
// second time; the session has been revoked by then.
func RefreshTokenReused() *latch.Error {
	return &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeRefreshTokenReused, Message: "refresh token already used; session revoked"}
}

// AuthorizationCodeReused is RedeemAppCode's error for a code redeemed a
// second time; the grant session made from it has been revoked by then.
func AuthorizationCodeReused() *latch.Error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodeAuthorizationCodeReused, Message: "authorization code already used; its grant revoked"}
}

// SessionEnded is RotateRefreshToken's error for a token whose session is
// revoked or expired.
func SessionEnded() *latch.Error {
	return &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "session has ended"}
}

// Wrap is Fail with only the causes every backend shares: for the few
// paths that do not know their backend's own (see Fail).
func Wrap(err error) error { return Fail(err, nil) }

// NewUser returns nu in the form the backends store: ids canonical (the
// user's generated if empty), the default tenant filled in, times truncated
// and defaulted, the identity tied to the user, the mail (if any) in
// MailMessage's form, created with the user. A malformed id is Invalid:
// it is the caller's mistake, not a missing row.
func NewUser(nu latch.NewUser, now func() time.Time) (latch.NewUser, error) {
	u := nu.User
	if u.ID == "" {
		id, err := NewID()
		if err != nil {
			return nu, err
		}
		u.ID = id
	} else if id, ok := ID(u.ID); ok {
		u.ID = id
	} else {
		return nu, Invalid("id", "user id must be a UUID")
	}
	if u.TenantID == "" {
		u.TenantID = latch.DefaultTenantID
	} else if id, ok := ID(u.TenantID); ok {
		u.TenantID = id
	} else {
		return nu, Invalid("tenant_id", "tenant id must be a UUID")
	}
	if _, err := EmailKey(u.Email); err != nil {
		return nu, err
	}
	u.Number = 0 // assigned by the database
	var err error
	if u, err = Verification(u); err != nil {
		return nu, err
	}
	u.CreatedAt = Or(u.CreatedAt, now)
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	} else {
		u.UpdatedAt = Time(u.UpdatedAt)
	}
	audit, err := AuditPtr(nu.Audit, now)
	if err != nil {
		return nu, err
	}
	mail, err := MailPtr(nu.Mail, u.CreatedAt, now)
	if err != nil {
		return nu, err
	}
	out := latch.NewUser{User: u, PasswordHash: nu.PasswordHash, Audit: audit, Mail: mail,
		// Without a password there is nothing to change.
		MustChangePassword: nu.MustChangePassword && nu.PasswordHash != ""}
	if nu.Identity != nil {
		ident := *nu.Identity
		if ident.ID == "" {
			id, err := NewID()
			if err != nil {
				return nu, err
			}
			ident.ID = id
		} else if id, ok := ID(ident.ID); ok {
			ident.ID = id
		} else {
			return nu, Invalid("identity.id", "identity id must be a UUID")
		}
		ident.UserID = u.ID
		if ident.Issuer == "" || ident.Subject == "" || ident.Provider == "" {
			return nu, Invalid("identity", "an identity needs a provider type, an issuer and a subject")
		}
		if ident.CreatedAt.IsZero() {
			ident.CreatedAt = u.CreatedAt
		} else {
			ident.CreatedAt = Time(ident.CreatedAt)
		}
		out.Identity = &ident
	}
	return out, nil
}

// Verification makes u.Verified and u.VerifiedBy agree: a user marked
// verified without saying by whom was asserted verified (nobody proved
// anything), and one with a VerifiedBy is verified.
func Verification(u latch.User) (latch.User, error) {
	if _, ok := latch.ParseEmailVerification(string(u.VerifiedBy)); !ok {
		return u, Invalid("verified_by", "unknown email verification")
	}
	switch {
	case u.VerifiedBy != latch.EmailUnverified:
		u.Verified = true
	case u.Verified:
		u.VerifiedBy = latch.EmailAsserted
	}
	return u, nil
}

// Identity returns ident in the form the backends store: ids canonical (the
// identity's generated if empty), the time truncated and defaulted. A
// malformed user id is NotFound, like any user that does not exist.
func Identity(ident latch.Identity, now func() time.Time) (latch.Identity, error) {
	if ident.ID == "" {
		id, err := NewID()
		if err != nil {
			return ident, err
		}
		ident.ID = id
	} else if id, ok := ID(ident.ID); ok {
		ident.ID = id
	} else {
		return ident, Invalid("id", "identity id must be a UUID")
	}
	userID, ok := ID(ident.UserID)
	if !ok {
		return ident, NotFound("user")
	}
	ident.UserID = userID
	if ident.Provider == "" || ident.Issuer == "" || ident.Subject == "" {
		return ident, Invalid("subject", "an identity needs a provider type, an issuer and a subject")
	}
	ident.CreatedAt = Or(ident.CreatedAt, now)
	return ident, nil
}

// ClaimRefused is ClaimUnfinishedUser's error for an account that is no
// longer unfinished (verified, with a password or an identity, or an
// administrator).
func ClaimRefused() *latch.Error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodeConcurrentUpdate, Message: "the account is no longer an unfinished sign-up"}
}

// LastSignInMethod refuses to remove a user's only way to sign in.
func LastSignInMethod() *latch.Error {
	return &latch.Error{Kind: latch.KindConflict, Code: latch.CodeLastSignInMethod, Message: "this is the account's only way to sign in"}
}

// RefreshVerdict is what a presented refresh token that did not rotate
// is (see latch.SessionStore.RotateRefreshToken).
type RefreshVerdict int

const (
	// RefreshUnknown: not a token of the chain as far as can be told
	// (newer than the current one, or forged): NotFound, nothing written.
	RefreshUnknown RefreshVerdict = iota
	// RefreshAgain: the current token's predecessor again, within the
	// reuse interval, rotated into exactly the current token: the session,
	// nothing written.
	RefreshAgain
	// RefreshReused: a proven older token of the chain: revoke.
	RefreshReused
)

// ClassifyRefresh decides what r is, given the chain of its live session
// at at: the current generation, its hash and when it was rotated to.
func ClassifyRefresh(r latch.RefreshRotation, current int64, currentHash []byte, rotatedAt, at time.Time) RefreshVerdict {
	if r.Generation >= current {
		return RefreshUnknown
	}
	if r.Generation == current-1 && WithinReuse(rotatedAt, at, r.ReuseInterval) &&
		subtle.ConstantTimeCompare(r.NextHash, currentHash) == 1 {
		return RefreshAgain
	}
	if r.Descends != nil && r.Descends(current, currentHash) {
		return RefreshReused
	}
	return RefreshUnknown
}

// RefreshRotation checks r's fields (a malformed one is NotFound, as an
// unknown token, except an empty NextHash, the caller's mistake) and
// returns the session id canonical.
func RefreshRotation(r latch.RefreshRotation) (string, error) {
	id, ok := ID(r.SessionID)
	if !ok || len(r.Hash) == 0 || r.Generation < 0 {
		return "", NotFound("refresh token")
	}
	if len(r.NextHash) == 0 {
		return "", Invalid("refresh_token", "new refresh token hash is empty")
	}
	return id, nil
}

// SessionRow is what a session's insert takes from a NewSession, checked
// and in the stores' forms: CreateSession and RedeemAppCode both store
// one, in either backend.
type SessionRow struct {
	ID, UserID string
	Scopes     string // JoinScopes
	CreatedAt  time.Time
	Audit      *latch.AuditEvent
}

// CheckNewSession checks ns's session for an insert: a malformed session
// id is Invalid, a malformed user id NotFound (no such user), and the
// scopes and the audit event as JoinScopes and AuditPtr check them.
func CheckNewSession(ns latch.NewSession, now func() time.Time) (SessionRow, error) {
	id, ok := ID(ns.Session.ID)
	if !ok {
		return SessionRow{}, Invalid("id", "session id must be a UUID")
	}
	userID, ok := ID(ns.Session.UserID)
	if !ok {
		return SessionRow{}, NotFound("user")
	}
	scopes, err := JoinScopes(ns.Session.Scopes)
	if err != nil {
		return SessionRow{}, err
	}
	audit, err := AuditPtr(ns.Audit, now)
	if err != nil {
		return SessionRow{}, err
	}
	return SessionRow{ID: id, UserID: userID, Scopes: scopes, CreatedAt: Or(ns.Session.CreatedAt, now), Audit: audit}, nil
}
