package account

// What the use cases tell an operator's metrics: sign-ins by outcome,
// refreshes, sessions started and ended, mail put in the outbox. The
// service calls an Observer (Config.Observer); package metrics implements
// it, and this package knows nothing of how it counts.

import (
	"errors"
	"time"

	"github.com/latchid/latch"
)

// Observer is told what the use cases did. Its methods run on the
// request's path: they must be quick and must not block. The strings it
// is given come from the constants below or from a bounded set of the
// domain's (token kinds, mail templates), never from a request, so that
// a metric labelled with them stays small.
type Observer interface {
	// Login: one sign-in ended; method is LoginPassword, LoginProvider
	// or LoginClient, result one of the Result constants.
	Login(method, result string)
	// Refresh: one exchange of a user's refresh token ended with result.
	Refresh(result string)
	// SessionCreated: a session of kind (latch.TokenKind) started.
	SessionCreated(kind string)
	// SessionsRevoked: n sessions were ended before their time, for
	// reason (one of the Revoked constants).
	SessionsRevoked(reason string, n int)
	// MailQueued: a message of template was put in the outbox.
	MailQueued(template string)
	// SessionChangeDelay: a session change reached this replica d after
	// the database wrote it (see latch.SessionChangeFeed).
	SessionChangeDelay(d time.Duration)
	// SessionChangeFeed: the session change feed is up (sessions are
	// kept in memory) or down (every request reads the store).
	SessionChangeFeed(up bool)
}

// Sign-in methods.
const (
	LoginPassword = "password" // Login, AuthenticatePassword (the sign-in page)
	LoginProvider = "provider" // SignInWithIdentity
	LoginClient   = "client"   // IssueClientToken (an API client's secret)
	LoginMFA      = "mfa"      // CompleteMFA (the factor step of a sign-in)
)

// Results of a sign-in or a refresh.
const (
	ResultSuccess = "success"
	// ResultFailure: wrong or unknown credentials, an invalid or reused
	// token, a provider identity that may not sign in.
	ResultFailure = "failure"
	// ResultInactive: the credentials were right, the account is
	// deactivated.
	ResultInactive = "inactive"
	// ResultChangeRequired: the credentials were right and only a
	// password-change token was handed out.
	ResultChangeRequired = "password_change_required"
	// ResultMFARequired: the first factor was right and only the pending
	// session of the factor step (or of enrolling one) was handed out.
	ResultMFARequired = "mfa_required"
	// ResultLimited: refused by a rate limit or the per-account cap.
	ResultLimited = "limited"
	// ResultInvalid: a request missing what it needs.
	ResultInvalid = "invalid"
	// ResultUnavailable: the database, the limiter or the password
	// hasher could not serve (overload included), or the caller left.
	ResultUnavailable = "unavailable"
	// ResultError: an internal error.
	ResultError = "error"
	// ResultReused: a refresh token presented again after its reuse
	// interval: the session is revoked.
	ResultReused = "reused"
)

// Reasons sessions are revoked. Sessions ended by a password change or a
// deactivation are not counted: the store ends them in the change's own
// transaction without counting them.
const (
	RevokedLogout       = "logout"
	RevokedAdmin        = "admin"
	RevokedRefreshReuse = "refresh_reuse"
	// RevokedByApp: an app revoked one of its grants (RFC 7009).
	RevokedByApp = "app"
	// RevokedCodeReplay: an app's authorization code was redeemed again,
	// and the grant the first redemption made is revoked.
	RevokedCodeReplay = "code_replay"
)

// result classifies the error a sign-in or a refresh ended with.
func result(err error) string {
	if err == nil {
		return ResultSuccess
	}
	var le *latch.Error
	if !errors.As(err, &le) {
		return ResultError
	}
	switch {
	case le.Code == latch.CodePasswordChangeRequired:
		return ResultChangeRequired
	case le.Code == latch.CodeMFARequired || le.Code == latch.CodeMFAEnrolmentRequired:
		return ResultMFARequired
	case le.Code == latch.CodeAccountInactive:
		return ResultInactive
	case le.Code == latch.CodeRefreshTokenReused:
		return ResultReused
	}
	switch le.Kind {
	case latch.KindTooMany:
		return ResultLimited
	case latch.KindUnavailable:
		return ResultUnavailable
	case latch.KindInvalid:
		return ResultInvalid
	case latch.KindUnauthenticated, latch.KindForbidden, latch.KindConflict, latch.KindNotFound:
		return ResultFailure
	}
	return ResultError
}

// unobserved is the Observer of a Service given none.
type unobserved struct{}

func (unobserved) Login(string, string)             {}
func (unobserved) Refresh(string)                   {}
func (unobserved) SessionCreated(string)            {}
func (unobserved) SessionsRevoked(string, int)      {}
func (unobserved) MailQueued(string)                {}
func (unobserved) SessionChangeDelay(time.Duration) {}
func (unobserved) SessionChangeFeed(bool)           {}

// mailQueued tells the observer and the delivery worker that m (nil: no
// message, mail is off) is in the outbox.
func (s *Service) mailQueued(m *latch.MailMessage) {
	if m == nil {
		return
	}
	s.cfg.Observer.MailQueued(m.Template)
	s.cfg.MailQueued()
}
