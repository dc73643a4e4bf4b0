package native_test

import (
	"context"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api/httpx"
	"github.com/latchid/latch/internal/testenv/openapitest"
)

// TestEveryAnswerIsDocumented hands every route of the native API every
// kind of error with each code that changes a status or a shape
// (errorsByStatus), from the authentication step and from the route's own
// use case, and checks
// each answer against api/native/openapi.yaml: its status documented (or
// the default), its body in that status's shape. The real requests of
// api/openapi_test.go show the same for the answers a real store gives;
// this shows it for every answer the surface can give.
func TestEveryAnswerIsDocumented(t *testing.T) {
	data, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := openapitest.Load(t, "native", data)
	var authErr, useErr *latch.Error
	fail := func() error {
		if useErr == nil {
			return nil
		}
		return useErr
	}
	principal := account.Principal{User: latch.User{ID: "u1", Email: "a@example.com"},
		Session: latch.Session{ID: "s1", Kind: latch.KindSession, Scopes: latch.SessionScopes()}}
	admin := account.Admin{Client: &latch.Client{ID: "c1", Scope: latch.ScopeManageAll}, TenantID: latch.DefaultTenantID}
	app := latch.App{ID: "app1", TenantID: latch.DefaultTenantID, Name: "Shop", Type: latch.AppConfidential,
		RedirectURIs: []string{"https://shop.example/cb"}, Scopes: []string{"openid"}, CreatedAt: never, UpdatedAt: never}
	authenticated := func() error {
		if authErr == nil {
			return nil
		}
		return authErr
	}
	f := &fakeAccounts{t: t,
		ReadyFn: func(context.Context) error { return fail() },
		LoginFn: func(context.Context, account.LoginInput) (account.TokenPair, error) {
			return account.TokenPair{}, fail()
		},
		RefreshFn: func(context.Context, string) (account.TokenPair, error) { return account.TokenPair{}, fail() },
		RedeemAuthorizationCodeFn: func(context.Context, string, string, string) (account.TokenPair, error) {
			return account.TokenPair{}, fail()
		},
		IssueClientTokenFn: func(context.Context, string, string) (account.ClientTokenPair, error) {
			return account.ClientTokenPair{}, fail()
		},
		AuthenticateFn:       func(context.Context, string) (account.Principal, error) { return principal, authenticated() },
		AuthenticateClientFn: func(context.Context, string) (account.Admin, error) { return admin, authenticated() },
		LogoutFn:             func(context.Context, account.Principal) error { return fail() },
		AllowedRedirectFn: func(string) (*url.URL, error) {
			if err := fail(); err != nil {
				return nil, err
			}
			return url.Parse("https://app.example/cb")
		},
		FlowDeadlineFn:        func() time.Time { return never },
		MeFn:                  func(account.Principal) (latch.User, error) { return latch.User{}, fail() },
		MyIdentitiesFn:        func(context.Context, account.Principal) ([]latch.Identity, error) { return nil, fail() },
		UnlinkIdentityFn:      func(context.Context, account.Principal, string) error { return fail() },
		SetOwnPasswordFn:      func(context.Context, account.Principal, account.SetOwnPasswordInput) error { return fail() },
		SetPasswordWithLinkFn: func(context.Context, account.SetPasswordWithLinkInput) error { return fail() },
		RequestRecoveryFn:     func(context.Context, string) error { return fail() },
		ListUsersFn: func(context.Context, account.Admin, string, string, int) (account.UserPage, error) {
			return account.UserPage{}, fail()
		},
		UserFn: func(context.Context, account.Admin, account.UserRef) (latch.User, error) { return latch.User{}, fail() },
		AdminCreateUserFn: func(context.Context, account.Admin, account.AdminCreateUserInput) (latch.User, error) {
			return latch.User{}, fail()
		},
		AdminUpdateUserFn: func(context.Context, account.Admin, account.UserRef, account.AdminUserChange) (latch.User, error) {
			return latch.User{}, fail()
		},
		AdminDeleteUserFn:    func(context.Context, account.Admin, account.UserRef) error { return fail() },
		AdminSetPasswordFn:   func(context.Context, account.Admin, account.AdminSetPasswordInput) error { return fail() },
		UserSessionsFn:       func(context.Context, account.Admin, account.UserRef) ([]latch.Session, error) { return nil, fail() },
		RevokeUserSessionsFn: func(context.Context, account.Admin, account.UserRef, string) (int, error) { return 0, fail() },
		PolicyFn: func(context.Context, account.Admin) (latch.PasswordPolicy, error) {
			return latch.PasswordPolicy{}, fail()
		},
		SetPolicyFn: func(context.Context, account.Admin, account.PolicyChange) (latch.PasswordPolicy, error) {
			return latch.PasswordPolicy{}, fail()
		},
		AuditEventsFn: func(context.Context, account.Admin, latch.AuditQuery) ([]latch.AuditEvent, error) { return nil, fail() },
		FactorPolicyFn: func(context.Context, account.Admin) (latch.FactorPolicy, error) {
			return account.DefaultFactorPolicy(), fail()
		},
		SetFactorPolicyFn: func(context.Context, account.Admin, account.FactorPolicyChange) (latch.FactorPolicy, error) {
			return account.DefaultFactorPolicy(), fail()
		},
		AdminResetFactorsFn: func(context.Context, account.Admin, account.UserRef) error { return fail() },
		AppsFn: func(context.Context, account.Admin, string, int) ([]latch.App, error) {
			return []latch.App{app}, fail()
		},
		AppFn: func(context.Context, account.Admin, string) (latch.App, error) { return app, fail() },
		CreateAppFn: func(context.Context, account.Admin, account.AppInput) (account.NewApp, error) {
			return account.NewApp{App: app, Secret: "las_x"}, fail()
		},
		UpdateAppFn: func(context.Context, account.Admin, string, account.AppChange) (latch.App, error) { return app, fail() },
		RotateAppSecretFn: func(context.Context, account.Admin, string) (account.NewApp, error) {
			return account.NewApp{App: app, Secret: "las_x"}, fail()
		},
		RevokeAppFn: func(context.Context, account.Admin, string) error { return fail() },
		MFAChallengeOfFn: func(context.Context, string) (account.MFAChallenge, error) {
			return account.MFAChallenge{Factors: []string{account.FactorTOTP, account.FactorRecoveryCode}}, nil
		},
		CompleteMFAFn: func(context.Context, string, account.FactorProof, string) (account.TokenPair, error) {
			return account.TokenPair{}, fail()
		},
		BeginMFAPasskeyFn: func(context.Context, string) (account.PasskeyChallenge, error) {
			return account.PasskeyChallenge{}, fail()
		},
		BeginPasskeySignInFn: func(context.Context, string) (account.PasskeyChallenge, error) {
			return account.PasskeyChallenge{}, fail()
		},
		FinishPasskeySignInFn: func(context.Context, string, []byte, string) (account.TokenPair, error) {
			return account.TokenPair{}, fail()
		},
		MyFactorsFn: func(context.Context, account.Principal) ([]latch.Factor, error) { return nil, fail() },
		EnrolTOTPFn: func(context.Context, account.Principal, string) (account.TOTPEnrolment, error) {
			return account.TOTPEnrolment{}, fail()
		},
		ConfirmTOTPFn:  func(context.Context, account.Principal, string, string) error { return fail() },
		RemoveFactorFn: func(context.Context, account.Principal, string) error { return fail() },
		BeginPasskeyRegistrationFn: func(context.Context, account.Principal) (account.PasskeyChallenge, error) {
			return account.PasskeyChallenge{}, fail()
		},
		FinishPasskeyRegistrationFn: func(context.Context, account.Principal, string, string, []byte) (latch.Factor, error) {
			return latch.Factor{}, fail()
		},
		RegenerateRecoveryCodesFn: func(context.Context, account.Principal) ([]string, error) { return nil, fail() },
		StepUpFn: func(context.Context, account.Principal, account.FactorProof) (account.TokenPair, error) {
			return account.TokenPair{}, fail()
		},
		BeginStepUpPasskeyFn: func(context.Context, account.Principal) (account.PasskeyChallenge, error) {
			return account.PasskeyChallenge{}, fail()
		},
	}
	h := fakeSurface(f, fakeProvider{name: "acme"})
	const uid = "01990000-0000-7000-8000-000000000001"
	routes := []struct{ method, target, contentType, body string }{
		{"POST", "/v1/token", "application/x-www-form-urlencoded", "grant_type=password&username=a%40example.com&password=p"},
		{"POST", "/v1/token", "application/x-www-form-urlencoded", "grant_type=refresh_token&refresh_token=lrt_x"},
		{"POST", "/v1/token", "application/json", `{"grant_type":"authorization_code","code":"c","code_verifier":"v","redirect_uri":"https://app.example/cb"}`},
		{"POST", "/v1/token", "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=c1&client_secret=s"},
		{"GET", "/v1/oauth/acme/start?redirect_to=https%3A%2F%2Fapp.example%2Fcb&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "", ""},
		{"GET", "/v1/oauth/acme/callback?code=c&state=s", "", ""},
		{"POST", "/v1/logout", "", ""},
		{"GET", "/v1/me", "", ""},
		{"GET", "/v1/me/identities", "", ""},
		{"DELETE", "/v1/me/identities/" + uid, "", ""},
		{"PUT", "/v1/me/password", "application/json", `{"password":"p","password_confirmation":"p"}`},
		{"POST", "/v1/password/set", "application/json", `{"token":"t","password":"p","password_confirmation":"p"}`},
		{"POST", "/v1/recover", "application/json", `{"email":"a@example.com"}`},
		{"GET", "/v1/admin/users", "", ""},
		{"POST", "/v1/admin/users", "application/json", `{"email":"a@example.com"}`},
		{"GET", "/v1/admin/users/" + uid, "", ""},
		{"PATCH", "/v1/admin/users/" + uid, "application/json", `{"last_name":"L"}`},
		{"DELETE", "/v1/admin/users/" + uid, "", ""},
		{"PUT", "/v1/admin/users/" + uid + "/password", "application/json", `{"password":"p","password_confirmation":"p"}`},
		{"GET", "/v1/admin/users/" + uid + "/sessions", "", ""},
		{"DELETE", "/v1/admin/users/" + uid + "/sessions", "", ""},
		{"DELETE", "/v1/admin/users/" + uid + "/sessions/" + uid, "", ""},
		{"GET", "/v1/admin/policy", "", ""},
		{"PUT", "/v1/admin/policy", "application/json", `{"min_length":9}`},
		{"GET", "/v1/admin/policy/factors", "", ""},
		{"PUT", "/v1/admin/policy/factors", "application/json", `{"required":true,"allowed":["totp"]}`},
		{"DELETE", "/v1/admin/users/" + uid + "/factors", "", ""},
		{"GET", "/v1/admin/audit", "", ""},
		{"GET", "/v1/admin/apps", "", ""},
		{"POST", "/v1/admin/apps", "application/json", `{"name":"Shop","type":"public","redirect_uris":["https://shop.example/cb"],"scopes":["openid"]}`},
		{"GET", "/v1/admin/apps/app1", "", ""},
		{"PATCH", "/v1/admin/apps/app1", "application/json", `{"name":"Shop 2"}`},
		{"DELETE", "/v1/admin/apps/app1", "", ""},
		{"POST", "/v1/admin/apps/app1/secret", "", ""},
		{"GET", "/readyz", "", ""},
		{"POST", "/v1/token", "application/x-www-form-urlencoded", "grant_type=mfa&mfa_token=m&totp_code=123456"},
		{"POST", "/v1/token", "application/json", `{"grant_type":"mfa","mfa_token":"m","passkey_ceremony":"c","passkey_credential":{"id":"x"}}`},
		{"POST", "/v1/mfa/passkey/options", "application/json", `{"mfa_token":"m"}`},
		{"POST", "/v1/passkeys/sign-in/options", "", ""},
		{"POST", "/v1/passkeys/sign-in/finish", "application/json", `{"ceremony":"c","credential":{"id":"x"}}`},
		{"GET", "/v1/me/factors", "", ""},
		{"POST", "/v1/me/factors/totp", "application/json", `{"name":"Phone"}`},
		{"POST", "/v1/me/factors/" + uid + "/confirm", "application/json", `{"code":"123456"}`},
		{"DELETE", "/v1/me/factors/" + uid, "", ""},
		{"POST", "/v1/me/passkeys/options", "", ""},
		{"POST", "/v1/me/passkeys", "application/json", `{"name":"Key","ceremony":"c","credential":{"id":"x"}}`},
		{"POST", "/v1/me/recovery-codes", "", ""},
		{"POST", "/v1/me/step-up", "application/json", `{"totp_code":"123456"}`},
		{"POST", "/v1/me/step-up/passkey/options", "", ""},
	}
	n := 0
	for _, r := range routes {
		for _, step := range []string{"authentication", "use case"} {
			for _, e := range errorsByStatus() {
				authErr, useErr = nil, nil
				if step == "authentication" {
					authErr = e
				} else {
					useErr = e
				}
				req := newRequest(r.method, r.target, r.contentType, r.body)
				req.Header.Set("Authorization", "Bearer tok")
				if r.contentType == "application/x-www-form-urlencoded" && r.body == "grant_type=client_credentials&client_id=c1&client_secret=s" {
					req.Header.Del("Authorization")
				}
				doc.Do(t, h, req, false)
				n++
			}
		}
	}
	// And the answers that are no error.
	authErr, useErr = nil, nil
	for _, target := range []string{"/healthz", "/readyz", "/.well-known/jwks.json", "/v1/openapi.yaml"} {
		doc.Do(t, h, newRequest("GET", target, "", ""), true)
		n++
	}
	// The app routes' own answers: a page, an app, one with its secret.
	for _, r := range routes {
		if !strings.HasPrefix(r.target, "/v1/admin/apps") {
			continue
		}
		req := newRequest(r.method, r.target, r.contentType, r.body)
		req.Header.Set("Authorization", "Bearer tok")
		doc.Do(t, h, req, false)
		n++
	}
	t.Logf("%d answers checked against the document", n)
}

// errorsByStatus is every kind crossed with the codes that give a kind
// another status or shape in one of the native writers (and one that
// gives none). TestEveryErrorInNativeShapes hands the writers every code;
// here each route's document is what is checked, and this keeps the
// routes x errors product small enough to validate in a few seconds.
func errorsByStatus() []*latch.Error {
	codes := []string{latch.CodeInvalidRequest, httpx.CodeBodyTooLarge, latch.CodeUnsupportedContentType,
		latch.CodeUnsupportedGrantType, httpx.CodeCrossSite, latch.CodeInvalidClient, latch.CodeAccountInactive,
		latch.CodePasswordChangeRequired, latch.CodeMFARequired, latch.CodeStepUpRequired, httpx.CodeMissingToken, latch.CodeDatabaseUnavailable, latch.CodeInternal}
	var out []*latch.Error
	for _, e := range everyErrorWithRetry() {
		if slices.Contains(codes, e.Code) {
			out = append(out, e)
		}
	}
	return out
}
