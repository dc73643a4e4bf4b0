package account

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/token"
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

// The acr values of ID tokens (Core §2), from the amr of the sign-in: a
// password Latch checked, or an outside provider's sign-in. Discovery
// lists them (api/openid).
const (
	ACRPassword  = "urn:latchid:acr:pwd"
	ACRFederated = "urn:latchid:acr:fed"
)

// appRefreshPrefix marks apps' refresh tokens: chained tokens of the grant
// (lart_<grant>.<generation>.<43>), as Latch's own sessions' lrt_ ones,
// but with a prefix of their own, which keys their successors apart too.
// Latch's own refresh refuses them without a lookup, and an app's refresh
// refuses Latch's own, so neither can use, or by trying use up, the
// other's chain.
const appRefreshPrefix = "lart_"

// The token types of introspection (RFC 7662 §2.2, RFC 6749 §7.1).
const (
	TokenTypeBearer  = "Bearer"
	TokenTypeRefresh = "refresh_token"
)

// The revocation and introspection hints (RFC 7009 §2.1).
const (
	HintAccessToken  = "access_token"
	HintRefreshToken = "refresh_token"
)

// maxVerifierLen and minVerifierLen bound a PKCE code_verifier (RFC 7636
// §4.1).
const (
	minVerifierLen = 43
	maxVerifierLen = 128
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
	if clientID == "" {
		return latch.App{}, nil
	}
	app, err := s.store.AppByID(ctx, clientID)
	if latch.IsKind(err, latch.KindNotFound) {
		return latch.App{}, nil
	}
	return app, err
}

