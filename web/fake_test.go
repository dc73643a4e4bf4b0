package web_test

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/web"
)

// The use cases implement what the pages ask of them, and so does the
// fake the contract tests use.
var (
	_ web.Accounts = (*account.Service)(nil)
	_ web.Accounts = (*fakeAccounts)(nil)
)

// fakeAccounts is web.Accounts in memory, for tests of the pages'
// translation alone: each method answers what the test's function for it
// returns (an error included). A method the test set no function for
// fails the test when a page calls it.
type fakeAccounts struct {
	t                           *testing.T
	LoginFn                     func(ctx context.Context, in account.LoginInput) (account.TokenPair, error)
	AuthenticatePasswordFn      func(ctx context.Context, in account.LoginInput) (latch.User, string, error)
	AllowedRedirectFn           func(raw string) (*url.URL, error)
	IssueAuthorizationCodeFn    func(ctx context.Context, user latch.User, codeChallenge, redirectURI, verifiedHash string) (string, error)
	FlowDeadlineFn              func() time.Time
	FlowLiveFn                  func(deadline time.Time) bool
	RedeemAuthorizationCodeFn   func(ctx context.Context, code, verifier, redirectURI string) (account.TokenPair, error)
	AuthenticateFn              func(ctx context.Context, accessToken string) (account.Principal, error)
	RefreshFn                   func(ctx context.Context, refreshToken string) (account.TokenPair, error)
	EndBrowserSessionFn         func(ctx context.Context, p account.Principal) error
	MyIdentitiesFn              func(ctx context.Context, p account.Principal) ([]latch.Identity, error)
	HasPasswordFn               func(ctx context.Context, userID string) (bool, error)
	PasswordRulesFn             func(ctx context.Context, tenantID string) string
	SetOwnPasswordFn            func(ctx context.Context, p account.Principal, in account.SetOwnPasswordInput) error
	PasswordLinkInfoFn          func(ctx context.Context, raw string) (account.LinkInfo, error)
	SetPasswordWithLinkFn       func(ctx context.Context, in account.SetPasswordWithLinkInput) error
	VerificationUserFn          func(ctx context.Context, verifyToken string) (latch.User, error)
	VerifyAndSetPasswordFn      func(ctx context.Context, verifyToken, pw string) error
	RequestRecoveryFn           func(ctx context.Context, email string) error
	SignUpFn                    func(ctx context.Context, in account.SignUpInput) error
	MyAppsFn                    func(ctx context.Context, userID string) ([]account.MyApp, error)
	RevokeConsentFn             func(ctx context.Context, userID, appID string) error
	AuthorizeAppFn              func(ctx context.Context, clientID string) (latch.App, error)
	ConsentOfFn                 func(ctx context.Context, userID, appID string) (*latch.AppConsent, error)
	GrantConsentFn              func(ctx context.Context, userID, appID string, scopes []string) (latch.AppConsent, error)
	IssueAppCodeFn              func(ctx context.Context, in account.AppCodeRequest) (string, error)
	CheckEndSessionFn           func(ctx context.Context, req account.EndSessionRequest) (account.EndSession, error)
	MFAChallengeOfFn            func(ctx context.Context, mfaToken string) (account.MFAChallenge, error)
	CompleteMFAFn               func(ctx context.Context, mfaToken string, proof account.FactorProof, clientIP string) (account.TokenPair, error)
	BeginMFAPasskeyFn           func(ctx context.Context, mfaToken string) (account.PasskeyChallenge, error)
	BeginPasskeySignInFn        func(ctx context.Context, clientIP string) (account.PasskeyChallenge, error)
	FinishPasskeySignInFn       func(ctx context.Context, ceremony string, response []byte, clientIP string) (account.TokenPair, error)
	BeginPasskeyRegistrationFn  func(ctx context.Context, p account.Principal) (account.PasskeyChallenge, error)
	FinishPasskeyRegistrationFn func(ctx context.Context, p account.Principal, name, ceremony string, response []byte) (latch.Factor, error)
	BeginStepUpPasskeyFn        func(ctx context.Context, p account.Principal) (account.PasskeyChallenge, error)
	StepUpFn                    func(ctx context.Context, p account.Principal, proof account.FactorProof) (account.TokenPair, error)
	EnrolTOTPFn                 func(ctx context.Context, p account.Principal, name string) (account.TOTPEnrolment, error)
	ConfirmTOTPFn               func(ctx context.Context, p account.Principal, factorID, code string) error
	MyFactorsFn                 func(ctx context.Context, p account.Principal) ([]latch.Factor, error)
	RemoveFactorFn              func(ctx context.Context, p account.Principal, factorID string) error
	RegenerateRecoveryCodesFn   func(ctx context.Context, p account.Principal) ([]string, error)
}

