package account

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchid/latch"
)

// The OAuth 2.0 error codes of the authorization endpoint (RFC 6749
// §4.1.2.1, OpenID Connect Core §3.1.2.6 and §6.1, RFC 7591 via Core
// §7.2.1).
const (
	AuthorizeInvalidRequest          = "invalid_request"
	AuthorizeInvalidClient           = "invalid_client"
	AuthorizeUnsupportedResponseType = "unsupported_response_type"
	AuthorizeInvalidScope            = "invalid_scope"
	AuthorizeAccessDenied            = "access_denied"
	AuthorizeLoginRequired           = "login_required"
	AuthorizeConsentRequired         = "consent_required"
	AuthorizeRequestNotSupported     = "request_not_supported"
	AuthorizeRequestURINotSupported  = "request_uri_not_supported"
	AuthorizeRegistrationUnsupported = "registration_not_supported"
)

// The prompt values (Core §3.1.2.1). select_account is accepted and
// handled as login: a Latch browser session holds one account, so
// choosing another one means signing in again.
const (
	PromptNone          = "none"
	PromptLogin         = "login"
	PromptConsent       = "consent"
	PromptSelectAccount = "select_account"
)

// MaxAuthorizeParamLen bounds every free-text parameter (state, nonce,
// login_hint, acr_values) in bytes: they are echoed in redirects and
// sealed into the login page's form, and nothing honest needs more.
const MaxAuthorizeParamLen = 1024

// s256ChallengeLen is the length of every S256 code challenge: the
// unpadded base64url of a SHA-256 digest (RFC 7636 §4.2).
const s256ChallengeLen = 43

// AuthorizeRequest is an authorization request that passed every check of
// ParseAuthorizeRequest: what the login and consent pages carry and what
// the code is bound to.
type AuthorizeRequest struct {
	AppID string
	// RedirectURI is the registered redirect URI, byte for byte.
	// RedirectURIGiven records whether the request named it: if it did,
	// the token request must repeat it (RFC 6749 §4.1.3); an app with one
	// registered URI may leave it out (§3.1.2.3).
	RedirectURI      string
	RedirectURIGiven bool
	// Scopes are the requested scopes Latch knows, each once, in request
	// order; always including openid.
	Scopes        []string
	State         string
	Nonce         string
	CodeChallenge string // S256; "" only from an app with PKCEOptional that sent no PKCE
	Prompt        []string
	// MaxAge is max_age (Core §3.1.2.1); nil when not given. Zero asks
	// for a fresh sign-in, as prompt=login does.
	MaxAge       *time.Duration
	LoginHint    string
	ACRValues    string // accepted, never fails a request (Core §15.1)
	ResponseMode string // "query", the only one supported, or ""
	// IssuedAt is when the request arrived: a sign-in at or after it
	// satisfies prompt=login and max_age (the login form resubmitted).
	IssuedAt time.Time
}

// HasPrompt reports whether the request's prompt includes value.
func (r AuthorizeRequest) HasPrompt(value string) bool { return slices.Contains(r.Prompt, value) }

// HasScope reports whether the request asks for scope.
func (r AuthorizeRequest) HasScope(scope string) bool { return slices.Contains(r.Scopes, scope) }

// CodeRedirectURL is where the browser takes the issued code (RFC 6749
// §4.1.2), with state and iss (RFC 9207).
func (r AuthorizeRequest) CodeRedirectURL(code, issuer string) string {
	params := url.Values{"code": {code}, "iss": {issuer}}
	if r.State != "" {
		params.Set("state", r.State)
	}
	return withQuery(r.RedirectURI, params)
}

// AuthorizeError is a refused authorization request. Redirect says
// whether it may go back to the app: not when the client is unknown or
// the redirect URI unregistered (RFC 6749 §4.1.2.1), as that would make
// Latch an open redirector; Latch's page shows it then.
type AuthorizeError struct {
	Code        string // the OAuth error code, e.g. invalid_request
	Description string // for a developer; ASCII without '"' or '\' (RFC 6749 §4.1.2.1)
	Redirect    bool
	RedirectURI string // the registered URI the error goes to, when Redirect
	State       string // echoed, when the request had a usable one
}

func (e *AuthorizeError) Error() string { return e.Code + ": " + e.Description }