// ConsentOf returns userID's remembered consent to appID, or nil when the
// user never gave one (or revoked it): DecideAuthorize's consent.
func (s *Service) ConsentOf(ctx context.Context, userID, appID string) (*latch.AppConsent, error) {
	consents, err := s.store.ConsentsByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, c := range consents {
		if c.AppID == appID {
			return &c, nil
		}
	}
	return nil, nil
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
//
// The browser session must be live, the user's, and a full sign-in (not
// the password-change-only session); its recorded AuthTime and AMR are
// the code's (in's only for a session that recorded none, started before
// sessions did). A third-party app also needs the user's remembered
// consent to every scope (what the consent page records): the page's
// word that the user agreed is not taken.
func (s *Service) IssueAppCode(ctx context.Context, in AppCodeRequest) (string, error) {
	req := in.Request
	app, err := s.store.AppByID(ctx, req.AppID)
	if err != nil && !latch.IsKind(err, latch.KindNotFound) {
		return "", err
	}
	if err != nil || !app.Usable() {
		return "", &latch.Error{Kind: latch.KindInvalid, Code: AuthorizeInvalidClient, Message: "unknown client"}
	}
	if !slices.Contains(app.RedirectURIs, req.RedirectURI) {
		return "", latch.FieldError("redirect_uri", AuthorizeInvalidRequest, "redirect_uri is not registered for this app")
	}
	if !slices.Contains(req.Scopes, latch.AppScopeOpenID) {
		return "", latch.FieldError("scope", AuthorizeInvalidScope, "scope must include openid")
	}
	for _, sc := range req.Scopes {
		if !slices.Contains(app.Scopes, sc) {
			return "", latch.FieldError("scope", AuthorizeInvalidScope, "scope "+sc+" is not allowed for this app")
		}
	}
	switch {
	case req.CodeChallenge == "" && !(app.PKCEOptional && app.Type == latch.AppConfidential):
		return "", latch.FieldError("code_challenge", AuthorizeInvalidRequest, "code_challenge is required (PKCE with S256)")
	case req.CodeChallenge != "" && !validS256Challenge(req.CodeChallenge):
		return "", latch.FieldError("code_challenge", AuthorizeInvalidRequest, "code_challenge is not a base64url SHA-256 digest (43 characters)")
	case len(req.Nonce) > MaxAuthorizeParamLen:
		return "", latch.FieldError("nonce", AuthorizeInvalidRequest, "nonce is longer than 1024 bytes")
	}

	signedOut := &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidToken, Message: "the browser's session has ended; sign in again"}
	if in.ParentSessionID == "" || in.UserID == "" {
		return "", signedOut
	}
	now := s.now()
	browser, user, err := s.store.SessionWithUser(ctx, in.ParentSessionID)
	if latch.IsKind(err, latch.KindNotFound) {
		return "", signedOut
	}
	if err != nil {
		return "", err
	}
	if !browser.Live(now) || browser.UserID != in.UserID || browser.Kind != latch.KindSession || browser.AppID != "" ||
		browser.HasScope(latch.ScopePasswordChange) || browser.HasScope(latch.ScopeMFAPending) {
		return "", signedOut
	}
	if !user.Active {
		return "", &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeAccountInactive, Message: "this account is deactivated"}
	}
	authTime, amr := browser.AuthTime, browser.AMR
	if authTime.IsZero() {
		authTime, amr = in.AuthTime, in.AMR
		if authTime.IsZero() {
			authTime = browser.CreatedAt
		}
	}
	// The page's decision is taken again here, on what the store says
	// (the session, the tenant, the remembered consent, prompt and
	// max_age): the page's word that the request may have a code is not
	// what makes it so.
	consent, err := s.ConsentOf(ctx, user.ID, app.ID)
	if err != nil {
		return "", err
	}
	signedIn := AuthorizeSession{UserID: user.ID, TenantID: user.TenantID, AuthTime: authTime, AMR: amr}
	switch d := DecideAuthorize(req, app, &signedIn, consent, now); d.Outcome {
	case AuthorizeIssueCode:
	case AuthorizeWrongTenant:
		return "", &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeOtherTenant, Message: "this account cannot sign in to the app"}
	case AuthorizeLogin:
		return "", &latch.Error{Kind: latch.KindForbidden, Code: AuthorizeLoginRequired, Message: "the request asks for a fresh sign-in"}
	case AuthorizeConsent:
		return "", &latch.Error{Kind: latch.KindForbidden, Code: AuthorizeConsentRequired, Message: "the user has not consented to these scopes"}
	default:
		return "", &latch.Error{Kind: latch.KindInvalid, Code: d.Error.Code, Message: d.Error.Description}
	}
	// The redirect_uri the request named, or none (RFC 6749 §4.1.3: the
	// token request must repeat it only if the request had it).
	redirectURI := ""
	if req.RedirectURIGiven {
		redirectURI = req.RedirectURI
	}
	code, hash := token.NewOpaque(codePrefix)
	err = s.store.CreateAuthorizationCode(ctx, latch.AuthorizationCode{
		Hash: hash, UserID: user.ID, CodeChallenge: req.CodeChallenge, RedirectURI: redirectURI,
		CreatedAt: now, ExpiresAt: now.Add(AppCodeTTL),
		AppID: app.ID, Nonce: req.Nonce, Scopes: slices.Clone(req.Scopes), AuthTime: authTime, AMR: amr,
		ParentSessionID: browser.ID,
	})
	if err != nil {
		return "", err
	}
	return code, nil
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
	if auth.SecretGiven {
		// AuthenticateApp refuses a public app, which has no secret to
		// send, and an empty secret, and counts the failure.
		return s.AuthenticateApp(ctx, auth.ClientID, auth.Secret, auth.ClientIP)
	}
	failures := clientAuthFailuresKey + s.addressKey(auth.ClientIP)
	if err := s.limit(ctx, failures, s.cfg.LoginFailures, 0); err != nil {
		return latch.App{}, err
	}
	var app latch.App
	var err error
	if auth.ClientID != "" {
		app, err = s.store.AppByID(ctx, auth.ClientID)
		if err != nil && !latch.IsKind(err, latch.KindNotFound) {
			return latch.App{}, err
		}
	}
	if auth.ClientID == "" || err != nil || !app.Usable() || app.Type != latch.AppPublic {
		if lerr := s.limit(ctx, failures, s.cfg.LoginFailures, 1); lerr != nil && !latch.IsKind(lerr, latch.KindTooMany) {
			return latch.App{}, lerr
		}
		return latch.App{}, errInvalidClient()
	}
	return app, nil
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
//
// The code is read first (AppCodeByHash), for the grant to store with it:
// its user, scopes and sign-in. The grant is stored under the code's app
// whoever presents it, and revoked when a check fails afterwards, so that
// a code of another app is spent too. A code redeemed after its browser
// session ended (a logout, a password change elsewhere) gives nothing:
// what the browser's sign-in gave the apps ends with it.
func (s *Service) ExchangeAppCode(ctx context.Context, in AppCodeExchange) (AppTokens, error) {
	if !token.LooksOpaque(in.Code, codePrefix) {
		return AppTokens{}, errInvalidGrant("invalid, expired or used code", nil)
	}
	hash := token.HashOpaque(in.Code)
	c, err := s.store.AppCodeByHash(ctx, hash)
	if latch.IsKind(err, latch.KindNotFound) {
		return AppTokens{}, errInvalidGrant("invalid, expired or used code", nil)
	}
	if err != nil {
		return AppTokens{}, err
	}
	now := s.now()
	grant, refresh, err := s.newGrant(c, now)
	if err != nil {
		return AppTokens{}, err
	}
	code, err := s.store.RedeemAppCode(ctx, hash, now, grant)
	switch {
	case latch.IsCode(err, latch.CodeAuthorizationCodeReused):
		// The store revoked the grant the first redemption made.
		s.sessions.forgetUser(c.UserID)
		s.cfg.Observer.SessionsRevoked(RevokedCodeReplay, 1)
		s.log.WarnContext(ctx, "app's authorization code used twice: the grant made from it is revoked", "app_id", c.AppID)
		if user, uerr := s.store.UserByID(ctx, c.UserID); uerr == nil {
			s.auditGrantEnd(ctx, user, latch.Session{AppID: c.AppID}, "authorization_code_reused")
		}
		return AppTokens{}, errInvalidGrant("invalid, expired or used code", err)
	case latch.IsKind(err, latch.KindNotFound):
		return AppTokens{}, errInvalidGrant("invalid, expired or used code", nil)
	case err != nil:
		return AppTokens{}, err
	}
	user, problem, err := s.checkRedemption(ctx, in, code, now)
	if err != nil || problem != "" {
		// The code is spent; its grant must not outlive the failure. If
		// the revocation fails, nobody holds the grant's tokens.
		if rerr := s.store.RevokeSession(ctx, grant.Session.ID, now); rerr != nil {
			return AppTokens{}, rerr
		}
		if err != nil {
			return AppTokens{}, err
		}
		return AppTokens{}, errInvalidGrant(problem, nil)
	}
	s.cfg.Observer.SessionCreated(string(latch.KindApp))
	return s.appTokens(in.App, grant.Session, user, grant.Session.Scopes, refresh, code.Nonce, now)
}

