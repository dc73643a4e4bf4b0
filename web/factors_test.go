package web_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// The second factors on the pages (issue 16) over the fake use cases.

const mfaToken = "the-mfa-token"

var mfaRequired = &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeMFARequired, Message: "a second factor is required"}

// mfaFake is a fake whose Login answers mfa_required with the mfa token,
// whose mfa token offers every factor, and whose CompleteMFA accepts the
// TOTP code 123456 (what it was asked is kept in completed).
func mfaFake(t *testing.T, completed *[]account.FactorProof) *fakeAccounts {
	return &fakeAccounts{t: t,
		FlowDeadlineFn: func() time.Time { return flowDeadline },
		LoginFn: func(context.Context, account.LoginInput) (account.TokenPair, error) {
			return account.TokenPair{AccessToken: mfaToken, Scopes: []string{latch.ScopeMFAPending}}, mfaRequired
		},
		MFAChallengeOfFn: func(_ context.Context, tok string) (account.MFAChallenge, error) {
			if tok != mfaToken {
				return account.MFAChallenge{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid token"}
			}
			return account.MFAChallenge{UserID: "u1", Email: "ada@example.com",
				Factors: []string{account.FactorTOTP, account.FactorPasskey, account.FactorRecoveryCode}}, nil
		},
		CompleteMFAFn: func(_ context.Context, tok string, proof account.FactorProof, ip string) (account.TokenPair, error) {
			if completed != nil {
				*completed = append(*completed, proof)
			}
			if tok != mfaToken || ip != "192.0.2.7" {
				t.Errorf("CompleteMFA got token %q, ip %q", tok, ip)
			}
			if proof.TOTPCode == "123456" {
				return account.TokenPair{AccessToken: "access", RefreshToken: "lrt_refresh"}, nil
			}
			return account.TokenPair{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: account.CodeInvalidMFACode, Message: "the code is wrong or was used already"}
		},
	}
}

// signInToFactorStep posts the password form and returns the factor
// step's answer and its mfa cookie.
func signInToFactorStep(t *testing.T, h http.Handler, form url.Values) (*httptest.ResponseRecorder, *http.Cookie) {
	t.Helper()
	rec, panicked := serveFake(h, formPost("/login", form))
	if panicked != nil {
		t.Fatalf("panic: %v", panicked)
	}
	c := cookieNamed(rec, "__Host-latch_mfa")
	if rec.Code != 200 || c == nil {
		t.Fatalf("password of an account with a factor: %d, mfa cookie %v\n%s", rec.Code, c, rec.Body)
	}
	return rec, c
}

func factorPost(path string, form url.Values, cookies ...*http.Cookie) *http.Request {
	req := formPost(path, form, cookies...)
	req.RemoteAddr = "192.0.2.7:4000"
	return req
}

func csp(rec *httptest.ResponseRecorder, directive string) []string {
	for _, d := range strings.Split(rec.Header().Get("Content-Security-Policy"), ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == directive {
			return f[1:]
		}
	}
	return nil
}

// TestPasswordThenFactorStep: a password sign-in that answers
// mfa_required starts no session; it shows the second step, whose forms
// are a TOTP code (numeric one-time-code), a passkey (with the script)
// and a recovery code, and keeps the mfa token only sealed in a
// short-lived HttpOnly cookie: never in the page.
func TestPasswordThenFactorStep(t *testing.T) {
	h := fakePages(mfaFake(t, nil))
	rec, c := signInToFactorStep(t, h, url.Values{"email": {"ada@example.com"}, "password": {"right"}})
	body := rec.Body.String()
	if s := cookieNamed(rec, "__Host-latch_web"); s != nil && s.MaxAge >= 0 {
		t.Errorf("a session cookie before the factor: %v", s)
	}
	if !c.HttpOnly || !c.Secure || c.MaxAge != int(account.MFATokenTTL.Seconds()) || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Errorf("mfa cookie %+v", c)
	}
	if strings.Contains(body, mfaToken) || strings.Contains(c.Value, mfaToken) {
		t.Errorf("the mfa token is in the page or the cookie in clear:\n%s", body)
	}
	for _, want := range []string{`id="code" name="code" type="text" autocomplete="one-time-code" inputmode="numeric" required`,
		`id="recovery_code" name="recovery_code"`, `id="passkey-form"`, `data-options="/login/factor/passkey/options"`,
		`<script src="/static/passkeys.js" defer></script>`, "Signing in as <strong id=\"email\">ada@example.com</strong>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the factor step lacks %s:\n%s", want, body)
		}
	}
	if got := csp(rec, "script-src"); !slices.Equal(got, []string{"'self'"}) {
		t.Errorf("script-src %v", got)
	}
	if rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
	checkAccessible(t, body)

	// Reloaded, the step is the same page.
	rec, _ = serveFake(h, pageGet("/login/factor", c))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="totp-form"`) {
		t.Errorf("GET /login/factor: %d\n%s", rec.Code, rec.Body)
	}
	// Without the cookie, it has expired.
	rec, _ = serveFake(h, pageGet("/login/factor"))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "This sign-in step expired.") {
		t.Errorf("GET /login/factor without the cookie: %d\n%s", rec.Code, rec.Body)
	}
}

// TestFactorFormAnswers: the factor form hands the proof to CompleteMFA
// and answers each outcome: a session (and the mfa cookie gone), a wrong
// code or recovery code under its own input (401), too many (429), the
// database down (503), an expired token (400), the rest 500.
func TestFactorFormAnswers(t *testing.T) {
	wrong := &latch.Error{Kind: latch.KindUnauthenticated, Code: account.CodeInvalidMFACode, Message: "the code is wrong or was used already"}
	cases := []struct {
		name       string
		form       url.Values
		err        error
		status     int
		proof      account.FactorProof
		field      string // the input the error is under
		says       string
		retryAfter string
	}{
		{"right code", url.Values{"code": {"123456"}}, nil, 303, account.FactorProof{TOTPCode: "123456"}, "", "", ""},
		{"recovery code", url.Values{"recovery_code": {"abcd-efgh-ij"}}, nil, 303, account.FactorProof{RecoveryCode: "abcd-efgh-ij"}, "", "", ""},
		{"wrong code", url.Values{"code": {"000000"}}, wrong, 401, account.FactorProof{TOTPCode: "000000"}, "code",
			"That code is wrong or was used already. Enter the code your app shows now.", ""},
		{"wrong code, as Invalid", url.Values{"code": {"12"}}, &latch.Error{Kind: latch.KindInvalid, Code: account.CodeInvalidMFACode, Field: "code", Message: "x"}, 401,
			account.FactorProof{TOTPCode: "12"}, "code", "That code is wrong or was used already. Enter the code your app shows now.", ""},
		{"wrong recovery code", url.Values{"recovery_code": {"nope"}}, wrong, 401, account.FactorProof{RecoveryCode: "nope"}, "recovery_code",
			"That recovery code is wrong or was used already.", ""},
		{"too many", url.Values{"code": {"000000"}}, &latch.Error{Kind: latch.KindTooMany, Code: latch.CodeRateLimited, Message: "too many", RetryAfter: time.Minute}, 429,
			account.FactorProof{TOTPCode: "000000"}, "", "Too many attempts. Wait a minute and try again.", "60"},
		{"database down", url.Values{"code": {"123456"}}, &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "down", RetryAfter: 3 * time.Second}, 503,
			account.FactorProof{TOTPCode: "123456"}, "", "Latch cannot do this right now.", "3"},
		{"token expired", url.Values{"code": {"123456"}}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid token"}, 400,
			account.FactorProof{TOTPCode: "123456"}, "", "This sign-in step expired. Sign in again.", ""},
		{"internal", url.Values{"code": {"123456"}}, latch.Internal(context.DeadlineExceeded), 500, account.FactorProof{TOTPCode: "123456"}, "",
			"Something went wrong on our side.", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []account.FactorProof
			f := mfaFake(t, nil)
			f.CompleteMFAFn = func(_ context.Context, tok string, proof account.FactorProof, ip string) (account.TokenPair, error) {
				got = append(got, proof)
				if tok != mfaToken || ip != "192.0.2.7" {
					t.Errorf("CompleteMFA got token %q, ip %q", tok, ip)
				}
				if c.err != nil {
					return account.TokenPair{}, c.err
				}
				return account.TokenPair{AccessToken: "access", RefreshToken: "lrt_refresh"}, nil
			}
			h := fakePages(f)
			_, mfa := signInToFactorStep(t, h, url.Values{"email": {"ada@example.com"}, "password": {"right"}})
			rec, panicked := serveFake(h, factorPost("/login/factor", c.form, mfa))
			if panicked != nil {
				t.Fatalf("panic: %v", panicked)
			}
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d\n%s", rec.Code, c.status, rec.Body)
			}
			if len(got) != 1 || got[0].TOTPCode != c.proof.TOTPCode || got[0].RecoveryCode != c.proof.RecoveryCode {
				t.Errorf("CompleteMFA got %+v, want %+v", got, c.proof)
			}
			session := cookieNamed(rec, "__Host-latch_web")
			if c.err == nil {
				if rec.Header().Get("Location") != "/account" || session == nil || session.Value == "" {
					t.Errorf("passed: Location %q, session %v", rec.Header().Get("Location"), session)
				}
				if m := cookieNamed(rec, "__Host-latch_mfa"); m == nil || m.MaxAge >= 0 {
					t.Errorf("the mfa cookie is kept after the step: %v", m)
				}
				return
			}
			if session != nil {
				t.Errorf("a refused step set a session: %v", session)
			}
			body := html.UnescapeString(rec.Body.String())
			if c.field != "" {
				a := checkAccessible(t, rec.Body.String())
				if a.FieldErrors[c.field] != c.says || len(a.FieldErrors) != 1 {
					t.Errorf("field errors %v, want %q under %s", a.FieldErrors, c.says, c.field)
				}
				if !strings.Contains(body, `id="totp-form"`) {
					t.Errorf("the step is not shown again:\n%s", body)
				}
			} else if !strings.Contains(body, c.says) {
				t.Errorf("the page does not say %q:\n%s", c.says, body)
			}
			if ra := rec.Header().Get("Retry-After"); ra != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", ra, c.retryAfter)
			}
		})
	}
}

// TestFactorStepWithoutItsCookie: a code posted without the step's
// cookie (expired, or another browser's) is never checked.
func TestFactorStepWithoutItsCookie(t *testing.T) {
	f := mfaFake(t, nil)
	f.CompleteMFAFn = nil // a call fails the test
	h := fakePages(f)
	forged := &http.Cookie{Name: "__Host-latch_mfa", Value: "web-session.eyJ0IjoidGhlLW1mYS10b2tlbiJ9"}
	for _, cookies := range [][]*http.Cookie{nil, {forged}} {
		rec, _ := serveFake(h, factorPost("/login/factor", url.Values{"code": {"123456"}}, cookies...))
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), "This sign-in step expired.") {
			t.Errorf("cookies %v: %d\n%s", cookies, rec.Code, rec.Body)
		}
	}
	// A cross-site form is refused before anything.
	req := factorPost("/login/factor", url.Values{"code": {"123456"}})
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if rec, _ := serveFake(h, req); rec.Code != 403 {
		t.Errorf("cross-site: %d", rec.Code)
	}
}

// TestAuthorizeRequestSurvivesTheFactorStep: an app's request signed in
// with a password that needs a factor carries on through the step (its
// sealed request in the step's forms, the app's origin in form-action)
// and is resumed once the factor passes: the app gets its code.
func TestAuthorizeRequestSurvivesTheFactorStep(t *testing.T) {
	fx := newOPFixture(t)
	fx.app.FirstParty = true
	fx.f.LoginFn = func(context.Context, account.LoginInput) (account.TokenPair, error) {
		return account.TokenPair{AccessToken: mfaToken}, mfaRequired
	}
	fx.f.MFAChallengeOfFn = mfaFake(t, nil).MFAChallengeOfFn
	fx.f.CompleteMFAFn = func(_ context.Context, tok string, proof account.FactorProof, _ string) (account.TokenPair, error) {
		if tok != mfaToken || proof.TOTPCode != "123456" {
			return account.TokenPair{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: account.CodeInvalidMFACode, Message: "wrong"}
		}
		fx.session = latch.Session{ID: "s-mfa", UserID: fx.user.ID, CreatedAt: fx.now, AuthTime: fx.now, AMR: []string{"pwd", "otp", "mfa"}}
		return account.TokenPair{AccessToken: "access", RefreshToken: "lrt_refresh"}, nil
	}
	rec := fx.serve(pageGet("/oauth2/authorize?" + authorizeParams("prompt", "login").Encode()))
	sealed := sealedRequest(t, rec)
	rec = fx.serve(formPost("/login", url.Values{"authorize": {sealed}, "email": {"ada@example.com"}, "password": {rightPassword}}))
	mfa := cookieNamed(rec, "__Host-latch_mfa")
	if rec.Code != 200 || mfa == nil || cookieNamed(rec, "__Host-latch_web").MaxAge >= 0 || len(fx.codes) != 0 {
		t.Fatalf("password: %d %v codes %v\n%s", rec.Code, rec.Result().Cookies(), fx.codes, rec.Body)
	}
	if !strings.Contains(rec.Body.String(), "to continue to <strong>Notes</strong>") || !allowsFormTo(rec, appOrigin) {
		t.Errorf("the step forgot the app:\n%s", rec.Body)
	}
	carried := sealedRequest(t, rec)
	// A wrong code keeps it too.
	rec = fx.serve(factorPost("/login/factor", url.Values{"authorize": {carried}, "code": {"000000"}}, mfa))
	if rec.Code != 401 || sealedRequest(t, rec) == "" {
		t.Fatalf("wrong code: %d\n%s", rec.Code, rec.Body)
	}
	rec = fx.serve(factorPost("/login/factor", url.Values{"authorize": {sealedRequest(t, rec)}, "code": {"123456"}}, mfa))
	wantLocation := appCallback + "?" + url.Values{"code": {"the-code"}, "iss": {fakePublicURL}, "state": {"st-1"}}.Encode()
	if rec.Code != 303 || rec.Header().Get("Location") != wantLocation || cookieNamed(rec, "__Host-latch_web") == nil {
		t.Fatalf("factor passed: %d Location %q\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if len(fx.codes) != 1 || fx.codes[0].ParentSessionID != "s-mfa" || !slices.Equal(fx.codes[0].AMR, []string{"pwd", "otp", "mfa"}) {
		t.Errorf("IssueAppCode got %+v", fx.codes)
	}
	// A request tampered with is not resumed.
	rec = fx.serve(factorPost("/login/factor", url.Values{"authorize": {carried + "x"}, "code": {"123456"}}, mfa))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "This sign-in request expired or is not valid.") {
		t.Errorf("tampered request: %d\n%s", rec.Code, rec.Body)
	}
}

// TestProviderSignInThenFactorStep: a provider sign-in of an account with
// a factor (RedeemAuthorizationCode answering mfa_required) goes to the
// factor step too.
func TestProviderSignInThenFactorStep(t *testing.T) {
	f := mfaFake(t, nil)
	f.FlowLiveFn = func(time.Time) bool { return true }
	f.RedeemAuthorizationCodeFn = func(context.Context, string, string, string) (account.TokenPair, error) {
		return account.TokenPair{AccessToken: mfaToken}, mfaRequired
	}
	h := fakePages(f)
	rec, _ := serveFake(h, pageGet("/login"))
	pkce, state := cookieNamed(rec, "__Host-latch_login"), stateInButton.FindStringSubmatch(rec.Body.String())
	rec, _ = serveFake(h, pageGet("/login/complete?"+url.Values{"code": {"c"}, "state": {state[1]}}.Encode(), pkce))
	if rec.Code != 200 || cookieNamed(rec, "__Host-latch_mfa") == nil || !strings.Contains(rec.Body.String(), `id="totp-form"`) {
		t.Errorf("provider sign-in with a factor: %d\n%s", rec.Code, rec.Body)
	}
	if s := cookieNamed(rec, "__Host-latch_web"); s != nil && s.MaxAge >= 0 {
		t.Errorf("a session before the factor: %v", s)
	}
}

// TestEnrolmentAtSignIn: a tenant that requires a factor the account
// lacks gets the enrolment: a TOTP factor for the pending token's
// principal, its QR code (a data: image, allowed on that page only), its
// first code, then the factor step for the next code.
func TestEnrolmentAtSignIn(t *testing.T) {
	pending := account.Principal{User: latch.User{ID: "u1", Email: "ada@example.com"}}
	var confirmed []string
	f := mfaFake(t, nil)
	enrolled := false
	f.LoginFn = func(context.Context, account.LoginInput) (account.TokenPair, error) {
		return account.TokenPair{AccessToken: mfaToken}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeMFAEnrolmentRequired, Message: "enrol"}
	}
	f.MFAChallengeOfFn = func(context.Context, string) (account.MFAChallenge, error) {
		if enrolled {
			return account.MFAChallenge{Email: "ada@example.com", Factors: []string{account.FactorTOTP}}, nil
		}
		return account.MFAChallenge{Email: "ada@example.com", Enrol: true}, nil
	}
	f.AuthenticateFn = func(_ context.Context, tok string) (account.Principal, error) {
		if tok != mfaToken {
			t.Errorf("Authenticate(%q)", tok)
		}
		return pending, nil
	}
	f.EnrolTOTPFn = func(_ context.Context, p account.Principal, name string) (account.TOTPEnrolment, error) {
		if p.User.ID != "u1" {
			t.Errorf("EnrolTOTP for %+v", p)
		}
		return account.TOTPEnrolment{FactorID: "f-1", Secret: "JBSWY3DPEHPK3PXP", QRPNG: []byte("\x89PNG-ish")}, nil
	}
	f.ConfirmTOTPFn = func(_ context.Context, p account.Principal, id, code string) error {
		confirmed = append(confirmed, id, code)
		if code != "111111" {
			return &latch.Error{Kind: latch.KindInvalid, Code: account.CodeInvalidMFACode, Field: "code", Message: "wrong"}
		}
		enrolled = true
		return nil
	}
	h := fakePages(f)
	rec, mfa := signInToFactorStep(t, h, url.Values{"email": {"ada@example.com"}, "password": {"right"}})
	if !strings.Contains(rec.Body.String(), `action="/login/enrol"`) {
		t.Fatalf("no enrolment:\n%s", rec.Body)
	}
	rec, _ = serveFake(h, factorPost("/login/enrol", url.Values{}, mfa))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `src="data:image/png;base64,iVBORy1pc2g="`) || !strings.Contains(body, "JBSWY3DPEHPK3PXP") ||
		!strings.Contains(body, `action="/login/enrol/confirm"`) || !strings.Contains(body, `name="factor_id" value="f-1"`) {
		t.Fatalf("enrolment page: %d\n%s", rec.Code, body)
	}
	if got := csp(rec, "img-src"); !slices.Equal(got, []string{"'self'", "data:"}) {
		t.Errorf("img-src %v", got)
	}
	checkAccessible(t, body)
	rec, _ = serveFake(h, factorPost("/login/enrol/confirm", url.Values{"factor_id": {"f-1"}, "code": {"000000"}}, mfa))
	if a := checkAccessible(t, rec.Body.String()); rec.Code != 401 || a.FieldErrors["code"] == "" || strings.Contains(rec.Body.String(), "data:image") {
		t.Errorf("wrong first code: %d %v\n%s", rec.Code, a, rec.Body)
	}
	rec, _ = serveFake(h, factorPost("/login/enrol/confirm", url.Values{"factor_id": {"f-1"}, "code": {"111111"}}, mfa))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Your authenticator app is set up.") || !strings.Contains(rec.Body.String(), `id="totp-form"`) {
		t.Errorf("confirmed: %d\n%s", rec.Code, rec.Body)
	}
	if !slices.Equal(confirmed, []string{"f-1", "000000", "f-1", "111111"}) {
		t.Errorf("ConfirmTOTP got %v", confirmed)
	}
}

// TestPasskeySignIn: /login offers passkeys (a button and conditional
// UI on the email), their options come from BeginPasskeySignIn as JSON
// with the ceremony kept sealed in a cookie, and the assertion posted
// back is finished with that ceremony into a web session. A ceremony
// begun for another use is not handed on.
func TestPasskeySignIn(t *testing.T) {
	options := `{"publicKey":{"challenge":"Y2hhbGxlbmdl","rpId":"127.0.0.1","userVerification":"required"}}`
	var finished []string
	f := &fakeAccounts{t: t, FlowDeadlineFn: func() time.Time { return flowDeadline },
		BeginPasskeySignInFn: func(context.Context, string) (account.PasskeyChallenge, error) {
			return account.PasskeyChallenge{Options: []byte(options), Ceremony: "ceremony-1"}, nil
		},
		FinishPasskeySignInFn: func(_ context.Context, ceremony string, resp []byte, ip string) (account.TokenPair, error) {
			finished = append(finished, ceremony, string(resp), ip)
			if ceremony != "ceremony-1" {
				return account.TokenPair{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidCredentials, Message: "no"}
			}
			return account.TokenPair{AccessToken: "access", RefreshToken: "lrt_refresh"}, nil
		},
	}
	h := fakePages(f)
	rec, _ := serveFake(h, pageGet("/login"))
	body := rec.Body.String()
	for _, want := range []string{`autocomplete="username webauthn"`, `id="passkey-sign-in"`, `data-options="/login/passkey/options"`, `data-conditional="email"`,
		`<script src="/static/passkeys.js" defer></script>`} {
		if !strings.Contains(body, want) {
			t.Errorf("/login lacks %s:\n%s", want, body)
		}
	}
	if got := csp(rec, "script-src"); !slices.Equal(got, []string{"'self'"}) {
		t.Errorf("script-src %v", got)
	}
	checkAccessible(t, body)

	rec, _ = serveFake(h, formPost("/login/passkey/options", nil))
	ceremony := cookieNamed(rec, "__Host-latch_passkey")
	if rec.Code != 200 || rec.Body.String() != options || rec.Header().Get("Content-Type") != "application/json" || ceremony == nil ||
		!strings.HasPrefix(ceremony.Value, "passkey-sign-in.") || !ceremony.HttpOnly || ceremony.SameSite != http.SameSiteStrictMode {
		t.Fatalf("options: %d %q %v", rec.Code, rec.Body, ceremony)
	}
	rec, _ = serveFake(h, factorPost("/login/passkey", url.Values{"passkey_response": {`{"id":"cred"}`}}, ceremony))
	if rec.Code != 303 || rec.Header().Get("Location") != "/account" || cookieNamed(rec, "__Host-latch_web") == nil {
		t.Fatalf("signed in with a passkey: %d\n%s", rec.Code, rec.Body)
	}
	if !slices.Equal(finished, []string{"ceremony-1", `{"id":"cred"}`, "192.0.2.7"}) {
		t.Errorf("FinishPasskeySignIn got %q", finished)
	}
	// A ceremony sealed for registration is not a sign-in's.
	finished = nil
	other := &http.Cookie{Name: "__Host-latch_passkey", Value: "passkey-register." + strings.TrimPrefix(ceremony.Value, "passkey-sign-in.")}
	rec, _ = serveFake(h, factorPost("/login/passkey", url.Values{"passkey_response": {`{"id":"cred"}`}}, other))
	if rec.Code != 401 || finished[0] != "" || cookieNamed(rec, "__Host-latch_web") != nil ||
		!strings.Contains(rec.Body.String(), "That passkey did not sign you in.") {
		t.Errorf("another use's ceremony: %d %q\n%s", rec.Code, finished, rec.Body)
	}
	// Without a script there is no response: the form says so.
	rec, _ = serveFake(h, factorPost("/login/passkey", url.Values{}, ceremony))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "needs JavaScript") {
		t.Errorf("no response: %d\n%s", rec.Code, rec.Body)
	}
}

// TestPasskeyOptionsErrors: the options endpoints answer JSON errors with
// the page's statuses, refuse another site, and keep no ceremony then.
func TestPasskeyOptionsErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		status int
	}{
		{"too many", &latch.Error{Kind: latch.KindTooMany, Code: latch.CodeRateLimited, Message: "x", RetryAfter: time.Minute}, 429},
		{"database down", &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "x", RetryAfter: time.Second}, 503},
		{"internal", latch.Internal(context.Canceled), 500},
	} {
		f := &fakeAccounts{t: t, BeginPasskeySignInFn: func(context.Context, string) (account.PasskeyChallenge, error) {
			return account.PasskeyChallenge{}, c.err
		}}
		rec, _ := serveFake(fakePages(f), formPost("/login/passkey/options", nil))
		var body map[string]string
		if rec.Code != c.status || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body["error"] == "" || cookieNamed(rec, "__Host-latch_passkey") != nil {
			t.Errorf("%s: %d %q", c.name, rec.Code, rec.Body)
		}
	}
	f := &fakeAccounts{t: t} // nothing may be called
	req := formPost("/login/passkey/options", nil)
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if rec, _ := serveFake(fakePages(f), req); rec.Code != 403 {
		t.Errorf("cross-site options: %d", rec.Code)
	}
	// The factor step's options need the step's cookie.
	rec, _ := serveFake(fakePages(f), formPost("/login/factor/passkey/options", nil))
	if rec.Code != 401 {
		t.Errorf("factor options without the step: %d %s", rec.Code, rec.Body)
	}
	// The account's need a session.
	rec, _ = serveFake(fakePages(f), formPost("/account/passkeys/options", nil))
	if rec.Code != 401 {
		t.Errorf("registration options signed out: %d %s", rec.Code, rec.Body)
	}
}

// TestFactorPasskeyStep: the factor step's passkey form gets its options
// from BeginMFAPasskey for the step's token, and CompleteMFA gets the
// assertion with that ceremony.
func TestFactorPasskeyStep(t *testing.T) {
	var got []account.FactorProof
	f := mfaFake(t, &got)
	f.BeginMFAPasskeyFn = func(_ context.Context, tok string) (account.PasskeyChallenge, error) {
		if tok != mfaToken {
			t.Errorf("BeginMFAPasskey(%q)", tok)
		}
		return account.PasskeyChallenge{Options: []byte(`{"publicKey":{}}`), Ceremony: "mfa-ceremony"}, nil
	}
	h := fakePages(f)
	_, mfa := signInToFactorStep(t, h, url.Values{"email": {"ada@example.com"}, "password": {"right"}})
	rec, _ := serveFake(h, formPost("/login/factor/passkey/options", nil, mfa))
	ceremony := cookieNamed(rec, "__Host-latch_passkey")
	if rec.Code != 200 || ceremony == nil {
		t.Fatalf("options: %d %s", rec.Code, rec.Body)
	}
	rec, _ = serveFake(h, factorPost("/login/factor", url.Values{"passkey_response": {`{"id":"k"}`}}, mfa, ceremony))
	if rec.Code != 401 || len(got) != 1 || got[0].PasskeyCeremony != "mfa-ceremony" || string(got[0].PasskeyResponse) != `{"id":"k"}` || got[0].TOTPCode != "" {
		t.Errorf("passkey proof: %d %+v\n%s", rec.Code, got, rec.Body)
	}
	// The fake refuses it: the page says so, there being no input to put
	// the error under.
	if a := checkAccessible(t, rec.Body.String()); !strings.Contains(a.FormError, "passkey was not accepted") {
		t.Errorf("a refused passkey: the page's error is %q", a.FormError)
	}
}

// TestPasskeyScriptIsServed: the script is Latch's own file, as
// JavaScript, small and without inline handlers in the pages.
func TestPasskeyScriptIsServed(t *testing.T) {
	rec, _ := serveFake(fakePages(&fakeAccounts{t: t}), pageGet("/static/passkeys.js"))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") || rec.Header().Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(rec.Body.String(), "navigator.credentials.get") || strings.Count(rec.Body.String(), "\n") > 160 {
		t.Errorf("passkeys.js: %d %v", rec.Code, rec.Header())
	}
}

// TestPasskeyEnrolmentAtSignIn: the forced enrolment also offers a
// passkey: its registration is begun and finished for the pending
// token's principal, and the factor step then offers it.
func TestPasskeyEnrolmentAtSignIn(t *testing.T) {
	pending := account.Principal{User: latch.User{ID: "u1", Email: "ada@example.com"}, Session: latch.Session{ID: "s-pending"}}
	enrolled := false
	var finished []string
	f := mfaFake(t, nil)
	f.LoginFn = func(context.Context, account.LoginInput) (account.TokenPair, error) {
		return account.TokenPair{AccessToken: mfaToken}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeMFAEnrolmentRequired, Message: "enrol"}
	}
	f.MFAChallengeOfFn = func(context.Context, string) (account.MFAChallenge, error) {
		if enrolled {
			return account.MFAChallenge{Email: "ada@example.com", Factors: []string{account.FactorPasskey}}, nil
		}
		return account.MFAChallenge{Email: "ada@example.com", Enrol: true}, nil
	}
	f.AuthenticateFn = func(_ context.Context, tok string) (account.Principal, error) {
		if tok != mfaToken {
			return account.Principal{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "invalid"}
		}
		return pending, nil
	}
	f.BeginPasskeyRegistrationFn = func(_ context.Context, p account.Principal) (account.PasskeyChallenge, error) {
		if p.Session.ID != "s-pending" {
			t.Errorf("BeginPasskeyRegistration for %+v", p)
		}
		return account.PasskeyChallenge{Options: []byte(`{"publicKey":{}}`), Ceremony: "enrol-1"}, nil
	}
	f.FinishPasskeyRegistrationFn = func(_ context.Context, p account.Principal, name, ceremony string, resp []byte) (latch.Factor, error) {
		finished = append(finished, p.Session.ID, name, ceremony, string(resp))
		if ceremony != "enrol-1" {
			return latch.Factor{}, &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Message: "bad"}
		}
		enrolled = true
		return latch.Factor{ID: "f-k"}, nil
	}
	h := fakePages(f)
	rec, mfa := signInToFactorStep(t, h, url.Values{"email": {"ada@example.com"}, "password": {"right"}})
	if !strings.Contains(rec.Body.String(), `data-options="/login/enrol/passkey/options"`) || !slices.Equal(csp(rec, "script-src"), []string{"'self'"}) {
		t.Fatalf("enrolment page:\n%s", rec.Body)
	}
	checkAccessible(t, rec.Body.String())
	rec, _ = serveFake(h, formPost("/login/enrol/passkey/options", nil, mfa))
	ceremony := cookieNamed(rec, "__Host-latch_passkey")
	if rec.Code != 200 || ceremony == nil {
		t.Fatalf("options: %d %s", rec.Code, rec.Body)
	}
	// Without its ceremony: refused, still the enrolment.
	rec, _ = serveFake(h, factorPost("/login/enrol/passkey", url.Values{"passkey_name": {"Laptop"}, "passkey_response": {`{"id":"k"}`}}, mfa))
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), "No passkey was added") || !strings.Contains(rec.Body.String(), `id="enrol-form"`) {
		t.Errorf("no ceremony: %d\n%s", rec.Code, rec.Body)
	}
	rec, _ = serveFake(h, factorPost("/login/enrol/passkey", url.Values{"passkey_name": {"Laptop"}, "passkey_response": {`{"id":"k"}`}}, mfa, ceremony))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "Your passkey is set up.") || !strings.Contains(rec.Body.String(), `id="passkey-form"`) {
		t.Errorf("enrolled: %d\n%s", rec.Code, rec.Body)
	}
	if !slices.Equal(finished[len(finished)-4:], []string{"s-pending", "Laptop", "enrol-1", `{"id":"k"}`}) {
		t.Errorf("FinishPasskeyRegistration got %q", finished)
	}
}