// missing reports a call the test did not expect, and answers it with an
// internal error.
func (f *fakeAccounts) missing(method string) error {
	f.t.Helper()
	f.t.Errorf("the pages called %s, which this test did not set", method)
	return latch.Internal(errors.New("unexpected call of " + method))
}

func (f *fakeAccounts) Login(ctx context.Context, in account.LoginInput) (account.TokenPair, error) {
	if f.LoginFn == nil {
		return account.TokenPair{}, f.missing("Login")
	}
	return f.LoginFn(ctx, in)
}

func (f *fakeAccounts) AuthenticatePassword(ctx context.Context, in account.LoginInput) (latch.User, string, error) {
	if f.AuthenticatePasswordFn == nil {
		return latch.User{}, "", f.missing("AuthenticatePassword")
	}
	return f.AuthenticatePasswordFn(ctx, in)
}

func (f *fakeAccounts) AllowedRedirect(raw string) (*url.URL, error) {
	if f.AllowedRedirectFn == nil {
		return nil, f.missing("AllowedRedirect")
	}
	return f.AllowedRedirectFn(raw)
}

func (f *fakeAccounts) IssueAuthorizationCode(ctx context.Context, user latch.User, codeChallenge, redirectURI, verifiedHash string) (string, error) {
	if f.IssueAuthorizationCodeFn == nil {
		return "", f.missing("IssueAuthorizationCode")
	}
	return f.IssueAuthorizationCodeFn(ctx, user, codeChallenge, redirectURI, verifiedHash)
}

func (f *fakeAccounts) FlowDeadline() time.Time {
	if f.FlowDeadlineFn == nil {
		f.missing("FlowDeadline")
		return time.Time{}
	}
	return f.FlowDeadlineFn()
}

func (f *fakeAccounts) FlowLive(deadline time.Time) bool {
	if f.FlowLiveFn == nil {
		f.missing("FlowLive")
		return false
	}
	return f.FlowLiveFn(deadline)
}

func (f *fakeAccounts) RedeemAuthorizationCode(ctx context.Context, code, verifier, redirectURI string) (account.TokenPair, error) {
	if f.RedeemAuthorizationCodeFn == nil {
		return account.TokenPair{}, f.missing("RedeemAuthorizationCode")
	}
	return f.RedeemAuthorizationCodeFn(ctx, code, verifier, redirectURI)
}

func (f *fakeAccounts) Authenticate(ctx context.Context, accessToken string) (account.Principal, error) {
	if f.AuthenticateFn == nil {
		return account.Principal{}, f.missing("Authenticate")
	}
	return f.AuthenticateFn(ctx, accessToken)
}

func (f *fakeAccounts) Refresh(ctx context.Context, refreshToken string) (account.TokenPair, error) {
	if f.RefreshFn == nil {
		return account.TokenPair{}, f.missing("Refresh")
	}
	return f.RefreshFn(ctx, refreshToken)
}

func (f *fakeAccounts) EndBrowserSession(ctx context.Context, p account.Principal) error {
	if f.EndBrowserSessionFn == nil {
		return f.missing("EndBrowserSession")
	}
	return f.EndBrowserSessionFn(ctx, p)
}

