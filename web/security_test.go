package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// The account page's security section over the fake use cases.

var stepUpRequired = &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeStepUpRequired, Message: "a fresh factor check is required"}

// securityFake is a signed-in account page's fake: the web session's
// access token "access" (or, after a step-up, "fresh") is Ada's, with a
// TOTP factor and a passkey.
func securityFake(t *testing.T) *fakeAccounts {
	user := latch.User{ID: "u1", Email: "ada@example.com", TenantID: latch.DefaultTenantID}
	added := time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)
	used := added.Add(48 * time.Hour)
	return &fakeAccounts{t: t,
		AuthenticateFn: func(_ context.Context, tok string) (account.Principal, error) {
			switch tok {
			case "access":
				return account.Principal{User: user, Session: latch.Session{ID: "s-old"}}, nil
			case "fresh":
				return account.Principal{User: user, Session: latch.Session{ID: "s-fresh"}}, nil
			}
			return account.Principal{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid"}
		},
		MyIdentitiesFn:  func(context.Context, account.Principal) ([]latch.Identity, error) { return nil, nil },
		MyAppsFn:        func(context.Context, string) ([]account.MyApp, error) { return nil, nil },
		HasPasswordFn:   func(context.Context, string) (bool, error) { return true, nil },
		PasswordRulesFn: func(context.Context, string) string { return "At least 8 characters." },
		MyFactorsFn: func(context.Context, account.Principal) ([]latch.Factor, error) {
			return []latch.Factor{
				{ID: "f-totp", UserID: "u1", Kind: latch.FactorTOTP, Name: "Phone", CreatedAt: added, ConfirmedAt: &added, LastUsedAt: &used},
				{ID: "f-key", UserID: "u1", Kind: latch.FactorWebAuthn, Name: "Laptop", CreatedAt: added, ConfirmedAt: &added},
			}, nil
		},
	}
}

func webSessionCookie(access string) *http.Cookie {
	plain, _ := json.Marshal(map[string]string{"a": access, "r": "lrt_" + access})
	sealed, _ := plainSealer{}.Seal("web-session", plain)
	return &http.Cookie{Name: "__Host-latch_web", Value: sealed}
}

// TestAccountSecuritySection: the account page lists the factors (name,
// kind, added, last used) with a way to remove each, and offers an
// authenticator app, a passkey (with the script, and only then
// script-src) and new recovery codes.
func TestAccountSecuritySection(t *testing.T) {
	h := fakePages(securityFake(t))
	rec, _ := serveFake(h, pageGet("/account", webSessionCookie("access")))
	body := rec.Body.String()
	for _, want := range []string{
		`<li id="factor-f-totp"><strong>Phone</strong> (authenticator app). Added <time datetime="2031-01-02T03:04:05Z">2 January 2031</time>; last used <time datetime="2031-01-04T03:04:05Z">4 January 2031</time>.`,
		`<li id="factor-f-key"><strong>Laptop</strong> (passkey). Added <time datetime="2031-01-02T03:04:05Z">2 January 2031</time>; never used.`,
		`name="factor_id" value="f-totp"`, `aria-label="Remove Laptop"`, `id="add-totp"`, `id="add-passkey"`, `data-options="/account/passkeys/options"`,
		`data-mode="create"`, `id="new-recovery-codes"`, `<script src="/static/passkeys.js" defer></script>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the account page lacks %s:\n%s", want, body)
		}
	}
	if rec.Code != 200 || !slices.Equal(csp(rec, "script-src"), []string{"'self'"}) || !slices.Equal(csp(rec, "img-src"), []string{"'self'"}) {
		t.Errorf("%d CSP %q", rec.Code, rec.Header().Get("Content-Security-Policy"))
	}
	checkAccessible(t, body)

	// Pages without a ceremony load no script, and their CSP allows none.
	for _, path := range []string{"/signup", "/recover"} {
		rec, _ := serveFake(fakePages(&fakeAccounts{t: t, FlowDeadlineFn: func() time.Time { return flowDeadline }}), pageGet(path))
		if strings.Contains(rec.Body.String(), "<script") || csp(rec, "script-src") != nil || strings.Contains(rec.Header().Get("Content-Security-Policy"), "data:") {
			t.Errorf("%s: %q\n%s", path, rec.Header().Get("Content-Security-Policy"), rec.Body)
		}
	}

	// Factors that cannot be listed leave the rest of the page.
	f := securityFake(t)
	f.MyFactorsFn = func(context.Context, account.Principal) ([]latch.Factor, error) {
		return nil, &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "down"}
	}
	rec, _ = serveFake(fakePages(f), pageGet("/account", webSessionCookie("access")))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="factors-error"`) || !strings.Contains(rec.Body.String(), `id="save-password"`) {
		t.Errorf("factors down: %d\n%s", rec.Code, rec.Body)
	}
}

