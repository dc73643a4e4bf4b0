package account_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/token"
)

// The OpenID Provider's use cases (issue 15), end to end over the real
// stores: a person signs in to Latch in a browser, an app gets a code for
// them and redeems it, and what the tokens then can and cannot do.

const (
	opVerifier = "a-pkce-verifier-of-the-app-with-enough-entropy-1234"
	opRedirect = "https://shop.example/callback"
	opLogout   = "https://shop.example/bye"
	opNonce    = "n-0S6_WzA2Mj"
)

// allAppScopes asks for every scope an app may have.
const allAppScopes = "openid profile email offline_access"

// op is a person signed in to Latch in a browser (a password sign-in),
// and a first-party confidential app with every scope.
type op struct {
	h       *testenv.Harness
	user    latch.User
	browser account.TokenPair
	app     latch.App
	secret  string
}

func newOP(t *testing.T, h *testenv.Harness) *op {
	t.Helper()
	ctx := context.Background()
	user, err := h.Accounts.CreateUser(ctx, account.CreateUserInput{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace", Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	o := &op{h: h, user: user}
	o.browser = o.signIn(t)
	na := o.newApp(t, latch.AppConfidential, true, latch.AppScopes()...)
	o.app, o.secret = na.App, na.Secret
	return o
}

// signIn is a password sign-in of the person in a browser.
func (o *op) signIn(t *testing.T) account.TokenPair {
	t.Helper()
	pair, err := o.h.Accounts.Login(context.Background(), account.LoginInput{Email: o.user.Email, Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

func (o *op) newApp(t *testing.T, typ latch.AppType, firstParty bool, scopes ...string) account.NewApp {
	t.Helper()
	na, err := o.h.Accounts.CreateApp(context.Background(), account.Operator(""), account.AppInput{
		Name: "Shop", Type: typ, FirstParty: firstParty, RedirectURIs: []string{opRedirect, opRedirect + "/2"},
		PostLogoutRedirectURIs: []string{opLogout}, Scopes: scopes,
	})
	if err != nil {
		t.Fatal(err)
	}
	return na
}

// request is a checked authorization request of app for scope; change,
// if not nil, edits its parameters first.
func (o *op) request(t *testing.T, app latch.App, scope string, change func(url.Values)) account.AuthorizeRequest {
	t.Helper()
	params := url.Values{
		"client_id": {app.ID}, "response_type": {"code"}, "redirect_uri": {opRedirect}, "scope": {scope},
		"code_challenge": {challengeOf(opVerifier)}, "code_challenge_method": {"S256"}, "nonce": {opNonce}, "state": {"xyz"},
	}
	if change != nil {
		change(params)
	}
	req, aerr := account.ParseAuthorizeRequest(params, app, o.h.Clock.Now())
	if aerr != nil {
		t.Fatal(aerr)
	}
	return req
}

// code issues a code for a request of app for scope, approved in the
// browser's session.
func (o *op) code(t *testing.T, app latch.App, scope string) string {
	t.Helper()
	code, err := o.h.Accounts.IssueAppCode(context.Background(), account.AppCodeRequest{
		Request: o.request(t, app, scope, nil), UserID: o.user.ID, ParentSessionID: o.browser.SessionID,
	})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func (o *op) exchange(app latch.App, code string) (account.AppTokens, error) {
	return o.h.Accounts.ExchangeAppCode(context.Background(), account.AppCodeExchange{App: app, Code: code, CodeVerifier: opVerifier, RedirectURI: opRedirect})
}

// tokens is a code of app for scope, redeemed.
func (o *op) tokens(t *testing.T, app latch.App, scope string) account.AppTokens {
	t.Helper()
	tokens, err := o.exchange(app, o.code(t, app, scope))
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

func wantErr(t *testing.T, what string, err error, kind latch.Kind, code string) {
	t.Helper()
	le := latch.AsError(err)
	if le == nil || le.Kind != kind || le.Code != code {
		t.Fatalf("%s: %v, want %s %s", what, err, kind, code)
	}
}

func wantInvalidGrant(t *testing.T, what string, err error) {
	t.Helper()
	wantErr(t, what, err, latch.KindInvalid, account.TokenInvalidGrant)
}

// live reports whether an app's access token is accepted by userinfo;
// any refusal but invalid_token fails the test.
func live(t *testing.T, h *testenv.Harness, access string) bool {
	t.Helper()
	_, err := h.Accounts.AppUserInfo(context.Background(), access)
	if err != nil {
		wantErr(t, "userinfo", err, latch.KindUnauthenticated, latch.CodeInvalidToken)
	}
	return err == nil
}

// verifiedIDToken checks raw's signature against the service's JWKS, as
// a relying party does, and returns its header's typ and its claims.
func verifiedIDToken(t *testing.T, h *testenv.Harness, raw string) (string, map[string]any) {
	t.Helper()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(h.Keys.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		t.Fatalf("the JWKS has %d keys %q", len(keys), tok.Headers[0].KeyID)
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("ID token signature: %v", err)
	}
	typ, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string)
	return typ, claims
}

func unix(t time.Time) float64 { return float64(t.Unix()) }

// The code's ID token: signed by a key of the JWKS, for this client, with
// the request's nonce, the sign-in's auth_time, amr and acr, at_hash of
// the access token, and the claims the scopes allow; the access token is
// the grant's; offline_access gave a refresh token. On both OpenID
// algorithms.
func TestExchangeAppCodeIDToken(t *testing.T) {
	for _, alg := range []string{token.ES256, token.RS256} {
		t.Run(alg, func(t *testing.T) {
			t.Parallel()
			h := testenv.NewHarnessWithOIDCAlgorithm(t, testenv.OpenSQLite(t), alg)
			o := newOP(t, h)
			signedInAt := h.Clock.Now()
			h.Clock.Advance(time.Minute)
			tokens := o.tokens(t, o.app, allAppScopes)
			if tokens.RefreshToken == "" || tokens.ExpiresIn != account.AppAccessTokenTTL || !slices.Equal(tokens.Scopes, latch.AppScopes()) {
				t.Fatalf("tokens %+v", tokens)
			}
			typ, c := verifiedIDToken(t, h, tokens.IDToken)
			atHash, err := token.ClaimHash(tokens.AccessToken, alg)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"iss": testenv.TestIssuer, "sub": o.user.ID, "aud": []any{o.app.ID}, "azp": o.app.ID,
				"nonce": opNonce, "at_hash": atHash, "auth_time": unix(signedInAt), "amr": []any{"pwd"}, "acr": account.ACRPassword,
				"iat": unix(h.Clock.Now()), "exp": unix(h.Clock.Now().Add(account.AppAccessTokenTTL)),
				"email": "ada@example.com", "email_verified": false,
				"name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace", "updated_at": unix(o.user.UpdatedAt),
			}
			if typ != "JWT" {
				t.Errorf("typ %q, want JWT", typ)
			}
			for k, v := range want {
				got, _ := json.Marshal(c[k])
				wantJSON, _ := json.Marshal(v)
				if string(got) != string(wantJSON) {
					t.Errorf("claim %s = %s, want %s", k, got, wantJSON)
				}
			}
			if len(c) != len(want) {
				t.Errorf("ID token claims %v, want exactly %v", c, want)
			}

			access, err := h.Keys.VerifyAppAccess(tokens.AccessToken, o.app.ID)
			if err != nil {
				t.Fatal(err)
			}
			grant, _, err := h.Store.SessionWithUser(context.Background(), access.GrantID)
			if err != nil {
				t.Fatal(err)
			}
			if grant.Kind != latch.KindApp || grant.AppID != o.app.ID || grant.UserID != o.user.ID || grant.ParentSessionID != o.browser.SessionID ||
				!grant.AuthTime.Equal(signedInAt) || !slices.Equal(grant.AMR, []string{"pwd"}) ||
				!grant.ExpiresAt.Equal(h.Clock.Now().Add(account.DefaultConfig().SessionTTL)) || access.Subject != o.user.ID {
				t.Fatalf("grant %+v, access %+v", grant, access)
			}
			if !strings.HasPrefix(tokens.RefreshToken, "lart_"+grant.ID+".0.") {
				t.Errorf("refresh token %q is not generation 0 of the grant's chain", tokens.RefreshToken)
			}
		})
	}
}

// Without offline_access no refresh token; without email or profile no
// such claims; a provider sign-in is amr fed.
func TestExchangeAppCodeByScope(t *testing.T) {
	h := testenv.NewHarness(t, testenv.OpenSQLite(t))
	o := newOP(t, h)
	gh := latch.ExternalIdentity{Provider: latch.ProviderGitHub, Issuer: latch.WellKnownIssuer(latch.ProviderGitHub), Subject: "gh-7",
		Email: "lin@example.com", EmailVerified: true, FirstName: "Lin"}
	lin, pair, err := h.Accounts.SignInWithIdentity(context.Background(), gh)
	if err != nil {
		t.Fatal(err)
	}
	o.user, o.browser = lin, pair
	tokens := o.tokens(t, o.app, "openid email")
	if tokens.RefreshToken != "" {
		t.Errorf("a grant without offline_access got a refresh token")
	}
	_, c := verifiedIDToken(t, h, tokens.IDToken)
	if c["amr"].([]any)[0] != "fed" || c["acr"] != account.ACRFederated || c["email_verified"] != true || c["email"] != "lin@example.com" {
		t.Errorf("claims %v, want amr fed, acr fed, a proven email", c)
	}
	for _, k := range []string{"name", "given_name", "family_name", "updated_at"} {
		if _, ok := c[k]; ok {
			t.Errorf("claim %s without the profile scope", k)
		}
	}

	// An address the operator says is verified proves nothing about the
	// person: a relying party that links by verified email must not.
	asserted, err := h.Accounts.CreateUser(context.Background(), account.CreateUserInput{Email: "told@example.com", Password: goodPassword, Verified: true})
	if err != nil || !asserted.Verified {
		t.Fatalf("%+v, %v", asserted, err)
	}
	o.user = asserted
	o.browser = o.signIn(t)
	_, c = verifiedIDToken(t, h, o.tokens(t, o.app, "openid email").IDToken)
	if c["email_verified"] != false {
		t.Errorf("an asserted email: email_verified %v, want false", c["email_verified"])
	}
}

// Every failure of a code exchange is invalid_grant and spends the code:
// the right request after a wrong one gets nothing either.
func TestExchangeAppCodeFailures(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		o := newOP(t, h)
		other := o.newApp(t, latch.AppConfidential, true, latch.AppScopes()...).App
		cases := []struct {
			name  string
			wrong func(code string) (account.AppTokens, error)
		}{
			{"wrong verifier", func(code string) (account.AppTokens, error) {
				return h.Accounts.ExchangeAppCode(ctx, account.AppCodeExchange{App: o.app, Code: code, CodeVerifier: opVerifier + "x", RedirectURI: opRedirect})
			}},
			{"no verifier", func(code string) (account.AppTokens, error) {
				return h.Accounts.ExchangeAppCode(ctx, account.AppCodeExchange{App: o.app, Code: code, RedirectURI: opRedirect})
			}},
			{"the challenge as verifier", func(code string) (account.AppTokens, error) {
				return h.Accounts.ExchangeAppCode(ctx, account.AppCodeExchange{App: o.app, Code: code, CodeVerifier: challengeOf(opVerifier), RedirectURI: opRedirect})
			}},
			{"another registered redirect_uri", func(code string) (account.AppTokens, error) {
				return h.Accounts.ExchangeAppCode(ctx, account.AppCodeExchange{App: o.app, Code: code, CodeVerifier: opVerifier, RedirectURI: opRedirect + "/2"})
			}},
			{"no redirect_uri after the request named one", func(code string) (account.AppTokens, error) {
				return h.Accounts.ExchangeAppCode(ctx, account.AppCodeExchange{App: o.app, Code: code, CodeVerifier: opVerifier})
			}},
			{"another app", func(code string) (account.AppTokens, error) {
				return h.Accounts.ExchangeAppCode(ctx, account.AppCodeExchange{App: other, Code: code, CodeVerifier: opVerifier, RedirectURI: opRedirect})
			}},
			{"expired", func(code string) (account.AppTokens, error) {
				h.Clock.Advance(account.AppCodeTTL + time.Second)
				return o.exchange(o.app, code)
			}},
		}
		// The grant a failed redemption stores (to spend the code) is
		// revoked at once: nobody holds its tokens, and none is live, even
		// before the right request's replay would revoke it.
		liveGrants := func() int {
			t.Helper()
			sessions, err := h.Store.SessionsByUser(ctx, o.user.ID, h.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, s := range sessions {
				if s.Kind == latch.KindApp {
					n++
				}
			}
			return n
		}
		for _, c := range cases {
			code := o.code(t, o.app, allAppScopes)
			_, err := c.wrong(code)
			wantInvalidGrant(t, c.name, err)
			if n := liveGrants(); n != 0 {
				t.Errorf("%s left %d live grants", c.name, n)
			}
			_, err = o.exchange(o.app, code)
			wantInvalidGrant(t, c.name+", then the right request", err)
		}
		for _, garbage := range []string{"", "lac_nope", "not-a-code", o.browser.RefreshToken} {
			_, err := o.exchange(o.app, garbage)
			wantInvalidGrant(t, "garbage "+garbage, err)
		}

		// Since the code was issued: the browser signed out, or the user
		// was deactivated.
		code := o.code(t, o.app, allAppScopes)
		p, err := h.Accounts.Authenticate(ctx, o.browser.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Accounts.Logout(ctx, p); err != nil {
			t.Fatal(err)
		}
		_, err = o.exchange(o.app, code)
		wantInvalidGrant(t, "browser signed out", err)
		o.browser = o.signIn(t)
		code = o.code(t, o.app, allAppScopes)
		if _, err := h.Accounts.AdminUpdateUser(ctx, account.Operator(""), account.UserRef{ID: o.user.ID}, account.AdminUserChange{Active: new(false)}); err != nil {
			t.Fatal(err)
		}
		_, err = o.exchange(o.app, code)
		wantInvalidGrant(t, "user deactivated", err)
	})
}

// A code redeemed twice: the second gets nothing, and the grant the first
// made is revoked, its refresh token and access token with it.
func TestExchangeAppCodeReplay(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		o := newOP(t, h)
		code := o.code(t, o.app, allAppScopes)
		first, err := o.exchange(o.app, code)
		if err != nil {
			t.Fatal(err)
		}
		if !live(t, h, first.AccessToken) {
			t.Fatal("the first grant is not live")
		}
		_, err = o.exchange(o.app, code)
		wantInvalidGrant(t, "replay", err)
		if live(t, h, first.AccessToken) {
			t.Error("the first grant's access token still works after the replay")
		}
		_, err = h.Accounts.RefreshAppGrant(context.Background(), o.app, first.RefreshToken, nil)
		wantInvalidGrant(t, "the first grant's refresh token after the replay", err)
		evs, err := h.Store.AuditEvents(context.Background(), latch.AuditQuery{Action: latch.AuditSessionRevoke, TargetID: o.user.ID})
		if err != nil || len(evs) != 1 || evs[0].Details["reason"] != "authorization_code_reused" || evs[0].Details["app_id"] != o.app.ID {
			t.Errorf("audit %+v, %v; want the replay's revocation", evs, err)
		}
	})
}

// A code issued without a challenge is only for an app an operator let
// leave PKCE out, and then takes no verifier (a downgrade otherwise).
func TestExchangeAppCodeWithoutPKCE(t *testing.T) {
	h := testenv.NewHarness(t, testenv.OpenSQLite(t))
	ctx := context.Background()
	o := newOP(t, h)
	// The stored app does not have the exception: no code. (Stores keep
	// the exception from migration 00018 on; here it is set on the app
	// the token request authenticated.)
	relaxed := o.app
	relaxed.PKCEOptional = true
	req := o.request(t, o.app, allAppScopes, nil)
	req.CodeChallenge = ""
	_, err := h.Accounts.IssueAppCode(ctx, account.AppCodeRequest{Request: req, UserID: o.user.ID, ParentSessionID: o.browser.SessionID})
	wantErr(t, "a code without a challenge for an app with PKCE", err, latch.KindInvalid, account.AuthorizeInvalidRequest)

	// Codes stored without a challenge, as IssueAppCode stores them for
	// an app with the exception.
	issue := func(name string) string {
		code, hash := token.NewOpaque("lac_")
		now := h.Clock.Now()
		if err := h.Store.CreateAuthorizationCode(ctx, latch.AuthorizationCode{
			Hash: hash, UserID: o.user.ID, RedirectURI: opRedirect, CreatedAt: now, ExpiresAt: now.Add(account.AppCodeTTL),
			AppID: o.app.ID, Scopes: []string{"openid"}, AuthTime: now, AMR: []string{"pwd"}, ParentSessionID: o.browser.SessionID,
		}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return code
	}
	_, err = h.Accounts.ExchangeAppCode(ctx, account.AppCodeExchange{App: o.app, Code: issue("strict"), RedirectURI: opRedirect})
	wantInvalidGrant(t, "no challenge, app without the exception", err)
	_, err = h.Accounts.ExchangeAppCode(ctx, account.AppCodeExchange{App: relaxed, Code: issue("verifier"), CodeVerifier: opVerifier, RedirectURI: opRedirect})
	wantInvalidGrant(t, "no challenge, a verifier sent", err)
	if _, err := h.Accounts.ExchangeAppCode(ctx, account.AppCodeExchange{App: relaxed, Code: issue("ok"), RedirectURI: opRedirect}); err != nil {
		t.Fatalf("no challenge, no verifier, app with the exception: %v", err)
	}
}

// A code without a browser session (none IssueAppCode makes, but the
// store allows it) still checks the user: deactivated since, no grant.
func TestExchangeAppCodeWithoutBrowserSession(t *testing.T) {
	h := testenv.NewHarness(t, testenv.OpenSQLite(t))
	ctx := context.Background()
	o := newOP(t, h)
	code, hash := token.NewOpaque("lac_")
	now := h.Clock.Now()
	if err := h.Store.CreateAuthorizationCode(ctx, latch.AuthorizationCode{
		Hash: hash, UserID: o.user.ID, CodeChallenge: challengeOf(opVerifier), RedirectURI: opRedirect,
		CreatedAt: now, ExpiresAt: now.Add(account.AppCodeTTL), AppID: o.app.ID, Scopes: []string{"openid"},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Accounts.AdminUpdateUser(ctx, account.Operator(""), account.UserRef{ID: o.user.ID}, account.AdminUserChange{Active: new(false)}); err != nil {
		t.Fatal(err)
	}
	_, err := o.exchange(o.app, code)
	wantInvalidGrant(t, "deactivated user, no browser session", err)
}

// The redirect_uri of the token request must repeat the authorization
// request's when it named one; when it named none (one registered URI)
// the token request may leave it out.
func TestExchangeAppCodeRedirectURIOmitted(t *testing.T) {
	h := testenv.NewHarness(t, testenv.OpenSQLite(t))
	ctx := context.Background()
	o := newOP(t, h)
	single, err := h.Accounts.CreateApp(ctx, account.Operator(""), account.AppInput{Name: "One", Type: latch.AppPublic, FirstParty: true,
		RedirectURIs: []string{opRedirect}, Scopes: []string{"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, redirect := range []string{"", opRedirect} {
		req := o.request(t, single.App, "openid", func(v url.Values) { v.Del("redirect_uri") })
		code, err := h.Accounts.IssueAppCode(ctx, account.AppCodeRequest{Request: req, UserID: o.user.ID, ParentSessionID: o.browser.SessionID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.ExchangeAppCode(ctx, account.AppCodeExchange{App: single.App, Code: code, CodeVerifier: opVerifier, RedirectURI: redirect}); err != nil {
			t.Errorf("redirect_uri %q after a request without one: %v", redirect, err)
		}
	}
}

// IssueAppCode checks again what DecideAuthorize decided: a page that
// skipped it still cannot issue a code.
func TestIssueAppCodeChecks(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		o := newOP(t, h)
		thirdParty := o.newApp(t, latch.AppConfidential, false, latch.AppScopes()...).App
		issue := func(app latch.App, userID, sessionID string) error {
			_, err := h.Accounts.IssueAppCode(ctx, account.AppCodeRequest{Request: o.request(t, app, "openid email", nil), UserID: userID, ParentSessionID: sessionID})
			return err
		}
		wantErr(t, "third-party app without consent", issue(thirdParty, o.user.ID, o.browser.SessionID), latch.KindForbidden, account.AuthorizeConsentRequired)
		if _, err := h.Accounts.GrantConsent(ctx, o.user.ID, thirdParty.ID, []string{"openid"}); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "consent to fewer scopes", issue(thirdParty, o.user.ID, o.browser.SessionID), latch.KindForbidden, account.AuthorizeConsentRequired)
		if _, err := h.Accounts.GrantConsent(ctx, o.user.ID, thirdParty.ID, []string{"email"}); err != nil {
			t.Fatal(err)
		}
		if err := issue(thirdParty, o.user.ID, o.browser.SessionID); err != nil {
			t.Fatalf("with consent: %v", err)
		}

		bob := h.PasswordUser(t, "bob@example.com", goodPassword, "", false)
		wantErr(t, "another user's session", issue(o.app, bob.ID, o.browser.SessionID), latch.KindUnauthenticated, latch.CodeInvalidToken)
		wantErr(t, "no session", issue(o.app, o.user.ID, ""), latch.KindUnauthenticated, latch.CodeInvalidToken)

		tn, err := h.Accounts.CreateTenant(ctx, account.Operator(""), "Elsewhere")
		if err != nil {
			t.Fatal(err)
		}
		h.PasswordUser(t, "eve@example.com", goodPassword, tn.ID, false)
		eve, err := h.Accounts.Login(ctx, account.LoginInput{Email: "eve@example.com", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		p, _ := h.Accounts.Authenticate(ctx, eve.AccessToken)
		wantErr(t, "another tenant's user", issue(o.app, p.User.ID, eve.SessionID), latch.KindForbidden, latch.CodeOtherTenant)

		if err := h.Accounts.RevokeApp(ctx, account.Operator(""), thirdParty.ID); err != nil {
			t.Fatal(err)
		}
		wantErr(t, "revoked app", issue(thirdParty, o.user.ID, o.browser.SessionID), latch.KindInvalid, account.AuthorizeInvalidClient)

		if _, err := h.Accounts.AdminUpdateUser(ctx, account.Operator(""), account.UserRef{ID: o.user.ID}, account.AdminUserChange{Active: new(false)}); err != nil {
			t.Fatal(err)
		}
		// Deactivating ended the session too.
		wantErr(t, "deactivated user", issue(o.app, o.user.ID, o.browser.SessionID), latch.KindUnauthenticated, latch.CodeInvalidToken)
	})
}

// Sign-ins record when and how the person authenticated; a token issued
// by the operator records neither.
func TestSignInsRecordAuthTimeAndAMR(t *testing.T) {
	h := testenv.NewHarness(t, testenv.OpenSQLite(t))
	ctx := context.Background()
	o := newOP(t, h)
	check := func(name, sessionID string, amr []string) {
		t.Helper()
		s, _, err := h.Store.SessionWithUser(ctx, sessionID)
		if err != nil {
			t.Fatal(err)
		}
		wantTime := h.Clock.Now()
		if amr == nil {
			wantTime = time.Time{}
		}
		if !s.AuthTime.Equal(wantTime) || !slices.Equal(s.AMR, amr) {
			t.Errorf("%s: auth_time %v amr %v, want %v %v", name, s.AuthTime, s.AMR, wantTime, amr)
		}
	}
	check("password sign-in", o.browser.SessionID, []string{"pwd"})
	h.Clock.Advance(time.Minute)
	_, pair, err := h.Accounts.SignInWithIdentity(ctx, latch.ExternalIdentity{Provider: latch.ProviderGitHub,
		Issuer: latch.WellKnownIssuer(latch.ProviderGitHub), Subject: "gh-1", Email: "gh@example.com", EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	check("provider sign-in", pair.SessionID, []string{"fed"})
	user, verified, err := h.Accounts.AuthenticatePassword(ctx, account.LoginInput{Email: o.user.Email, Password: goodPassword})
	if err != nil {
		t.Fatal(err)
	}
	code, err := h.Accounts.IssueAuthorizationCode(ctx, user, challengeOf(opVerifier), opRedirect, verified)
	if err != nil {
		t.Fatal(err)
	}
	pair, err = h.Accounts.RedeemAuthorizationCode(ctx, code, opVerifier, opRedirect)
	if err != nil {
		t.Fatal(err)
	}
	check("password sign-in through a code", pair.SessionID, []string{"pwd"})
	pair, err = h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: o.user.Email})
	if err != nil {
		t.Fatal(err)
	}
	check("operator's token", pair.SessionID, nil)
	_, err = h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: o.user.Email, Kind: latch.KindApp})
	wantErr(t, "an app grant issued by the operator", err, latch.KindInvalid, latch.CodeInvalidRequest)
}

// An app's refresh token rotates; the one before, presented again after
// the reuse interval, revokes the grant. The new ID token keeps sub, aud
// and auth_time and has no nonce (Core §12.2).
func TestRefreshAppGrant(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		o := newOP(t, h)
		first := o.tokens(t, o.app, allAppScopes)
		_, c0 := verifiedIDToken(t, h, first.IDToken)
		h.Clock.Advance(time.Minute)
		second, err := h.Accounts.RefreshAppGrant(ctx, o.app, first.RefreshToken, nil)
		if err != nil {
			t.Fatal(err)
		}
		if second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken || !slices.Equal(second.Scopes, latch.AppScopes()) {
			t.Fatalf("refresh %+v", second)
		}
		_, c := verifiedIDToken(t, h, second.IDToken)
		if _, ok := c["nonce"]; ok || c["sub"] != c0["sub"] || c["auth_time"] != c0["auth_time"] || c["iat"] == c0["iat"] {
			t.Errorf("refreshed ID token %v, first %v", c, c0)
		}
		// Twice at once (two tabs): the same successor.
		again, err := h.Accounts.RefreshAppGrant(ctx, o.app, first.RefreshToken, nil)
		if err != nil || again.RefreshToken != second.RefreshToken {
			t.Fatalf("the same token again within the reuse interval: %v", err)
		}
		h.Clock.Advance(account.DefaultRefreshReuseInterval + time.Second)
		_, err = h.Accounts.RefreshAppGrant(ctx, o.app, first.RefreshToken, nil)
		wantInvalidGrant(t, "reuse", err)
		_, err = h.Accounts.RefreshAppGrant(ctx, o.app, second.RefreshToken, nil)
		wantInvalidGrant(t, "the current token after a reuse", err)
		if live(t, h, second.AccessToken) {
			t.Error("the grant's access token works after a reuse")
		}
	})
}

// A refresh may narrow the access token's scopes, never widen them; a
// refused request leaves the token usable.
func TestRefreshAppGrantScopes(t *testing.T) {
	h := testenv.NewHarness(t, testenv.OpenSQLite(t))
	ctx := context.Background()
	o := newOP(t, h)
	tokens := o.tokens(t, o.app, "openid email offline_access")
	_, err := h.Accounts.RefreshAppGrant(ctx, o.app, tokens.RefreshToken, []string{"openid", "profile"})
	wantErr(t, "a scope not granted", err, latch.KindInvalid, account.TokenInvalidScope)
	narrow, err := h.Accounts.RefreshAppGrant(ctx, o.app, tokens.RefreshToken, []string{"openid", "openid"})
	if err != nil {
		t.Fatalf("the token after a refused request: %v", err)
	}
	if !slices.Equal(narrow.Scopes, []string{"openid"}) {
		t.Fatalf("narrowed scopes %v", narrow.Scopes)
	}
	info, err := h.Accounts.AppUserInfo(ctx, narrow.AccessToken)
	if err != nil || info.Email != "" || info.Subject != o.user.ID {
		t.Fatalf("userinfo of the narrowed token: %+v, %v", info, err)
	}
	// The grant keeps its scopes: the next refresh has them all.
	wide, err := h.Accounts.RefreshAppGrant(ctx, o.app, narrow.RefreshToken, nil)
	if err != nil || !slices.Equal(wide.Scopes, []string{"openid", "email", "offline_access"}) {
		t.Fatalf("next refresh: %v, %v", wide.Scopes, err)
	}
	// Without openid, userinfo refuses.
	noOpenID, err := h.Accounts.RefreshAppGrant(ctx, o.app, wide.RefreshToken, []string{"email"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.Accounts.AppUserInfo(ctx, noOpenID.AccessToken)
	wantErr(t, "userinfo without openid", err, latch.KindForbidden, latch.CodeInsufficientScope)
}

// An app's grant is no native session and the other way round; one app's
// tokens are no other app's. A refused token is not used up (no reuse
// interval here: a token used once and presented again would revoke).
func TestAppAndNativeTokensApart(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			cfg := account.DefaultConfig()
			cfg.RefreshReuseInterval = 0
			testAppAndNativeTokensApart(t, testenv.NewHarnessWithConfig(t, b.Open(t), cfg))
		})
	}
}

func testAppAndNativeTokensApart(t *testing.T, h *testenv.Harness) {
	ctx := context.Background()
	o := newOP(t, h)
	other := o.newApp(t, latch.AppConfidential, true, latch.AppScopes()...).App
	tokens := o.tokens(t, o.app, allAppScopes)

	_, err := h.Accounts.Refresh(ctx, tokens.RefreshToken)
	wantErr(t, "native refresh of an app's token", err, latch.KindUnauthenticated, latch.CodeInvalidToken)
	_, err = h.Accounts.RefreshAppGrant(ctx, other, tokens.RefreshToken, nil)
	wantInvalidGrant(t, "another app's refresh token", err)
	_, err = h.Accounts.RefreshAppGrant(ctx, o.app, o.browser.RefreshToken, nil)
	wantInvalidGrant(t, "a native refresh token", err)
	// A native token of the grant's id (as if the chain were shared).
	_, err = h.Accounts.RefreshAppGrant(ctx, o.app, "lart_"+o.browser.SessionID+strings.TrimPrefix(o.browser.RefreshToken, "lrt_"+o.browser.SessionID), nil)
	wantInvalidGrant(t, "a native refresh token renamed", err)

	_, err = h.Accounts.Authenticate(ctx, tokens.AccessToken)
	wantErr(t, "native Authenticate of an app's access token", err, latch.KindUnauthenticated, latch.CodeInvalidToken)
	_, err = h.Accounts.AppUserInfo(ctx, o.browser.AccessToken)
	wantErr(t, "userinfo of a native access token", err, latch.KindUnauthenticated, latch.CodeInvalidToken)
	if in, err := h.Accounts.IntrospectAppToken(ctx, other, tokens.AccessToken, ""); err != nil || in.Active {
		t.Errorf("another app introspects the token: %+v, %v", in, err)
	}

	// Nothing above used up either chain.
	if _, err := h.Accounts.RefreshAppGrant(ctx, o.app, tokens.RefreshToken, nil); err != nil {
		t.Errorf("the app's refresh token after the refused attempts: %v", err)
	}
	if _, err := h.Accounts.Refresh(ctx, o.browser.RefreshToken); err != nil {
		t.Errorf("the native refresh token after the refused attempts: %v", err)
	}
}

func TestAuthenticateAppClient(t *testing.T) {
	cfg := account.DefaultConfig()
	cfg.LoginFailures.Limit = 3
	h := testenv.NewHarnessWithConfig(t, testenv.OpenSQLite(t), cfg)
	ctx := context.Background()
	o := newOP(t, h)
	public := o.newApp(t, latch.AppPublic, true, "openid").App
	auth := func(a account.AppClientAuth) error {
		a.ClientIP = "203.0.113.9"
		_, err := h.Accounts.AuthenticateAppClient(ctx, a)
		return err
	}
	if err := auth(account.AppClientAuth{ClientID: public.ID}); err != nil {
		t.Fatalf("public app without a secret: %v", err)
	}
	if err := auth(account.AppClientAuth{ClientID: o.app.ID, Secret: o.secret, SecretGiven: true}); err != nil {
		t.Fatalf("confidential app with its secret: %v", err)
	}
	for name, a := range map[string]account.AppClientAuth{
		"public app sending a secret":  {ClientID: public.ID, Secret: o.secret, SecretGiven: true},
		"confidential app without one": {ClientID: o.app.ID},
	} {
		wantErr(t, name, auth(a), latch.KindUnauthenticated, account.TokenInvalidClient)
	}
	wantErr(t, "unknown app", auth(account.AppClientAuth{ClientID: "nope"}), latch.KindUnauthenticated, account.TokenInvalidClient)
	// Three failures from the address: the right secret is refused too.
	wantErr(t, "over the limit", auth(account.AppClientAuth{ClientID: o.app.ID, Secret: o.secret, SecretGiven: true}), latch.KindTooMany, latch.CodeRateLimited)
	if _, err := h.Accounts.AuthenticateAppClient(ctx, account.AppClientAuth{ClientID: o.app.ID, Secret: o.secret, SecretGiven: true, ClientIP: "203.0.113.10"}); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

func TestAppClientCredentials(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		o := newOP(t, h)
		public := o.newApp(t, latch.AppPublic, true, "openid").App
		_, err := h.Accounts.AppClientCredentials(ctx, public, nil)
		wantErr(t, "public app", err, latch.KindForbidden, account.TokenUnauthorizedClient)
		_, err = h.Accounts.AppClientCredentials(ctx, o.app, nil)
		wantErr(t, "app not registered for it", err, latch.KindForbidden, account.TokenUnauthorizedClient)
		cc := true
		app, err := h.Accounts.UpdateApp(ctx, account.Operator(""), o.app.ID, account.AppChange{ClientCredentials: &cc})
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range [][]string{{"openid"}, {"offline_access"}, {"email", "admin"}} {
			_, err = h.Accounts.AppClientCredentials(ctx, app, bad)
			wantErr(t, "scope "+strings.Join(bad, " "), err, latch.KindInvalid, account.TokenInvalidScope)
		}
		all, err := h.Accounts.AppClientCredentials(ctx, app, nil)
		if err != nil || !slices.Equal(all.Scopes, []string{"profile", "email"}) || all.RefreshToken != "" || all.IDToken != "" {
			t.Fatalf("default scopes: %+v, %v", all, err)
		}
		tokens, err := h.Accounts.AppClientCredentials(ctx, app, []string{"email"})
		if err != nil || !slices.Equal(tokens.Scopes, []string{"email"}) {
			t.Fatalf("%+v, %v", tokens, err)
		}
		claims, err := h.Keys.VerifyAppAccess(tokens.AccessToken, app.ID)
		if err != nil || claims.Subject != app.ID || claims.GrantID != "" || !claims.AuthTime.IsZero() {
			t.Fatalf("claims %+v, %v", claims, err)
		}
		if live(t, h, tokens.AccessToken) {
			t.Error("userinfo answers a client_credentials token")
		}
		in, err := h.Accounts.IntrospectAppToken(ctx, app, tokens.AccessToken, "")
		if err != nil || !in.Active || in.Subject != app.ID || in.Username != "" || in.GrantID != "" {
			t.Fatalf("introspection %+v, %v", in, err)
		}
		// Nothing is stored to revoke: no error, and it stays what it is.
		if err := h.Accounts.RevokeAppToken(ctx, app, tokens.AccessToken, ""); err != nil {
			t.Fatal(err)
		}
		h.Clock.Advance(account.AppAccessTokenTTL)
		if in, err := h.Accounts.IntrospectAppToken(ctx, app, tokens.AccessToken, ""); err != nil || in.Active {
			t.Fatalf("expired: %+v, %v", in, err)
		}
	})
}

// userinfo tells sub and what the scopes allow, and nothing once the
// grant has ended.
func TestAppUserInfo(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		o := newOP(t, h)
		f := false
		updated := o.user.UpdatedAt
		for _, c := range []struct {
			scope string
			want  account.UserInfo
		}{
			{"openid", account.UserInfo{Subject: o.user.ID}},
			{"openid email", account.UserInfo{Subject: o.user.ID, Email: "ada@example.com", EmailVerified: &f}},
			{"openid profile", account.UserInfo{Subject: o.user.ID, Name: "Ada Lovelace", GivenName: "Ada", FamilyName: "Lovelace", UpdatedAt: &updated}},
		} {
			got, err := h.Accounts.AppUserInfo(ctx, o.tokens(t, o.app, c.scope).AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			gotJSON, _ := json.Marshal(got)
			wantJSON, _ := json.Marshal(c.want)
			if string(gotJSON) != string(wantJSON) {
				t.Errorf("%s: %s, want %s", c.scope, gotJSON, wantJSON)
			}
		}
		for _, garbage := range []string{"", "x.y.z", o.browser.AccessToken} {
			_, err := h.Accounts.AppUserInfo(ctx, garbage)
			wantErr(t, "garbage", err, latch.KindUnauthenticated, latch.CodeInvalidToken)
		}
		tokens := o.tokens(t, o.app, allAppScopes)
		if _, err := h.Accounts.AdminUpdateUser(ctx, account.Operator(""), account.UserRef{ID: o.user.ID}, account.AdminUserChange{Active: new(false)}); err != nil {
			t.Fatal(err)
		}
		if live(t, h, tokens.AccessToken) {
			t.Error("userinfo answers for a deactivated user")
		}
	})
}

// RFC 7009: a refresh or access token ends its grant; another app's token
// and anything unknown are no error and change nothing.
func TestRevokeAppToken(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		o := newOP(t, h)
		other := o.newApp(t, latch.AppConfidential, true, latch.AppScopes()...).App
		byRefresh, byAccess, others := o.tokens(t, o.app, allAppScopes), o.tokens(t, o.app, allAppScopes), o.tokens(t, other, allAppScopes)

		// A made-up refresh token with a real grant id, and the other
		// app's tokens presented by this one: nothing ends.
		grant, _ := h.Keys.VerifyAppAccess(byRefresh.AccessToken, o.app.ID)
		forged := "lart_" + grant.GrantID + ".0." + strings.Repeat("A", 43)
		for _, tok := range []string{"", "garbage", forged, others.RefreshToken, others.AccessToken, o.browser.RefreshToken, o.browser.AccessToken} {
			if err := h.Accounts.RevokeAppToken(ctx, o.app, tok, account.HintRefreshToken); err != nil {
				t.Errorf("revoking %q: %v", tok, err)
			}
		}
		for _, tok := range []string{byRefresh.AccessToken, byAccess.AccessToken, others.AccessToken} {
			if !live(t, h, tok) {
				t.Fatal("a refused revocation ended a grant")
			}
		}
		if _, err := h.Accounts.Refresh(ctx, o.browser.RefreshToken); err != nil {
			t.Errorf("the native session after the app presented its token: %v", err)
		}

		if err := h.Accounts.RevokeAppToken(ctx, o.app, byRefresh.RefreshToken, ""); err != nil {
			t.Fatal(err)
		}
		if live(t, h, byRefresh.AccessToken) {
			t.Error("the access token of a grant whose refresh token was revoked")
		}
		_, err := h.Accounts.RefreshAppGrant(ctx, o.app, byRefresh.RefreshToken, nil)
		wantInvalidGrant(t, "a revoked refresh token", err)

		// An access token with the wrong hint: the hint only orders.
		if err := h.Accounts.RevokeAppToken(ctx, o.app, byAccess.AccessToken, account.HintRefreshToken); err != nil {
			t.Fatal(err)
		}
		if live(t, h, byAccess.AccessToken) {
			t.Error("a revoked access token")
		}
		_, err = h.Accounts.RefreshAppGrant(ctx, o.app, byAccess.RefreshToken, nil)
		wantInvalidGrant(t, "the refresh token of a grant whose access token was revoked", err)
		// Again: no error.
		if err := h.Accounts.RevokeAppToken(ctx, o.app, byAccess.RefreshToken, ""); err != nil {
			t.Fatal(err)
		}
		if !live(t, h, others.AccessToken) {
			t.Error("the other app's grant ended")
		}
		evs, err := h.Store.AuditEvents(ctx, latch.AuditQuery{Action: latch.AuditSessionRevoke, TargetID: o.user.ID})
		if err != nil || len(evs) != 2 || evs[0].Details["reason"] != "app_revocation" || evs[1].Details["session_id"] == "" {
			t.Errorf("audit %+v, %v; want the two grants the app ended", evs, err)
		}
	})
}

