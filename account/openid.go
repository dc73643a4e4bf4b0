package account

import (
	"context"
	"time"

	"github.com/latchid/latch"
)

// Latch as an OpenID Provider (issue 15): the use cases behind the
// authorization endpoint's pages (web) and the token, userinfo,
// revocation, introspection and logout endpoints (api/openid). The
// request checks of the authorization endpoint are ParseAuthorizeRequest
// and DecideAuthorize (authorize.go); this file is what they lead to.
//
// Errors follow the package's rules (*latch.Error with a Kind); the OAuth
// error of the token endpoint family is the Code, one of the Token*
// constants below, so that api/openid writes RFC 6749 §5.2's shape
// without guessing. Any other code (database_unavailable, overloaded,
// rate_limited, internal) keeps its usual meaning.

// The OAuth 2.0 error codes of the token, revocation and introspection
// endpoints (RFC 6749 §5.2, RFC 7009 §2.2.1), as latch.Error codes.
const (
	TokenInvalidRequest       = "invalid_request"        // KindInvalid
	TokenInvalidClient        = "invalid_client"         // KindUnauthenticated: unknown app, wrong or missing secret, revoked app
	TokenInvalidGrant         = "invalid_grant"          // KindInvalid: bad, used, expired or foreign code or refresh token; PKCE or redirect_uri mismatch
	TokenUnauthorizedClient   = "unauthorized_client"    // KindForbidden: the app may not use this grant (a public app's client_credentials)
	TokenUnsupportedGrantType = "unsupported_grant_type" // KindInvalid
	TokenInvalidScope         = "invalid_scope"          // KindInvalid: a scope the app is not registered for, or more than the grant has
	TokenUnsupportedTokenType = "unsupported_token_type" // KindInvalid (RFC 7009 §2.2.1)
)

// The authentication methods of amr (RFC 8176) that Latch records.
const (
	AMRPassword  = "pwd" // a password Latch checked
	AMRFederated = "fed" // an upstream provider's sign-in
)

// AppAccessTokenTTL is the life of an app's access token: an app that
// verifies it offline learns of a revocation within this time, and can
// always ask introspection or userinfo at once.
const AppAccessTokenTTL = 10 * time.Minute

// AppCodeTTL is the life of an app's authorization code (RFC 6749 §4.1.2
// recommends at most 10 minutes; a redirect and one request need less).
const AppCodeTTL = time.Minute

// AuthorizeApp returns the app named by an authorization request's
// client_id, for ParseAuthorizeRequest: the zero App (and no error) when
// there is no such app, so that the request is refused as invalid_client
// on Latch's page. An error is only a store that cannot answer.
func (s *Service) AuthorizeApp(ctx context.Context, clientID string) (latch.App, error) {
	return latch.App{}, errNotBuilt
}

// ConsentOf returns userID's remembered consent to appID, or nil when the
// user never gave one (or revoked it): DecideAuthorize's consent.
func (s *Service) ConsentOf(ctx context.Context, userID, appID string) (*latch.AppConsent, error) {
	return nil, errNotBuilt
}

// AppCodeRequest is what the authorization endpoint issues a code for:
// the checked request, and who approved it in which browser session.
type AppCodeRequest struct {
	Request AuthorizeRequest
	// The browser's session: its user, when and how they authenticated
	// (latch.Session.AuthTime, else CreatedAt; AMR), and its id, which
	// becomes the grant's ParentSessionID.
	UserID          string
	AuthTime        time.Time
	AMR             []string
	ParentSessionID string
}

// IssueAppCode stores a one-time code (AppCodeTTL) for an authorization
// request DecideAuthorize answered AuthorizeIssueCode, and returns it for
// AuthorizeRequest.CodeRedirectURL. The user, the app and the tenant are
// checked again (a deactivated user, a revoked app, another tenant's user
// get no code), so a page that skipped DecideAuthorize still cannot issue
// one.
func (s *Service) IssueAppCode(ctx context.Context, in AppCodeRequest) (string, error) {
	return "", errNotBuilt
}

