package account

// Second factors (issue 16): TOTP factors (RFC 6238) and recovery codes.
// The sign-in flow that asks for them is mfa_signin.go; these are the
// use cases it and the account pages call.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"image/png"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/latchid/latch"
)

// totpSealPurpose seals TOTP secrets at rest with the data key
// (token.Keys.SealData: it outlives signing-key rotations), under its own
// purpose: a sealed secret never opens as anything else.
const totpSealPurpose = "totp-secret"

// TOTP parameters: what every authenticator app supports (RFC 6238's
// defaults: HMAC-SHA-1, 30-second steps, 6 digits) and a 160-bit secret
// (RFC 4226 §4 recommends 160).
const (
	totpPeriod     = 30
	totpDigits     = otp.DigitsSix
	totpAlgorithm  = otp.AlgorithmSHA1
	totpSecretSize = 20
	// totpSkew is how many steps before and after the current one a code
	// may be of (RFC 6238 §5.2: one step of network delay or clock drift).
	totpSkew = 1
)

// Recovery codes: ten, each of 10 base32 characters (50 bits), shown
// as xxxx-xxxx-xx.
const (
	recoveryCodeCount = 10
	recoveryCodeChars = 10
)

// CodeInvalidMFACode: a TOTP or recovery code that is wrong, used before,
// or of no usable factor.
const CodeInvalidMFACode = "invalid_mfa_code"

// maxFactorName bounds a factor's name (the store's bound).
const maxFactorName = 100

// TOTPEnrolment is what enrolling a TOTP factor shows the user, once: the
// secret (base32, to type into an app), the otpauth:// URL and its QR
// code. The factor is usable once ConfirmTOTP has seen a first code.
type TOTPEnrolment struct {
	FactorID string
	Secret   string
	URL      string
	QRPNG    []byte
}

func errInvalidMFACode() error {
	return &latch.Error{Kind: latch.KindInvalid, Code: CodeInvalidMFACode, Field: "code", Message: "the code is wrong or was used already"}
}

func errFactorNotFound() error {
	return &latch.Error{Kind: latch.KindNotFound, Code: latch.CodeNotFound, Message: "no such factor"}
}

// factorName checks a name given to a factor; empty is the default.
func factorName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Authenticator app", nil
	}
	if !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) ||
		utf8.RuneCountInString(name) > maxFactorName {
		return "", latch.FieldError("name", latch.CodeInvalidRequest, "The name must be at most 100 characters of text.")
	}
	return name, nil
}

// EnrolTOTP starts a TOTP factor for the signed-in user: a fresh secret,
// stored sealed and unconfirmed, and what the user needs to put it into
// an app.
func (s *Service) EnrolTOTP(ctx context.Context, p Principal, name string) (TOTPEnrolment, error) {
	if err := s.authorizeFactorChange(ctx, p, true); err != nil {
		return TOTPEnrolment{}, err
	}
	name, err := factorName(name)
	if err != nil {
		return TOTPEnrolment{}, err
	}
	if err := s.factorAllowed(ctx, p.User.TenantID, latch.FactorTOTP); err != nil {
		return TOTPEnrolment{}, err
	}
	issuer := s.cfg.ProductName
	if issuer == "" {
		issuer = "Latch"
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: p.User.Email, Period: totpPeriod, SecretSize: totpSecretSize,
		Digits: totpDigits, Algorithm: totpAlgorithm, Rand: rand.Reader,
	})
	if err != nil {
		return TOTPEnrolment{}, latch.Internal(err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return TOTPEnrolment{}, latch.Internal(err)
	}
	var qr bytes.Buffer
	if err := png.Encode(&qr, img); err != nil {
		return TOTPEnrolment{}, latch.Internal(err)
	}
	sealed, err := s.keys.SealData(totpSealPurpose, []byte(key.Secret()))
	if err != nil {
		return TOTPEnrolment{}, latch.Internal(err)
	}
	id, err := newID()
	if err != nil {
		return TOTPEnrolment{}, latch.Internal(err)
	}
	f := latch.Factor{ID: id, UserID: p.User.ID, Kind: latch.FactorTOTP, Name: name, Secret: []byte(sealed), CreatedAt: s.now()}
	ev := s.userEvent(ctx, p.User, latch.AuditFactorEnrol)
	ev.Details = map[string]string{"factor_id": id, "kind": string(latch.FactorTOTP)}
	if err := s.store.CreateFactor(ctx, f, &ev); err != nil {
		return TOTPEnrolment{}, err
	}
	return TOTPEnrolment{FactorID: id, Secret: key.Secret(), URL: key.URL(), QRPNG: qr.Bytes()}, nil
}

