package account

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

// Limits on what a tenant's policy may ask for.
const (
	// MaxHistory bounds the history depth: checking it costs one hash per
	// remembered password (Active Directory's maximum is also 24).
	MaxHistory = 24
	maxScore   = 4
)

type className struct {
	name  string
	class password.Classes
}

var classNames = []className{
	{"lower", password.Lower}, {"upper", password.Upper}, {"digit", password.Digit}, {"special", password.Special},
}

// DefaultPolicy is the policy of a tenant that has not set one: the
// service's baseline (Config.Policy).
func (s *Service) DefaultPolicy() latch.PasswordPolicy {
	base := s.cfg.Policy
	p := latch.PasswordPolicy{
		MinLength: base.MinLength, MaxLength: base.MaxLength, Specials: base.Specials,
		RefuseCommon: base.RefuseCommon, RefuseEmail: base.RefuseEmail, MinScore: base.MinScore,
	}
	if p.Specials == "" {
		p.Specials = password.DefaultSpecials
	}
	for _, c := range classNames {
		if base.Require&c.class != 0 {
			p.Require = append(p.Require, c.name)
		}
	}
	return p
}

// tenantPolicy returns the tenant's policy, or the default.
func (s *Service) tenantPolicy(ctx context.Context, tenantID string) (latch.PasswordPolicy, error) {
	p, err := s.store.TenantPolicy(ctx, tenantID)
	if latch.IsKind(err, latch.KindNotFound) {
		return s.DefaultPolicy(), nil
	}
	return p, err
}

// hardMax is the longest password accepted anywhere: passwords longer are
// refused before hashing, whatever a tenant's policy says.
func (s *Service) hardMax() int { return s.cfg.Policy.MaxLength }

// validatePolicy checks a policy an admin wants to store.
func (s *Service) validatePolicy(p latch.PasswordPolicy) error {
	var failed []latch.Error
	bad := func(field, format string, args ...any) {
		failed = append(failed, *latch.FieldError(field, latch.CodeInvalidRequest, fmt.Sprintf(format, args...)))
	}
	hard := s.hardMax()
	if p.MinLength < 1 || (hard > 0 && p.MinLength > hard) {
		bad("min_length", "min_length must be between 1 and %d", hard)
	}
	if p.MaxLength < 1 || (hard > 0 && p.MaxLength > hard) {
		bad("max_length", "max_length must be between 1 and %d (the service's hard limit)", hard)
	} else if p.MaxLength < p.MinLength {
		bad("max_length", "max_length must not be less than min_length")
	}
	for _, r := range p.Require {
		if !slices.ContainsFunc(classNames, func(c className) bool { return c.name == r }) {
			bad("require", "require may only list lower, upper, digit and special")
			break
		}
	}
	if p.Specials == "" {
		bad("specials", "specials must list at least one character")
	}
	for _, r := range p.Specials {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsSpace(r) || unicode.IsControl(r) {
			bad("specials", "specials may not contain letters, digits, spaces or control characters")
			break
		}
	}
	if p.History < 0 || p.History > MaxHistory {
		bad("history", "history must be between 0 and %d", MaxHistory)
	}
	if p.MinScore < 0 || p.MinScore > maxScore {
		bad("min_score", "min_score must be between 0 (off) and %d", maxScore)
	}
	if len(failed) > 0 {
		return invalid(failed)
	}
	return nil
}

// passwordPolicy turns a stored policy into the checker.
func passwordPolicy(p latch.PasswordPolicy) password.Policy {
	pp := password.Policy{
		MinLength: p.MinLength, MaxLength: p.MaxLength, RefuseCommon: p.RefuseCommon,
		RefuseEmail: p.RefuseEmail, Specials: p.Specials, MinScore: p.MinScore,
	}
	for _, c := range classNames {
		if slices.Contains(p.Require, c.name) {
			pp.Require |= c.class
		}
	}
	return pp
}

// Policy returns the password policy of the admin's tenant.
func (s *Service) Policy(ctx context.Context, a Admin) (latch.PasswordPolicy, error) {
	if err := a.Authorize(OpGetPolicy); err != nil {
		return latch.PasswordPolicy{}, err
	}
	return s.tenantPolicy(ctx, a.tenant())
}

// PolicyChange is a partial update of a policy: nil leaves a field as is.
type PolicyChange struct {
	MinLength    *int
	MaxLength    *int
	Require      *[]string
	Specials     *string
	History      *int
	RefuseCommon *bool
	RefuseEmail  *bool
	MinScore     *int
}