// AppClientAuth is how an app authenticated at the token, revocation or
// introspection endpoint (RFC 6749 §2.3.1): the surface has already
// decoded client_secret_basic or read client_secret_post, and refused a
// request that used both or named two different clients.
type AppClientAuth struct {
	ClientID string
	// Secret is "" for a public app (token_endpoint_auth_method none).
	Secret string
	// SecretGiven tells an empty secret apart from none.
	SecretGiven bool
	ClientIP    string
}

// AuthenticateAppClient returns the app behind auth: a confidential app
// must present its secret, a public app must present none. Anything else
// (unknown app, revoked app, wrong secret, a public app sending a secret,
// a confidential one sending none) is Unauthenticated invalid_client, the
// same for every cause. Failures count against the client-auth limit of
// AuthenticateApp.
func (s *Service) AuthenticateAppClient(ctx context.Context, auth AppClientAuth) (latch.App, error) {
	return latch.App{}, errNotBuilt
}

// AppTokens is the token endpoint's success (RFC 6749 §5.1, OpenID
// Connect Core §3.1.3.3).
type AppTokens struct {
	AccessToken string
	ExpiresIn   time.Duration
	// RefreshToken is "" unless the grant has offline_access (Core §11);
	// never for client_credentials (RFC 6749 §4.4.3).
	RefreshToken string
	// IDToken is "" for client_credentials; present for a code and on a
	// refresh (Core §12.2: same iss, sub, aud, auth_time as the first;
	// no nonce).
	IDToken string
	Scopes  []string
}

// AppCodeExchange is a token request of grant_type authorization_code
// (RFC 6749 §4.1.3, RFC 7636 §4.5).
type AppCodeExchange struct {
	App          latch.App // authenticated by AuthenticateAppClient
	Code         string
	CodeVerifier string
	// RedirectURI is the request's redirect_uri, "" when it named none:
	// required and equal when the authorization request named one.
	RedirectURI string
}

// ExchangeAppCode redeems an app's code (RedeemAppCode, one transaction)
// and issues the grant's tokens: an ID token with the code's nonce,
// auth_time, amr and acr and the claims its scopes allow, an access
// token (RFC 9068, aud the client id, sid the grant), and a refresh
// token of the session's chain when offline_access was granted.
//
// Every failure is invalid_grant and spends the code: unknown, expired or
// already used (a replay also revokes the grant first made from it), a
// code of another app, a redirect_uri that differs, a missing or wrong
// code_verifier (a code issued without a challenge needs app.PKCEOptional
// and then takes no verifier). A user deactivated, or moved out of the
// app's tenant, since the code was issued gets none either.
func (s *Service) ExchangeAppCode(ctx context.Context, in AppCodeExchange) (AppTokens, error) {
	return AppTokens{}, errNotBuilt
}

// RefreshAppGrant is grant_type refresh_token for an app (RFC 6749 §6):
// the token must be of a grant of this app; it rotates with the reuse
// rules of Refresh (a genuine old token revokes the grant). scopes, when
// not empty, must be a subset of the grant's and narrow only the new
// access token (§6). The new ID token is Core §12.2's.
func (s *Service) RefreshAppGrant(ctx context.Context, app latch.App, refreshToken string, scopes []string) (AppTokens, error) {
	return AppTokens{}, errNotBuilt
}

// AppClientCredentials is grant_type client_credentials (RFC 6749 §4.4):
// for a confidential app registered with ClientCredentials, an access
// token whose sub is the client id; no refresh token, no ID token. A
// public app, or one not registered for it, is unauthorized_client;
// scopes must be among the app's scopes other than openid and
// offline_access, which need a user.
func (s *Service) AppClientCredentials(ctx context.Context, app latch.App, scopes []string) (AppTokens, error) {
	return AppTokens{}, errNotBuilt
}

// UserInfo is the userinfo endpoint's answer (Core §5.3.2): sub always,
// the rest by the access token's scopes. Zero values are left out.
type UserInfo struct {
	Subject       string
	Email         string
	EmailVerified *bool
	Name          string
	GivenName     string
	FamilyName    string
	UpdatedAt     *time.Time
}

