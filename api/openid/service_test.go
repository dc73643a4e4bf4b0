package openid_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/api"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/token"
)

// rp is a relying party talking to a running Latch over HTTP, as an OIDC
// client library would.
type rp struct {
	t            *testing.T
	base         string
	id, secret   string
	confidential bool
}

// post sends a form to path, authenticating with client_secret_basic
// (a confidential app) or client_id alone (a public one).
func (c rp) post(path string, form url.Values) (int, http.Header, map[string]any) {
	c.t.Helper()
	if !c.confidential {
		form.Set("client_id", c.id)
	}
	req, _ := http.NewRequest("POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.confidential {
		req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	}
	return do(c.t, req)
}

func (c rp) userinfo(accessToken string) (int, http.Header, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+"/oauth2/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	return do(c.t, req)
}

func do(t *testing.T, req *http.Request) (int, http.Header, map[string]any) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %s", req.Method, req.URL.Path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, res.Header, body
}

func str(m map[string]any, name string) string {
	s, _ := m[name].(string)
	return s
}

// TestServiceCodeFlow runs the whole service (api.NewHandler, the real
// account.Service on SQLite) through one app's life with a user: a code
// issued as the authorization endpoint would, its exchange with PKCE,
// userinfo, introspection, a refresh, revocation, and what each of them
// answers afterwards. The code's issue is the use case's (the pages' side
// is web's); everything after it goes over HTTP.
func TestServiceCodeFlow(t *testing.T) {
	ctx := context.Background()
	h := testenv.NewHarness(t, testenv.OpenSQLite(t))
	srv := httptest.NewServer(api.NewHandler(h.Accounts, api.Config{JWKS: h.Keys.JWKS, PublicURL: testenv.TestIssuer, OIDCAlgorithm: h.Keys.OIDCAlgorithm()},
		slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)

	// Discovery tells an RP what the rest of the test relies on.
	req, _ := http.NewRequest("GET", srv.URL+"/.well-known/openid-configuration", nil)
	status, _, doc := do(t, req)
	if status != 200 || doc["issuer"] != testenv.TestIssuer || doc["token_endpoint"] != testenv.TestIssuer+"/oauth2/token" {
		t.Fatalf("discovery: %d %v", status, doc)
	}
	if algs, _ := doc["id_token_signing_alg_values_supported"].([]any); len(algs) != 1 || algs[0] != h.Keys.OIDCAlgorithm() {
		t.Errorf("discovery's algorithms %v, the keys sign with %s", algs, h.Keys.OIDCAlgorithm())
	}

	app, err := h.Accounts.CreateApp(ctx, account.Operator(""), account.AppInput{
		Name: "Relying party", Type: latch.AppConfidential, FirstParty: true,
		RedirectURIs: []string{"https://rp.example/cb"}, Scopes: latch.AppScopes(),
	})
	if err != nil {
		t.Fatal(err)
	}
	client := rp{t: t, base: srv.URL, id: app.App.ID, secret: app.Secret, confidential: true}
	const pw = "correct horse battery staple"
	user := h.PasswordUser(t, "ada@example.com", pw, "", false)
	session, err := h.Accounts.Login(ctx, account.LoginInput{Email: "ada@example.com", Password: pw, ClientIP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := h.Accounts.Authenticate(ctx, session.AccessToken)
	if err != nil {
		t.Fatal(err)
	}

	verifier := token.Random()
	digest := sha256.Sum256([]byte(verifier))
	authz, aerr := account.ParseAuthorizeRequest(url.Values{
		"client_id": {app.App.ID}, "redirect_uri": {"https://rp.example/cb"}, "response_type": {"code"},
		"scope": {"openid email profile offline_access"}, "state": {"st"}, "nonce": {"n-0S6_WzA2Mj"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(digest[:])}, "code_challenge_method": {"S256"},
	}, app.App, h.Clock.Now())
	if aerr != nil {
		t.Fatal(aerr)
	}
	firstRequest := authz
	code, err := h.Accounts.IssueAppCode(ctx, account.AppCodeRequest{Request: authz, UserID: user.ID, AuthTime: h.Clock.Now(), AMR: []string{account.AMRPassword}, ParentSessionID: p.Session.ID})
	if err != nil {
		t.Fatalf("IssueAppCode: %v (the OpenID use cases of account/openid.go must be built for this test)", err)
	}

	exchange := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {"https://rp.example/cb"}}
	status, header, tokens := client.post("/oauth2/token", exchange)
	if status != 200 {
		t.Fatalf("code exchange: %d %v", status, tokens)
	}
	if header.Get("Cache-Control") != "no-store" || header.Get("Pragma") != "no-cache" || tokens["token_type"] != "Bearer" || tokens["expires_in"] != float64(600) {
		t.Errorf("token response: %v %v", header, tokens)
	}
	access, refresh, idToken := str(tokens, "access_token"), str(tokens, "refresh_token"), str(tokens, "id_token")
	if access == "" || refresh == "" || idToken == "" || !slices.Contains(strings.Fields(str(tokens, "scope")), "openid") {
		t.Fatalf("tokens: %v", tokens)
	}
	claims, err := h.Keys.VerifyIDTokenHint(idToken)
	if err != nil || claims.Issuer != testenv.TestIssuer || claims.Subject != user.ID || claims.ClientID != app.App.ID || claims.Nonce != "n-0S6_WzA2Mj" {
		t.Errorf("ID token: %+v %v", claims, err)
	}

	status, _, info := client.userinfo(access)
	if status != 200 || info["sub"] != user.ID || info["email"] != "ada@example.com" {
		t.Errorf("userinfo: %d %v", status, info)
	}
	if status, header, _ := client.userinfo("not-a-token"); status != 401 || !strings.Contains(header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("userinfo with a bad token: %d %v", status, header)
	}

	status, _, in := client.post("/oauth2/introspect", url.Values{"token": {access}})
	if status != 200 || in["active"] != true || in["client_id"] != app.App.ID || in["sub"] != user.ID || in["token_type"] != "Bearer" {
		t.Errorf("introspecting the access token: %d %v", status, in)
	}
	if status, _, in := client.post("/oauth2/introspect", url.Values{"token": {"garbage"}}); status != 200 || len(in) != 1 || in["active"] != false {
		t.Errorf("introspecting garbage: %d %v", status, in)
	}

	// Refresh: new tokens; the old refresh token is spent.
	status, _, refreshed := client.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if status != 200 || str(refreshed, "access_token") == "" || str(refreshed, "refresh_token") == "" || str(refreshed, "refresh_token") == refresh {
		t.Fatalf("refresh: %d %v", status, refreshed)
	}
	newAccess, newRefresh := str(refreshed, "access_token"), str(refreshed, "refresh_token")
	if status, _, info := client.userinfo(newAccess); status != 200 || info["sub"] != user.ID {
		t.Errorf("userinfo after refresh: %d %v", status, info)
	}

	// Revocation: an unknown token is 200 too; the refresh token ends
	// the grant, and every token of it stops at once.
	if status, _, body := client.post("/oauth2/revoke", url.Values{"token": {"unknown"}}); status != 200 || body != nil {
		t.Errorf("revoking an unknown token: %d %v", status, body)
	}
	if status, _, body := client.post("/oauth2/revoke", url.Values{"token": {newRefresh}, "token_type_hint": {"refresh_token"}}); status != 200 || body != nil {
		t.Fatalf("revoke: %d %v", status, body)
	}
	if status, _, in := client.post("/oauth2/introspect", url.Values{"token": {newAccess}}); status != 200 || in["active"] != false {
		t.Errorf("introspecting a revoked grant's access token: %d %v", status, in)
	}
	if status, _, _ := client.userinfo(newAccess); status != 401 {
		t.Errorf("userinfo with a revoked grant's access token: %d", status)
	}
	if status, _, body := client.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {newRefresh}}); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refreshing a revoked grant: %d %v", status, body)
	}

	// A public app: PKCE alone at the token endpoint, client_id alone to
	// revoke, and no introspection.
	spa, err := h.Accounts.CreateApp(ctx, account.Operator(""), account.AppInput{
		Name: "Browser app", Type: latch.AppPublic, FirstParty: true, RedirectURIs: []string{"https://spa.example/cb"}, Scopes: []string{"openid", "email"},
	})
	if err != nil {
		t.Fatal(err)
	}
	public := rp{t: t, base: srv.URL, id: spa.App.ID}
	authz, aerr = account.ParseAuthorizeRequest(url.Values{
		"client_id": {spa.App.ID}, "response_type": {"code"}, "scope": {"openid email"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(digest[:])}, "code_challenge_method": {"S256"},
	}, spa.App, h.Clock.Now())
	if aerr != nil {
		t.Fatal(aerr)
	}
	code, err = h.Accounts.IssueAppCode(ctx, account.AppCodeRequest{Request: authz, UserID: user.ID, AuthTime: h.Clock.Now(), AMR: []string{account.AMRPassword}, ParentSessionID: p.Session.ID})
	if err != nil {
		t.Fatal(err)
	}
	status, _, spaTokens := public.post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}})
	if status != 200 || str(spaTokens, "access_token") == "" || str(spaTokens, "refresh_token") != "" {
		t.Fatalf("public app's code exchange: %d %v", status, spaTokens)
	}
	if status, _, body := public.post("/oauth2/introspect", url.Values{"token": {str(spaTokens, "access_token")}}); status != 401 || body["error"] != "invalid_client" {
		t.Errorf("a public app introspecting: %d %v", status, body)
	}
	if status, _, _ := public.post("/oauth2/revoke", url.Values{"token": {str(spaTokens, "access_token")}}); status != 200 {
		t.Errorf("a public app revoking its token: %d", status)
	}
	if status, _, _ := public.userinfo(str(spaTokens, "access_token")); status != 401 {
		t.Errorf("userinfo with a revoked access token: %d", status)
	}

	// A code redeemed twice is refused, and the grant made from it the
	// first time ends (RFC 6749 §4.1.2): the confidential app's again.
	code, err = h.Accounts.IssueAppCode(ctx, account.AppCodeRequest{Request: firstRequest, UserID: user.ID, AuthTime: h.Clock.Now(), AMR: []string{account.AMRPassword}, ParentSessionID: p.Session.ID})
	if err != nil {
		t.Fatal(err)
	}
	exchange.Set("code", code)
	status, _, first := client.post("/oauth2/token", exchange)
	if status != 200 {
		t.Fatalf("code exchange: %d %v", status, first)
	}
	if status, _, info := client.userinfo(str(first, "access_token")); status != 200 {
		t.Fatalf("userinfo before the replay: %d %v", status, info)
	}
	if status, _, body := client.post("/oauth2/token", exchange); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the code redeemed twice: %d %v", status, body)
	}
	if status, _, _ := client.userinfo(str(first, "access_token")); status != 401 {
		t.Errorf("userinfo with the access token of a replayed code: %d, want 401", status)
	}
	if status, _, body := client.post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(first, "refresh_token")}}); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refreshing the grant of a replayed code: %d %v", status, body)
	}

	// The client's credentials are what they are: a wrong secret is 401.
	wrong := client
	wrong.secret = "las_wrong"
	if status, header, body := wrong.post("/oauth2/introspect", url.Values{"token": {access}}); status != 401 || body["error"] != "invalid_client" || header.Get("WWW-Authenticate") != `Basic realm="latch"` {
		t.Errorf("a wrong secret: %d %v %v", status, header, body)
	}
}