func (f *fakeAccounts) MyIdentities(ctx context.Context, p account.Principal) ([]latch.Identity, error) {
	if f.MyIdentitiesFn == nil {
		return nil, f.missing("MyIdentities")
	}
	return f.MyIdentitiesFn(ctx, p)
}

func (f *fakeAccounts) HasPassword(ctx context.Context, userID string) (bool, error) {
	if f.HasPasswordFn == nil {
		return false, f.missing("HasPassword")
	}
	return f.HasPasswordFn(ctx, userID)
}

func (f *fakeAccounts) PasswordRules(ctx context.Context, tenantID string) string {
	if f.PasswordRulesFn == nil {
		f.missing("PasswordRules")
		return ""
	}
	return f.PasswordRulesFn(ctx, tenantID)
}

func (f *fakeAccounts) SetOwnPassword(ctx context.Context, p account.Principal, in account.SetOwnPasswordInput) error {
	if f.SetOwnPasswordFn == nil {
		return f.missing("SetOwnPassword")
	}
	return f.SetOwnPasswordFn(ctx, p, in)
}

func (f *fakeAccounts) PasswordLinkInfo(ctx context.Context, raw string) (account.LinkInfo, error) {
	if f.PasswordLinkInfoFn == nil {
		return account.LinkInfo{}, f.missing("PasswordLinkInfo")
	}
	return f.PasswordLinkInfoFn(ctx, raw)
}

func (f *fakeAccounts) SetPasswordWithLink(ctx context.Context, in account.SetPasswordWithLinkInput) error {
	if f.SetPasswordWithLinkFn == nil {
		return f.missing("SetPasswordWithLink")
	}
	return f.SetPasswordWithLinkFn(ctx, in)
}

func (f *fakeAccounts) VerificationUser(ctx context.Context, verifyToken string) (latch.User, error) {
	if f.VerificationUserFn == nil {
		return latch.User{}, f.missing("VerificationUser")
	}
	return f.VerificationUserFn(ctx, verifyToken)
}

func (f *fakeAccounts) VerifyAndSetPassword(ctx context.Context, verifyToken, pw string) error {
	if f.VerifyAndSetPasswordFn == nil {
		return f.missing("VerifyAndSetPassword")
	}
	return f.VerifyAndSetPasswordFn(ctx, verifyToken, pw)
}

func (f *fakeAccounts) RequestRecovery(ctx context.Context, email string) error {
	if f.RequestRecoveryFn == nil {
		return f.missing("RequestRecovery")
	}
	return f.RequestRecoveryFn(ctx, email)
}

func (f *fakeAccounts) SignUp(ctx context.Context, in account.SignUpInput) error {
	if f.SignUpFn == nil {
		return f.missing("SignUp")
	}
	return f.SignUpFn(ctx, in)
}

func (f *fakeAccounts) MyApps(ctx context.Context, userID string) ([]account.MyApp, error) {
	if f.MyAppsFn == nil {
		return nil, f.missing("MyApps")
	}
	return f.MyAppsFn(ctx, userID)
}

func (f *fakeAccounts) RevokeConsent(ctx context.Context, userID, appID string) error {
	if f.RevokeConsentFn == nil {
		return f.missing("RevokeConsent")
	}
	return f.RevokeConsentFn(ctx, userID, appID)
}

func (f *fakeAccounts) AuthorizeApp(ctx context.Context, clientID string) (latch.App, error) {
	if f.AuthorizeAppFn == nil {
		return latch.App{}, f.missing("AuthorizeApp")
	}
	return f.AuthorizeAppFn(ctx, clientID)
}

func (f *fakeAccounts) ConsentOf(ctx context.Context, userID, appID string) (*latch.AppConsent, error) {
	if f.ConsentOfFn == nil {
		return nil, f.missing("ConsentOf")
	}
	return f.ConsentOfFn(ctx, userID, appID)
}