func TestIntrospectAppToken(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		o := newOP(t, h)
		other := o.newApp(t, latch.AppConfidential, true, latch.AppScopes()...).App
		public := o.newApp(t, latch.AppPublic, true, "openid").App
		tokens := o.tokens(t, o.app, allAppScopes)
		introspect := func(app latch.App, tok string) account.Introspection {
			t.Helper()
			in, err := h.Accounts.IntrospectAppToken(ctx, app, tok, "")
			if err != nil {
				t.Fatal(err)
			}
			if !in.Active && !(in.Scopes == nil && in.Subject == "" && in.ClientID == "" && in.TokenType == "" && in.GrantID == "") {
				t.Fatalf("an inactive answer says more: %+v", in)
			}
			return in
		}
		_, err := h.Accounts.IntrospectAppToken(ctx, public, tokens.AccessToken, "")
		wantErr(t, "public app", err, latch.KindForbidden, account.TokenUnauthorizedClient)

		access := introspect(o.app, tokens.AccessToken)
		claims, _ := h.Keys.VerifyAppAccess(tokens.AccessToken, o.app.ID)
		if !access.Active || access.TokenType != account.TokenTypeBearer || access.Subject != o.user.ID || access.ClientID != o.app.ID ||
			access.Username != o.user.Email || access.GrantID != claims.GrantID || access.Issuer != testenv.TestIssuer || access.JWTID != claims.ID ||
			!access.IssuedAt.Equal(h.Clock.Now()) ||
			!access.ExpiresAt.Equal(h.Clock.Now().Add(account.AppAccessTokenTTL)) || !slices.Equal(access.Scopes, latch.AppScopes()) ||
			!slices.Equal(access.Audience, []string{o.app.ID}) {
			t.Fatalf("access token: %+v", access)
		}
		refresh := introspect(o.app, tokens.RefreshToken)
		if !refresh.Active || refresh.TokenType != account.TokenTypeRefresh || refresh.GrantID != claims.GrantID || refresh.Subject != o.user.ID {
			t.Fatalf("refresh token: %+v", refresh)
		}
		// Introspection used nothing up (past the reuse interval, a token
		// used once would now revoke the grant).
		h.Clock.Advance(account.DefaultRefreshReuseInterval + time.Second)
		next, err := h.Accounts.RefreshAppGrant(ctx, o.app, tokens.RefreshToken, nil)
		if err != nil {
			t.Fatalf("refresh after introspection: %v", err)
		}
		for name, tok := range map[string]string{
			"a used refresh token": tokens.RefreshToken, "garbage": "garbage", "native access token": o.browser.AccessToken,
			"native refresh token": o.browser.RefreshToken,
		} {
			if introspect(o.app, tok).Active {
				t.Errorf("%s is active", name)
			}
		}
		for name, tok := range map[string]string{"access": next.AccessToken, "refresh": next.RefreshToken} {
			if introspect(other, tok).Active {
				t.Errorf("another app's %s token is active", name)
			}
			if !introspect(o.app, tok).Active {
				t.Errorf("the %s token is inactive", name)
			}
		}
		if err := h.Accounts.RevokeAppToken(ctx, o.app, next.AccessToken, ""); err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{"access": next.AccessToken, "refresh": next.RefreshToken} {
			if introspect(o.app, tok).Active {
				t.Errorf("the %s token of a revoked grant is active", name)
			}
		}
		// Expiry, and a deactivated user.
		expiring := o.tokens(t, o.app, allAppScopes)
		h.Clock.Advance(account.AppAccessTokenTTL)
		if introspect(o.app, expiring.AccessToken).Active || !introspect(o.app, expiring.RefreshToken).Active {
			t.Error("after the access token's life: want the access token inactive, the refresh token active")
		}
		if _, err := h.Accounts.AdminUpdateUser(ctx, account.Operator(""), account.UserRef{ID: o.user.ID}, account.AdminUserChange{Active: new(false)}); err != nil {
			t.Fatal(err)
		}
		if introspect(o.app, expiring.RefreshToken).Active {
			t.Error("a deactivated user's refresh token is active")
		}
	})
}