// RedirectURL is the error response at the app's redirect URI (RFC 6749
// §4.1.2.1) with iss (RFC 9207); ok is false when the error must not
// redirect.
func (e *AuthorizeError) RedirectURL(issuer string) (redirect string, ok bool) {
	if !e.Redirect || e.RedirectURI == "" {
		return "", false
	}
	params := url.Values{"error": {e.Code}, "iss": {issuer}}
	if e.Description != "" {
		params.Set("error_description", e.Description)
	}
	if e.State != "" {
		params.Set("state", e.State)
	}
	return withQuery(e.RedirectURI, params), true
}

// withQuery appends params to a registered redirect URI, keeping its own
// query byte for byte (RFC 6749 §3.1.2 requires it be retained; decoding
// and re-encoding it could change what the app reads).
func withQuery(redirectURI string, params url.Values) string {
	base, _, _ := strings.Cut(redirectURI, "#") // registered URIs have none; never let one swallow the query
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
		if strings.HasSuffix(base, "?") || strings.HasSuffix(base, "&") {
			sep = ""
		}
	}
	return base + sep + params.Encode()
}

// ParseAuthorizeRequest checks an authorization request (RFC 6749
// §4.1.1, OpenID Connect Core §3.1.2.1, RFC 7636, RFC 9700) for app, the
// app named by its client_id (the zero App when there is none). now is the
// request's arrival.
//
// The client and the redirect URI are checked first: until both are
// known good, an error must not redirect. Every later error redirects.
func ParseAuthorizeRequest(params url.Values, app latch.App, now time.Time) (AuthorizeRequest, *AuthorizeError) {
	page := func(code, description string) *AuthorizeError {
		return &AuthorizeError{Code: code, Description: description}
	}
	// RFC 6749 §3.1: a parameter without a value counts as omitted, and
	// none may be given twice.
	single := func(name string) (value string, duplicated bool) {
		values := params[name]
		if len(values) > 1 {
			return "", true
		}
		if len(values) == 1 {
			return values[0], false
		}
		return "", false
	}

	clientID, dup := single("client_id")
	switch {
	case dup:
		return AuthorizeRequest{}, page(AuthorizeInvalidRequest, "client_id is given more than once")
	case clientID == "":
		return AuthorizeRequest{}, page(AuthorizeInvalidRequest, "client_id is missing")
	case app.ID == "" || app.ID != clientID || !app.Usable():
		return AuthorizeRequest{}, page(AuthorizeInvalidClient, "unknown client")
	}

	redirectURI, dup := single("redirect_uri")
	given := redirectURI != ""
	switch {
	case dup:
		return AuthorizeRequest{}, page(AuthorizeInvalidRequest, "redirect_uri is given more than once")
	case !given && len(app.RedirectURIs) == 1:
		redirectURI = app.RedirectURIs[0]
	case !given:
		return AuthorizeRequest{}, page(AuthorizeInvalidRequest, "redirect_uri is missing and the app has several")
	case !slices.Contains(app.RedirectURIs, redirectURI):
		// Byte for byte (RFC 6749 §3.1.2.3, RFC 9700 §4.1.3): no case
		// folding, no normalising, no prefix.
		return AuthorizeRequest{}, page(AuthorizeInvalidRequest, "redirect_uri is not registered for this app")
	}
	if u, err := url.Parse(redirectURI); err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(redirectURI, "#") {
		// A registration that slipped past its checks; sending a code
		// there could leak it.
		return AuthorizeRequest{}, page(AuthorizeInvalidRequest, "the app's redirect_uri is not usable")
	}

	req := AuthorizeRequest{AppID: app.ID, RedirectURI: redirectURI, RedirectURIGiven: given, IssuedAt: now}
	// state is echoed in every later error, unless it is itself what is
	// wrong: a duplicated or oversized state is not sent back.
	state, stateDup := single("state")
	if !stateDup && len(state) <= MaxAuthorizeParamLen {
		req.State = state
	}
	back := func(code, description string) *AuthorizeError {
		return &AuthorizeError{Code: code, Description: description, Redirect: true, RedirectURI: redirectURI, State: req.State}
	}

	// Request objects are not supported (Core §6.1, discovery says so);
	// ignoring one would act on parameters the app did not mean.
	if params.Get("request") != "" {
		return AuthorizeRequest{}, back(AuthorizeRequestNotSupported, "request objects are not supported")
	}
	if params.Get("request_uri") != "" {
		return AuthorizeRequest{}, back(AuthorizeRequestURINotSupported, "request_uri is not supported")
	}
	if params.Get("registration") != "" {
		return AuthorizeRequest{}, back(AuthorizeRegistrationUnsupported, "registration is not supported")
	}
	for _, name := range slices.Sorted(maps.Keys(params)) {
		if len(params[name]) > 1 {
			return AuthorizeRequest{}, back(AuthorizeInvalidRequest, describeParam(name)+" is given more than once")
		}
	}
	if len(state) > MaxAuthorizeParamLen {
		return AuthorizeRequest{}, back(AuthorizeInvalidRequest, "state is longer than 1024 bytes")
	}

	switch responseType := params.Get("response_type"); responseType {
	case "code":
	case "":
		return AuthorizeRequest{}, back(AuthorizeInvalidRequest, "response_type is missing")
	default:
		return AuthorizeRequest{}, back(AuthorizeUnsupportedResponseType, "only response_type=code is supported")
	}
	switch mode := params.Get("response_mode"); mode {
	case "", "query":
		req.ResponseMode = mode
	default:
		return AuthorizeRequest{}, back(AuthorizeInvalidRequest, "only response_mode=query is supported")
	}

	scopes, scopeErr := requestedScopes(params.Get("scope"), app.Scopes)
	if scopeErr != "" {
		return AuthorizeRequest{}, back(AuthorizeInvalidScope, scopeErr)
	}
	req.Scopes = scopes

	// PKCE for every app, confidential too, and S256 only (RFC 9700
	// §2.1.1): plain, or no method (which means plain, RFC 7636 §4.3),
	// would let whoever sees the request redeem the code. The one
	// exception is a confidential app an operator marked PKCEOptional (a
	// relying party that cannot send PKCE): it may leave out both
	// parameters, and its secret alone then guards the code. Sending
	// either one means PKCE, checked as for every app.
	challenge := params.Get("code_challenge")
	switch method := params.Get("code_challenge_method"); {
	case challenge == "" && method == "" && app.PKCEOptional && app.Type == latch.AppConfidential:
		// No challenge: the code is issued without one, and the token
		// endpoint takes it without a verifier for this app only.
	case challenge == "":
		return AuthorizeRequest{}, back(AuthorizeInvalidRequest, "code_challenge is required (PKCE with S256)")
	case method != "S256":
		return AuthorizeRequest{}, back(AuthorizeInvalidRequest, "code_challenge_method must be S256")
	case !validS256Challenge(challenge):
		return AuthorizeRequest{}, back(AuthorizeInvalidRequest, "code_challenge is not a base64url SHA-256 digest (43 characters)")
	}
	req.CodeChallenge = challenge

	for _, text := range []struct {
		name   string
		target *string
	}{{"nonce", &req.Nonce}, {"login_hint", &req.LoginHint}, {"acr_values", &req.ACRValues}} {
		value := params.Get(text.name)
		if len(value) > MaxAuthorizeParamLen {
			return AuthorizeRequest{}, back(AuthorizeInvalidRequest, text.name+" is longer than 1024 bytes")
		}
		*text.target = value
	}

	prompt, promptErr := parsePrompt(params.Get("prompt"))
	if promptErr != "" {
		return AuthorizeRequest{}, back(AuthorizeInvalidRequest, promptErr)
	}
	req.Prompt = prompt

	if raw := params.Get("max_age"); raw != "" {
		maxAge, ok := parseMaxAge(raw)
		if !ok {
			return AuthorizeRequest{}, back(AuthorizeInvalidRequest, "max_age is not a number of seconds")
		}
		req.MaxAge = &maxAge
	}
	return req, nil
}

