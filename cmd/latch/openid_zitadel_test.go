package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/client/rs"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// TestOpenIDZitadelRP: zitadel/oidc's relying party (an OpenID Certified
// implementation nobody here wrote) against the built binary, on both
// stores. Its own handlers run the code flow with PKCE and state in its
// cookies; a browser without JavaScript signs in on Latch's page (a
// first-party app: no consent). The RP verifies the ID token (audience,
// nonce), calls userinfo, refreshes, and revokes; its resource-server
// client introspects, and another app learns nothing of these tokens.
func TestOpenIDZitadelRP(t *testing.T) {
	for name, dsn := range openIDStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testOpenIDZitadelRP(t, dsn(t))
		})
	}
}

// nonceKey carries the nonce of a sign-in in a request's context, where
// the RP's ID token verifier asks for it.
type nonceKey struct{}

func testOpenIDZitadelRP(t *testing.T, dsn string) {
	in, userID := openIDInstance(t, dsn)
	rpAddr := freeLoopback(t)
	rpBase := "http://localhost:" + strings.TrimPrefix(rpAddr, "127.0.0.1:")
	scopes := []string{"openid", "email", "profile", "offline_access"}
	app := createApp(t, in, "--name", "zitadel RP", "--type", "confidential", "--first-party",
		"--redirect-uri", rpBase+"/callback", "--scope", strings.Join(scopes, ","))
	other := createApp(t, in, "--name", "another app", "--type", "confidential",
		"--redirect-uri", "http://127.0.0.1:1/other", "--scope", "openid")
	in.serve(t)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const nonce = "zitadel-rp-nonce-0123456789"
	cookies := httphelper.NewCookieHandler([]byte("0123456789abcdef0123456789abcdef"), []byte("fedcba9876543210fedcba9876543210"), httphelper.WithUnsecure())
	relying, err := rp.NewRelyingPartyOIDC(ctx, in.base, app.ClientID, app.ClientSecret, rpBase+"/callback", scopes,
		rp.WithPKCE(cookies), rp.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}),
		rp.WithVerifierOpts(rp.WithNonce(func(ctx context.Context) string { s, _ := ctx.Value(nonceKey{}).(string); return s })))
	if err != nil {
		t.Fatalf("zitadel's RP cannot use Latch's discovery at %s: %v", in.base, err)
	}

	// The RP's two handlers, as an app serves them.
	var (
		mu     sync.Mutex
		tokens *oidc.Tokens[*oidc.IDTokenClaims]
		info   *oidc.UserInfo
	)
	mux := http.NewServeMux()
	mux.Handle("/login", rp.AuthURLHandler(func() string { return "zitadel-state" }, relying, rp.WithURLParam("nonce", nonce)))
	exchange := rp.CodeExchangeHandler(rp.UserinfoCallback(func(w http.ResponseWriter, r *http.Request, tok *oidc.Tokens[*oidc.IDTokenClaims], state string, _ rp.RelyingParty, ui *oidc.UserInfo) {
		mu.Lock()
		tokens, info = tok, ui
		mu.Unlock()
		_, _ = w.Write([]byte("signed in with state " + state))
	}), relying)
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		exchange(w, r.WithContext(context.WithValue(r.Context(), nonceKey{}, nonce)))
	})
	ln, err := net.Listen("tcp", rpAddr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	// A person: the RP's /login, Latch's page, and back to the RP.
	ag := newAgent("")
	res := ag.get(t, rpBase+"/login")
	login := res.form(t, "/login")
	res = ag.post(t, res.resolve(login.action), login.with(url.Values{"email": {opEmail}, "password": {opPassword}}))
	if res.status != 200 || res.body != "signed in with state zitadel-state" {
		t.Fatalf("zitadel's RP after signing in at Latch: %d at %s: %q; want its callback's success", res.status, res.url, res.body)
	}
	mu.Lock()
	first, firstInfo := tokens, info
	mu.Unlock()
	if first.IDTokenClaims.Subject != userID || !slices.Contains(first.IDTokenClaims.Audience, app.ClientID) || first.IDTokenClaims.Nonce != nonce {
		t.Errorf("the ID token as zitadel's RP verified it: sub %q, aud %v, nonce %q; want %s, the client id %s, %s",
			first.IDTokenClaims.Subject, first.IDTokenClaims.Audience, first.IDTokenClaims.Nonce, userID, app.ClientID, nonce)
	}
	if firstInfo.Subject != userID || firstInfo.Email != opEmail {
		t.Errorf("userinfo as zitadel's RP read it: sub %q, email %q; want %s, %s", firstInfo.Subject, firstInfo.Email, userID, opEmail)
	}
	if first.RefreshToken == "" || first.AccessToken == "" {
		t.Fatalf("the code exchange gave access token %t, refresh token %t; want both (offline_access)", first.AccessToken != "", first.RefreshToken != "")
	}

	refreshed, err := rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, first.RefreshToken, "", "")
	if err != nil {
		t.Fatalf("rp.RefreshTokens: %v", err)
	}
	if refreshed.AccessToken == "" || refreshed.RefreshToken == "" || refreshed.RefreshToken == first.RefreshToken {
		t.Errorf("the refresh gave a new access token %t and a rotated refresh token %t; want both", refreshed.AccessToken != "", refreshed.RefreshToken != "" && refreshed.RefreshToken != first.RefreshToken)
	}
	if refreshed.IDTokenClaims == nil || refreshed.IDTokenClaims.Subject != userID {
		t.Errorf("the refresh's ID token: %+v; want one for %s (Core 12.2)", refreshed.IDTokenClaims, userID)
	}
	if ui, err := rp.Userinfo[*oidc.UserInfo](ctx, refreshed.AccessToken, "Bearer", userID, relying); err != nil || ui.Email != opEmail {
		t.Errorf("userinfo with the refreshed access token: %v, %v; want %s", ui, err, opEmail)
	}

	// Introspection (RFC 7662) by the app that owns the tokens, and by
	// another app, which must learn nothing.
	owner, err := rs.NewResourceServerClientCredentials(ctx, in.base, app.ClientID, app.ClientSecret)
	if err != nil {
		t.Fatalf("zitadel's resource server cannot use Latch's discovery: %v", err)
	}
	stranger, err := rs.NewResourceServerClientCredentials(ctx, in.base, other.ClientID, other.ClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	introspect := func(server rs.ResourceServer, token string) *oidc.IntrospectionResponse {
		t.Helper()
		r, err := rs.Introspect[*oidc.IntrospectionResponse](ctx, server, token)
		if err != nil {
			t.Fatalf("rs.Introspect: %v", err)
		}
		return r
	}
	if r := introspect(owner, refreshed.AccessToken); !r.Active || r.ClientID != app.ClientID || r.Subject != userID || !slices.Contains(r.Scope, "openid") {
		t.Errorf("the owner introspects its access token: active %v, client %q, sub %q, scope %v; want active, %s, %s, openid", r.Active, r.ClientID, r.Subject, r.Scope, app.ClientID, userID)
	}
	if r := introspect(owner, refreshed.RefreshToken); !r.Active || r.ClientID != app.ClientID {
		t.Errorf("the owner introspects its refresh token: active %v, client %q; want active, %s", r.Active, r.ClientID, app.ClientID)
	}
	if r := introspect(stranger, refreshed.AccessToken); r.Active || r.Subject != "" || r.ClientID != "" {
		t.Errorf("another app introspects this app's access token: %+v; want only active=false", r)
	}

	if err := rp.RevokeToken(ctx, relying, refreshed.RefreshToken, "refresh_token"); err != nil {
		t.Fatalf("rp.RevokeToken: %v", err)
	}
	_, err = rp.RefreshTokens[*oidc.IDTokenClaims](ctx, relying, refreshed.RefreshToken, "", "")
	if oerr := (*oidc.Error)(nil); !errors.As(err, &oerr) || oerr.ErrorType != oidc.InvalidGrant {
		t.Errorf("refreshing with the revoked refresh token: %v; want invalid_grant", err)
	}
	if r := introspect(owner, refreshed.AccessToken); r.Active {
		t.Errorf("the access token of the revoked grant, introspected: active; want inactive (revoking the refresh token ends the grant)")
	}
	if _, err := rp.Userinfo[*oidc.UserInfo](ctx, refreshed.AccessToken, "Bearer", userID, relying); err == nil {
		t.Errorf("userinfo with the access token of the revoked grant answered; want 401")
	}
	// Revoking again, or something unknown, is no error (RFC 7009 §2.2).
	if err := rp.RevokeToken(ctx, relying, "not-a-token", ""); err != nil {
		t.Errorf("revoking an unknown token: %v; want 200 and no error", err)
	}
}
