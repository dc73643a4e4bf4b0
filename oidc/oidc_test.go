package oidc_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/oidc"
)

func random(t *testing.T) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func freeURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String() + "/v1/oauth/dex/callback"
}

func TestOIDCWithDex(t *testing.T) {
	redirect := freeURL(t)
	dex := testenv.StartDex(t, redirect)
	p := oidc.NewOIDC(oidc.OIDCConfig{Name: "dex", Issuer: dex.Issuer, ClientID: dex.ClientID, ClientSecret: dex.ClientSecret, RedirectURL: redirect})
	ctx := context.Background()

	flow := func() (state, nonce, verifier string, query url.Values) {
		state, nonce, verifier = random(t), random(t), random(t)
		authURL, err := p.AuthCodeURL(ctx, state, nonce, verifier)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(authURL)
		if u.Query().Get("code_challenge_method") != "S256" || u.Query().Get("nonce") != nonce || u.Query().Get("state") != state {
			t.Fatalf("auth URL lacks PKCE, nonce or state: %s", authURL)
		}
		return state, nonce, verifier, testenv.NewBrowser(redirect).SignInAtDex(t, dex, authURL).Query()
	}

	state, nonce, verifier, q := flow()
	if q.Get("state") != state || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	ext, err := p.Exchange(ctx, q.Get("code"), verifier, nonce)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if ext.Provider != latch.ProviderOIDC || ext.Subject == "" || ext.Email != dex.Email || !ext.EmailVerified {
		t.Fatalf("identity %+v", ext)
	}
	// A code is single use.
	if _, err := p.Exchange(ctx, q.Get("code"), verifier, nonce); !latch.IsCode(err, oidc.CodeProviderRefused) {
		t.Fatalf("replayed code: %v", err)
	}
	// The nonce of another flow is refused.
	_, _, verifier, q = flow()
	if _, err := p.Exchange(ctx, q.Get("code"), verifier, "some other nonce"); !latch.IsCode(err, oidc.CodeProviderRefused) {
		t.Fatalf("nonce mismatch: %v", err)
	}
	// A wrong PKCE verifier is refused by Dex.
	_, nonce, _, q = flow()
	if _, err := p.Exchange(ctx, q.Get("code"), random(t), nonce); !latch.IsCode(err, oidc.CodeProviderRefused) {
		t.Fatalf("wrong verifier: %v", err)
	}
}

func TestProviderDown(t *testing.T) {
	p := oidc.NewOIDC(oidc.OIDCConfig{Name: "down", Issuer: strings.TrimSuffix(freeURL(t), "/v1/oauth/dex/callback"), ClientID: "x"})
	_, err := p.AuthCodeURL(context.Background(), "s", "n", "v")
	var le *latch.Error
	if !errors.As(err, &le) || le.Kind != latch.KindUnavailable || le.Code != oidc.CodeProviderUnavailable {
		t.Fatalf("unreachable issuer: %v", err)
	}
	if strings.Contains(le.Message, "127.0.0.1") {
		t.Fatalf("the message shows internals: %q", le.Message)
	}
}