func TestCheckEndSession(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		o := newOP(t, h)
		other := o.newApp(t, latch.AppConfidential, true, latch.AppScopes()...).App
		idToken := o.tokens(t, o.app, "openid").IDToken
		h.Clock.Advance(24 * time.Hour) // the hint has long expired

		got, err := h.Accounts.CheckEndSession(ctx, account.EndSessionRequest{IDTokenHint: idToken, PostLogoutRedirectURI: opLogout, State: "a b&c"})
		if err != nil || got.App.ID != o.app.ID || got.HintUserID != o.user.ID || got.RedirectURL != opLogout+"?state=a+b%26c" {
			t.Fatalf("expired hint: %+v, %v", got, err)
		}
		got, err = h.Accounts.CheckEndSession(ctx, account.EndSessionRequest{ClientID: o.app.ID, PostLogoutRedirectURI: opLogout})
		if err != nil || got.RedirectURL != opLogout || got.HintUserID != "" {
			t.Fatalf("client_id, no state: %+v, %v", got, err)
		}
		got, err = h.Accounts.CheckEndSession(ctx, account.EndSessionRequest{})
		if err != nil || got.App.ID != "" || got.RedirectURL != "" {
			t.Fatalf("nothing: %+v, %v", got, err)
		}
		for name, req := range map[string]account.EndSessionRequest{
			"hint of another client":         {IDTokenHint: idToken, ClientID: other.ID},
			"unregistered redirect":          {ClientID: o.app.ID, PostLogoutRedirectURI: opLogout + "/x"},
			"redirect without an app":        {PostLogoutRedirectURI: opLogout},
			"a hint Latch did not sign":      {IDTokenHint: idToken[:len(idToken)-4] + "AAAA"},
			"an access token as hint":        {IDTokenHint: o.tokens(t, o.app, "openid").AccessToken},
			"unknown client":                 {ClientID: "nope", PostLogoutRedirectURI: opLogout},
			"a redirect of another app only": {ClientID: other.ID, PostLogoutRedirectURI: "https://other.example/bye"},
		} {
			_, err := h.Accounts.CheckEndSession(ctx, req)
			wantErr(t, name, err, latch.KindInvalid, latch.CodeInvalidRequest)
		}
	})
}

