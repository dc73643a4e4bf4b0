package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"

	"github.com/latchid/latch/internal/testenv"
)

// TestTakeoverPathsClosed drives the built binary with two real OIDC
// issuers (two Dex processes) configured as providers "corp" and
// "partner", which hand out the same subject to different people, through
// the two account-takeover paths of the security review:
//
//   - identities keyed by provider type: partner's mallory, whose sub
//     equals corp's alice's, was signed into alice's account;
//   - an API client of another tenant plants victim@corp.example with
//     email_verified and a password it knows; the victim's first corp
//     sign-in was linked into that account.
func TestTakeoverPathsClosed(t *testing.T) {
	for name, dsn := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + testenv.SQLitePath(t) },
		"postgres": func(t *testing.T) string { return testenv.PostgresURL(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testTakeoverPathsClosed(t, dsn(t))
		})
	}
}

func testTakeoverPathsClosed(t *testing.T, dsn string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := "http://" + ln.Addr().String() + "/app/callback"
	ln.Close()
	in := newInstance(t, dsn)
	const sameUserID = "5d1f1a52-0000-4000-8000-00000000a11c" // one Dex subject at both issuers
	corp := testenv.StartDexWith(t, in.base+"/v1/oauth/corp/callback",
		testenv.DexUser{Email: "alice@corp.example", UserID: sameUserID},
		testenv.DexUser{Email: "victim@corp.example", UserID: "5d1f1a52-0000-4000-8000-0000000000b2"})
	partner := testenv.StartDexWith(t, in.base+"/v1/oauth/partner/callback",
		testenv.DexUser{Email: "mallory@partner.example", UserID: sameUserID})
	in.env = append(in.env, "LATCH_REDIRECT_ALLOWLIST="+app, "LATCH_PROVIDERS=corp,partner",
		"LATCH_PROVIDER_CORP_ISSUER="+corp.Issuer, "LATCH_PROVIDER_CORP_CLIENT_ID="+corp.ClientID, "LATCH_PROVIDER_CORP_CLIENT_SECRET="+corp.ClientSecret,
		"LATCH_PROVIDER_PARTNER_ISSUER="+partner.Issuer, "LATCH_PROVIDER_PARTNER_CLIENT_ID="+partner.ClientID, "LATCH_PROVIDER_PARTNER_CLIENT_SECRET="+partner.ClientSecret)

	// Tenant A's client, set up before the victim ever signs in.
	in.cli(t, "", "migrate")
	var tenant struct{ ID string }
	decode(t, in.cli(t, "", "tenants", "create", "--name", "tenant-a"), &tenant)
	var client struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	decode(t, in.cli(t, "", "clients", "create", "--name", "planter", "--scope", "Manage All", "--tenant", tenant.ID), &client)
	in.serve(t)

	verifier := "the-app-s-pkce-verifier-0123456789-abcdefghijklmnop"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	// signIn runs the app's whole flow through provider at dex as email
	// and returns where the browser landed.
	signIn := func(provider string, dex testenv.Dex, email string) *url.URL {
		t.Helper()
		dex.Email = email
		start := in.base + "/v1/oauth/" + provider + "/start?" + url.Values{"redirect_to": {app}, "code_challenge": {challenge}, "state": {"s"}}.Encode()
		return testenv.NewBrowser(app).SignInAtDex(t, dex, start)
	}
	redeem := func(landed *url.URL) string {
		t.Helper()
		form := url.Values{"grant_type": {"authorization_code"}, "code": {landed.Query().Get("code")}, "code_verifier": {verifier}, "redirect_uri": {app}}
		s, tok := in.call(t, "POST", "/v1/token", "", "application/x-www-form-urlencoded", form.Encode())
		if s != 200 {
			t.Fatalf("code exchange after %s: %d %v", landed, s, tok)
		}
		return tok["access_token"].(string)
	}
	me := func(access string) map[string]any {
		t.Helper()
		s, body := in.call(t, "GET", "/v1/me", access, "", "")
		if s != 200 {
			t.Fatalf("/v1/me: %d %v", s, body)
		}
		return body
	}

	// Path 1: alice signs in at corp and sets a password.
	aliceAccess := redeem(signIn("corp", corp, "alice@corp.example"))
	alice := me(aliceAccess)
	const alicePW = "correct horse battery staple 7"
	if s, body := in.call(t, "POST", "/users/me/password", aliceAccess, "application/json", fmt.Sprintf(`{"password":%q,"password_confirmation":%q}`, alicePW, alicePW)); s != 204 {
		t.Fatalf("alice sets a password: %d %v", s, body)
	}
	// mallory signs in at partner with the very same subject.
	mallory := me(redeem(signIn("partner", partner, "mallory@partner.example")))
	if mallory["id"] == alice["id"] || mallory["email"] != "mallory@partner.example" {
		t.Fatalf("partner's user got account %v (%v); alice's is %v", mallory["id"], mallory["email"], alice["id"])
	}
	// Same subject, two issuers: two identities, neither shared.
	shownAlice, shownMallory := showUser(t, in, "alice@corp.example"), showUser(t, in, "mallory@partner.example")
	ia, im := shownAlice.Identities, shownMallory.Identities
	if len(ia) != 1 || len(im) != 1 || ia[0].Subject != im[0].Subject || ia[0].Issuer != corp.Issuer || im[0].Issuer != partner.Issuer {
		t.Fatalf("identities: alice %+v, mallory %+v (the test needs one subject at two issuers)", ia, im)
	}
	if s, _ := in.login(t, "alice@corp.example", alicePW); s != 200 {
		t.Fatalf("alice's password after mallory's sign-in: %d", s)
	}

	// Path 2: tenant A's client plants the victim's address, "verified",
	// with a password it knows.
	s, tok := in.call(t, "POST", "/v1/token", "", "application/x-www-form-urlencoded",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {client.ID}, "client_secret": {client.Secret}}.Encode())
	if s != 200 {
		t.Fatalf("client token: %d %v", s, tok)
	}
	s, planted := in.call(t, "POST", "/v1/admin/users", tok["access_token"].(string), "application/json",
		`{"email":"victim@corp.example","email_verified":true,"password":"Planted-Pass-123!"}`)
	if s != 201 || planted["email_verified_by"] != "asserted" {
		t.Fatalf("planting: %d %v", s, planted)
	}
	landed := signIn("corp", corp, "victim@corp.example")
	if landed.Query().Get("code") != "" || landed.Query().Get("error") != "access_denied" {
		t.Fatalf("the victim's sign-in into a planted account landed on %s", landed)
	}
	if shown := showUser(t, in, "victim@corp.example"); len(shown.Identities) != 0 || shown.TenantID != tenant.ID {
		t.Fatalf("the planted account after the victim's sign-in: %+v", shown)
	}
}

type shownUser struct {
	ID         string `json:"id"`
	TenantID   string `json:"tenant_id"`
	VerifiedBy string `json:"verified_by"`
	Identities []struct {
		Provider string `json:"provider"`
		Issuer   string `json:"issuer"`
		Subject  string `json:"subject"`
	} `json:"identities"`
}

func showUser(t *testing.T, in *instance, email string) shownUser {
	t.Helper()
	var u shownUser
	if err := json.Unmarshal([]byte(in.cli(t, "", "users", "show", "--email", email)), &u); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u.ID, "-") {
		t.Fatalf("users show %s: %+v", email, u)
	}
	return u
}