func (f *fakeAccounts) GrantConsent(ctx context.Context, userID, appID string, scopes []string) (latch.AppConsent, error) {
	if f.GrantConsentFn == nil {
		return latch.AppConsent{}, f.missing("GrantConsent")
	}
	return f.GrantConsentFn(ctx, userID, appID, scopes)
}

func (f *fakeAccounts) IssueAppCode(ctx context.Context, in account.AppCodeRequest) (string, error) {
	if f.IssueAppCodeFn == nil {
		return "", f.missing("IssueAppCode")
	}
	return f.IssueAppCodeFn(ctx, in)
}

func (f *fakeAccounts) CheckEndSession(ctx context.Context, req account.EndSessionRequest) (account.EndSession, error) {
	if f.CheckEndSessionFn == nil {
		return account.EndSession{}, f.missing("CheckEndSession")
	}
	return f.CheckEndSessionFn(ctx, req)
}

func (f *fakeAccounts) MFAChallengeOf(ctx context.Context, mfaToken string) (account.MFAChallenge, error) {
	if f.MFAChallengeOfFn == nil {
		return account.MFAChallenge{}, f.missing("MFAChallengeOf")
	}
	return f.MFAChallengeOfFn(ctx, mfaToken)
}

func (f *fakeAccounts) CompleteMFA(ctx context.Context, mfaToken string, proof account.FactorProof, clientIP string) (account.TokenPair, error) {
	if f.CompleteMFAFn == nil {
		return account.TokenPair{}, f.missing("CompleteMFA")
	}
	return f.CompleteMFAFn(ctx, mfaToken, proof, clientIP)
}

func (f *fakeAccounts) BeginMFAPasskey(ctx context.Context, mfaToken string) (account.PasskeyChallenge, error) {
	if f.BeginMFAPasskeyFn == nil {
		return account.PasskeyChallenge{}, f.missing("BeginMFAPasskey")
	}
	return f.BeginMFAPasskeyFn(ctx, mfaToken)
}

func (f *fakeAccounts) BeginPasskeySignIn(ctx context.Context, clientIP string) (account.PasskeyChallenge, error) {
	if f.BeginPasskeySignInFn == nil {
		return account.PasskeyChallenge{}, f.missing("BeginPasskeySignIn")
	}
	return f.BeginPasskeySignInFn(ctx, clientIP)
}

func (f *fakeAccounts) FinishPasskeySignIn(ctx context.Context, ceremony string, response []byte, clientIP string) (account.TokenPair, error) {
	if f.FinishPasskeySignInFn == nil {
		return account.TokenPair{}, f.missing("FinishPasskeySignIn")
	}
	return f.FinishPasskeySignInFn(ctx, ceremony, response, clientIP)
}

func (f *fakeAccounts) BeginPasskeyRegistration(ctx context.Context, p account.Principal) (account.PasskeyChallenge, error) {
	if f.BeginPasskeyRegistrationFn == nil {
		return account.PasskeyChallenge{}, f.missing("BeginPasskeyRegistration")
	}
	return f.BeginPasskeyRegistrationFn(ctx, p)
}

func (f *fakeAccounts) FinishPasskeyRegistration(ctx context.Context, p account.Principal, name, ceremony string, response []byte) (latch.Factor, error) {
	if f.FinishPasskeyRegistrationFn == nil {
		return latch.Factor{}, f.missing("FinishPasskeyRegistration")
	}
	return f.FinishPasskeyRegistrationFn(ctx, p, name, ceremony, response)
}

func (f *fakeAccounts) BeginStepUpPasskey(ctx context.Context, p account.Principal) (account.PasskeyChallenge, error) {
	if f.BeginStepUpPasskeyFn == nil {
		return account.PasskeyChallenge{}, f.missing("BeginStepUpPasskey")
	}
	return f.BeginStepUpPasskeyFn(ctx, p)
}

func (f *fakeAccounts) StepUp(ctx context.Context, p account.Principal, proof account.FactorProof) (account.TokenPair, error) {
	if f.StepUpFn == nil {
		return account.TokenPair{}, f.missing("StepUp")
	}
	return f.StepUpFn(ctx, p, proof)
}

