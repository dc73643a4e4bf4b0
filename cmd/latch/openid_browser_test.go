package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestOpenIDBrowser is issue 15's journey of a relying party nobody here
// wrote, on the built binary and both stores: examples/oidc-app (go-oidc
// and x/oauth2) runs as its own process, registered with the README's
// command as a third-party app, and headless Chromium opens it, signs in
// on Latch's page, consents, and lands back on the app as the right
// person; then refreshes, and signs out (revocation and end_session).
// After that the refresh token is refused at Latch's token endpoint and
// Latch's /account asks for a sign-in again. Screenshots go to
// bin/artifacts/openid-browser.
func TestOpenIDBrowser(t *testing.T) {
	for name, dsn := range openIDStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testOpenIDBrowser(t, name, dsn(t))
		})
	}
}

func testOpenIDBrowser(t *testing.T, store, dsn string) {
	bin, err := exampleApp()
	if err != nil {
		t.Fatalf("building examples/oidc-app: %v", err)
	}
	in, userID := openIDInstance(t, dsn)
	// The app on localhost, Latch on 127.0.0.1: two sites to the browser,
	// as an app and its provider are.
	appAddr := freeLoopback(t)
	appBase := "http://localhost:" + strings.TrimPrefix(appAddr, "127.0.0.1:")
	register := strings.ReplaceAll(readmeAppsCreate(t), "http://127.0.0.1:9000", appBase)
	var app registeredApp
	decode(t, in.shell(t, register), &app)
	in.serve(t)

	cookieKey := make([]byte, 32)
	for i := range cookieKey {
		cookieKey[i] = byte(i*7 + 1)
	}
	logs := startExampleApp(t, bin, appAddr, "OIDC_ISSUER="+in.base, "OIDC_CLIENT_ID="+app.ClientID, "OIDC_CLIENT_SECRET="+app.ClientSecret,
		"OIDC_REDIRECT_URL="+appBase+"/callback", "OIDC_POST_LOGOUT_REDIRECT_URL="+appBase+"/",
		"APP_ADDR="+appAddr, "APP_COOKIE_KEY="+base64.StdEncoding.EncodeToString(cookieKey))

	ctx, shot, do, text := browser(t, "openid-browser/"+store)
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	do("open the app and choose to sign in",
		chromedp.Navigate(appBase+"/"),
		chromedp.WaitVisible(chromedp.ID("app-login")),
		chromedp.Click(chromedp.ID("app-login")),
		chromedp.WaitVisible(chromedp.ID("password")),
	)
	if loc := location(); !strings.HasPrefix(loc, in.base+"/") {
		t.Fatalf("the app's sign-in led to %s, not to Latch at %s", loc, in.base)
	}
	do("sign in on Latch's page",
		chromedp.SendKeys(chromedp.ID("email"), opEmail),
		chromedp.SendKeys(chromedp.ID("password"), opPassword),
		shot("login"),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.CSS(`button[name="decision"][value="allow"]`)),
		shot("consent"),
	)
	if loc := location(); !strings.HasPrefix(loc, in.base+"/") {
		t.Fatalf("the consent page is at %s, not Latch's", loc)
	}
	if got := text("main"); !strings.Contains(got, "Example app") {
		t.Errorf("the consent page does not name the app (Example app, as registered): %q", got)
	}
	do("allow, and land back on the app",
		chromedp.Click(chromedp.CSS(`button[name="decision"][value="allow"]`)),
		chromedp.WaitVisible(chromedp.ID("app-email")),
		shot("app-signed-in"),
	)
	if got := text("#app-email"); got != opEmail {
		t.Fatalf("the app shows the signed-in email %q, want %q", got, opEmail)
	}
	if got := text("#app-sub"); got != userID {
		t.Errorf("the app shows subject %q, want the Latch user's id %q", got, userID)
	}
	if loc := location(); loc != appBase+"/" {
		t.Errorf("after the sign-in the browser is at %s, want the app's %s/", loc, appBase)
	}

	do("refresh the tokens",
		chromedp.Click(chromedp.ID("app-refresh")),
		chromedp.WaitVisible(chromedp.ID("app-refreshed")),
		shot("app-refreshed"),
	)
	if got := text("#app-email"); got != opEmail {
		t.Fatalf("after the refresh the app shows %q, want %q", got, opEmail)
	}
	// The refresh token the app holds now (the rotated one), read from
	// its session cookie with the key the test gave it.
	refreshToken := appRefreshToken(t, ctx, appBase, cookieKey)

	do("sign out",
		chromedp.Click(chromedp.ID("app-sign-out")),
		chromedp.WaitVisible(chromedp.ID("app-login")),
		shot("app-signed-out"),
	)
	if loc := location(); !strings.HasPrefix(loc, appBase+"/") {
		t.Errorf("after signing out the browser is at %s, want back at the app's post-logout URL %s/", loc, appBase)
	}
	if !strings.Contains(logs.String(), "refresh token revoked") {
		t.Errorf("the app did not revoke its refresh token at Latch's revocation endpoint; its log:\n%s", logs.String())
	}
	if s, body := tokenRequest(t, in, "/oauth2/token", app, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}); s != 400 || body["error"] != "invalid_grant" {
		t.Errorf("the app's refresh token after the sign-out: %d %v, want 400 invalid_grant", s, body)
	}
	do("Latch's /account after the sign-out",
		chromedp.Navigate(in.base+"/account"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		shot("account-asks-sign-in"),
	)
	if loc := location(); !strings.HasPrefix(loc, in.base+"/login") {
		t.Errorf("Latch's /account after the sign-out is at %s, want its /login", loc)
	}
	if strings.Contains(logs.String(), refreshToken) || strings.Contains(in.log.String(), refreshToken) {
		t.Errorf("a refresh token is in a log")
	}
	// Last, as the consent above is remembered: the app's own checks.
	exampleRefusesForgedCallbacks(t, "http://"+appAddr)
	exampleRefusesAnotherNonce(t, "http://"+appAddr)
}

