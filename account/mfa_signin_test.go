package account_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/ratelimit"
)

const mfaPassword = "correct horse battery staple"

// mfaUser creates a password account, signs it in and enrols a confirmed
// TOTP factor with that session; the clock is then a minute on, so the
// confirming code's step is past.
func mfaUser(t *testing.T, h *testenv.Harness, email string) (account.Principal, account.TOTPEnrolment) {
	t.Helper()
	h.PasswordUser(t, email, mfaPassword, "", false)
	pair, err := h.Accounts.Login(t.Context(), account.LoginInput{Email: email, Password: mfaPassword})
	if err != nil {
		t.Fatalf("Login before a factor: %v", err)
	}
	p, err := h.Accounts.Authenticate(t.Context(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	e := enrolConfirmed(t, h, p)
	h.Clock.Advance(time.Minute)
	return p, e
}

// pendingLogin signs in with the password and expects the factor step.
func pendingLogin(t *testing.T, h *testenv.Harness, email string) account.TokenPair {
	t.Helper()
	pair, err := h.Accounts.Login(t.Context(), account.LoginInput{Email: email, Password: mfaPassword})
	wantMFAError(t, "Login(account with a factor)", err, latch.KindForbidden, latch.CodeMFARequired)
	if pair.AccessToken == "" || pair.RefreshToken != "" || !slices.Equal(pair.Scopes, []string{latch.ScopeMFAPending}) ||
		pair.ExpiresIn != account.MFATokenTTL {
		t.Fatalf("pending pair = %+v; want an mfa:pending token of %v without refresh", pair, account.MFATokenTTL)
	}
	return pair
}

func TestMFASignInWithTOTP(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		email := "mfa-totp@example.com"
		_, e := mfaUser(t, h, email)
		pending := pendingLogin(t, h, email)

		// The pending token is a live session of the user, but it opens
		// nothing else.
		pp, err := h.Accounts.Authenticate(ctx, pending.AccessToken)
		if err != nil {
			t.Fatalf("Authenticate(mfa token): %v", err)
		}
		if !slices.Equal(pp.Session.AMR, []string{account.AMRPassword}) {
			t.Errorf("pending AMR = %v, want [pwd]", pp.Session.AMR)
		}
		if _, err := h.Accounts.Me(pp); !latch.IsCode(err, latch.CodeInsufficientScope) {
			t.Errorf("Me(mfa token) = %v, want insufficient_scope", err)
		}
		np := "another horse battery staple"
		if err := h.Accounts.SetOwnPassword(ctx, pp, account.SetOwnPasswordInput{Password: np, Confirmation: &np, CurrentPassword: ptr(mfaPassword)}); !latch.IsCode(err, latch.CodeInsufficientScope) {
			t.Errorf("SetOwnPassword(mfa token) = %v, want insufficient_scope", err)
		}
		if _, err := h.Accounts.MyFactors(ctx, pp); !latch.IsCode(err, latch.CodeInsufficientScope) {
			t.Errorf("MyFactors(mfa token) = %v, want insufficient_scope", err)
		}
		if _, err := h.Accounts.EnrolTOTP(ctx, pp, "mine"); !latch.IsCode(err, latch.CodeInsufficientScope) {
			t.Errorf("EnrolTOTP(mfa token of an account with a factor) = %v, want insufficient_scope", err)
		}
		if _, err := h.Accounts.StepUp(ctx, pp, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())}); !latch.IsCode(err, latch.CodeInsufficientScope) {
			t.Errorf("StepUp(mfa token) = %v, want insufficient_scope", err)
		}

		c, err := h.Accounts.MFAChallengeOf(ctx, pending.AccessToken)
		if err != nil || c.Enrol || !slices.Equal(c.Factors, []string{account.FactorTOTP}) || c.Email != email {
			t.Errorf("MFAChallengeOf = %+v, %v; want totp only", c, err)
		}
		if _, err := h.Accounts.MFAChallengeOf(ctx, "not-a-token"); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Errorf("MFAChallengeOf(garbage) = %v, want Unauthenticated", err)
		}

		// A wrong code is refused and the token stays usable.
		right := codeAt(t, e.Secret, h.Clock.Now())
		wrong := "000000"
		if wrong == right {
			wrong = "111111"
		}
		_, err = h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: wrong}, "")
		wantMFAError(t, "CompleteMFA(wrong code)", err, latch.KindUnauthenticated, account.CodeInvalidMFACode)
		_, err = h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: right, RecoveryCode: "aaaa-aaaa-aa"}, "")
		wantMFAError(t, "CompleteMFA(two proofs)", err, latch.KindInvalid, latch.CodeInvalidRequest)

		full, err := h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: right}, "")
		if err != nil {
			t.Fatalf("CompleteMFA: %v", err)
		}
		if full.RefreshToken == "" || !slices.Equal(full.Scopes, latch.SessionScopes()) {
			t.Errorf("completed pair = %+v; want a full session with refresh", full)
		}
		fp, err := h.Accounts.Authenticate(ctx, full.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{account.AMRPassword, account.AMROTP, account.AMRMFA}; !slices.Equal(fp.Session.AMR, want) {
			t.Errorf("AMR = %v, want %v", fp.Session.AMR, want)
		}
		if _, err := h.Accounts.Me(fp); err != nil {
			t.Errorf("Me(full session): %v", err)
		}
		// The pending session ended with its completion.
		if _, err := h.Accounts.Authenticate(ctx, pending.AccessToken); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Errorf("Authenticate(used mfa token) = %v, want Unauthenticated", err)
		}
		if _, err := h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: right}, ""); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Errorf("CompleteMFA(used mfa token) = %v, want Unauthenticated", err)
		}
		// The same code on a new sign-in is a replay.
		again := pendingLogin(t, h, email)
		_, err = h.Accounts.CompleteMFA(ctx, again.AccessToken, account.FactorProof{TOTPCode: right}, "")
		wantMFAError(t, "CompleteMFA(replayed code)", err, latch.KindUnauthenticated, account.CodeInvalidMFACode)
		h.Clock.Advance(30 * time.Second)
		if _, err := h.Accounts.CompleteMFA(ctx, again.AccessToken, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())}, ""); err != nil {
			t.Errorf("CompleteMFA(next step's code): %v", err)
		}
		// The token dies at MFATokenTTL.
		late := pendingLogin(t, h, email)
		h.Clock.Advance(account.MFATokenTTL + time.Second)
		if _, err := h.Accounts.CompleteMFA(ctx, late.AccessToken, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())}, ""); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Errorf("CompleteMFA(expired mfa token) = %v, want Unauthenticated", err)
		}
		if n := auditCount(t, h, latch.AuditLoginMFARequired, fp.User.ID); n != 3 {
			t.Errorf("login.mfa_required events = %d, want 3", n)
		}
	})
}

