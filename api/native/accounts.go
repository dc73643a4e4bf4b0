package native

import (
	"context"
	"net/url"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// Accounts is what the native API asks of the use cases: exactly the
// methods it calls, so its translation (routes, bodies, error shapes) can
// be tested against a fake in memory. *account.Service implements it.
type Accounts interface {
	// Health and configuration.
	Ready(ctx context.Context) error
	TrustedOrigins() []string

	// Sign-in: the token endpoint's grants and a user's session.
	Login(ctx context.Context, in account.LoginInput) (account.TokenPair, error)
	Refresh(ctx context.Context, refreshToken string) (account.TokenPair, error)
	RedeemAuthorizationCode(ctx context.Context, code, verifier, redirectURI string) (account.TokenPair, error)
	IssueClientToken(ctx context.Context, clientID, secret string) (account.ClientTokenPair, error)
	Authenticate(ctx context.Context, accessToken string) (account.Principal, error)
	Logout(ctx context.Context, p account.Principal) error

	// Provider sign-in: where it may return, how long it may take, whom it
	// signs in, and the one-time code the app redeems.
	AllowedRedirect(raw string) (*url.URL, error)
	FlowDeadline() time.Time
	FlowLive(deadline time.Time) bool
	ResolveIdentity(ctx context.Context, ext latch.ExternalIdentity) (latch.User, error)
	IssueAuthorizationCode(ctx context.Context, user latch.User, codeChallenge, redirectURI, verifiedHash string) (string, error)

	// The signed-in user's own account.
	Me(p account.Principal) (latch.User, error)
	MyIdentities(ctx context.Context, p account.Principal) ([]latch.Identity, error)
	UnlinkIdentity(ctx context.Context, p account.Principal, identityID string) error
	SetOwnPassword(ctx context.Context, p account.Principal, in account.SetOwnPasswordInput) error
	SetPasswordWithLink(ctx context.Context, in account.SetPasswordWithLinkInput) error
	RequestRecovery(ctx context.Context, email string) error

	// Second factors: the factor step of a sign-in, passwordless
	// passkeys, step-up, and the signed-in user's factors.
	MFAChallengeOf(ctx context.Context, mfaToken string) (account.MFAChallenge, error)
	CompleteMFA(ctx context.Context, mfaToken string, proof account.FactorProof, clientIP string) (account.TokenPair, error)
	BeginMFAPasskey(ctx context.Context, mfaToken string) (account.PasskeyChallenge, error)
	BeginPasskeySignIn(ctx context.Context, clientIP string) (account.PasskeyChallenge, error)
	FinishPasskeySignIn(ctx context.Context, ceremony string, response []byte, clientIP string) (account.TokenPair, error)
	MyFactors(ctx context.Context, p account.Principal) ([]latch.Factor, error)
	EnrolTOTP(ctx context.Context, p account.Principal, name string) (account.TOTPEnrolment, error)
	ConfirmTOTP(ctx context.Context, p account.Principal, factorID, code string) error
	RemoveFactor(ctx context.Context, p account.Principal, factorID string) error
	BeginPasskeyRegistration(ctx context.Context, p account.Principal) (account.PasskeyChallenge, error)
	FinishPasskeyRegistration(ctx context.Context, p account.Principal, name, ceremony string, response []byte) (latch.Factor, error)
	RegenerateRecoveryCodes(ctx context.Context, p account.Principal) ([]string, error)
	StepUp(ctx context.Context, p account.Principal, proof account.FactorProof) (account.TokenPair, error)
	BeginStepUpPasskey(ctx context.Context, p account.Principal) (account.PasskeyChallenge, error)

	// Administration, by an API client's token.
	AuthenticateClient(ctx context.Context, accessToken string) (account.Admin, error)
	ListUsers(ctx context.Context, a account.Admin, email, cursor string, limit int) (account.UserPage, error)
	User(ctx context.Context, a account.Admin, r account.UserRef) (latch.User, error)
	AdminCreateUser(ctx context.Context, a account.Admin, in account.AdminCreateUserInput) (latch.User, error)
	AdminUpdateUser(ctx context.Context, a account.Admin, r account.UserRef, ch account.AdminUserChange) (latch.User, error)
	AdminDeleteUser(ctx context.Context, a account.Admin, r account.UserRef) error
	AdminSetPassword(ctx context.Context, a account.Admin, in account.AdminSetPasswordInput) error
	UserSessions(ctx context.Context, a account.Admin, r account.UserRef) ([]latch.Session, error)
	RevokeUserSessions(ctx context.Context, a account.Admin, r account.UserRef, sessionID string) (int, error)
	Policy(ctx context.Context, a account.Admin) (latch.PasswordPolicy, error)
	SetPolicy(ctx context.Context, a account.Admin, ch account.PolicyChange) (latch.PasswordPolicy, error)
	FactorPolicy(ctx context.Context, a account.Admin) (latch.FactorPolicy, error)
	SetFactorPolicy(ctx context.Context, a account.Admin, ch account.FactorPolicyChange) (latch.FactorPolicy, error)
	AdminResetFactors(ctx context.Context, a account.Admin, r account.UserRef) error
	AuditEvents(ctx context.Context, a account.Admin, q latch.AuditQuery) ([]latch.AuditEvent, error)
	Apps(ctx context.Context, a account.Admin, after string, limit int) ([]latch.App, error)
	App(ctx context.Context, a account.Admin, id string) (latch.App, error)
	CreateApp(ctx context.Context, a account.Admin, in account.AppInput) (account.NewApp, error)
	UpdateApp(ctx context.Context, a account.Admin, id string, ch account.AppChange) (latch.App, error)
	RotateAppSecret(ctx context.Context, a account.Admin, id string) (account.NewApp, error)
	RevokeApp(ctx context.Context, a account.Admin, id string) error
}