func (f *fakeAccounts) EnrolTOTP(ctx context.Context, p account.Principal, name string) (account.TOTPEnrolment, error) {
	if f.EnrolTOTPFn == nil {
		return account.TOTPEnrolment{}, f.missing("EnrolTOTP")
	}
	return f.EnrolTOTPFn(ctx, p, name)
}

func (f *fakeAccounts) ConfirmTOTP(ctx context.Context, p account.Principal, factorID, code string) error {
	if f.ConfirmTOTPFn == nil {
		return f.missing("ConfirmTOTP")
	}
	return f.ConfirmTOTPFn(ctx, p, factorID, code)
}

// MyFactors lists none unless the test says otherwise: every account page
// lists the factors, and most tests are about something else.
func (f *fakeAccounts) MyFactors(ctx context.Context, p account.Principal) ([]latch.Factor, error) {
	if f.MyFactorsFn == nil {
		return nil, nil
	}
	return f.MyFactorsFn(ctx, p)
}

func (f *fakeAccounts) RemoveFactor(ctx context.Context, p account.Principal, factorID string) error {
	if f.RemoveFactorFn == nil {
		return f.missing("RemoveFactor")
	}
	return f.RemoveFactorFn(ctx, p, factorID)
}

func (f *fakeAccounts) RegenerateRecoveryCodes(ctx context.Context, p account.Principal) ([]string, error) {
	if f.RegenerateRecoveryCodesFn == nil {
		return nil, f.missing("RegenerateRecoveryCodes")
	}
	return f.RegenerateRecoveryCodesFn(ctx, p)
}

// plainSealer is an httpx.Sealer that seals nothing: the purpose and the
// plaintext, readable. What the pages seal and get back is what these
// tests see; the real cipher has tests of its own.
type plainSealer struct{}

func (plainSealer) Seal(purpose string, plaintext []byte) (string, error) {
	return purpose + "." + base64.RawURLEncoding.EncodeToString(plaintext), nil
}

func (plainSealer) Open(purpose, sealed string) ([]byte, error) {
	p, b64, ok := strings.Cut(sealed, ".")
	if !ok || p != purpose {
		return nil, errors.New("sealed for another purpose")
	}
	return base64.RawURLEncoding.DecodeString(b64)
}

// fakePublicURL is where the fake pages say people reach them: http on
// loopback, which browsers count as secure, so the pages' cookies are
// __Host- prefixed.
const fakePublicURL = "http://127.0.0.1:8080"

// fakePages serves the pages over f, with one sign-in provider button.
func fakePages(f *fakeAccounts) http.Handler {
	return fakePagesNamed(f, "")
}

// fakePagesNamed is fakePages for the product called product.
func fakePagesNamed(f *fakeAccounts, product string) http.Handler {
	mux := http.NewServeMux()
	web.New(web.Config{Accounts: f, Sealer: plainSealer{}, Providers: []string{"acme"}, PublicURL: fakePublicURL,
		Product: product, Log: slog.New(slog.DiscardHandler)}).Register(mux)
	return mux
}

// serveFake answers req in memory; a panic is returned, not raised, so a
// test can say which input caused it.
func serveFake(h http.Handler, req *http.Request) (rec *httptest.ResponseRecorder, panicked any) {
	rec = httptest.NewRecorder()
	defer func() { panicked = recover() }()
	h.ServeHTTP(rec, req)
	return rec, nil
}

// formPost is a same-origin form POST, as the pages' own forms send.
func formPost(path string, form url.Values, cookies ...*http.Cookie) *http.Request {
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", fakePublicURL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return req
}

func pageGet(path string, cookies ...*http.Cookie) *http.Request {
	req := httptest.NewRequest("GET", path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return req
}

// cookieNamed is the cookie called name that rec set.
func cookieNamed(rec *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range rec.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// flowDeadline is the fake use cases' FlowDeadline: a fixed time no test
// reaches.
var flowDeadline = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