// TestAddAuthenticatorApp: EnrolTOTP's QR code is shown as a data: image
// (allowed on that page only) with the secret, nothing cached; the first
// code confirms it; a wrong one is under its input (401) without the
// secret shown again; a bad name is under the name's input.
func TestAddAuthenticatorApp(t *testing.T) {
	var names, confirms []string
	f := securityFake(t)
	f.EnrolTOTPFn = func(_ context.Context, p account.Principal, name string) (account.TOTPEnrolment, error) {
		names = append(names, name)
		if len(name) > 10 {
			return account.TOTPEnrolment{}, latch.FieldError("name", latch.CodeInvalidRequest, "The name must be at most 100 characters of text.")
		}
		return account.TOTPEnrolment{FactorID: "f-new", Secret: "JBSWY3DPEHPK3PXP", URL: "otpauth://totp/x", QRPNG: []byte{0x89, 'P', 'N', 'G'}}, nil
	}
	f.ConfirmTOTPFn = func(_ context.Context, p account.Principal, id, code string) error {
		confirms = append(confirms, p.User.ID, id, code)
		switch code {
		case "123456":
			return nil
		case "999999":
			return &latch.Error{Kind: latch.KindTooMany, Code: latch.CodeRateLimited, Message: "x", RetryAfter: time.Minute}
		}
		return &latch.Error{Kind: latch.KindInvalid, Code: account.CodeInvalidMFACode, Field: "code", Message: "the code is wrong or was used already"}
	}
	h := fakePages(f)
	session := webSessionCookie("access")
	rec, _ := serveFake(h, formPost("/account/totp", url.Values{"totp_name": {"Phone"}}, session))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `<img id="totp-qr" src="data:image/png;base64,iVBORw=="`) || !strings.Contains(body, `<code id="totp-secret">JBSWY3DPEHPK3PXP</code>`) ||
		!strings.Contains(body, `action="/account/totp/confirm"`) || !strings.Contains(body, `name="factor_id" value="f-new"`) {
		t.Fatalf("enrolment: %d\n%s", rec.Code, body)
	}
	if !slices.Equal(csp(rec, "img-src"), []string{"'self'", "data:"}) || csp(rec, "script-src") != nil || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("enrolment headers: %v", rec.Header())
	}
	checkAccessible(t, body)
	if !slices.Equal(names, []string{"Phone"}) {
		t.Errorf("EnrolTOTP got %q", names)
	}

	rec, _ = serveFake(h, formPost("/account/totp/confirm", url.Values{"factor_id": {"f-new"}, "code": {"000000"}}, session))
	a := checkAccessible(t, rec.Body.String())
	if rec.Code != 401 || a.FieldErrors["code"] != "That code is wrong or was used already. Enter the code your app shows now." ||
		strings.Contains(rec.Body.String(), "JBSWY3DPEHPK3PXP") || !strings.Contains(rec.Body.String(), `name="factor_id" value="f-new"`) {
		t.Errorf("wrong first code: %d %v\n%s", rec.Code, a, rec.Body)
	}
	rec, _ = serveFake(h, formPost("/account/totp/confirm", url.Values{"factor_id": {"f-new"}, "code": {"999999"}}, session))
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "60" {
		t.Errorf("too many: %d %v", rec.Code, rec.Header())
	}
	rec, _ = serveFake(h, formPost("/account/totp/confirm", url.Values{"factor_id": {"f-new"}, "code": {"123456"}}, session))
	if rec.Code != 303 || rec.Header().Get("Location") != "/account?factor=added" {
		t.Errorf("confirmed: %d %v", rec.Code, rec.Header())
	}
	if !slices.Equal(confirms[len(confirms)-3:], []string{"u1", "f-new", "123456"}) {
		t.Errorf("ConfirmTOTP got %q", confirms)
	}
	rec, _ = serveFake(h, pageGet("/account?factor=added", session))
	if !strings.Contains(rec.Body.String(), "Second factor added.") {
		t.Errorf("no notice:\n%s", rec.Body)
	}

	rec, _ = serveFake(h, formPost("/account/totp", url.Values{"totp_name": {strings.Repeat("n", 11)}}, session))
	if a := checkAccessible(t, rec.Body.String()); rec.Code != 422 || a.FieldErrors["totp_name"] != "The name must be at most 100 characters of text." {
		t.Errorf("bad name: %d %v", rec.Code, a)
	}
	// Signed out, nothing is enrolled.
	names = nil
	rec, _ = serveFake(h, formPost("/account/totp", url.Values{}))
	if rec.Code != 303 || rec.Header().Get("Location") != "/login" || names != nil {
		t.Errorf("signed out: %d %v %q", rec.Code, rec.Header(), names)
	}
}