// Signing the browser out ends the grants its sign-in gave, and only
// those.
func TestEndBrowserSession(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		o := newOP(t, h)
		other := o.newApp(t, latch.AppConfidential, true, latch.AppScopes()...).App
		a, b := o.tokens(t, o.app, allAppScopes), o.tokens(t, other, allAppScopes)
		pending := o.code(t, o.app, allAppScopes)
		firstBrowser := o.browser
		o.browser = o.signIn(t)
		elsewhere := o.tokens(t, o.app, allAppScopes)

		p, err := h.Accounts.Authenticate(ctx, firstBrowser.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Accounts.EndBrowserSession(ctx, p); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Accounts.Authenticate(ctx, firstBrowser.AccessToken); err == nil {
			t.Error("the browser's session outlived its sign-out")
		}
		for name, tokens := range map[string]account.AppTokens{"app": a, "other app": b} {
			if live(t, h, tokens.AccessToken) {
				t.Errorf("%s's grant outlived the browser's sign-out", name)
			}
		}
		_, err = h.Accounts.RefreshAppGrant(ctx, o.app, a.RefreshToken, nil)
		wantInvalidGrant(t, "refresh after the sign-out", err)
		_, err = o.exchange(o.app, pending)
		wantInvalidGrant(t, "a code of the signed-out browser", err)
		if !live(t, h, elsewhere.AccessToken) {
			t.Error("the grant of another browser's sign-in ended")
		}
		evs, err := h.Store.AuditEvents(ctx, latch.AuditQuery{Action: latch.AuditSessionRevoke, TargetID: o.user.ID})
		if err != nil || len(evs) != 1 || evs[0].Details["grants_revoked"] != "2" || evs[0].Details["session_id"] != firstBrowser.SessionID {
			t.Fatalf("audit %+v, %v", evs, err)
		}
	})
}