// SetPolicy changes the password policy of the admin's tenant and returns
// the policy now in force. Passwords already set are not re-checked; the
// policy applies from the next password set.
func (s *Service) SetPolicy(ctx context.Context, a Admin, ch PolicyChange) (latch.PasswordPolicy, error) {
	if err := a.Authorize(OpSetPolicy); err != nil {
		return latch.PasswordPolicy{}, err
	}
	tenantID := a.tenant()
	p, err := s.tenantPolicy(ctx, tenantID)
	if err != nil {
		return latch.PasswordPolicy{}, err
	}
	set := func(dst *int, src *int) {
		if src != nil {
			*dst = *src
		}
	}
	set(&p.MinLength, ch.MinLength)
	set(&p.MaxLength, ch.MaxLength)
	set(&p.History, ch.History)
	set(&p.MinScore, ch.MinScore)
	if ch.Require != nil {
		if len(*ch.Require) > len(classNames) {
			return latch.PasswordPolicy{}, latch.FieldError("require", latch.CodeInvalidRequest, "require may only list lower, upper, digit and special")
		}
		p.Require = nil
		for _, r := range *ch.Require {
			if r = strings.ToLower(strings.TrimSpace(r)); r != "" && !slices.Contains(p.Require, r) {
				p.Require = append(p.Require, r)
			}
		}
	}
	if ch.Specials != nil {
		p.Specials = *ch.Specials
	}
	if ch.RefuseCommon != nil {
		p.RefuseCommon = *ch.RefuseCommon
	}
	if ch.RefuseEmail != nil {
		p.RefuseEmail = *ch.RefuseEmail
	}
	if err := s.validatePolicy(p); err != nil {
		return latch.PasswordPolicy{}, err
	}
	ev := s.auditEvent(ctx, a, latch.AuditPolicyUpdate, tenantID, "")
	ev.Details = map[string]string{
		"min_length": fmt.Sprint(p.MinLength), "max_length": fmt.Sprint(p.MaxLength),
		"require": strings.Join(p.Require, ","), "history": fmt.Sprint(p.History),
		"refuse_common": fmt.Sprint(p.RefuseCommon), "refuse_email": fmt.Sprint(p.RefuseEmail),
		"min_score": fmt.Sprint(p.MinScore),
	}
	if err := s.store.SetTenantPolicy(ctx, tenantID, p, s.now(), &ev); err != nil {
		return latch.PasswordPolicy{}, err
	}
	return p, nil
}

// checkUserPassword takes the password of a user being created (no
// confirmation, nothing to prove): o's checks, with user's tenant policy
// and history.
func (s *Service) checkUserPassword(ctx context.Context, user latch.User, pw string, o passwordOrder) (string, error) {
	var pol latch.PasswordPolicy
	return checkNewPassword(newPassword{Password: pw, MaxLength: s.cfg.Policy.MaxLength, Email: user.Email}, o, map[passwordCheck]passwordStep{
		stepLoad: s.loadPolicy(ctx, user.TenantID, &pol),
		stepHistory: func(_ *newPassword, pw string) ([]latch.Error, error) {
			return s.checkHistory(ctx, user, pw, pol)
		},
	})
}

// loadPolicy is the step that reads the tenant's policy into the checks
// (and into *pol, for the history).
func (s *Service) loadPolicy(ctx context.Context, tenantID string, pol *latch.PasswordPolicy) passwordStep {
	return func(np *newPassword, _ string) ([]latch.Error, error) {
		var err error
		if *pol, err = s.tenantPolicy(ctx, tenantID); err != nil {
			return nil, err
		}
		checker := passwordPolicy(*pol)
		np.Policy = &checker
		return nil, nil
	}
}

// checkHistory refuses pw if it is one of the user's last pol.History
// passwords.
func (s *Service) checkHistory(ctx context.Context, user latch.User, pw string, pol latch.PasswordPolicy) ([]latch.Error, error) {
	if pw == "" || pol.History == 0 || s.cfg.Policy.TooLong(pw) {
		return nil, nil
	}
	hashes, err := s.store.PasswordHistory(ctx, user.ID, pol.History)
	if err != nil {
		return nil, err
	}
	reused, err := s.hasher.MatchesAny(ctx, pw, hashes)
	if err != nil {
		return nil, latch.AsError(err)
	}
	if reused {
		return []latch.Error{historyFailure(pol.History)}, nil
	}
	return nil, nil
}

// PasswordRules describes the password policy of a tenant for people,
// before they type.
func (s *Service) PasswordRules(ctx context.Context, tenantID string) string {
	p, err := s.tenantPolicy(ctx, tenantID)
	if err != nil {
		p = s.DefaultPolicy()
	}
	rules := fmt.Sprintf("%d to %d characters", p.MinLength, p.MaxLength)
	for _, r := range p.Require {
		switch r {
		case "special":
			rules += "; at least one of " + p.Specials
		case "digit":
			rules += "; at least one number"
		default:
			rules += "; at least one " + r + "case letter"
		}
	}
	if p.RefuseCommon {
		rules += "; not a commonly used password"
	}
	if p.RefuseEmail {
		rules += "; not built from your email address"
	}
	if p.History > 0 {
		rules += fmt.Sprintf("; not one of your last %d passwords", p.History)
	}
	return rules + "."
}