// TestRemoveFactorStepsUp: removing a factor of a session without a
// fresh factor check shows the step-up (the user's factors' forms, the
// removal carried); a wrong code is under its input; a right one
// replaces the web session's cookie with StepUp's pair and then removes
// the factor as the fresh session.
func TestRemoveFactorStepsUp(t *testing.T) {
	var removedBy []string
	var proofs []account.FactorProof
	f := securityFake(t)
	f.RemoveFactorFn = func(_ context.Context, p account.Principal, id string) error {
		if p.Session.ID != "s-fresh" {
			return stepUpRequired
		}
		removedBy = append(removedBy, p.Session.ID, id)
		return nil
	}
	f.StepUpFn = func(_ context.Context, p account.Principal, proof account.FactorProof) (account.TokenPair, error) {
		proofs = append(proofs, proof)
		if p.Session.ID != "s-old" || proof.TOTPCode != "123456" {
			return account.TokenPair{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: account.CodeInvalidMFACode, Message: "wrong"}
		}
		return account.TokenPair{AccessToken: "fresh", RefreshToken: "lrt_fresh"}, nil
	}
	h := fakePages(f)
	old := webSessionCookie("access")
	rec, _ := serveFake(h, formPost("/account/factors/remove", url.Values{"factor_id": {"f-totp"}}, old))
	body := rec.Body.String()
	if rec.Code != 403 || removedBy != nil || !strings.Contains(body, `action="/account/step-up"`) || !strings.Contains(body, `name="then" value="remove"`) ||
		!strings.Contains(body, `name="factor_id" value="f-totp"`) || !strings.Contains(body, `id="step-up-totp-form"`) ||
		!strings.Contains(body, `data-options="/account/step-up/passkey/options"`) || !strings.Contains(body, `id="step-up-recovery-form"`) {
		t.Fatalf("step-up page: %d\n%s", rec.Code, body)
	}
	checkAccessible(t, body)

	rec, _ = serveFake(h, formPost("/account/step-up", url.Values{"then": {"remove"}, "factor_id": {"f-totp"}, "code": {"000000"}}, old))
	if a := checkAccessible(t, rec.Body.String()); rec.Code != 401 || a.FieldErrors["code"] == "" || cookieNamed(rec, "__Host-latch_web") != nil || removedBy != nil {
		t.Errorf("wrong code: %d %v %v", rec.Code, a, rec.Result().Cookies())
	}
	rec, _ = serveFake(h, formPost("/account/step-up", url.Values{"then": {"remove"}, "factor_id": {"f-totp"}, "code": {"123456"}}, old))
	if rec.Code != 303 || rec.Header().Get("Location") != "/account?factor=removed" {
		t.Fatalf("stepped up: %d %v\n%s", rec.Code, rec.Header(), rec.Body)
	}
	if c := cookieNamed(rec, "__Host-latch_web"); c == nil || c.Value != webSessionCookie("fresh").Value {
		t.Errorf("the session cookie is not the step-up's pair: %v", c)
	}
	if !slices.Equal(removedBy, []string{"s-fresh", "f-totp"}) {
		t.Errorf("RemoveFactor by %q", removedBy)
	}
	// A removal the fresh session is allowed at once.
	removedBy = nil
	rec, _ = serveFake(h, formPost("/account/factors/remove", url.Values{"factor_id": {"f-key"}}, webSessionCookie("fresh")))
	if rec.Code != 303 || !slices.Equal(removedBy, []string{"s-fresh", "f-key"}) {
		t.Errorf("fresh removal: %d %q", rec.Code, removedBy)
	}
}

