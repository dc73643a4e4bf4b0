package account_test

import (
	"bytes"
	"encoding/base32"
	"image/png"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/ratelimit"
)

// TestTOTPRFC6238Vectors checks the TOTP implementation against RFC 6238
// Appendix B's published SHA-1 values (8 digits, 30-second steps, the
// ASCII secret "12345678901234567890").
func TestTOTPRFC6238Vectors(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for _, v := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		got, err := totp.GenerateCodeCustom(secret, time.Unix(v.unix, 0), totp.ValidateOpts{
			Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1,
		})
		if err != nil || got != v.code {
			t.Errorf("TOTP at %d = %q, %v; want %q", v.unix, got, err, v.code)
		}
	}
}

// codeAt is the 6-digit code of secret at t, as an authenticator app
// computes it.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func principal(t *testing.T, h *testenv.Harness, email string) account.Principal {
	t.Helper()
	_, pair := h.OAuthUser(t, email)
	p, err := h.Accounts.Authenticate(t.Context(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantMFAError(t *testing.T, what string, err error, kind latch.Kind, code string) {
	t.Helper()
	le, ok := err.(*latch.Error)
	if !ok || le.Kind != kind || le.Code != code {
		t.Fatalf("%s = %v, want %s/%s", what, err, kind, code)
	}
}

// enrolConfirmed enrols a TOTP factor and confirms it with the code of
// the harness's clock.
func enrolConfirmed(t *testing.T, h *testenv.Harness, p account.Principal) account.TOTPEnrolment {
	t.Helper()
	e, err := h.Accounts.EnrolTOTP(t.Context(), p, "Phone")
	if err != nil {
		t.Fatalf("EnrolTOTP: %v", err)
	}
	if err := h.Accounts.ConfirmTOTP(t.Context(), p, e.FactorID, codeAt(t, e.Secret, h.Clock.Now())); err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	return e
}

func auditCount(t *testing.T, h *testenv.Harness, action, target string) int {
	t.Helper()
	evs, err := h.Store.AuditEvents(t.Context(), latch.AuditQuery{Action: action, TargetID: target})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

func TestTOTPEnrolAndConfirm(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "totp-enrol@example.com")
		e, err := h.Accounts.EnrolTOTP(ctx, p, "  My phone ")
		if err != nil {
			t.Fatalf("EnrolTOTP: %v", err)
		}
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
		if err != nil || len(raw) != 20 {
			t.Errorf("secret %q: %d bytes, %v; want 160 bits of base32", e.Secret, len(raw), err)
		}
		u, err := url.Parse(e.URL)
		if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("issuer") != "Latch" ||
			u.Query().Get("secret") != e.Secret || !strings.Contains(u.Path, "totp-enrol@example.com") {
			t.Errorf("URL = %q, %v; want otpauth://totp/Latch:<email> with the secret", e.URL, err)
		}
		if _, err := png.Decode(bytes.NewReader(e.QRPNG)); err != nil {
			t.Errorf("QRPNG is not a PNG: %v", err)
		}
		// The stored row holds the secret sealed, never in clear.
		f, err := h.Store.FactorByID(ctx, e.FactorID)
		if err != nil {
			t.Fatal(err)
		}
		if f.UserID != p.User.ID || f.Name != "My phone" || f.ConfirmedAt != nil || len(f.Secret) == 0 ||
			bytes.Contains(f.Secret, []byte(e.Secret)) || bytes.Contains(f.Secret, raw) ||
			bytes.Contains(bytes.ToUpper(f.Secret), []byte(e.Secret)) {
			t.Errorf("stored factor = %+v; want unconfirmed, its secret sealed", f)
		}
		// An unconfirmed factor proves nothing.
		now := h.Clock.Now()
		wantMFAError(t, "VerifyTOTP(unconfirmed)", h.Accounts.VerifyTOTP(ctx, p.User, codeAt(t, e.Secret, now)),
			latch.KindInvalid, account.CodeInvalidMFACode)
		// Confirmation needs the right code, and the factor must be the
		// user's.
		wantMFAError(t, "ConfirmTOTP(wrong code)", h.Accounts.ConfirmTOTP(ctx, p, e.FactorID, "000000"),
			latch.KindInvalid, account.CodeInvalidMFACode)
		other := principal(t, h, "totp-other@example.com")
		wantMFAError(t, "ConfirmTOTP(another's factor)", h.Accounts.ConfirmTOTP(ctx, other, e.FactorID, codeAt(t, e.Secret, now)),
			latch.KindNotFound, latch.CodeNotFound)
		if err := h.Accounts.ConfirmTOTP(ctx, p, e.FactorID, codeAt(t, e.Secret, now)); err != nil {
			t.Fatalf("ConfirmTOTP: %v", err)
		}
		wantMFAError(t, "ConfirmTOTP(again)", h.Accounts.ConfirmTOTP(ctx, p, e.FactorID, codeAt(t, e.Secret, now)),
			latch.KindConflict, latch.CodeFactorConfirmed)
		// The confirming code's step is spent.
		wantMFAError(t, "VerifyTOTP(confirming code)", h.Accounts.VerifyTOTP(ctx, p.User, codeAt(t, e.Secret, now)),
			latch.KindInvalid, account.CodeInvalidMFACode)
		for _, bad := range []string{"", "12345", "1234567", "abcdef", "12 34 5x"} {
			wantMFAError(t, "VerifyTOTP("+bad+")", h.Accounts.VerifyTOTP(ctx, p.User, bad), latch.KindInvalid, account.CodeInvalidMFACode)
		}
		fs, err := h.Accounts.MyFactors(ctx, p)
		if err != nil || len(fs) != 1 || fs[0].Secret != nil || fs[0].ConfirmedAt == nil {
			t.Errorf("MyFactors = %+v, %v; want the confirmed factor without its secret", fs, err)
		}
		if n := auditCount(t, h, latch.AuditFactorEnrol, p.User.ID); n != 1 {
			t.Errorf("factor.enrol events = %d, want 1", n)
		}
		if n := auditCount(t, h, latch.AuditFactorConfirm, p.User.ID); n != 1 {
			t.Errorf("factor.confirm events = %d, want 1", n)
		}
		if n := auditCount(t, h, latch.AuditMFAFailure, p.User.ID); n < 3 {
			t.Errorf("mfa.failure events = %d, want one per refusal", n)
		}
		// Removal: another user cannot; the owner can, audited.
		wantMFAError(t, "RemoveFactor(another's)", h.Accounts.RemoveFactor(ctx, other, e.FactorID), latch.KindNotFound, latch.CodeNotFound)
		if err := h.Accounts.RemoveFactor(ctx, p, e.FactorID); err != nil {
			t.Fatalf("RemoveFactor: %v", err)
		}
		if fs, _ := h.Accounts.MyFactors(ctx, p); len(fs) != 0 {
			t.Errorf("MyFactors after removal = %+v", fs)
		}
		if n := auditCount(t, h, latch.AuditFactorRemove, p.User.ID); n != 1 {
			t.Errorf("factor.remove events = %d, want 1", n)
		}
		h.Clock.Advance(time.Minute)
		wantMFAError(t, "VerifyTOTP(removed factor)", h.Accounts.VerifyTOTP(ctx, p.User, codeAt(t, e.Secret, h.Clock.Now())),
			latch.KindInvalid, account.CodeInvalidMFACode)
	})
}