// startExampleApp runs the example app built at bin with env until t
// ends, and waits until it answers on addr; it returns its log.
func startExampleApp(t *testing.T, bin, addr string, env ...string) *lockedBuffer {
	t.Helper()
	logs := &lockedBuffer{}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil && !t.Failed() {
				t.Errorf("the example app exited with %v; its log:\n%s", err, logs.String())
			}
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the example app did not stop on SIGINT")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("the example app exited (%v) before it served; its log:\n%s", err, logs.String())
		default:
		}
		res, err := http.Get("http://" + addr + "/")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return logs
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the example app did not answer on %s; its log:\n%s", addr, logs.String())
	return logs
}

// exampleRefusesForgedCallbacks: the example app's callback takes no
// answer to a sign-in it did not start (no login cookie, or another
// state), nor one without Latch's iss or with another issuer's (RFC 9207:
// Latch's discovery says it always sends iss), and spends no code then.
func exampleRefusesForgedCallbacks(t *testing.T, app string) {
	t.Helper()
	ag := newAgent(app + "/nowhere")
	ag.within = app + "/"
	ag.get(t, app+"/login")
	if ag.landed == nil || ag.landed.Query().Get("state") == "" {
		t.Fatalf("the example app's /login went to %v; want the provider's authorization endpoint with a state", ag.landed)
	}
	state := ag.landed.Query().Get("state")
	iss := ag.landed.Scheme + "://" + ag.landed.Host
	for _, c := range []struct {
		what  string
		agent *agent
		query func(state string) string // of the agent's current sign-in
	}{
		{"a callback in a browser that started no sign-in", newAgent(""), func(s string) string { return "state=" + s + "&code=forged&iss=" + iss }},
		{"a callback with another state", ag, func(string) string { return "state=forged&code=forged&iss=" + iss }},
		{"a callback without iss", ag, func(s string) string { return "state=" + s + "&code=forged" }},
		{"a callback from another issuer", ag, func(s string) string { return "state=" + s + "&code=forged&iss=https://evil.example" }},
	} {
		res := c.agent.get(t, app+"/callback?"+c.query(state))
		if res.status != 400 || strings.Contains(res.body, "app-email") {
			t.Errorf("the example app took %s: %d %q; want 400 and no session", c.what, res.status, res.body)
		}
		if c.agent == ag {
			ag.get(t, app+"/login") // a fresh sign-in: a refused callback spends the cookie
			state = ag.landed.Query().Get("state")
		}
	}
}