func TestMFASignInWithRecoveryCode(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		email := "mfa-recovery@example.com"
		p, _ := mfaUser(t, h, email)
		// The session that enrolled the account's only factor needs no
		// step-up to see its recovery codes.
		codes, err := h.Accounts.RegenerateRecoveryCodes(ctx, p)
		if err != nil {
			t.Fatalf("RegenerateRecoveryCodes: %v", err)
		}
		pending := pendingLogin(t, h, email)
		c, err := h.Accounts.MFAChallengeOf(ctx, pending.AccessToken)
		if err != nil || !slices.Equal(c.Factors, []string{account.FactorTOTP, account.FactorRecoveryCode}) {
			t.Errorf("MFAChallengeOf = %+v, %v; want totp and recovery_code", c, err)
		}
		full, err := h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{RecoveryCode: codes[3]}, "")
		if err != nil {
			t.Fatalf("CompleteMFA(recovery code): %v", err)
		}
		fp, err := h.Accounts.Authenticate(ctx, full.AccessToken)
		if err != nil || !slices.Equal(fp.Session.AMR, []string{account.AMRPassword, account.AMROTP, account.AMRMFA}) {
			t.Errorf("AMR = %v, %v; want [pwd otp mfa]", fp.Session.AMR, err)
		}
		again := pendingLogin(t, h, email)
		_, err = h.Accounts.CompleteMFA(ctx, again.AccessToken, account.FactorProof{RecoveryCode: codes[3]}, "")
		wantMFAError(t, "CompleteMFA(used recovery code)", err, latch.KindUnauthenticated, account.CodeInvalidMFACode)
	})
}