// newGrant is the grant session a redemption of c stores: the code's user,
// app, scopes and sign-in, for SessionTTL, with a refresh chain only when
// offline_access was granted (Core §11).
func (s *Service) newGrant(c latch.AuthorizationCode, now time.Time) (latch.NewSession, string, error) {
	id, err := newID()
	if err != nil {
		return latch.NewSession{}, "", latch.Internal(err)
	}
	ns := latch.NewSession{Session: latch.Session{
		ID: id, UserID: c.UserID, Kind: latch.KindApp, Scopes: c.Scopes, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL),
		AppID: c.AppID, AuthTime: c.AuthTime, AMR: c.AMR, ParentSessionID: c.ParentSessionID,
	}}
	var refresh string
	if slices.Contains(c.Scopes, latch.AppScopeOfflineAccess) {
		refresh, ns.RefreshHash = token.NewChained(appRefreshPrefix, id)
	}
	return ns, refresh, nil
}

// checkRedemption checks a redeemed code against the token request: the
// app, the redirect URI, the PKCE verifier, and that the browser session
// that approved it is still live and its user still may sign in to the
// app. problem says what failed ("" for nothing); err is a store that
// could not answer.
func (s *Service) checkRedemption(ctx context.Context, in AppCodeExchange, c latch.AuthorizationCode, now time.Time) (latch.User, string, error) {
	app := in.App
	if app.ID == "" || app.ID != c.AppID || !app.Usable() {
		return latch.User{}, "the code was issued to another client", nil
	}
	switch {
	case c.RedirectURI != "" && subtle.ConstantTimeCompare([]byte(in.RedirectURI), []byte(c.RedirectURI)) != 1:
		return latch.User{}, "redirect_uri differs from the authorization request's", nil
	case c.RedirectURI == "" && in.RedirectURI != "" && !slices.Contains(app.RedirectURIs, in.RedirectURI):
		return latch.User{}, "redirect_uri is not registered for this app", nil
	}
	if c.CodeChallenge == "" {
		// Issued without a challenge: only for an app an operator let
		// leave PKCE out, and then a verifier is refused (RFC 9700
		// §2.1.1: a verifier without a challenge is a downgrade).
		if !app.PKCEOptional || app.Type != latch.AppConfidential || in.CodeVerifier != "" {
			return latch.User{}, "code_verifier does not match the code_challenge", nil
		}
	} else if !validVerifier(in.CodeVerifier) ||
		subtle.ConstantTimeCompare([]byte(token.S256(in.CodeVerifier)), []byte(c.CodeChallenge)) != 1 {
		return latch.User{}, "code_verifier does not match the code_challenge", nil
	}
	var user latch.User
	if c.ParentSessionID != "" {
		browser, u, err := s.store.SessionWithUser(ctx, c.ParentSessionID)
		if latch.IsKind(err, latch.KindNotFound) {
			return latch.User{}, "the sign-in that approved the code has ended", nil
		}
		if err != nil {
			return latch.User{}, "", err
		}
		if !browser.Live(now) || browser.UserID != c.UserID {
			return latch.User{}, "the sign-in that approved the code has ended", nil
		}
		user = u
	} else {
		u, err := s.store.UserByID(ctx, c.UserID)
		if latch.IsKind(err, latch.KindNotFound) {
			return latch.User{}, "the user is gone", nil
		}
		if err != nil {
			return latch.User{}, "", err
		}
		user = u
	}
	if !user.Active || user.TenantID != app.TenantID {
		return latch.User{}, "the user may no longer sign in to this app", nil
	}
	return user, "", nil
}

