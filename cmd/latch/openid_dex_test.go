package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchid/latch/internal/testenv"
)

// TestOpenIDDexUpstream: Dex, configured with Latch as its upstream
// OpenID Connect connector, signs a person in through Latch, on the built
// binary and both stores. Latch's app for Dex is confidential and
// first-party, registered with --pkce-optional (this Dex sends no PKCE,
// dexidp/dex#3777). A browser without JavaScript goes to Dex, which sends
// it to Latch's authorization endpoint; it signs in on Latch's page and
// comes back through Dex's callback to the test's client with Dex's code;
// Dex's ID token names the Latch user's email.
func TestOpenIDDexUpstream(t *testing.T) {
	for name, dsn := range openIDStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testOpenIDDexUpstream(t, dsn(t))
		})
	}
}

func testOpenIDDexUpstream(t *testing.T, dsn string) {
	in := newInstance(t, dsn)
	in.cli(t, "", "migrate")
	// Dex takes the username from the name claim (profile scope).
	const email = "dex.person@example.com"
	in.cli(t, opPassword+"\n", "users", "create", "--email", email, "--first-name", "Dex", "--last-name", "Person", "--password-stdin")
	dexIssuer := testenv.ReserveDexIssuer(t)
	app := createApp(t, in, "--name", "Dex", "--type", "confidential", "--first-party", "--pkce-optional",
		"--redirect-uri", testenv.DexCallback(dexIssuer), "--scope", "openid,email,profile")
	in.serve(t)
	client := "http://" + freeLoopback(t) + "/dex-client/callback" // nothing listens: the agent stops there
	dex := testenv.StartDexWithUpstream(t, dexIssuer, client, testenv.DexUpstream{
		Issuer: in.base, ClientID: app.ClientID, ClientSecret: app.ClientSecret,
		Scopes: []string{"email", "profile"}, GetUserInfo: true,
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	provider, err := oidc.NewProvider(ctx, dex.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: dex.ClientID, ClientSecret: dex.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: client, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	verifier := oauth2.GenerateVerifier()
	ag := newAgent(client)
	res := ag.get(t, conf.AuthCodeURL("dex-client-state", oidc.Nonce("dex-client-nonce"), oauth2.S256ChallengeOption(verifier)))
	if !strings.HasPrefix(res.url.String(), in.base+"/") {
		t.Fatalf("Dex sent the browser to %s (%d), not to Latch at %s:\n%s", res.url, res.status, in.base, res.body)
	}
	login := res.form(t, "/login")
	res = ag.post(t, res.resolve(login.action), login.with(url.Values{"email": {email}, "password": {opPassword}}))
	if ag.landed == nil {
		t.Fatalf("after signing in at Latch the browser is at %s (%d), not back at Dex's client %s:\n%s", res.url, res.status, client, res.body)
	}
	var throughDex bool
	for _, hop := range ag.hops {
		throughDex = throughDex || strings.HasPrefix(hop, testenv.DexCallback(dex.Issuer)+"?")
	}
	if !throughDex || ag.landed.Query().Get("state") != "dex-client-state" || ag.landed.Query().Get("code") == "" {
		t.Fatalf("the browser came back to %s (via Dex's callback: %v); want Dex's code and state=dex-client-state, through %s", ag.landed, throughDex, testenv.DexCallback(dex.Issuer))
	}

	tok, err := conf.Exchange(ctx, ag.landed.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Dex's code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: dex.ClientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("Dex's ID token: %v", err)
	}
	var claims struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != email || idt.Nonce != "dex-client-nonce" {
		t.Fatalf("Dex's ID token: email %q, name %q, nonce %q (%v); want the Latch user's %s and dex-client-nonce", claims.Email, claims.Name, idt.Nonce, err, email)
	}
}