// TestMFAWrongCodesLimited: wrong codes count against the per-account cap
// as wrong passwords; the password step does not start the count again
// when a factor follows (so a known password cannot keep zeroing it).
func TestMFAWrongCodesLimited(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			cfg := account.DefaultConfig()
			cfg.LoginPerAccount = ratelimit.Rule{Limit: 4, Per: time.Hour}
			h := testenv.NewHarnessWithConfig(t, b.Open(t), cfg)
			ctx := t.Context()
			email := "mfa-limit@example.com"
			_, e := mfaUser(t, h, email)
			right := codeAt(t, e.Secret, h.Clock.Now())
			wrong := "000000"
			if wrong == right {
				wrong = "111111"
			}
			pending := pendingLogin(t, h, email) // 1
			for range 2 {                        // 2, 3
				_, err := h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: wrong}, "")
				wantMFAError(t, "CompleteMFA(wrong)", err, latch.KindUnauthenticated, account.CodeInvalidMFACode)
			}
			pending = pendingLogin(t, h, email) // 4: the right password resets nothing
			_, err := h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: right}, "")
			wantMFAError(t, "CompleteMFA(right code past the cap)", err, latch.KindTooMany, latch.CodeRateLimited)
			_, err = h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{RecoveryCode: "aaaa-aaaa-aa"}, "")
			wantMFAError(t, "CompleteMFA(recovery code past the cap)", err, latch.KindTooMany, latch.CodeRateLimited)
		})
	}
}

// TestMFAResetsCountOnSuccess: the count starts again once the factor
// passed.
func TestMFAResetsCountOnSuccess(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			cfg := account.DefaultConfig()
			cfg.LoginPerAccount = ratelimit.Rule{Limit: 3, Per: time.Hour}
			h := testenv.NewHarnessWithConfig(t, b.Open(t), cfg)
			ctx := t.Context()
			email := "mfa-reset@example.com"
			_, e := mfaUser(t, h, email)
			for range 3 {
				pending := pendingLogin(t, h, email)
				if _, err := h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())}, ""); err != nil {
					t.Fatalf("CompleteMFA: %v", err)
				}
				h.Clock.Advance(30 * time.Second)
			}
		})
	}
}

func TestMFAProviderSignIn(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		email := "mfa-provider@example.com"
		p := principal(t, h, email)
		e := enrolConfirmed(t, h, p)
		h.Clock.Advance(time.Minute)
		ext := latch.ExternalIdentity{Provider: latch.ProviderGoogle, Issuer: latch.WellKnownIssuer(latch.ProviderGoogle), Subject: "google-" + email, Email: email, EmailVerified: true}
		_, pending, err := h.Accounts.SignInWithIdentity(ctx, ext)
		wantMFAError(t, "SignInWithIdentity(account with a factor)", err, latch.KindForbidden, latch.CodeMFARequired)
		if pending.RefreshToken != "" || !slices.Equal(pending.Scopes, []string{latch.ScopeMFAPending}) {
			t.Fatalf("pending pair = %+v", pending)
		}
		full, err := h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())}, "")
		if err != nil {
			t.Fatalf("CompleteMFA: %v", err)
		}
		fp, err := h.Accounts.Authenticate(ctx, full.AccessToken)
		if err != nil || !slices.Equal(fp.Session.AMR, []string{account.AMRFederated, account.AMROTP, account.AMRMFA}) {
			t.Errorf("AMR = %v, %v; want [fed otp mfa]", fp.Session.AMR, err)
		}
	})
}