// ConfirmTOTP confirms the user's unconfirmed TOTP factor with a first
// code from the app: from then on it is a second factor. A wrong code
// counts against the per-account sign-in limit.
func (s *Service) ConfirmTOTP(ctx context.Context, p Principal, factorID, code string) error {
	if err := s.authorizeFactorChange(ctx, p, false); err != nil {
		return err
	}
	f, err := s.store.FactorByID(ctx, factorID)
	if latch.IsKind(err, latch.KindNotFound) || (err == nil && (f.UserID != p.User.ID || f.Kind != latch.FactorTOTP)) {
		return errFactorNotFound()
	}
	if err != nil {
		return err
	}
	if f.ConfirmedAt != nil {
		return &latch.Error{Kind: latch.KindConflict, Code: latch.CodeFactorConfirmed, Message: "the factor is confirmed already"}
	}
	if err := s.limitMFA(ctx, p.User); err != nil {
		return err
	}
	step, ok, err := s.matchTOTP(f, code)
	if err != nil {
		return err
	}
	if !ok {
		s.mfaFailure(ctx, p.User, f.ID, "wrong_code")
		return errInvalidMFACode()
	}
	ev := s.userEvent(ctx, p.User, latch.AuditFactorConfirm)
	ev.Details = map[string]string{"factor_id": f.ID}
	if err := s.store.ConfirmFactor(ctx, f.ID, step, s.now(), &ev); err != nil {
		return err
	}
	s.resetAccountFailures(ctx, p.User.Email)
	return nil
}

// MyFactors lists the signed-in user's factors, secrets left out.
func (s *Service) MyFactors(ctx context.Context, p Principal) ([]latch.Factor, error) {
	if err := AuthorizeUser(p, latch.ScopeUserRead); err != nil {
		return nil, err
	}
	fs, err := s.store.FactorsByUser(ctx, p.User.ID)
	if err != nil {
		return nil, err
	}
	for i := range fs {
		fs[i].Secret = nil
	}
	return fs, nil
}

// RemoveFactor deletes one of the signed-in user's factors, audited. It
// needs a recent factor check (StepUp) on an account with a factor.
func (s *Service) RemoveFactor(ctx context.Context, p Principal, factorID string) error {
	if err := AuthorizeUser(p, latch.ScopeUserUpdate); err != nil {
		return err
	}
	if err := s.requireFreshFactor(ctx, p); err != nil {
		return err
	}
	ev := s.userEvent(ctx, p.User, latch.AuditFactorRemove)
	ev.Details = map[string]string{"factor_id": factorID}
	err := s.store.DeleteFactor(ctx, p.User.ID, factorID, &ev)
	if latch.IsKind(err, latch.KindNotFound) {
		return errFactorNotFound()
	}
	return err
}