// Revoking an app ends its grants; withdrawing a consent ends the user's
// grants at that app, and its pending codes.
func TestRevokeAppAndConsentEndGrants(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		o := newOP(t, h)
		thirdParty := o.newApp(t, latch.AppConfidential, false, latch.AppScopes()...).App
		if _, err := h.Accounts.GrantConsent(ctx, o.user.ID, thirdParty.ID, latch.AppScopes()); err != nil {
			t.Fatal(err)
		}
		consented, pending := o.tokens(t, thirdParty, allAppScopes), o.code(t, thirdParty, allAppScopes)
		firstParty := o.tokens(t, o.app, allAppScopes)
		if err := h.Accounts.RevokeConsent(ctx, o.user.ID, thirdParty.ID); err != nil {
			t.Fatal(err)
		}
		if live(t, h, consented.AccessToken) {
			t.Error("a grant outlived its consent")
		}
		_, err := o.exchange(thirdParty, pending)
		wantInvalidGrant(t, "a code issued under a withdrawn consent", err)
		if !live(t, h, firstParty.AccessToken) {
			t.Error("withdrawing a consent ended another app's grant")
		}

		if err := h.Accounts.RevokeApp(ctx, account.Operator(""), o.app.ID); err != nil {
			t.Fatal(err)
		}
		if live(t, h, firstParty.AccessToken) {
			t.Error("a grant outlived its app")
		}
		_, err = h.Accounts.RefreshAppGrant(ctx, o.app, firstParty.RefreshToken, nil)
		wantInvalidGrant(t, "refresh of a revoked app's grant", err)
		evs, err := h.Store.AuditEvents(ctx, latch.AuditQuery{Action: latch.AuditAppRevoke, TargetID: o.app.ID})
		if err != nil || len(evs) != 1 || evs[0].Details["grants_revoked"] != "1" {
			t.Fatalf("audit %+v, %v", evs, err)
		}
	})
}