func TestMFAStepUp(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		email := "mfa-stepup@example.com"
		_, e := mfaUser(t, h, email)
		pending := pendingLogin(t, h, email)
		full, err := h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())}, "")
		if err != nil {
			t.Fatal(err)
		}
		p, err := h.Accounts.Authenticate(ctx, full.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := h.Accounts.HasFreshFactor(ctx, p); !ok || err != nil {
			t.Errorf("HasFreshFactor(just completed) = %v, %v", ok, err)
		}
		h.Clock.Advance(account.StepUpWindow + time.Minute)
		if ok, err := h.Accounts.HasFreshFactor(ctx, p); ok || err != nil {
			t.Errorf("HasFreshFactor(past the window) = %v, %v", ok, err)
		}
		np := "another horse battery staple"
		err = h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: np, Confirmation: &np, CurrentPassword: ptr(mfaPassword)})
		wantMFAError(t, "SetOwnPassword(stale)", err, latch.KindForbidden, latch.CodeStepUpRequired)
		wantMFAError(t, "RemoveFactor(stale)", h.Accounts.RemoveFactor(ctx, p, e.FactorID), latch.KindForbidden, latch.CodeStepUpRequired)
		_, err = h.Accounts.RegenerateRecoveryCodes(ctx, p)
		wantMFAError(t, "RegenerateRecoveryCodes(stale)", err, latch.KindForbidden, latch.CodeStepUpRequired)
		_, err = h.Accounts.EnrolTOTP(ctx, p, "second")
		wantMFAError(t, "EnrolTOTP(a second factor, stale)", err, latch.KindForbidden, latch.CodeStepUpRequired)

		_, err = h.Accounts.StepUp(ctx, p, account.FactorProof{TOTPCode: "12345"})
		wantMFAError(t, "StepUp(wrong)", err, latch.KindUnauthenticated, account.CodeInvalidMFACode)
		fresh, err := h.Accounts.StepUp(ctx, p, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())})
		if err != nil {
			t.Fatalf("StepUp: %v", err)
		}
		if _, err := h.Accounts.Authenticate(ctx, full.AccessToken); !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Errorf("Authenticate(the replaced session) = %v, want Unauthenticated", err)
		}
		fp, err := h.Accounts.Authenticate(ctx, fresh.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if !fp.Session.AuthTime.Equal(h.Clock.Now()) || !slices.Contains(fp.Session.AMR, account.AMROTP) || fresh.RefreshToken == "" {
			t.Errorf("stepped-up session = %+v, pair %+v", fp.Session, fresh)
		}
		if _, err := h.Accounts.RegenerateRecoveryCodes(ctx, fp); err != nil {
			t.Errorf("RegenerateRecoveryCodes(fresh): %v", err)
		}
		if err := h.Accounts.SetOwnPassword(ctx, fp, account.SetOwnPasswordInput{Password: np, Confirmation: &np, CurrentPassword: ptr(mfaPassword)}); err != nil {
			t.Errorf("SetOwnPassword(fresh): %v", err)
		}
	})
}

// TestMFAPasswordChangedDuringStep: a password change while the factor
// step is pending ends it; completing it then starts nothing.
func TestMFAPasswordChangedDuringStep(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		email := "mfa-race@example.com"
		_, e := mfaUser(t, h, email)
		first := pendingLogin(t, h, email)
		full, err := h.Accounts.CompleteMFA(ctx, first.AccessToken, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())}, "")
		if err != nil {
			t.Fatal(err)
		}
		p, err := h.Accounts.Authenticate(ctx, full.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		h.Clock.Advance(30 * time.Second)
		pending := pendingLogin(t, h, email)
		np := "another horse battery staple"
		if err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: np, Confirmation: &np, CurrentPassword: ptr(mfaPassword)}); err != nil {
			t.Fatalf("SetOwnPassword: %v", err)
		}
		_, err = h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())}, "")
		if !latch.IsKind(err, latch.KindUnauthenticated) {
			t.Errorf("CompleteMFA after a password change = %v, want Unauthenticated", err)
		}
	})
}

// TestMFACodeRedemption: the one-time code of a password sign-in (the
// native provider flow's, or the sign-in page's) redeems into the factor
// step, not a session.
func TestMFACodeRedemption(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		email := "mfa-code@example.com"
		_, e := mfaUser(t, h, email)
		u, verified, err := h.Accounts.AuthenticatePassword(ctx, account.LoginInput{Email: email, Password: mfaPassword})
		if err != nil {
			t.Fatal(err)
		}
		const redirect = "https://app.example/cb"
		verifier := "a-verifier-of-enough-length-for-pkce-0123456789"
		code, err := h.Accounts.IssueAuthorizationCode(ctx, u, challengeOf(verifier), redirect, verified)
		if err != nil {
			t.Fatal(err)
		}
		pending, err := h.Accounts.RedeemAuthorizationCode(ctx, code, verifier, redirect)
		wantMFAError(t, "RedeemAuthorizationCode(account with a factor)", err, latch.KindForbidden, latch.CodeMFARequired)
		if pending.RefreshToken != "" || !slices.Equal(pending.Scopes, []string{latch.ScopeMFAPending}) {
			t.Fatalf("pending pair = %+v", pending)
		}
		full, err := h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())}, "")
		if err != nil {
			t.Fatalf("CompleteMFA: %v", err)
		}
		fp, err := h.Accounts.Authenticate(ctx, full.AccessToken)
		if err != nil || !slices.Equal(fp.Session.AMR, []string{account.AMRPassword, account.AMROTP, account.AMRMFA}) {
			t.Errorf("AMR = %v, %v; want [pwd otp mfa]", fp.Session.AMR, err)
		}
	})
}