// verifyTOTP checks a code against the user's confirmed TOTP factors,
// within one step of skew, and accepts its step once (UseTOTPStep, so
// a replay is refused on every replica). Each attempt counts against the
// per-account sign-in limit (charged before the check, as a password's,
// so that concurrent guesses cannot slip through); a success starts the
// count again. A failure is audited.
func (s *Service) verifyTOTP(ctx context.Context, user latch.User, code string) error {
	if err := s.limitMFA(ctx, user); err != nil {
		return err
	}
	fs, err := s.store.FactorsByUser(ctx, user.ID)
	if err != nil {
		return err
	}
	for _, f := range fs {
		if f.Kind != latch.FactorTOTP || f.ConfirmedAt == nil {
			continue
		}
		step, ok, err := s.matchTOTP(f, code)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		err = s.store.UseTOTPStep(ctx, f.ID, step, s.now())
		if latch.IsKind(err, latch.KindConflict) {
			s.mfaFailure(ctx, user, f.ID, "replayed_code")
			return errInvalidMFACode()
		}
		if err != nil {
			return err
		}
		s.resetAccountFailures(ctx, user.Email)
		return nil
	}
	s.mfaFailure(ctx, user, "", "wrong_code")
	return errInvalidMFACode()
}

// matchTOTP reports whether code is f's code of the current step or one
// step either side, and of which step. Every candidate is computed and
// compared in constant time, so the answer takes as long whichever
// matched.
func (s *Service) matchTOTP(f latch.Factor, code string) (int64, bool, error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != totpDigits.Length() || strings.Trim(code, "0123456789") != "" {
		return 0, false, nil
	}
	secret, err := s.keys.OpenData(totpSealPurpose, string(f.Secret))
	if err != nil {
		return 0, false, latch.Internal(errors.New("a TOTP secret does not open with the service keys"))
	}
	now := s.now().Unix()
	current := now / totpPeriod
	var match int64
	found := 0
	for step := current - totpSkew; step <= current+totpSkew; step++ {
		want, err := totp.GenerateCodeCustom(string(secret), time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: totpDigits, Algorithm: totpAlgorithm,
		})
		if err != nil {
			return 0, false, latch.Internal(err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && found == 0 {
			match, found = step, 1
		}
	}
	return match, found == 1, nil
}

// limitMFA charges one attempt at a second factor to the account's
// sign-in limit: the cap wrong passwords count against (accountFailuresKey,
// LoginPerAccount), with no exception for known addresses: whoever asks
// for a second factor has the password already.
func (s *Service) limitMFA(ctx context.Context, user latch.User) error {
	return s.limit(ctx, accountFailuresKey(emailLimitKey(user.Email)), s.cfg.LoginPerAccount, 1)
}

// mfaFailure audits a refused second factor.
func (s *Service) mfaFailure(ctx context.Context, user latch.User, factorID, reason string) {
	ev := s.userEvent(ctx, user, latch.AuditMFAFailure)
	ev.Details = map[string]string{"reason": reason}
	if factorID != "" {
		ev.Details["factor_id"] = factorID
	}
	s.appendAudit(ctx, ev)
}

// recoveryEncoding writes recovery codes in lower-case base32 (RFC 4648):
// its alphabet has no 0, 1 or 8, so no O/0, l/1 or B/8 to confuse.
var recoveryEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newRecoveryCode returns a fresh code, xxxx-xxxx-xx (50 random bits).
func newRecoveryCode() string {
	b := make([]byte, 7) // 56 bits, of which the first 10 characters keep 50
	_, _ = rand.Read(b)
	c := recoveryEncoding.EncodeToString(b)[:recoveryCodeChars]
	return c[:4] + "-" + c[4:8] + "-" + c[8:]
}

// normalRecoveryCode is a typed code in its generated form: case, spaces
// and dashes do not matter.
func normalRecoveryCode(code string) string {
	code = strings.ToLower(code)
	return strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, code)
}

// recoveryCodeMACPurpose keys the hashes of recovery codes: a key derived
// from the data key under its own label (token.Keys.DataMAC).
const recoveryCodeMACPurpose = "recovery-code"

