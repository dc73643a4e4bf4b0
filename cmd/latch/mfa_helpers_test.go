package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// Helpers of the second-factor journeys (issue 16): a Latch whose public
// URL is a domain (WebAuthn refuses an IP address as relying-party id:
// Chromium answers "SecurityError: This is an invalid domain" on
// 127.0.0.1), a virtual authenticator, TOTP codes computed from the secret
// the page shows, and a phishing proxy serving Latch's pages on another
// origin.

// The password user of every second-factor journey.
const (
	mfaEmail    = "two.steps@example.com"
	mfaPassword = "correct horse battery staple 16"
)

// mfaInstance is a migrated, serving Latch on dsn at http://localhost:port
// (LATCH_PUBLIC_URL, so the relying-party id is "localhost"), with the
// password user mfaEmail.
func mfaInstance(t *testing.T, dsn string) *instance {
	t.Helper()
	in := newInstance(t, dsn)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(in.base, "http://"))
	in.base = "http://localhost:" + port
	in.env = append(in.env, "LATCH_PUBLIC_URL="+in.base)
	in.cli(t, "", "migrate")
	in.cli(t, mfaPassword+"\n", "users", "create", "--email", mfaEmail, "--password-stdin")
	in.serve(t)
	return in
}

// virtualAuthenticator enables the DevTools WebAuthn domain on the tab of
// ctx and adds a platform authenticator that holds discoverable
// credentials, verifies its user and is touched at once: a laptop's
// fingerprint reader whose owner always says yes.
func virtualAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	r, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21,
		Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
		IsUserVerified: true, AutomaticPresenceSimulation: true,
	}})
	if err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return r.AuthenticatorID
}

// authenticatorCredentials lists what the virtual authenticator holds.
func authenticatorCredentials(t *testing.T, ctx context.Context, id webauthn.AuthenticatorID) []*webauthn.Credential {
	t.Helper()
	r, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return r.Credentials
}

// totpClock hands out codes of an authenticator app for secret, each of a
// time step later than every code handed out before (Latch accepts a step
// once, and no step below the last accepted: a code of an earlier step is
// refused as a replay would be). It waits for the next step when the
// window of ±1 step has none left.
type totpClock struct {
	t      *testing.T
	secret string
	last   int64 // the last step handed out; 0 before the first
}

const totpPeriod = 30

func newTOTPClock(t *testing.T, secret string) *totpClock {
	return &totpClock{t: t, secret: strings.ToUpper(strings.ReplaceAll(secret, " ", ""))}
}

// next is a fresh code and its step.
func (c *totpClock) next() (string, int64) {
	c.t.Helper()
	now := time.Now().Unix() / totpPeriod
	step := max(c.last+1, now)
	if step > now+1 {
		// Wait until step is the next one (one step of skew), with a
		// second to spare.
		until := time.Unix((step-1)*totpPeriod+1, 0)
		c.t.Logf("waiting %s for a fresh TOTP step", time.Until(until).Round(time.Second))
		time.Sleep(time.Until(until))
	}
	c.last = step
	return c.code(step), step
}

// code is the code of step.
func (c *totpClock) code(step int64) string {
	c.t.Helper()
	code, err := totp.GenerateCodeCustom(c.secret, time.Unix(step*totpPeriod, 0), totp.ValidateOpts{
		Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		c.t.Fatalf("computing a TOTP code from the secret %q: %v", c.secret, err)
	}
	return code
}

// phishingProxy serves Latch's pages on another origin, as a phishing
// site in the middle would: every request goes on to Latch with Origin and
// Referer rewritten to Latch's own (so Latch's cross-site checks pass),
// and Latch's redirects come back rewritten to the proxy. Only what the
// browser signs can tell the two origins apart. It returns the proxy's
// base URL, http://localhost:<another port> (the same relying-party id,
// "localhost", so the browser lets Latch's script run the ceremony there).
func phishingProxy(t *testing.T, latchBase string) string {
	t.Helper()
	target, err := url.Parse(latchBase)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	base := "http://localhost:" + port
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			for _, h := range []string{"Origin", "Referer"} {
				if v := r.In.Header.Get(h); v != "" {
					r.Out.Header.Set(h, strings.Replace(v, base, latchBase, 1))
				}
			}
		},
		ModifyResponse: func(res *http.Response) error {
			if loc := res.Header.Get("Location"); strings.HasPrefix(loc, latchBase) {
				res.Header.Set("Location", base+strings.TrimPrefix(loc, latchBase))
			}
			return nil
		},
	}
	srv := &http.Server{Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return base
}