// TestRecoveryCodesStepUpAndShowOnce: new recovery codes after the
// step-up (a recovery code as proof), on a page that is never cached.
func TestRecoveryCodesStepUpAndShowOnce(t *testing.T) {
	f := securityFake(t)
	f.RegenerateRecoveryCodesFn = func(_ context.Context, p account.Principal) ([]string, error) {
		if p.Session.ID != "s-fresh" {
			return nil, stepUpRequired
		}
		return []string{"aaaa-bbbb-cc", "dddd-eeee-ff"}, nil
	}
	f.StepUpFn = func(_ context.Context, p account.Principal, proof account.FactorProof) (account.TokenPair, error) {
		if proof.RecoveryCode != "zzzz-yyyy-xx" || proof.TOTPCode != "" {
			t.Errorf("StepUp got %+v", proof)
		}
		return account.TokenPair{AccessToken: "fresh", RefreshToken: "lrt_fresh"}, nil
	}
	h := fakePages(f)
	rec, _ := serveFake(h, formPost("/account/recovery-codes", nil, webSessionCookie("access")))
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), `name="then" value="recovery_codes"`) {
		t.Fatalf("step-up: %d\n%s", rec.Code, rec.Body)
	}
	rec, _ = serveFake(h, formPost("/account/step-up", url.Values{"then": {"recovery_codes"}, "recovery_code": {"zzzz-yyyy-xx"}}, webSessionCookie("access")))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `<ol id="recovery-codes"><li><code>aaaa-bbbb-cc</code></li><li><code>dddd-eeee-ff</code></li></ol>`) ||
		!strings.Contains(body, "These codes are shown once.") || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("codes: %d %v\n%s", rec.Code, rec.Header(), body)
	}
	checkAccessible(t, body)
}

// TestPasswordChangeStepsUp: a password change that needs a step-up
// shows it; after the step the person types the password again (it is
// never carried through the step).
func TestPasswordChangeStepsUp(t *testing.T) {
	f := securityFake(t)
	f.SetOwnPasswordFn = func(context.Context, account.Principal, account.SetOwnPasswordInput) error { return stepUpRequired }
	f.StepUpFn = func(context.Context, account.Principal, account.FactorProof) (account.TokenPair, error) {
		return account.TokenPair{AccessToken: "fresh", RefreshToken: "lrt_fresh"}, nil
	}
	h := fakePages(f)
	rec, _ := serveFake(h, formPost("/account/password", url.Values{"current_password": {"old one"}, "password": {"a new one!"}, "password_confirmation": {"a new one!"}}, webSessionCookie("access")))
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), `name="then" value="password"`) || strings.Contains(rec.Body.String(), "a new one!") {
		t.Fatalf("step-up: %d\n%s", rec.Code, rec.Body)
	}
	rec, _ = serveFake(h, formPost("/account/step-up", url.Values{"then": {"password"}, "code": {"123456"}}, webSessionCookie("access")))
	if rec.Code != 303 || rec.Header().Get("Location") != "/account?factor=confirmed#password-section" || cookieNamed(rec, "__Host-latch_web") == nil {
		t.Errorf("stepped up: %d %v", rec.Code, rec.Header())
	}
}