// describeParam names a parameter in an error_description, which allows
// only some ASCII (RFC 6749 §4.1.2.1); a name the caller made up is not
// echoed.
func describeParam(name string) string {
	if name == "" || len(name) > 32 || strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return "a parameter"
	}
	return name
}

// requestedScopes returns the scopes of a scope parameter that Latch
// knows, each once. openid is required: Latch answers OpenID requests
// only. A known scope the app is not registered for fails the request
// (invalid_scope): quietly granting less would hide a misconfigured app.
// A scope Latch does not know is ignored, as OpenID Connect Core §3.1.2.1
// says ("Scope values used that are not understood by an implementation
// SHOULD be ignored"); RPs send provider-specific scopes to many OPs.
func requestedScopes(raw string, registered []string) (scopes []string, problem string) {
	for token := range strings.SplitSeq(raw, " ") {
		if token == "" {
			continue
		}
		if !validScopeToken(token) {
			return nil, "scope has a character outside RFC 6749 section 3.3"
		}
		if !slices.Contains(latch.AppScopes(), token) || slices.Contains(scopes, token) {
			continue
		}
		if !slices.Contains(registered, token) {
			return nil, "scope " + token + " is not allowed for this app"
		}
		scopes = append(scopes, token)
	}
	if !slices.Contains(scopes, latch.AppScopeOpenID) {
		return nil, "scope must include openid"
	}
	return scopes, ""
}