// validVerifier: code-verifier = 43*128unreserved (RFC 7636 §4.1).
func validVerifier(v string) bool {
	if len(v) < minVerifierLen || len(v) > maxVerifierLen {
		return false
	}
	for i := range len(v) {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// appTokens signs the tokens of grant for user: an access token of
// scopes (the grant's, or fewer on a refresh), and the ID token with the
// claims the grant's scopes allow, nonce only from a code (Core §12.2).
// refresh is the refresh token to hand out ("" for none).
func (s *Service) appTokens(app latch.App, grant latch.Session, user latch.User, scopes []string, refresh, nonce string, now time.Time) (AppTokens, error) {
	exp := now.Add(AppAccessTokenTTL)
	if grant.ExpiresAt.Before(exp) {
		exp = grant.ExpiresAt
	}
	access, err := s.keys.SignAppAccess(token.AppAccessClaims{
		Subject: user.ID, Audience: []string{app.ID}, ClientID: app.ID, Scopes: scopes,
		IssuedAt: now, Expiry: exp, AuthTime: grant.AuthTime, GrantID: grant.ID,
	})
	if err != nil {
		return AppTokens{}, latch.Internal(err)
	}
	out := AppTokens{AccessToken: access, ExpiresIn: exp.Sub(now), RefreshToken: refresh, Scopes: scopes}
	if !grant.HasScope(latch.AppScopeOpenID) {
		return out, nil
	}
	atHash, err := token.ClaimHash(access, s.keys.OIDCAlgorithm())
	if err != nil {
		return AppTokens{}, latch.Internal(err)
	}
	id := token.IDClaims{
		Subject: user.ID, ClientID: app.ID, IssuedAt: now, Expiry: exp, AuthTime: grant.AuthTime, Nonce: nonce,
		AccessTokenHash: atHash, AMR: grant.AMR, ACR: acrOf(grant.AMR),
	}
	claims := userClaims(user, grant.Scopes)
	id.Email, id.EmailVerified = claims.Email, claims.EmailVerified
	id.Name, id.GivenName, id.FamilyName, id.Picture, id.UpdatedAt = claims.Name, claims.GivenName, claims.FamilyName, claims.Picture, claims.UpdatedAt
	if out.IDToken, err = s.keys.SignIDToken(id); err != nil {
		return AppTokens{}, latch.Internal(err)
	}
	return out, nil
}

// acrOf is the acr of a sign-in by its amr: federated if an outside
// provider signed the person in, password if Latch checked one, none
// otherwise.
func acrOf(amr []string) string {
	switch {
	case slices.Contains(amr, AMRFederated):
		return ACRFederated
	case slices.Contains(amr, AMRPassword):
		return ACRPassword
	}
	return ""
}

// userClaims are the claims about user that scopes allow (Core §5.4):
// email (email, email_verified) and profile (name, given_name,
// family_name, picture, updated_at). sub is always the user's id.
//
// email_verified is true only for an address the person proved to control
// (a Latch link, a provider that verified it): a relying party may link
// accounts by a verified email, and an address an administrator or an API
// client merely asserted proves nothing about the person (see
// latch.EmailVerification.Proven).
func userClaims(user latch.User, scopes []string) UserInfo {
	info := UserInfo{Subject: user.ID}
	if slices.Contains(scopes, latch.AppScopeEmail) {
		verified := user.VerifiedBy.Proven()
		info.Email, info.EmailVerified = user.Email, &verified
	}
	if slices.Contains(scopes, latch.AppScopeProfile) {
		info.Name = strings.TrimSpace(user.FirstName + " " + user.LastName)
		info.GivenName, info.FamilyName, info.Picture = user.FirstName, user.LastName, user.ProfilePicture
		if !user.UpdatedAt.IsZero() {
			updated := user.UpdatedAt
			info.UpdatedAt = &updated
		}
	}
	return info
}

func errInvalidGrant(message string, cause error) error {
	return &latch.Error{Kind: latch.KindInvalid, Code: TokenInvalidGrant, Message: message, Err: cause}
}

// RefreshAppGrant is grant_type refresh_token for an app (RFC 6749 §6):
// the token must be of a grant of this app; it rotates with the reuse
// rules of Refresh (a genuine old token revokes the grant). scopes, when
// not empty, must be a subset of the grant's and narrow only the new
// access token (§6). The new ID token is Core §12.2's.
//
// The grant is read before the token is used: a token of another app, or
// a scope the grant lacks, is refused with the token left as it was.
func (s *Service) RefreshAppGrant(ctx context.Context, app latch.App, refreshToken string, scopes []string) (_ AppTokens, err error) {
	defer func() { s.cfg.Observer.Refresh(appRefreshResult(err)) }()
	invalid := errInvalidGrant("invalid or expired refresh token", nil)
	grantID, generation, ok := token.ParseChained(refreshToken, appRefreshPrefix)
	if !ok {
		return AppTokens{}, invalid
	}
	now := s.now()
	grant, user, err := s.store.SessionWithUser(ctx, grantID)
	if latch.IsKind(err, latch.KindNotFound) {
		return AppTokens{}, invalid
	}
	if err != nil {
		return AppTokens{}, err
	}
	if app.ID == "" || grant.AppID != app.ID || grant.Kind != latch.KindApp || !app.Usable() ||
		!grant.Live(now) || !grant.HasScope(latch.AppScopeOfflineAccess) || !user.Active || user.TenantID != app.TenantID {
		return AppTokens{}, invalid
	}
	granted := grant.Scopes
	if len(scopes) > 0 {
		if granted, err = narrowScopes(scopes, grant.Scopes); err != nil {
			return AppTokens{}, err
		}
	}
	next, nextHash := s.keys.ChainSuccessor(appRefreshPrefix, refreshToken, grantID, generation+1)
	rotated, err := s.store.RotateRefreshToken(ctx, latch.RefreshRotation{
		SessionID: grantID, Generation: generation, Hash: token.HashOpaque(refreshToken), NextHash: nextHash,
		At: now, ReuseInterval: s.cfg.RefreshReuseInterval,
		Descends: func(current int64, currentHash []byte) bool {
			return s.keys.ChainDescends(appRefreshPrefix, refreshToken, grantID, generation, current, currentHash, maxRefreshDerivation)
		},
	})
	switch {
	case latch.IsCode(err, latch.CodeRefreshTokenReused):
		s.sessions.forgetSession(grantID)
		s.log.WarnContext(ctx, "app's refresh token reused: its grant is revoked", "app_id", app.ID)
		s.cfg.Observer.SessionsRevoked(RevokedRefreshReuse, 1)
		s.auditGrantEnd(ctx, user, grant, "refresh_token_reused")
		return AppTokens{}, &latch.Error{Kind: latch.KindInvalid, Code: TokenInvalidGrant, Message: "refresh token reused: the grant is revoked", Err: err}
	case latch.IsKind(err, latch.KindNotFound), latch.IsKind(err, latch.KindUnauthenticated):
		return AppTokens{}, invalid
	case err != nil:
		return AppTokens{}, err
	}
	return s.appTokens(app, rotated, user, granted, next, "", now)
}

// appRefreshResult is the Observer's result of an app's refresh: a token
// refused (invalid_grant) is a failure, as Refresh counts it, or a reuse.
func appRefreshResult(err error) string {
	if !latch.IsCode(err, TokenInvalidGrant) {
		return result(err)
	}
	if cause := latch.AsError(err).Err; cause != nil && latch.IsCode(cause, latch.CodeRefreshTokenReused) {
		return ResultReused
	}
	return ResultFailure
}

// narrowScopes checks that requested, a refresh's scope parameter, asks
// for no scope the grant lacks (RFC 6749 §6) and returns it once each, in
// the grant's order.
func narrowScopes(requested, granted []string) ([]string, error) {
	for _, sc := range requested {
		if !slices.Contains(granted, sc) {
			return nil, &latch.Error{Kind: latch.KindInvalid, Code: TokenInvalidScope, Field: "scope",
				Message: "scope " + truncate(sc, 100) + " was not granted"}
		}
	}
	var out []string
	for _, sc := range granted {
		if slices.Contains(requested, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// AppClientCredentials is grant_type client_credentials (RFC 6749 §4.4):
// for a confidential app registered with ClientCredentials, an access
// token whose sub is the client id; no refresh token, no ID token. A
// public app, or one not registered for it, is unauthorized_client;
// scopes must be among the app's scopes other than openid and
// offline_access, which need a user.
//
// With no scopes asked for, the token has every scope the app may have
// this way (RFC 6749 §3.3's documented default). Nothing is stored: the
// token lives AppAccessTokenTTL, and introspection answers for it while
// the app is usable.
func (s *Service) AppClientCredentials(ctx context.Context, app latch.App, scopes []string) (AppTokens, error) {
	if app.ID == "" || !app.Usable() || app.Type != latch.AppConfidential || !app.ClientCredentials {
		return AppTokens{}, &latch.Error{Kind: latch.KindForbidden, Code: TokenUnauthorizedClient, Message: "this client may not use the client_credentials grant"}
	}
	var allowed []string
	for _, sc := range app.Scopes {
		if sc != latch.AppScopeOpenID && sc != latch.AppScopeOfflineAccess {
			allowed = append(allowed, sc)
		}
	}
	granted := allowed
	if len(scopes) > 0 {
		for _, sc := range scopes {
			if !slices.Contains(allowed, sc) {
				return AppTokens{}, &latch.Error{Kind: latch.KindInvalid, Code: TokenInvalidScope, Field: "scope",
					Message: "scope " + truncate(sc, 100) + " is not allowed for client_credentials"}
			}
		}
		granted = nil
		for _, sc := range allowed {
			if slices.Contains(scopes, sc) {
				granted = append(granted, sc)
			}
		}
	}
	now := s.now()
	exp := now.Add(AppAccessTokenTTL)
	access, err := s.keys.SignAppAccess(token.AppAccessClaims{
		Subject: app.ID, Audience: []string{app.ID}, ClientID: app.ID, Scopes: granted, IssuedAt: now, Expiry: exp,
	})
	if err != nil {
		return AppTokens{}, latch.Internal(err)
	}
	return AppTokens{AccessToken: access, ExpiresIn: exp.Sub(now), Scopes: granted}, nil
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
	Picture       string // profile; the user's ProfilePicture URL
	UpdatedAt     *time.Time
}

// AppUserInfo checks an app's access token (signature, expiry, and that
// its grant and user are still live, so a revoked grant is refused at
// once) and returns the user's claims. A token that is not a live app
// access token of a user is Unauthenticated invalid_token (RFC 6750
// §3.1); a client_credentials token has no user and is refused the same
// way. A token without the openid scope is Forbidden insufficient_scope.
func (s *Service) AppUserInfo(ctx context.Context, accessToken string) (UserInfo, error) {
	claims, grant, user, err := s.liveAppAccess(ctx, accessToken, "")
	if err != nil {
		return UserInfo{}, err
	}
	if grant.ID == "" {
		// client_credentials: no user to tell about.
		return UserInfo{}, errUnauthenticated(nil)
	}
	if !claims.HasScope(latch.AppScopeOpenID) {
		return UserInfo{}, &latch.Error{Kind: latch.KindForbidden, Code: latch.CodeInsufficientScope, Message: "the access token lacks the openid scope"}
	}
	return userClaims(user, claims.Scopes), nil
}

// liveAppAccess verifies an app's access token for audience (the client
// it names when audience is "") and, for a user's token, that its grant
// is live, of that app and user, and the user active: the store is read
// every time, so that a revoked grant is refused at once. A
// client_credentials token (no grant) comes back with a zero grant. Every
// refusal is Unauthenticated invalid_token.
func (s *Service) liveAppAccess(ctx context.Context, raw, audience string) (token.AppAccessClaims, latch.Session, latch.User, error) {
	if audience == "" {
		audience = unverifiedClientID(raw)
		if audience == "" {
			return token.AppAccessClaims{}, latch.Session{}, latch.User{}, errUnauthenticated(nil)
		}
	}
	claims, err := s.keys.VerifyAppAccess(raw, audience)
	if err != nil {
		s.log.DebugContext(ctx, "app access token refused", "reason", refusalReason(err))
		return token.AppAccessClaims{}, latch.Session{}, latch.User{}, errUnauthenticated(err)
	}
	if claims.ClientID != audience {
		return token.AppAccessClaims{}, latch.Session{}, latch.User{}, errUnauthenticated(nil)
	}
	if claims.GrantID == "" {
		if claims.Subject != claims.ClientID {
			return token.AppAccessClaims{}, latch.Session{}, latch.User{}, errUnauthenticated(nil)
		}
		return claims, latch.Session{}, latch.User{}, nil
	}
	grant, user, err := s.store.SessionWithUser(ctx, claims.GrantID)
	if latch.IsKind(err, latch.KindNotFound) {
		return token.AppAccessClaims{}, latch.Session{}, latch.User{}, errUnauthenticated(err)
	}
	if err != nil {
		return token.AppAccessClaims{}, latch.Session{}, latch.User{}, err
	}
	if !grant.Live(s.now()) || grant.Kind != latch.KindApp || grant.AppID != claims.ClientID || grant.UserID != claims.Subject || !user.Active {
		return token.AppAccessClaims{}, latch.Session{}, latch.User{}, errUnauthenticated(nil)
	}
	return claims, grant, user, nil
}

// unverifiedClientID reads the client_id of a JWT without verifying it:
// only to know which audience to verify it for (VerifyAppAccess checks the
// signature, and that aud holds it). "" when raw is no JWT with one.
func unverifiedClientID(raw string) string {
	const maxToken = 8 << 10 // Latch's access tokens are well under 2 KiB
	parts := strings.Split(raw, ".")
	if len(raw) > maxToken || len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		ClientID string `json:"client_id"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.ClientID
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
//
// The two kinds of token cannot be mistaken for one another (a refresh
// token is lart_..., an access token a JWT), so the hint changes nothing
// here. A refresh token ends its grant only when it is genuine: the
// grant's current token, or an older one of its chain (a reuse, as
// Refresh would take it); one made up with a known grant id ends nothing.
func (s *Service) RevokeAppToken(ctx context.Context, app latch.App, tok, hint string) error {
	if app.ID == "" {
		return nil
	}
	var grantID string
	if id, generation, ok := token.ParseChained(tok, appRefreshPrefix); ok {
		genuine, err := s.genuineRefresh(ctx, tok, id, generation, false)
		if err != nil || !genuine {
			return err
		}
		grantID = id
	} else {
		claims, err := s.keys.VerifyAppAccess(tok, app.ID)
		if err != nil || claims.ClientID != app.ID || claims.GrantID == "" {
			// Not this app's live token, or a client_credentials token,
			// which nothing stores: nothing to end.
			return nil
		}
		grantID = claims.GrantID
	}
	grant, user, err := s.store.SessionWithUser(ctx, grantID)
	if latch.IsKind(err, latch.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if grant.AppID != app.ID || grant.Kind != latch.KindApp || grant.RevokedAt != nil {
		// Another app's token is left alone (RFC 7009 §2.1).
		return nil
	}
	err = s.store.RevokeSession(ctx, grant.ID, s.now())
	s.sessions.forgetSession(grant.ID)
	if err != nil {
		return err
	}
	s.cfg.Observer.SessionsRevoked(RevokedByApp, 1)
	s.auditGrantEnd(ctx, user, grant, "app_revocation")
	return nil
}

// genuineRefresh reports whether tok (of generation, in grantID's chain)
// is that grant's current refresh token or, unless currentOnly, an older
// one of its chain, without using it. A grant without a chain, or gone,
// has none.
func (s *Service) genuineRefresh(ctx context.Context, tok, grantID string, generation int64, currentOnly bool) (bool, error) {
	current, currentHash, err := s.store.RefreshTokenHead(ctx, grantID)
	if latch.IsKind(err, latch.KindNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch {
	case generation == current:
		return subtle.ConstantTimeCompare(token.HashOpaque(tok), currentHash) == 1, nil
	case generation < current && !currentOnly:
		return s.keys.ChainDescends(appRefreshPrefix, tok, grantID, generation, current, currentHash, maxRefreshDerivation), nil
	}
	return false, nil
}

// auditGrantEnd records that a grant of user ended, and why (its id
// unknown when the store ended it unseen: a code's replay).
func (s *Service) auditGrantEnd(ctx context.Context, user latch.User, grant latch.Session, reason string) {
	ev := s.userEvent(ctx, user, latch.AuditSessionRevoke)
	ev.Details = map[string]string{"app_id": grant.AppID, "reason": reason}
	if grant.ID != "" {
		ev.Details["session_id"] = grant.ID
	}
	s.appendAudit(ctx, ev)
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
	if app.ID == "" || !app.Usable() || app.Type != latch.AppConfidential {
		return Introspection{}, &latch.Error{Kind: latch.KindForbidden, Code: TokenUnauthorizedClient, Message: "only a confidential client may introspect tokens"}
	}
	inactive := Introspection{}
	if grantID, generation, ok := token.ParseChained(tok, appRefreshPrefix); ok {
		grant, user, err := s.store.SessionWithUser(ctx, grantID)
		if latch.IsKind(err, latch.KindNotFound) {
			return inactive, nil
		}
		if err != nil {
			return Introspection{}, err
		}
		if grant.AppID != app.ID || grant.Kind != latch.KindApp || !grant.Live(s.now()) || !user.Active {
			return inactive, nil
		}
		// Only the current token is live; an older one is used up.
		genuine, err := s.genuineRefresh(ctx, tok, grantID, generation, true)
		if err != nil || !genuine {
			return inactive, err
		}
		// No iat: when this token of the chain was issued is not kept
		// (only the grant's start, which is the first token's).
		return Introspection{
			Active: true, Scopes: grant.Scopes, ClientID: app.ID, Subject: user.ID, TokenType: TokenTypeRefresh,
			ExpiresAt: grant.ExpiresAt, GrantID: grant.ID, Username: user.Email,
		}, nil
	}
	claims, grant, user, err := s.liveAppAccess(ctx, tok, app.ID)
	if latch.IsKind(err, latch.KindUnauthenticated) {
		return inactive, nil
	}
	if err != nil {
		return Introspection{}, err
	}
	out := Introspection{
		Active: true, Scopes: claims.Scopes, ClientID: claims.ClientID, Subject: claims.Subject, TokenType: TokenTypeBearer,
		IssuedAt: claims.IssuedAt, ExpiresAt: claims.Expiry, Audience: claims.Audience, Issuer: claims.Issuer, JWTID: claims.ID,
		GrantID: grant.ID,
	}
	if grant.ID != "" {
		out.Username = user.Email
	}
	return out, nil
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
	bad := func(field, message string) error {
		return latch.FieldError(field, latch.CodeInvalidRequest, message)
	}
	var out EndSession
	clientID := req.ClientID
	if req.IDTokenHint != "" {
		hint, err := s.keys.VerifyIDTokenHint(req.IDTokenHint)
		if err != nil {
			return EndSession{}, bad("id_token_hint", "id_token_hint is not an ID token this provider issued")
		}
		if clientID != "" && clientID != hint.ClientID {
			return EndSession{}, bad("client_id", "client_id is not the audience of id_token_hint")
		}
		clientID, out.HintUserID = hint.ClientID, hint.Subject
	}
	if clientID != "" {
		app, err := s.store.AppByID(ctx, clientID)
		if latch.IsKind(err, latch.KindNotFound) {
			return EndSession{}, bad("client_id", "unknown client")
		}
		if err != nil {
			return EndSession{}, err
		}
		if !app.Usable() {
			return EndSession{}, bad("client_id", "unknown client")
		}
		out.App = app
	}
	if len(req.State) > MaxAuthorizeParamLen {
		return EndSession{}, bad("state", "state is longer than 1024 bytes")
	}
	if uri := req.PostLogoutRedirectURI; uri != "" {
		switch {
		case out.App.ID == "":
			return EndSession{}, bad("post_logout_redirect_uri", "post_logout_redirect_uri needs client_id or id_token_hint to check it against")
		case !slices.Contains(out.App.PostLogoutRedirectURIs, uri):
			return EndSession{}, bad("post_logout_redirect_uri", "post_logout_redirect_uri is not registered for this app")
		}
		out.RedirectURL = uri
		if req.State != "" {
			out.RedirectURL = withQuery(uri, url.Values{"state": {req.State}})
		}
	}
	return out, nil
}

// EndBrowserSession signs the browser's session out (as Logout) and ends
// every app grant made from it (ParentSessionID): logging out of Latch
// in a browser ends what that browser's sign-in gave the apps.
//
// The session and its grants end in one write (RevokeSessionAndGrants):
// there is no moment in which the browser is signed out and its grants
// live on. The audit event says how many grants ended.
func (s *Service) EndBrowserSession(ctx context.Context, p Principal) error {
	n, err := s.store.RevokeSessionAndGrants(ctx, p.Session.ID, s.now())
	// Even after an error: a timeout may hide a commit.
	s.sessions.forgetUser(p.Session.UserID)
	if err != nil {
		return err
	}
	s.cfg.Observer.SessionsRevoked(RevokedLogout, 1+n)
	ev := s.userEvent(ctx, p.User, latch.AuditSessionRevoke)
	ev.Details = map[string]string{"session_id": p.Session.ID, "reason": "logout", "grants_revoked": strconv.Itoa(n)}
	s.appendAudit(ctx, ev)
	return nil
}
