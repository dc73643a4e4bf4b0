package account

// Rate limits of the use cases: the keys they count by (an address, an
// account's digested email), the per-account cap and its known addresses,
// and limit, the one way a use case asks the limiter.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/ratelimit"
)

// addressKey is what the per-address limits count for a client address:
// the address for IPv4, its network (IPv6Prefix bits) for IPv6. Every
// limit keyed by a client address goes through it.
func (s *Service) addressKey(ip string) string {
	return ratelimit.AddressKey(ip, s.cfg.IPv6Prefix)
}

// emailLimitKey is what every limit key built from an email holds in its
// place: a digest of the address the lookup uses (latch.EmailLookupKey), so
// every spelling of one account's address shares its limits. A digest has
// a fixed size: an email can be as long as the request body, and the
// limiter would keep it for as long as the key lives (an hour or more, in
// memory or in Redis); and the limiter holds no address in clear. The
// label keeps these digests apart from any other SHA-256 of an address.
func emailLimitKey(email string) string {
	h := sha256.New()
	h.Write([]byte("latch limit email\x00"))
	h.Write([]byte(latch.EmailLookupKey(email)))
	return hex.EncodeToString(h.Sum(nil))
}

// accountFailuresKey is the limit key of the per-account cap for an email
// digest (emailLimitKey): an email, not an account id, so that it holds
// alike for emails that have no account.
func accountFailuresKey(emailKey string) string { return "login-account-failures:" + emailKey }

// knownAddressTTL is how long a client address stays known for an account
// after it last proved itself there: about a month, so that a person's
// home or office stays known between sign-ins.
const knownAddressTTL = 30 * 24 * time.Hour

// knownAddressKey is the mark of a client address (addressKey) known for
// an email digest (emailLimitKey).
func knownAddressKey(emailKey, client string) string {
	return "login-known:" + emailKey + "|" + client
}

// rememberAddress marks the client address (addressKey) as known for the
// account with email, for knownAddressTTL: the account signed in from it,
// or someone there completed a link sent to the account's email, or
// changed its password knowing the current one. An unknown address ("")
// is never marked: it would name every client whose address is unknown.
func (s *Service) rememberAddress(ctx context.Context, email, client string) {
	if !s.cfg.LoginPerAccount.Enabled() || client == "" {
		return
	}
	if err := s.limiter.Mark(ctx, knownAddressKey(emailLimitKey(email), client), knownAddressTTL); err != nil {
		s.log.ErrorContext(ctx, "rate limiter unavailable; address not remembered", "err", err)
	}
}

// knownAddress reports whether client is known for the account with the
// email digest emailKey (see rememberAddress).
func (s *Service) knownAddress(ctx context.Context, emailKey, client string) bool {
	if client == "" {
		return false
	}
	known, err := s.limiter.Marked(ctx, knownAddressKey(emailKey, client))
	if err != nil {
		s.log.ErrorContext(ctx, "rate limiter unavailable; address taken as unknown", "err", err)
		return false
	}
	return known
}

// resetAccountFailures starts the per-account count of consecutive
// failures again, after the account proved itself: a sign-in, or a new
// password (which ends any guessing of the old one).
func (s *Service) resetAccountFailures(ctx context.Context, email string) {
	if !s.cfg.LoginPerAccount.Enabled() {
		return
	}
	if err := s.limiter.Reset(ctx, accountFailuresKey(emailLimitKey(email))); err != nil {
		s.log.ErrorContext(ctx, "rate limiter unavailable; failure count not reset", "err", err)
	}
}

// CodeLimiterUnavailable: the rate limiter could not decide, so the request
// was refused rather than let through.
const CodeLimiterUnavailable = "limiter_unavailable"

// limit applies rule to key with cost (0: only ask). A limiter that fails
// refuses the request (Unavailable, try again shortly): letting it through
// would turn brute-force protection off whenever the limiter is down,
// which an attacker may be able to arrange. Latch's limiter falls back to
// the process when Redis fails (ratelimit.Fallback), so this refusal is
// only for a limiter without such a fallback.
func (s *Service) limit(ctx context.Context, key string, rule ratelimit.Rule, cost int) error {
	if !rule.Enabled() {
		return nil
	}
	d, err := s.limiter.Allow(ctx, key, rule, cost)
	if err != nil {
		return &latch.Error{Kind: latch.KindUnavailable, Code: CodeLimiterUnavailable,
			Message: "rate limits cannot be checked right now; try again shortly", RetryAfter: time.Second, Err: err}
	}
	if !d.Allowed {
		return &latch.Error{Kind: latch.KindTooMany, Code: latch.CodeRateLimited, Message: "too many attempts; try again later", RetryAfter: d.RetryAfter}
	}
	return nil
}

// limitMail applies the per-account and per-address mail limits.
func (s *Service) limitMail(ctx context.Context, userID string) error {
	if err := s.limit(ctx, "mail-ip:"+s.addressKey(latch.ClientIP(ctx)), s.cfg.MailPerIP, 1); err != nil {
		return err
	}
	if userID == "" {
		return nil
	}
	return s.limit(ctx, "mail-account:"+userID, s.cfg.MailPerAccount, 1)
}

// withinAccountMailLimit runs send, a job's mail to the account with
// userID, unless the account is over its mail limit (then nothing is sent,
// nothing told), and charges the limit only once send succeeded: a job
// retried through a database outage must not use up the budget with
// attempts that sent nothing and then be dropped as over the limit.
// (Two jobs for one account checking at once may both send: the limit is
// a bound on abuse, not an exact count.)
func (s *Service) withinAccountMailLimit(ctx context.Context, userID string, send func() error) error {
	key := "mail-account:" + userID
	if err := s.limit(ctx, key, s.cfg.MailPerAccount, 0); err != nil {
		if latch.IsKind(err, latch.KindTooMany) {
			return nil
		}
		return err
	}
	if err := send(); err != nil {
		return err
	}
	if err := s.limit(ctx, key, s.cfg.MailPerAccount, 1); err != nil && !latch.IsKind(err, latch.KindTooMany) {
		s.log.WarnContext(ctx, "mail limit not charged", "err", err)
	}
	return nil
}
