package web

import (
	"context"
	"net/url"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// Accounts is what the pages ask of the use cases: exactly the methods
// they call, so the pages' translation (forms, statuses, texts) can be
// tested against a fake in memory. *account.Service implements it.
type Accounts interface {
	// Sign-in with a password, for Latch's own pages or an app.
	Login(ctx context.Context, in account.LoginInput) (account.TokenPair, error)
	AuthenticatePassword(ctx context.Context, in account.LoginInput) (latch.User, string, error)
	AllowedRedirect(raw string) (*url.URL, error)
	IssueAuthorizationCode(ctx context.Context, user latch.User, codeChallenge, redirectURI, verifiedHash string) (string, error)

	// Latch's own page as a client of the provider sign-in: how long its
	// PKCE state lives, and the code it redeems at /login/complete.
	FlowDeadline() time.Time
	FlowLive(deadline time.Time) bool
	RedeemAuthorizationCode(ctx context.Context, code, verifier, redirectURI string) (account.TokenPair, error)

	// The web session and the account page.
	Authenticate(ctx context.Context, accessToken string) (account.Principal, error)
	Refresh(ctx context.Context, refreshToken string) (account.TokenPair, error)
	// EndBrowserSession signs the browser out (its session and the app
	// grants made from it): the account page's Sign out and an app's
	// RP-initiated logout.
	EndBrowserSession(ctx context.Context, p account.Principal) error
	MyIdentities(ctx context.Context, p account.Principal) ([]latch.Identity, error)
	HasPassword(ctx context.Context, userID string) (bool, error)
	PasswordRules(ctx context.Context, tenantID string) string
	SetOwnPassword(ctx context.Context, p account.Principal, in account.SetOwnPasswordInput) error
	MyApps(ctx context.Context, userID string) ([]account.MyApp, error)
	RevokeConsent(ctx context.Context, userID, appID string) error

	// The OpenID Provider's authorization endpoint (issue 15): the app of
	// a request, the user's remembered consent to it, a consent given on
	// the consent page, and the code.
	AuthorizeApp(ctx context.Context, clientID string) (latch.App, error)
	ConsentOf(ctx context.Context, userID, appID string) (*latch.AppConsent, error)
	GrantConsent(ctx context.Context, userID, appID string, scopes []string) (latch.AppConsent, error)
	IssueAppCode(ctx context.Context, in account.AppCodeRequest) (string, error)
	// An app's RP-initiated logout.
	CheckEndSession(ctx context.Context, req account.EndSessionRequest) (account.EndSession, error)

	// The pages a link from an email opens.
	PasswordLinkInfo(ctx context.Context, raw string) (account.LinkInfo, error)
	SetPasswordWithLink(ctx context.Context, in account.SetPasswordWithLinkInput) error
	VerificationUser(ctx context.Context, verifyToken string) (latch.User, error)
	VerifyAndSetPassword(ctx context.Context, verifyToken, pw string) error
	RequestRecovery(ctx context.Context, email string) error

	// /signup: the same use case as seed 003's sign-up API.
	SignUp(ctx context.Context, in account.SignUpInput) error

	// Second factors (issue 16): the factor step of /login, passwordless
	// sign-in with a passkey, and the account page's security section.
	MFAChallengeOf(ctx context.Context, mfaToken string) (account.MFAChallenge, error)
	CompleteMFA(ctx context.Context, mfaToken string, proof account.FactorProof, clientIP string) (account.TokenPair, error)
	BeginMFAPasskey(ctx context.Context, mfaToken string) (account.PasskeyChallenge, error)
	BeginPasskeySignIn(ctx context.Context, clientIP string) (account.PasskeyChallenge, error)
	FinishPasskeySignIn(ctx context.Context, ceremony string, response []byte, clientIP string) (account.TokenPair, error)
	BeginPasskeyRegistration(ctx context.Context, p account.Principal) (account.PasskeyChallenge, error)
	FinishPasskeyRegistration(ctx context.Context, p account.Principal, name, ceremony string, response []byte) (latch.Factor, error)
	BeginStepUpPasskey(ctx context.Context, p account.Principal) (account.PasskeyChallenge, error)
	StepUp(ctx context.Context, p account.Principal, proof account.FactorProof) (account.TokenPair, error)
	EnrolTOTP(ctx context.Context, p account.Principal, name string) (account.TOTPEnrolment, error)
	ConfirmTOTP(ctx context.Context, p account.Principal, factorID, code string) error
	MyFactors(ctx context.Context, p account.Principal) ([]latch.Factor, error)
	RemoveFactor(ctx context.Context, p account.Principal, factorID string) error
	RegenerateRecoveryCodes(ctx context.Context, p account.Principal) ([]string, error)
}