// TestTOTPReplayAndSkew: a code is accepted once; one step either side
// of the service's clock is accepted, two are not.
func TestTOTPReplayAndSkew(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "totp-skew@example.com")
		e := enrolConfirmed(t, h, p)
		verify := func(at time.Time) error { return h.Accounts.VerifyTOTP(ctx, p.User, codeAt(t, e.Secret, at)) }

		h.Clock.Advance(time.Minute)
		now := h.Clock.Now()
		if err := verify(now); err != nil {
			t.Fatalf("VerifyTOTP(current code): %v", err)
		}
		wantMFAError(t, "VerifyTOTP(replay)", verify(now), latch.KindInvalid, account.CodeInvalidMFACode)

		h.Clock.Advance(5 * time.Minute)
		now = h.Clock.Now()
		wantMFAError(t, "VerifyTOTP(+2 steps)", verify(now.Add(60*time.Second)), latch.KindInvalid, account.CodeInvalidMFACode)
		wantMFAError(t, "VerifyTOTP(-2 steps)", verify(now.Add(-60*time.Second)), latch.KindInvalid, account.CodeInvalidMFACode)
		if err := verify(now.Add(-30 * time.Second)); err != nil {
			t.Errorf("VerifyTOTP(-1 step): %v", err)
		}
		if err := verify(now.Add(30 * time.Second)); err != nil {
			t.Errorf("VerifyTOTP(+1 step): %v", err)
		}
		// The current step is now behind the last accepted one: refused.
		wantMFAError(t, "VerifyTOTP(earlier than the last accepted)", verify(now), latch.KindInvalid, account.CodeInvalidMFACode)
		if n := auditCount(t, h, latch.AuditMFAFailure, p.User.ID); n != 4 {
			t.Errorf("mfa.failure events = %d, want 4", n)
		}
	})
}