// redeemDown is a store whose redemptions fail while down is set, as a
// database that went away.
type redeemDown struct {
	latch.Store
	down bool
}

func (s *redeemDown) RedeemAppCode(ctx context.Context, hash []byte, at time.Time, grant latch.NewSession) (latch.AuthorizationCode, error) {
	if s.down {
		return latch.AuthorizationCode{}, &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "down"}
	}
	return s.Store.RedeemAppCode(ctx, hash, at, grant)
}

// A database that cannot answer is said so (the surface answers 503), not
// taken for a bad code, and the code is still good afterwards.
func TestExchangeAppCodeStoreDown(t *testing.T) {
	st := &redeemDown{Store: testenv.OpenSQLite(t)}
	h := testenv.NewHarness(t, st)
	o := newOP(t, h)
	code := o.code(t, o.app, allAppScopes)
	st.down = true
	_, err := o.exchange(o.app, code)
	wantErr(t, "store down", err, latch.KindUnavailable, latch.CodeDatabaseUnavailable)
	st.down = false
	if _, err := o.exchange(o.app, code); err != nil {
		t.Fatalf("the code after the outage: %v", err)
	}
}

// What the app flows tell the operator's metrics: a grant started, a
// refresh, a reuse that revoked, an app's revocation, a code's replay, a
// browser's sign-out with its grants.
func TestAppFlowsObserved(t *testing.T) {
	ctx := context.Background()
	seen := &counts{n: map[string]int{}}
	cfg := account.DefaultConfig()
	cfg.Observer = seen
	cfg.RefreshReuseInterval = 0 // any reuse revokes
	h := testenv.NewHarnessWithConfig(t, testenv.OpenSQLite(t), cfg)
	o := newOP(t, h)
	expect := func(what string, want map[string]int) {
		t.Helper()
		if got := seen.take(); !maps.Equal(got, want) {
			t.Errorf("%s: told %v, want %v", what, got, want)
		}
	}
	seen.take()
	code := o.code(t, o.app, allAppScopes)
	tokens, err := o.exchange(o.app, code)
	if err != nil {
		t.Fatal(err)
	}
	expect("exchange", map[string]int{"session app": 1})
	if _, err := h.Accounts.RefreshAppGrant(ctx, o.app, tokens.RefreshToken, nil); err != nil {
		t.Fatal(err)
	}
	expect("refresh", map[string]int{"refresh success": 1})
	_, _ = h.Accounts.RefreshAppGrant(ctx, o.app, "lart_nope", nil)
	expect("refresh of garbage", map[string]int{"refresh failure": 1})
	_, _ = h.Accounts.RefreshAppGrant(ctx, o.app, tokens.RefreshToken, nil)
	expect("reuse", map[string]int{"refresh reused": 1, "revoked refresh_reuse": 1})
	_, _ = o.exchange(o.app, code)
	expect("replay", map[string]int{"revoked code_replay": 1})

	revoked := o.tokens(t, o.app, allAppScopes)
	seen.take()
	if err := h.Accounts.RevokeAppToken(ctx, o.app, revoked.RefreshToken, ""); err != nil {
		t.Fatal(err)
	}
	expect("app's revocation", map[string]int{"revoked app": 1})
	o.tokens(t, o.app, allAppScopes)
	seen.take()
	p, err := h.Accounts.Authenticate(ctx, o.browser.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Accounts.EndBrowserSession(ctx, p); err != nil {
		t.Fatal(err)
	}
	// The browser session, and the one live grant it gave.
	expect("browser's sign-out", map[string]int{"revoked logout": 2})
}

// TestIssueAppCodeDecidesAgain: IssueAppCode takes the authorization
// decision itself, on the stored session and consent: a page that skipped
// the login prompt=login or max_age ask for, or the consent prompt=consent
// asks for, still gets no code.
func TestIssueAppCodeDecidesAgain(t *testing.T) {
	testenv.ForEachBackend(t, func(t *testing.T, h *testenv.Harness) {
		ctx := context.Background()
		o := newOP(t, h)
		h.Clock.Advance(time.Minute) // the browser's sign-in is now older than the requests below
		issue := func(req account.AuthorizeRequest) error {
			_, err := h.Accounts.IssueAppCode(ctx, account.AppCodeRequest{Request: req, UserID: o.user.ID, ParentSessionID: o.browser.SessionID})
			return err
		}
		for _, c := range []struct {
			name, param, value, code string
		}{
			{"prompt=login", "prompt", "login", account.AuthorizeLoginRequired},
			{"max_age=0", "max_age", "0", account.AuthorizeLoginRequired},
			{"prompt=consent", "prompt", "consent", account.AuthorizeConsentRequired},
		} {
			req := o.request(t, o.app, "openid", func(v url.Values) { v.Set(c.param, c.value) })
			if err := issue(req); !latch.IsCode(err, c.code) {
				t.Errorf("IssueAppCode(%s) without the step it asks for: %v, want %s", c.name, err, c.code)
			}
		}
		// The sign-in the request asked for answers it.
		req := o.request(t, o.app, "openid", func(v url.Values) { v.Set("prompt", "login") })
		o.browser = o.signIn(t)
		if err := issue(req); err != nil {
			t.Errorf("IssueAppCode(prompt=login) after a fresh sign-in: %v", err)
		}
	})
}
