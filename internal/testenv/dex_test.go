package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestDexWithUpstream checks StartDexWithUpstream with a provider known
// to work, another Dex: a person signs in to the front Dex through the
// upstream Dex's password form, and the front Dex's ID token carries the
// upstream's email. (cmd/latch's TestOpenIDDexUpstream puts Latch
// upstream.)
func TestDexWithUpstream(t *testing.T) {
	front := ReserveDexIssuer(t)
	upstream := StartDex(t, DexCallback(front))
	client := "http://127.0.0.1:1/client/callback" // nothing listens: the browser stops there
	d := StartDexWithUpstream(t, front, client, DexUpstream{
		Issuer: upstream.Issuer, ClientID: upstream.ClientID, ClientSecret: upstream.ClientSecret,
		Scopes: []string{"email", "profile"}, GetUserInfo: true,
	})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	provider, err := oidc.NewProvider(ctx, d.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: d.ClientID, ClientSecret: d.ClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: client, Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	verifier := oauth2.GenerateVerifier()
	start := conf.AuthCodeURL("front-state", oidc.Nonce("front-nonce"), oauth2.S256ChallengeOption(verifier))
	landed := NewBrowser(client).SignInAtDex(t, upstream, start)
	if landed.Query().Get("state") != "front-state" || landed.Query().Get("code") == "" {
		t.Fatalf("the front Dex sent the browser to %s; want its client with a code and state=front-state", landed)
	}
	tok, err := conf.Exchange(ctx, landed.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("the front Dex's code: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: d.ClientID}).Verify(ctx, raw)
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != upstream.Email || idt.Nonce != "front-nonce" {
		t.Fatalf("the front Dex's ID token: email %q, nonce %q (%v); want %s from upstream, front-nonce", claims.Email, idt.Nonce, err, upstream.Email)
	}
}