// TestTOTPWrongCodesCounted: wrong codes count against the per-account
// sign-in limit; past it even the right code is refused.
func TestTOTPWrongCodesCounted(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			cfg := account.DefaultConfig()
			cfg.LoginPerAccount = ratelimit.Rule{Limit: 3, Per: time.Hour}
			h := testenv.NewHarnessWithConfig(t, b.Open(t), cfg)
			ctx := t.Context()
			p := principal(t, h, "totp-limit@example.com")
			e := enrolConfirmed(t, h, p)
			h.Clock.Advance(time.Minute)
			right := codeAt(t, e.Secret, h.Clock.Now())
			wrong := "000000"
			if wrong == right {
				wrong = "111111"
			}
			for range 3 {
				wantMFAError(t, "VerifyTOTP(wrong)", h.Accounts.VerifyTOTP(ctx, p.User, wrong), latch.KindInvalid, account.CodeInvalidMFACode)
			}
			wantMFAError(t, "VerifyTOTP(right code past the limit)", h.Accounts.VerifyTOTP(ctx, p.User, right), latch.KindTooMany, latch.CodeRateLimited)
			// Wrong recovery codes count on the same limit.
			wantMFAError(t, "UseRecoveryCode(past the limit)", h.Accounts.UseRecoveryCode(ctx, p.User, "aaaa-aaaa-aa"), latch.KindTooMany, latch.CodeRateLimited)
		})
	}
}

var recoveryCodeFormat = regexp.MustCompile(`^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{2}$`)

func TestRecoveryCodes(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		p := principal(t, h, "recovery-codes@example.com")
		codes, err := h.Accounts.RegenerateRecoveryCodes(ctx, p)
		if err != nil {
			t.Fatalf("RegenerateRecoveryCodes: %v", err)
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if !recoveryCodeFormat.MatchString(c) || seen[c] {
				t.Errorf("code %q: not xxxx-xxxx-xx or repeated", c)
			}
			seen[c] = true
		}
		if len(codes) != 10 {
			t.Fatalf("%d codes, want 10", len(codes))
		}
		stored, err := h.Store.RecoveryCodes(ctx, p.User.ID)
		if err != nil || len(stored) != 10 {
			t.Fatalf("stored codes = %d, %v; want 10", len(stored), err)
		}
		for _, s := range stored {
			for _, c := range codes {
				if bytes.Contains(s.Hash, []byte(c)) || bytes.Contains(s.Hash, []byte(strings.ReplaceAll(c, "-", ""))) {
					t.Errorf("a stored hash holds the code %q in clear", c)
				}
			}
		}
		// Each code works once; case, spaces and dashes do not matter.
		if err := h.Accounts.UseRecoveryCode(ctx, p.User, codes[0]); err != nil {
			t.Fatalf("UseRecoveryCode: %v", err)
		}
		wantMFAError(t, "UseRecoveryCode(used)", h.Accounts.UseRecoveryCode(ctx, p.User, codes[0]), latch.KindInvalid, account.CodeInvalidMFACode)
		typed := strings.ToUpper(strings.ReplaceAll(codes[1], "-", " "))
		if err := h.Accounts.UseRecoveryCode(ctx, p.User, typed); err != nil {
			t.Fatalf("UseRecoveryCode(%q): %v", typed, err)
		}
		// Another user's code is not this user's.
		other := principal(t, h, "recovery-other@example.com")
		wantMFAError(t, "UseRecoveryCode(another's code)", h.Accounts.UseRecoveryCode(ctx, other.User, codes[2]), latch.KindInvalid, account.CodeInvalidMFACode)
		for _, bad := range []string{"", "not a code", "aaaa-aaaa-a1"} {
			wantMFAError(t, "UseRecoveryCode("+bad+")", h.Accounts.UseRecoveryCode(ctx, p.User, bad), latch.KindInvalid, account.CodeInvalidMFACode)
		}
		// Each use is audited and mailed to the account.
		if n := auditCount(t, h, latch.AuditRecoveryUse, p.User.ID); n != 2 {
			t.Errorf("recovery.use events = %d, want 2", n)
		}
		if n := auditCount(t, h, latch.AuditMFAFailure, p.User.ID); n != 4 {
			t.Errorf("mfa.failure events = %d, want 4", n)
		}
		mail, err := h.Store.MailMessages(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		notices := 0
		for _, m := range mail {
			if m.Template == latch.MailRecoveryCodeUsed {
				notices++
				data, err := account.OpenMailData(h.Keys, m.Data)
				if m.To != "recovery-codes@example.com" || err != nil || data["login_url"] == "" {
					t.Errorf("notice to %s, data %v, %v", m.To, data, err)
				}
			}
		}
		if notices != 2 {
			t.Errorf("%d recovery notices queued, want 2", notices)
		}
		// Regeneration kills the old set, used or not.
		fresh, err := h.Accounts.RegenerateRecoveryCodes(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		wantMFAError(t, "UseRecoveryCode(old set)", h.Accounts.UseRecoveryCode(ctx, p.User, codes[3]), latch.KindInvalid, account.CodeInvalidMFACode)
		if err := h.Accounts.UseRecoveryCode(ctx, p.User, fresh[0]); err != nil {
			t.Errorf("UseRecoveryCode(new set): %v", err)
		}
		if n := auditCount(t, h, latch.AuditRecoveryRegenerate, p.User.ID); n != 2 {
			t.Errorf("recovery.regenerate events = %d, want 2", n)
		}
	})
}