// exampleRefusesAnotherNonce: a code Latch issued for the app's own
// request (its state, its PKCE challenge) but with another nonce, as an
// attacker who injects a code would have it, is exchanged by the app and
// refused for its ID token's nonce. The person has consented before.
func exampleRefusesAnotherNonce(t *testing.T, app string) {
	t.Helper()
	ag := newAgent(app + "/nowhere")
	ag.within = app + "/"
	ag.get(t, app+"/login")
	if ag.landed == nil {
		t.Fatalf("the example app's /login did not go to the provider")
	}
	request := *ag.landed
	q := request.Query()
	q.Set("nonce", "injected-nonce")
	request.RawQuery = q.Encode()
	callback, _ := url.Parse(q.Get("redirect_uri"))
	ag.within, ag.stopAt, ag.landed = "", callback.String(), nil
	landed := ag.signInAtLatch(t, request.String(), opEmail, opPassword, false)
	if landed.Query().Get("code") == "" || landed.Query().Get("state") != q.Get("state") {
		t.Fatalf("signing in for the injected code landed on %s; want a code and the app's state", landed)
	}
	// The app listens on app's host; its callback is registered on
	// localhost, where the browser keeps another cookie jar.
	landed.Host = strings.TrimPrefix(app, "http://")
	res := ag.get(t, landed.String())
	if res.status != 502 || !strings.Contains(res.body, "ID token is not valid") {
		t.Errorf("the example app took a code whose ID token has another nonce: %d %q; want 502 and no session", res.status, res.body)
	}
}

// appRefreshToken opens the example app's session cookie in the browser
// (sealed with AES-GCM under key, the cookie's name as additional data,
// as examples/oidc-app seals it) and returns its refresh token.
func appRefreshToken(t *testing.T, ctx context.Context, appBase string, key []byte) string {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := chromedp.Run(tctx, chromedp.Action[*network.GetCookiesResult](func(ctx context.Context, target *chromedp.Target) (*network.GetCookiesResult, error) {
		r, err := cdp.Call(ctx, target, network.GetCookies, network.GetCookiesParams{URLs: []string{appBase + "/"}})
		return &r, err
	}))
	if err != nil {
		t.Fatalf("reading the browser's cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name != "oidc_app_session" {
			continue
		}
		if !c.HTTPOnly {
			t.Errorf("the app's session cookie is readable by scripts")
		}
		sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
		block, _ := aes.NewCipher(key)
		aead, _ := cipher.NewGCM(block)
		if err != nil || len(sealed) < aead.NonceSize() {
			t.Fatalf("the app's session cookie is not sealed as expected")
		}
		plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(c.Name))
		if err != nil {
			t.Fatalf("opening the app's session cookie: %v", err)
		}
		var box struct{ V struct{ RefreshToken string } }
		if err := json.Unmarshal(plain, &box); err != nil || box.V.RefreshToken == "" {
			t.Fatalf("the app's session has no refresh token (did Latch issue one for offline_access?)")
		}
		return box.V.RefreshToken
	}
	t.Fatalf("the browser holds no session cookie of the app")
	return ""
}