// AppUserInfo checks an app's access token (signature, expiry, and that
// its grant and user are still live, so a revoked grant is refused at
// once) and returns the user's claims. A token that is not a live app
// access token of a user is Unauthenticated invalid_token (RFC 6750
// §3.1); a client_credentials token has no user and is refused the same
// way. A token without the openid scope is Forbidden insufficient_scope.
func (s *Service) AppUserInfo(ctx context.Context, accessToken string) (UserInfo, error) {
	return UserInfo{}, errNotBuilt
}

// RevokeAppToken is RFC 7009: app revokes one of its own tokens. A
// refresh token ends its grant (and so every access token of it, as
// userinfo and introspection see at once); an access token of a grant
// ends the grant too (§2.1 allows it, and an offline verifier learns
// within AppAccessTokenTTL). hint ("access_token", "refresh_token" or
// "") only orders the lookup. A token that is unknown, invalid, expired
// or another app's is no error (§2.2: the answer is 200 either way, and
// another app's token is left alone); an unsupported hint is not an error
// either (§2.2.1 lets the server search all types).
func (s *Service) RevokeAppToken(ctx context.Context, app latch.App, tok, hint string) error {
	return errNotBuilt
}

// Introspection is RFC 7662 §2.2's answer. When Active is false nothing
// else is said.
type Introspection struct {
	Active    bool
	Scopes    []string
	ClientID  string
	Subject   string
	TokenType string // "Bearer" for an access token, "refresh_token" for a refresh token
	IssuedAt  time.Time
	ExpiresAt time.Time
	NotBefore time.Time
	Audience  []string
	Issuer    string
	JWTID     string
	// GrantID is the grant (sid) of a user's token.
	GrantID  string
	Username string // the user's email, for a user's token
}

// IntrospectAppToken is RFC 7662 for a confidential app (a public one is
// Forbidden unauthorized_client): is tok a live token, access or refresh,
// and what is it. A token of another app is answered as inactive (§4:
// the server must not tell one app about another's tokens); so is one of
// a revoked grant, an inactive user, or anything unrecognised.
// Introspecting a refresh token rotates nothing.
func (s *Service) IntrospectAppToken(ctx context.Context, app latch.App, tok, hint string) (Introspection, error) {
	return Introspection{}, errNotBuilt
}

// EndSessionRequest is an RP-initiated logout request (OpenID Connect
// RP-Initiated Logout 1.0 §2).
type EndSessionRequest struct {
	IDTokenHint           string
	ClientID              string
	PostLogoutRedirectURI string
	State                 string
	UILocales             string
}

// EndSession is CheckEndSession's answer: where to send the browser after
// the logout, and whom the hint named.
type EndSession struct {
	// App is the app the request came from (from the hint's aud or
	// client_id), the zero App when neither says.
	App latch.App
	// RedirectURL is post_logout_redirect_uri with state, "" when the
	// request named none: Latch's own "signed out" page then.
	RedirectURL string
	// HintUserID is the hint's sub ("" without a hint): the page logs the
	// browser out without asking only when its session is this user's
	// (§2: otherwise it should ask).
	HintUserID string
}

// CheckEndSession checks a logout request: the hint must be an ID token
// Latch signed (expired ones are fine, §2), client_id must agree with its
// aud, and post_logout_redirect_uri must be registered for the app, byte
// for byte, and is refused without an app to check it against. A bad
// request is Invalid invalid_request: the page shows an error and
// redirects nowhere.
func (s *Service) CheckEndSession(ctx context.Context, req EndSessionRequest) (EndSession, error) {
	return EndSession{}, errNotBuilt
}

// EndBrowserSession signs the browser's session out (as Logout) and ends
// every app grant made from it (ParentSessionID): logging out of Latch
// in a browser ends what that browser's sign-in gave the apps.
func (s *Service) EndBrowserSession(ctx context.Context, p Principal) error {
	return errNotBuilt
}

// errNotBuilt marks the OpenID Provider use cases still being written.
var errNotBuilt = &latch.Error{Kind: latch.KindInternal, Code: latch.CodeInternal, Message: "not built yet"}
