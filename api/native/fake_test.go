package native_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/native"
	"github.com/latchid/latch/web"
)

// The use cases implement what the surface asks of them, and so does the
// fake the contract tests use.
var (
	_ native.Accounts = (*account.Service)(nil)
	_ native.Accounts = (*fakeAccounts)(nil)
)

// fakeAccounts is native.Accounts in memory, for tests of the surface's
// translation alone: each method answers what the test's function for it
// returns (an error included). A method the test set no function for
// fails the test when the surface calls it.
type fakeAccounts struct {
	t                           *testing.T
	origins                     []string // TrustedOrigins
	ReadyFn                     func(ctx context.Context) error
	LoginFn                     func(ctx context.Context, in account.LoginInput) (account.TokenPair, error)
	RefreshFn                   func(ctx context.Context, refreshToken string) (account.TokenPair, error)
	RedeemAuthorizationCodeFn   func(ctx context.Context, code, verifier, redirectURI string) (account.TokenPair, error)
	IssueClientTokenFn          func(ctx context.Context, clientID, secret string) (account.ClientTokenPair, error)
	AuthenticateFn              func(ctx context.Context, accessToken string) (account.Principal, error)
	LogoutFn                    func(ctx context.Context, p account.Principal) error
	AllowedRedirectFn           func(raw string) (*url.URL, error)
	FlowDeadlineFn              func() time.Time
	FlowLiveFn                  func(deadline time.Time) bool
	ResolveIdentityFn           func(ctx context.Context, ext latch.ExternalIdentity) (latch.User, error)
	IssueAuthorizationCodeFn    func(ctx context.Context, user latch.User, codeChallenge, redirectURI, verifiedHash string) (string, error)
	MeFn                        func(p account.Principal) (latch.User, error)
	MyIdentitiesFn              func(ctx context.Context, p account.Principal) ([]latch.Identity, error)
	UnlinkIdentityFn            func(ctx context.Context, p account.Principal, identityID string) error
	SetOwnPasswordFn            func(ctx context.Context, p account.Principal, in account.SetOwnPasswordInput) error
	SetPasswordWithLinkFn       func(ctx context.Context, in account.SetPasswordWithLinkInput) error
	RequestRecoveryFn           func(ctx context.Context, email string) error
	AuthenticateClientFn        func(ctx context.Context, accessToken string) (account.Admin, error)
	ListUsersFn                 func(ctx context.Context, a account.Admin, email, cursor string, limit int) (account.UserPage, error)
	UserFn                      func(ctx context.Context, a account.Admin, r account.UserRef) (latch.User, error)
	AdminCreateUserFn           func(ctx context.Context, a account.Admin, in account.AdminCreateUserInput) (latch.User, error)
	AdminUpdateUserFn           func(ctx context.Context, a account.Admin, r account.UserRef, ch account.AdminUserChange) (latch.User, error)
	AdminDeleteUserFn           func(ctx context.Context, a account.Admin, r account.UserRef) error
	AdminSetPasswordFn          func(ctx context.Context, a account.Admin, in account.AdminSetPasswordInput) error
	UserSessionsFn              func(ctx context.Context, a account.Admin, r account.UserRef) ([]latch.Session, error)
	RevokeUserSessionsFn        func(ctx context.Context, a account.Admin, r account.UserRef, sessionID string) (int, error)
	PolicyFn                    func(ctx context.Context, a account.Admin) (latch.PasswordPolicy, error)
	SetPolicyFn                 func(ctx context.Context, a account.Admin, ch account.PolicyChange) (latch.PasswordPolicy, error)
	FactorPolicyFn              func(ctx context.Context, a account.Admin) (latch.FactorPolicy, error)
	SetFactorPolicyFn           func(ctx context.Context, a account.Admin, ch account.FactorPolicyChange) (latch.FactorPolicy, error)
	AdminResetFactorsFn         func(ctx context.Context, a account.Admin, r account.UserRef) error
	AuditEventsFn               func(ctx context.Context, a account.Admin, q latch.AuditQuery) ([]latch.AuditEvent, error)
	AppsFn                      func(ctx context.Context, a account.Admin, after string, limit int) ([]latch.App, error)
	AppFn                       func(ctx context.Context, a account.Admin, id string) (latch.App, error)
	CreateAppFn                 func(ctx context.Context, a account.Admin, in account.AppInput) (account.NewApp, error)
	UpdateAppFn                 func(ctx context.Context, a account.Admin, id string, ch account.AppChange) (latch.App, error)
	RotateAppSecretFn           func(ctx context.Context, a account.Admin, id string) (account.NewApp, error)
	RevokeAppFn                 func(ctx context.Context, a account.Admin, id string) error
	MFAChallengeOfFn            func(ctx context.Context, mfaToken string) (account.MFAChallenge, error)
	CompleteMFAFn               func(ctx context.Context, mfaToken string, proof account.FactorProof, clientIP string) (account.TokenPair, error)
	BeginMFAPasskeyFn           func(ctx context.Context, mfaToken string) (account.PasskeyChallenge, error)
	BeginPasskeySignInFn        func(ctx context.Context, clientIP string) (account.PasskeyChallenge, error)
	FinishPasskeySignInFn       func(ctx context.Context, ceremony string, response []byte, clientIP string) (account.TokenPair, error)
	MyFactorsFn                 func(ctx context.Context, p account.Principal) ([]latch.Factor, error)
	EnrolTOTPFn                 func(ctx context.Context, p account.Principal, name string) (account.TOTPEnrolment, error)
	ConfirmTOTPFn               func(ctx context.Context, p account.Principal, factorID, code string) error
	RemoveFactorFn              func(ctx context.Context, p account.Principal, factorID string) error
	BeginPasskeyRegistrationFn  func(ctx context.Context, p account.Principal) (account.PasskeyChallenge, error)
	FinishPasskeyRegistrationFn func(ctx context.Context, p account.Principal, name, ceremony string, response []byte) (latch.Factor, error)
	RegenerateRecoveryCodesFn   func(ctx context.Context, p account.Principal) ([]string, error)
	StepUpFn                    func(ctx context.Context, p account.Principal, proof account.FactorProof) (account.TokenPair, error)
	BeginStepUpPasskeyFn        func(ctx context.Context, p account.Principal) (account.PasskeyChallenge, error)
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

func (f *fakeAccounts) MyFactors(ctx context.Context, p account.Principal) ([]latch.Factor, error) {
	if f.MyFactorsFn == nil {
		return nil, f.missing("MyFactors")
	}
	return f.MyFactorsFn(ctx, p)
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

func (f *fakeAccounts) RemoveFactor(ctx context.Context, p account.Principal, factorID string) error {
	if f.RemoveFactorFn == nil {
		return f.missing("RemoveFactor")
	}
	return f.RemoveFactorFn(ctx, p, factorID)
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

func (f *fakeAccounts) RegenerateRecoveryCodes(ctx context.Context, p account.Principal) ([]string, error) {
	if f.RegenerateRecoveryCodesFn == nil {
		return nil, f.missing("RegenerateRecoveryCodes")
	}
	return f.RegenerateRecoveryCodesFn(ctx, p)
}

func (f *fakeAccounts) StepUp(ctx context.Context, p account.Principal, proof account.FactorProof) (account.TokenPair, error) {
	if f.StepUpFn == nil {
		return account.TokenPair{}, f.missing("StepUp")
	}
	return f.StepUpFn(ctx, p, proof)
}

func (f *fakeAccounts) BeginStepUpPasskey(ctx context.Context, p account.Principal) (account.PasskeyChallenge, error) {
	if f.BeginStepUpPasskeyFn == nil {
		return account.PasskeyChallenge{}, f.missing("BeginStepUpPasskey")
	}
	return f.BeginStepUpPasskeyFn(ctx, p)
}

// missing reports a call the test did not expect, and answers it with an
// internal error (a 500 the test's own assertions then also catch).
func (f *fakeAccounts) missing(method string) error {
	f.t.Helper()
	f.t.Errorf("the surface called %s, which this test did not set", method)
	return latch.Internal(errors.New("unexpected call of " + method))
}

func (f *fakeAccounts) TrustedOrigins() []string { return f.origins }

func (f *fakeAccounts) Ready(ctx context.Context) error {
	if f.ReadyFn == nil {
		return f.missing("Ready")
	}
	return f.ReadyFn(ctx)
}

func (f *fakeAccounts) Login(ctx context.Context, in account.LoginInput) (account.TokenPair, error) {
	if f.LoginFn == nil {
		return account.TokenPair{}, f.missing("Login")
	}
	return f.LoginFn(ctx, in)
}

func (f *fakeAccounts) Refresh(ctx context.Context, refreshToken string) (account.TokenPair, error) {
	if f.RefreshFn == nil {
		return account.TokenPair{}, f.missing("Refresh")
	}
	return f.RefreshFn(ctx, refreshToken)
}

func (f *fakeAccounts) RedeemAuthorizationCode(ctx context.Context, code, verifier, redirectURI string) (account.TokenPair, error) {
	if f.RedeemAuthorizationCodeFn == nil {
		return account.TokenPair{}, f.missing("RedeemAuthorizationCode")
	}
	return f.RedeemAuthorizationCodeFn(ctx, code, verifier, redirectURI)
}

func (f *fakeAccounts) IssueClientToken(ctx context.Context, clientID, secret string) (account.ClientTokenPair, error) {
	if f.IssueClientTokenFn == nil {
		return account.ClientTokenPair{}, f.missing("IssueClientToken")
	}
	return f.IssueClientTokenFn(ctx, clientID, secret)
}

func (f *fakeAccounts) Authenticate(ctx context.Context, accessToken string) (account.Principal, error) {
	if f.AuthenticateFn == nil {
		return account.Principal{}, f.missing("Authenticate")
	}
	return f.AuthenticateFn(ctx, accessToken)
}

func (f *fakeAccounts) Logout(ctx context.Context, p account.Principal) error {
	if f.LogoutFn == nil {
		return f.missing("Logout")
	}
	return f.LogoutFn(ctx, p)
}

func (f *fakeAccounts) AllowedRedirect(raw string) (*url.URL, error) {
	if f.AllowedRedirectFn == nil {
		return nil, f.missing("AllowedRedirect")
	}
	return f.AllowedRedirectFn(raw)
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

func (f *fakeAccounts) ResolveIdentity(ctx context.Context, ext latch.ExternalIdentity) (latch.User, error) {
	if f.ResolveIdentityFn == nil {
		return latch.User{}, f.missing("ResolveIdentity")
	}
	return f.ResolveIdentityFn(ctx, ext)
}

func (f *fakeAccounts) IssueAuthorizationCode(ctx context.Context, user latch.User, codeChallenge, redirectURI, verifiedHash string) (string, error) {
	if f.IssueAuthorizationCodeFn == nil {
		return "", f.missing("IssueAuthorizationCode")
	}
	return f.IssueAuthorizationCodeFn(ctx, user, codeChallenge, redirectURI, verifiedHash)
}

func (f *fakeAccounts) Me(p account.Principal) (latch.User, error) {
	if f.MeFn == nil {
		return latch.User{}, f.missing("Me")
	}
	return f.MeFn(p)
}

func (f *fakeAccounts) MyIdentities(ctx context.Context, p account.Principal) ([]latch.Identity, error) {
	if f.MyIdentitiesFn == nil {
		return nil, f.missing("MyIdentities")
	}
	return f.MyIdentitiesFn(ctx, p)
}

func (f *fakeAccounts) UnlinkIdentity(ctx context.Context, p account.Principal, identityID string) error {
	if f.UnlinkIdentityFn == nil {
		return f.missing("UnlinkIdentity")
	}
	return f.UnlinkIdentityFn(ctx, p, identityID)
}

func (f *fakeAccounts) SetOwnPassword(ctx context.Context, p account.Principal, in account.SetOwnPasswordInput) error {
	if f.SetOwnPasswordFn == nil {
		return f.missing("SetOwnPassword")
	}
	return f.SetOwnPasswordFn(ctx, p, in)
}

func (f *fakeAccounts) SetPasswordWithLink(ctx context.Context, in account.SetPasswordWithLinkInput) error {
	if f.SetPasswordWithLinkFn == nil {
		return f.missing("SetPasswordWithLink")
	}
	return f.SetPasswordWithLinkFn(ctx, in)
}

func (f *fakeAccounts) RequestRecovery(ctx context.Context, email string) error {
	if f.RequestRecoveryFn == nil {
		return f.missing("RequestRecovery")
	}
	return f.RequestRecoveryFn(ctx, email)
}

func (f *fakeAccounts) AuthenticateClient(ctx context.Context, accessToken string) (account.Admin, error) {
	if f.AuthenticateClientFn == nil {
		return account.Admin{}, f.missing("AuthenticateClient")
	}
	return f.AuthenticateClientFn(ctx, accessToken)
}

func (f *fakeAccounts) ListUsers(ctx context.Context, a account.Admin, email, cursor string, limit int) (account.UserPage, error) {
	if f.ListUsersFn == nil {
		return account.UserPage{}, f.missing("ListUsers")
	}
	return f.ListUsersFn(ctx, a, email, cursor, limit)
}

func (f *fakeAccounts) User(ctx context.Context, a account.Admin, r account.UserRef) (latch.User, error) {
	if f.UserFn == nil {
		return latch.User{}, f.missing("User")
	}
	return f.UserFn(ctx, a, r)
}

func (f *fakeAccounts) AdminCreateUser(ctx context.Context, a account.Admin, in account.AdminCreateUserInput) (latch.User, error) {
	if f.AdminCreateUserFn == nil {
		return latch.User{}, f.missing("AdminCreateUser")
	}
	return f.AdminCreateUserFn(ctx, a, in)
}

func (f *fakeAccounts) AdminUpdateUser(ctx context.Context, a account.Admin, r account.UserRef, ch account.AdminUserChange) (latch.User, error) {
	if f.AdminUpdateUserFn == nil {
		return latch.User{}, f.missing("AdminUpdateUser")
	}
	return f.AdminUpdateUserFn(ctx, a, r, ch)
}

func (f *fakeAccounts) AdminDeleteUser(ctx context.Context, a account.Admin, r account.UserRef) error {
	if f.AdminDeleteUserFn == nil {
		return f.missing("AdminDeleteUser")
	}
	return f.AdminDeleteUserFn(ctx, a, r)
}

func (f *fakeAccounts) AdminSetPassword(ctx context.Context, a account.Admin, in account.AdminSetPasswordInput) error {
	if f.AdminSetPasswordFn == nil {
		return f.missing("AdminSetPassword")
	}
	return f.AdminSetPasswordFn(ctx, a, in)
}

func (f *fakeAccounts) UserSessions(ctx context.Context, a account.Admin, r account.UserRef) ([]latch.Session, error) {
	if f.UserSessionsFn == nil {
		return nil, f.missing("UserSessions")
	}
	return f.UserSessionsFn(ctx, a, r)
}

func (f *fakeAccounts) RevokeUserSessions(ctx context.Context, a account.Admin, r account.UserRef, sessionID string) (int, error) {
	if f.RevokeUserSessionsFn == nil {
		return 0, f.missing("RevokeUserSessions")
	}
	return f.RevokeUserSessionsFn(ctx, a, r, sessionID)
}

func (f *fakeAccounts) Policy(ctx context.Context, a account.Admin) (latch.PasswordPolicy, error) {
	if f.PolicyFn == nil {
		return latch.PasswordPolicy{}, f.missing("Policy")
	}
	return f.PolicyFn(ctx, a)
}

func (f *fakeAccounts) SetPolicy(ctx context.Context, a account.Admin, ch account.PolicyChange) (latch.PasswordPolicy, error) {
	if f.SetPolicyFn == nil {
		return latch.PasswordPolicy{}, f.missing("SetPolicy")
	}
	return f.SetPolicyFn(ctx, a, ch)
}

func (f *fakeAccounts) FactorPolicy(ctx context.Context, a account.Admin) (latch.FactorPolicy, error) {
	if f.FactorPolicyFn == nil {
		return latch.FactorPolicy{}, f.missing("FactorPolicy")
	}
	return f.FactorPolicyFn(ctx, a)
}

func (f *fakeAccounts) SetFactorPolicy(ctx context.Context, a account.Admin, ch account.FactorPolicyChange) (latch.FactorPolicy, error) {
	if f.SetFactorPolicyFn == nil {
		return latch.FactorPolicy{}, f.missing("SetFactorPolicy")
	}
	return f.SetFactorPolicyFn(ctx, a, ch)
}

func (f *fakeAccounts) AdminResetFactors(ctx context.Context, a account.Admin, r account.UserRef) error {
	if f.AdminResetFactorsFn == nil {
		return f.missing("AdminResetFactors")
	}
	return f.AdminResetFactorsFn(ctx, a, r)
}

func (f *fakeAccounts) AuditEvents(ctx context.Context, a account.Admin, q latch.AuditQuery) ([]latch.AuditEvent, error) {
	if f.AuditEventsFn == nil {
		return nil, f.missing("AuditEvents")
	}
	return f.AuditEventsFn(ctx, a, q)
}

func (f *fakeAccounts) Apps(ctx context.Context, a account.Admin, after string, limit int) ([]latch.App, error) {
	if f.AppsFn == nil {
		return nil, f.missing("Apps")
	}
	return f.AppsFn(ctx, a, after, limit)
}

func (f *fakeAccounts) App(ctx context.Context, a account.Admin, id string) (latch.App, error) {
	if f.AppFn == nil {
		return latch.App{}, f.missing("App")
	}
	return f.AppFn(ctx, a, id)
}

func (f *fakeAccounts) CreateApp(ctx context.Context, a account.Admin, in account.AppInput) (account.NewApp, error) {
	if f.CreateAppFn == nil {
		return account.NewApp{}, f.missing("CreateApp")
	}
	return f.CreateAppFn(ctx, a, in)
}

func (f *fakeAccounts) UpdateApp(ctx context.Context, a account.Admin, id string, ch account.AppChange) (latch.App, error) {
	if f.UpdateAppFn == nil {
		return latch.App{}, f.missing("UpdateApp")
	}
	return f.UpdateAppFn(ctx, a, id, ch)
}

func (f *fakeAccounts) RotateAppSecret(ctx context.Context, a account.Admin, id string) (account.NewApp, error) {
	if f.RotateAppSecretFn == nil {
		return account.NewApp{}, f.missing("RotateAppSecret")
	}
	return f.RotateAppSecretFn(ctx, a, id)
}

func (f *fakeAccounts) RevokeApp(ctx context.Context, a account.Admin, id string) error {
	if f.RevokeAppFn == nil {
		return f.missing("RevokeApp")
	}
	return f.RevokeAppFn(ctx, a, id)
}

// plainSealer is an httpx.Sealer that seals nothing: the purpose and the
// plaintext, readable. The surface's use of sealing (which purpose, what
// comes back) is what these tests see; the real cipher has its own.
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

// fakeProvider is an oidc.Provider whose sign-in page is at
// https://idp.example/auth and whose Exchange answers what the test set.
type fakeProvider struct {
	name     string
	exchange func(code, verifier, nonce string) (latch.ExternalIdentity, error)
}

func (p fakeProvider) Name() string { return p.name }

func (p fakeProvider) Instance() latch.ProviderInstance {
	return latch.ProviderInstance{Name: p.name, Type: latch.ProviderOIDC, Issuer: "https://idp.example"}
}

func (p fakeProvider) AuthCodeURL(_ context.Context, state, nonce, verifier string) (string, error) {
	return "https://idp.example/auth?" + url.Values{"state": {state}, "nonce": {nonce}}.Encode(), nil
}

func (p fakeProvider) Exchange(_ context.Context, code, verifier, nonce string) (latch.ExternalIdentity, error) {
	return p.exchange(code, verifier, nonce)
}

// fakePublicURL is where the fake surface's pages say Latch is.
const fakePublicURL = "https://latch.example"

// fakeSurface serves the native routes over f, with the given providers;
// the provider flow's error pages are the pages' own, as api.NewHandler
// wires them (ProviderError asks the pages' use cases nothing).
func fakeSurface(f *fakeAccounts, providers ...fakeProvider) http.Handler {
	pages := web.New(web.Config{Sealer: plainSealer{}, PublicURL: fakePublicURL, Log: slog.New(slog.DiscardHandler)})
	oauth := native.OAuthConfig{Sealer: plainSealer{}, ErrorPage: pages.ProviderError}
	for _, p := range providers {
		oauth.Providers = append(oauth.Providers, p)
	}
	mux := http.NewServeMux()
	native.New(f, func() []byte { return []byte(`{"keys":[]}`) }, oauth, slog.New(slog.DiscardHandler)).Register(mux)
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

func newRequest(method, target, contentType, body string) *http.Request {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

// never is a time no test reaches: a fixed deadline for the fake's
// FlowDeadline.
var never = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