// credentialHookStore runs hook (once) before the first Credential read
// after it is armed: a password change landing inside CompleteMFA, after
// its pending session was authenticated.
type credentialHookStore struct {
	latch.Store
	hook func()
}

func (s *credentialHookStore) Credential(ctx context.Context, userID string) (latch.Credential, error) {
	if h := s.hook; h != nil {
		s.hook = nil
		h()
	}
	return s.Store.Credential(ctx, userID)
}

// TestMFAPasswordChangedWhileCompleting: a password change that commits
// while CompleteMFA runs (after the mfa token was checked) still leaves
// no session of the old password: the pending session is checked live
// again after the credential is read.
func TestMFAPasswordChangedWhileCompleting(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			store := &credentialHookStore{Store: b.Open(t)}
			h := testenv.NewHarness(t, store)
			ctx := t.Context()
			email := "mfa-race-inside@example.com"
			u := h.PasswordUser(t, email, mfaPassword, "", false)
			pair, err := h.Accounts.Login(ctx, account.LoginInput{Email: email, Password: mfaPassword})
			if err != nil {
				t.Fatal(err)
			}
			p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			e := enrolConfirmed(t, h, p)
			h.Clock.Advance(time.Minute)
			pending := pendingLogin(t, h, email)
			np := "a password set meanwhile"
			store.hook = func() {
				if err := h.Accounts.AdminSetPassword(ctx, account.Operator(""), account.AdminSetPasswordInput{
					User: account.UserRef{ID: u.ID}, Password: &np, Confirmation: &np,
				}); err != nil {
					t.Errorf("AdminSetPassword: %v", err)
				}
			}
			_, err = h.Accounts.CompleteMFA(ctx, pending.AccessToken, account.FactorProof{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())}, "")
			if !latch.IsKind(err, latch.KindUnauthenticated) {
				t.Errorf("CompleteMFA with a password change inside = %v, want Unauthenticated", err)
			}
			if store.hook != nil {
				t.Fatal("the password change did not happen inside CompleteMFA")
			}
		})
	}
}

// TestMFATokenCompletesOnce: one mfa token yields one session, even when
// two different valid proofs (a code and a recovery code) complete it at
// the same moment.
func TestMFATokenCompletesOnce(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := t.Context()
		email := "mfa-once@example.com"
		p, e := mfaUser(t, h, email)
		codes, err := h.Accounts.RegenerateRecoveryCodes(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for round := range 5 {
			pending := pendingLogin(t, h, email)
			proofs := []account.FactorProof{
				{TOTPCode: codeAt(t, e.Secret, h.Clock.Now())},
				{RecoveryCode: codes[round]},
			}
			start := make(chan struct{})
			errs := make(chan error, len(proofs))
			for _, proof := range proofs {
				go func() {
					<-start
					_, err := h.Accounts.CompleteMFA(ctx, pending.AccessToken, proof, "")
					errs <- err
				}()
			}
			close(start)
			won := 0
			for range proofs {
				if err := <-errs; err == nil {
					won++
				} else if !latch.IsKind(err, latch.KindUnauthenticated) && !latch.IsKind(err, latch.KindConflict) {
					t.Errorf("round %d: the losing completion: %v, want unauthenticated", round, err)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d completions of one mfa token succeeded, want exactly 1", round, won)
			}
			h.Clock.Advance(time.Minute) // the next round's code is of a new step
		}
	})
}