// recoveryCodeHash is the stored form of a recovery code: HMAC-SHA-256,
// keyed with a key derived from the data key, of the user id and the
// normalised code. The key makes a stolen database useless for guessing
// the codes (50 bits each, too few against an unkeyed hash); the user id
// binds a hash to its account. It is deterministic, so a typed code is
// found by an exact match.
func (s *Service) recoveryCodeHash(userID, code string) ([]byte, error) {
	msg := make([]byte, 0, len(userID)+1+recoveryCodeChars)
	msg = append(append(append(msg, userID...), 0), normalRecoveryCode(code)...)
	mac, err := s.keys.DataMAC(recoveryCodeMACPurpose, msg)
	if err != nil {
		return nil, latch.Internal(err)
	}
	return mac, nil
}

// RegenerateRecoveryCodes makes the signed-in user a new set of ten
// recovery codes, shown once: the old set, used or not, stops working in
// the same transaction. It needs a recent factor check (StepUp) on an
// account with a factor.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p Principal) ([]string, error) {
	if err := AuthorizeUser(p, latch.ScopeUserUpdate); err != nil {
		return nil, err
	}
	if err := s.factorAllowed(ctx, p.User.TenantID, latch.FactorRecoveryCode); err != nil {
		return nil, err
	}
	if err := s.requireFreshFactor(ctx, p); err != nil {
		return nil, err
	}
	codes := make([]string, 0, recoveryCodeCount)
	hashes := make([][]byte, 0, recoveryCodeCount)
	seen := map[string]bool{}
	for len(codes) < recoveryCodeCount {
		c := newRecoveryCode()
		if seen[c] {
			continue
		}
		seen[c] = true
		h, err := s.recoveryCodeHash(p.User.ID, c)
		if err != nil {
			return nil, err
		}
		codes = append(codes, c)
		hashes = append(hashes, h)
	}
	ev := s.userEvent(ctx, p.User, latch.AuditRecoveryRegenerate)
	if err := s.store.ReplaceRecoveryCodes(ctx, p.User.ID, hashes, s.now(), &ev); err != nil {
		return nil, err
	}
	return codes, nil
}

// useRecoveryCode accepts one of the user's unused recovery codes, once,
// with an audit event and a notice mail to the account in the same
// write. A wrong or used code counts against the per-account sign-in
// limit, as a wrong TOTP code, and is audited.
func (s *Service) useRecoveryCode(ctx context.Context, user latch.User, code string) error {
	if err := s.limitMFA(ctx, user); err != nil {
		return err
	}
	normal := normalRecoveryCode(code)
	if len(normal) != recoveryCodeChars || strings.Trim(normal, "abcdefghijklmnopqrstuvwxyz234567") != "" {
		s.mfaFailure(ctx, user, "", "wrong_recovery_code")
		return errInvalidMFACode()
	}
	ev := s.userEvent(ctx, user, latch.AuditRecoveryUse)
	var notice *latch.MailMessage
	if !s.cfg.MailOff {
		m, err := s.newMail(user.Email, latch.MailRecoveryCodeUsed, map[string]string{
			"email": user.Email, "first_name": user.FirstName, "login_url": s.url("/login", nil),
		})
		switch {
		case err == nil:
			notice = &m
		case latch.IsKind(err, latch.KindInvalid):
			// An address that cannot receive mail does not lock its owner
			// out (AdminResetFactors goes ahead alike); the event says the
			// notice was not sent.
			ev.Details = map[string]string{"notice": "undeliverable"}
		default:
			return err
		}
	}
	hash, err := s.recoveryCodeHash(user.ID, normal)
	if err != nil {
		return err
	}
	err = s.store.UseRecoveryCode(ctx, user.ID, hash, s.now(), &ev, notice)
	if latch.IsKind(err, latch.KindNotFound) {
		s.mfaFailure(ctx, user, "", "wrong_recovery_code")
		return errInvalidMFACode()
	}
	if err != nil {
		return err
	}
	s.mailQueued(notice)
	s.resetAccountFailures(ctx, user.Email)
	return nil
}