// validScopeToken: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ) (RFC
// 6749 §3.3).
func validScopeToken(token string) bool {
	for i := range len(token) {
		c := token[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// validS256Challenge: RFC 7636's grammar allows 43 to 128 unreserved
// characters, but S256's challenge is always the 43-character unpadded
// base64url of a digest. Anything else can never match a verifier, and is
// usually a client that sent its verifier in the clear, so it is refused
// at once rather than at the token endpoint.
func validS256Challenge(challenge string) bool {
	if len(challenge) != s256ChallengeLen {
		return false
	}
	for i := range len(challenge) {
		c := challenge[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parsePrompt reads the space-delimited prompt set (Core §3.1.2.1). none
// with any other value is an error there; an unknown value is
// invalid_request (OpenID Connect Prompt Create §4.1), since ignoring it
// could skip an interaction the app relies on.
func parsePrompt(raw string) (prompt []string, problem string) {
	for value := range strings.SplitSeq(raw, " ") {
		switch value {
		case "":
			continue
		case PromptNone, PromptLogin, PromptConsent, PromptSelectAccount:
			if !slices.Contains(prompt, value) {
				prompt = append(prompt, value)
			}
		default:
			return nil, "prompt value is not supported"
		}
	}
	if slices.Contains(prompt, PromptNone) && len(prompt) > 1 {
		return nil, "prompt=none cannot be combined with other values"
	}
	return prompt, ""
}

// maxAgeDigits bounds max_age to under 32 years in seconds, so that it
// never overflows a time.Duration.
const maxAgeDigits = 9

// parseMaxAge reads max_age: a non-negative decimal integer of seconds,
// digits only (no sign, no space).
func parseMaxAge(raw string) (time.Duration, bool) {
	if len(raw) > maxAgeDigits || strings.TrimLeft(raw, "0123456789") != "" {
		return 0, false
	}
	seconds, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(seconds) * time.Second, true
}

// AuthorizeSession is the browser's signed-in person, as far as
// DecideAuthorize needs it.
type AuthorizeSession struct {
	UserID   string
	TenantID string
	AuthTime time.Time // when the person last authenticated
	AMR      []string  // "pwd", "fed"
}

// AuthorizeOutcome is what the authorization endpoint does next.
type AuthorizeOutcome string

const (
	// AuthorizeLogin: show the login page (no session, prompt=login or
	// select_account, or max_age exceeded).
	AuthorizeLogin AuthorizeOutcome = "login"
	// AuthorizeConsent: show the consent page.
	AuthorizeConsent AuthorizeOutcome = "consent"
	// AuthorizeIssueCode: issue a code to the session's user.
	AuthorizeIssueCode AuthorizeOutcome = "issue_code"
	// AuthorizeWrongTenant: the signed-in account belongs to another
	// tenant than the app's; the page says it cannot sign in to the app.
	// No code, no redirect.
	AuthorizeWrongTenant AuthorizeOutcome = "wrong_tenant"
	// AuthorizeFail: Error says what, and whether it redirects.
	AuthorizeFail AuthorizeOutcome = "error"
)

// AuthorizeDecision is DecideAuthorize's answer. Error is set only with
// AuthorizeFail.
type AuthorizeDecision struct {
	Outcome AuthorizeOutcome
	Error   *AuthorizeError
}

// DecideAuthorize decides what a checked authorization request leads to,
// for the browser's session (nil when nobody is signed in) and that
// user's remembered consent to the app (nil when none). It is pure: the
// page runs it on arrival and again after each login or consent step.
func DecideAuthorize(req AuthorizeRequest, app latch.App, signedIn *AuthorizeSession, consent *latch.AppConsent, now time.Time) AuthorizeDecision {
	fail := func(code, description string) AuthorizeDecision {
		return AuthorizeDecision{Outcome: AuthorizeFail, Error: &AuthorizeError{
			Code: code, Description: description, Redirect: true, RedirectURI: req.RedirectURI, State: req.State,
		}}
	}
	// The request may have been sealed minutes ago: the app may have been
	// revoked or changed since.
	if app.ID == "" || app.ID != req.AppID || !app.Usable() {
		return AuthorizeDecision{Outcome: AuthorizeFail, Error: &AuthorizeError{Code: AuthorizeInvalidClient, Description: "unknown client"}}
	}
	if !slices.Contains(app.RedirectURIs, req.RedirectURI) {
		return AuthorizeDecision{Outcome: AuthorizeFail, Error: &AuthorizeError{Code: AuthorizeInvalidRequest, Description: "redirect_uri is not registered for this app"}}
	}
	for _, scope := range req.Scopes {
		if !slices.Contains(app.Scopes, scope) {
			return fail(AuthorizeInvalidScope, "scope "+scope+" is not allowed for this app")
		}
	}
	silent := req.HasPrompt(PromptNone)

	if signedIn == nil || needsLogin(req, *signedIn, now) {
		if silent {
			return fail(AuthorizeLoginRequired, "the user must sign in")
		}
		return AuthorizeDecision{Outcome: AuthorizeLogin}
	}
	if signedIn.TenantID != app.TenantID {
		if silent {
			// The app learns nothing it could not learn from any
			// signed-out browser.
			return fail(AuthorizeLoginRequired, "the user must sign in")
		}
		return AuthorizeDecision{Outcome: AuthorizeWrongTenant}
	}
	if needsConsent(req, app, *signedIn, consent) {
		if silent {
			return fail(AuthorizeConsentRequired, "the user must consent")
		}
		return AuthorizeDecision{Outcome: AuthorizeConsent}
	}
	return AuthorizeDecision{Outcome: AuthorizeIssueCode}
}

// needsLogin: prompt=login (or select_account) and an exceeded max_age ask
// for a sign-in made for this request; one at or after the request's
// arrival is that sign-in (the login form, resubmitted), so the request
// does not loop back to the form.
func needsLogin(req AuthorizeRequest, session AuthorizeSession, now time.Time) bool {
	if !session.AuthTime.Before(req.IssuedAt) {
		return false
	}
	if req.HasPrompt(PromptLogin) || req.HasPrompt(PromptSelectAccount) {
		return true
	}
	return req.MaxAge != nil && now.Sub(session.AuthTime) > *req.MaxAge
}

// needsConsent: prompt=consent asks every time (once per request: a
// consent given at or after the request's arrival answers it). Otherwise
// first-party apps need none, and third-party apps need a remembered
// consent of this user that covers every requested scope, offline_access
// included (Core §11).
func needsConsent(req AuthorizeRequest, app latch.App, session AuthorizeSession, consent *latch.AppConsent) bool {
	ours := consent != nil && consent.UserID == session.UserID && consent.AppID == app.ID
	covers := ours && !slices.ContainsFunc(req.Scopes, func(scope string) bool { return !slices.Contains(consent.Scopes, scope) })
	if req.HasPrompt(PromptConsent) {
		return !covers || consent.GrantedAt.Before(req.IssuedAt)
	}
	return !app.FirstParty && !covers
}

// DenyAuthorize is the answer when the person refuses consent (RFC 6749
// §4.1.2.1).
func DenyAuthorize(req AuthorizeRequest) *AuthorizeError {
	return &AuthorizeError{Code: AuthorizeAccessDenied, Description: "the user denied the request", Redirect: true, RedirectURI: req.RedirectURI, State: req.State}
}