// TestAddPasskey: the registration's options come from
// BeginPasskeyRegistration for the signed-in user, and the credential
// posted back is finished with that ceremony under its name.
func TestAddPasskey(t *testing.T) {
	var finished []string
	f := securityFake(t)
	f.BeginPasskeyRegistrationFn = func(_ context.Context, p account.Principal) (account.PasskeyChallenge, error) {
		if p.User.ID != "u1" {
			t.Errorf("BeginPasskeyRegistration for %+v", p)
		}
		return account.PasskeyChallenge{Options: []byte(`{"publicKey":{"challenge":"AA"}}`), Ceremony: "reg-1"}, nil
	}
	f.FinishPasskeyRegistrationFn = func(_ context.Context, p account.Principal, name, ceremony string, resp []byte) (latch.Factor, error) {
		finished = append(finished, name, ceremony, string(resp))
		if ceremony != "reg-1" {
			return latch.Factor{}, &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Message: "bad ceremony"}
		}
		return latch.Factor{ID: "f-k2"}, nil
	}
	h := fakePages(f)
	session := webSessionCookie("access")
	rec, _ := serveFake(h, formPost("/account/passkeys/options", nil, session))
	ceremony := cookieNamed(rec, "__Host-latch_passkey")
	if rec.Code != 200 || ceremony == nil || rec.Body.String() != `{"publicKey":{"challenge":"AA"}}` {
		t.Fatalf("options: %d %s", rec.Code, rec.Body)
	}
	rec, _ = serveFake(h, formPost("/account/passkeys", url.Values{"passkey_name": {"Laptop"}, "passkey_response": {`{"id":"n"}`}}, session, ceremony))
	if rec.Code != 303 || rec.Header().Get("Location") != "/account?factor=added" || !slices.Equal(finished, []string{"Laptop", "reg-1", `{"id":"n"}`}) {
		t.Errorf("added: %d %v %q", rec.Code, rec.Header(), finished)
	}
	// Without its ceremony the browser's answer is refused on the page.
	rec, _ = serveFake(h, formPost("/account/passkeys", url.Values{"passkey_name": {"Laptop"}, "passkey_response": {`{"id":"n"}`}}, session))
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), "No passkey was added") {
		t.Errorf("no ceremony: %d\n%s", rec.Code, rec.Body)
	}
}

// TestStepUpWithAPasskey: the step-up's passkey form gets its options
// from BeginStepUpPasskey for the signed-in user, and StepUp gets the
// assertion with that ceremony.
func TestStepUpWithAPasskey(t *testing.T) {
	var proofs []account.FactorProof
	f := securityFake(t)
	f.BeginStepUpPasskeyFn = func(_ context.Context, p account.Principal) (account.PasskeyChallenge, error) {
		if p.Session.ID != "s-old" {
			t.Errorf("BeginStepUpPasskey for %+v", p)
		}
		return account.PasskeyChallenge{Options: []byte(`{"publicKey":{}}`), Ceremony: "step-1"}, nil
	}
	f.StepUpFn = func(_ context.Context, p account.Principal, proof account.FactorProof) (account.TokenPair, error) {
		proofs = append(proofs, proof)
		return account.TokenPair{AccessToken: "fresh", RefreshToken: "lrt_fresh"}, nil
	}
	h := fakePages(f)
	session := webSessionCookie("access")
	rec, _ := serveFake(h, formPost("/account/step-up/passkey/options", nil, session))
	ceremony := cookieNamed(rec, "__Host-latch_passkey")
	if rec.Code != 200 || ceremony == nil {
		t.Fatalf("options: %d %s", rec.Code, rec.Body)
	}
	rec, _ = serveFake(h, formPost("/account/step-up", url.Values{"then": {"password"}, "passkey_response": {`{"id":"k"}`}}, session, ceremony))
	if rec.Code != 303 || len(proofs) != 1 || proofs[0].PasskeyCeremony != "step-1" || string(proofs[0].PasskeyResponse) != `{"id":"k"}` {
		t.Errorf("step-up with a passkey: %d %+v", rec.Code, proofs)
	}
	if c := cookieNamed(rec, "__Host-latch_passkey"); c == nil || c.MaxAge >= 0 {
		t.Errorf("the used ceremony's cookie is kept: %v", c)
	}
}

// TestSecurityOutages: with the database down, the factor step and the
// security forms answer 503 pages with Retry-After, never a 500.
func TestSecurityOutages(t *testing.T) {
	down := &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "the database is unavailable", RetryAfter: 2 * time.Second}
	f := securityFake(t)
	f.MFAChallengeOfFn = func(context.Context, string) (account.MFAChallenge, error) { return account.MFAChallenge{}, down }
	f.FlowDeadlineFn = func() time.Time { return flowDeadline }
	f.LoginFn = func(context.Context, account.LoginInput) (account.TokenPair, error) {
		return account.TokenPair{AccessToken: mfaToken}, mfaRequired
	}
	f.EnrolTOTPFn = func(context.Context, account.Principal, string) (account.TOTPEnrolment, error) {
		return account.TOTPEnrolment{}, down
	}
	f.RemoveFactorFn = func(context.Context, account.Principal, string) error { return down }
	f.RegenerateRecoveryCodesFn = func(context.Context, account.Principal) ([]string, error) { return nil, down }
	h := fakePages(f)
	session := webSessionCookie("access")
	for _, req := range []*http.Request{
		formPost("/login", url.Values{"email": {"ada@example.com"}, "password": {"right"}}),
		formPost("/account/totp", url.Values{}, session),
		formPost("/account/factors/remove", url.Values{"factor_id": {"f-totp"}}, session),
		formPost("/account/recovery-codes", nil, session),
	} {
		rec, panicked := serveFake(h, req)
		if panicked != nil || rec.Code != 503 || rec.Header().Get("Retry-After") != "2" || !strings.Contains(rec.Body.String(), "Latch cannot do this right now.") {
			t.Errorf("%s: %d %v %v\n%s", req.URL, rec.Code, panicked, rec.Header(), rec.Body)
		}
	}
}

// TestFactorStepOffersOnlyTheAccountsFactors: an account with a TOTP
// factor only gets the code forms, no passkey form and no script.
func TestFactorStepOffersOnlyTheAccountsFactors(t *testing.T) {
	f := mfaFake(t, nil)
	f.MFAChallengeOfFn = func(context.Context, string) (account.MFAChallenge, error) {
		return account.MFAChallenge{Email: "ada@example.com", Factors: []string{account.FactorTOTP, account.FactorRecoveryCode}}, nil
	}
	rec, _ := signInToFactorStep(t, fakePages(f), url.Values{"email": {"ada@example.com"}, "password": {"right"}})
	body := rec.Body.String()
	if !strings.Contains(body, `id="totp-form"`) || !strings.Contains(body, `id="recovery-form"`) || strings.Contains(body, "passkey") ||
		strings.Contains(body, "<script") || csp(rec, "script-src") != nil {
		t.Errorf("TOTP only: %q\n%s", rec.Header().Get("Content-Security-Policy"), body)
	}
}

// TestRemoveFactorRefusals: a factor that is not the person's, or a
// refused input, is the account page with the reason, never a 500.
func TestRemoveFactorRefusals(t *testing.T) {
	for _, c := range []struct {
		err    error
		status int
		says   string
	}{
		{&latch.Error{Kind: latch.KindNotFound, Code: latch.CodeNotFound, Message: "no such factor"}, 404, "That second factor is not one of yours any more."},
		{&latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Message: "the factor id is missing"}, 400, "Nothing was changed: the factor id is missing."},
		{&latch.Error{Kind: latch.KindForbidden, Code: "factor_policy", Message: "policy"}, 403, "Your account cannot make this change."},
	} {
		f := securityFake(t)
		f.RemoveFactorFn = func(context.Context, account.Principal, string) error { return c.err }
		rec, panicked := serveFake(fakePages(f), formPost("/account/factors/remove", url.Values{"factor_id": {"x"}}, webSessionCookie("access")))
		if panicked != nil || rec.Code != c.status || !strings.Contains(rec.Body.String(), c.says) || !strings.Contains(rec.Body.String(), `id="factors"`) {
			t.Errorf("%v: %d %v\n%s", c.err, rec.Code, panicked, rec.Body)
		}
	}
}
