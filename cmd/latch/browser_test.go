package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchid/latch/internal/testenv"
)

// TestBrowserJourney is issue 4's journey in headless Chromium against the
// built binary and a real Dex: click the provider button on /login, fill
// Dex's form, land on the account page, see a policy error, set the
// password, sign out, and sign in with the password on /login. Each step
// leaves a screenshot in bin/artifacts/browser-journey.
func TestBrowserJourney(t *testing.T) {
	in, dex := newInstanceWithDex(t)
	in.serve(t)
	ctx := testenv.Chromium(t)
	dir := testenv.ArtifactsDir(t, "browser-journey")
	step := 0
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			png, err := chromedp.CaptureScreenshot()(ctx, target)
			if err != nil {
				return err
			}
			step++
			return os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d-%s.png", step, name)), png, 0o644)
		})
	}
	fail := func(what string, err error) {
		t.Helper()
		location, _ := chromedp.Run(ctx, chromedp.Location())
		page, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: %v (at %s: %q)", what, err, location, page)
	}
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(tctx, steps...); err != nil {
			fail(what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fail("reading "+sel, err)
		}
		return strings.TrimSpace(s)
	}
	const pw = "a browser set this password"
	do("open /login and choose Dex",
		chromedp.Navigate(in.base+"/login"),
		chromedp.WaitVisible(chromedp.ID("provider-dex")),
		shot("login"),
		chromedp.Click(chromedp.ID("provider-dex")),
		chromedp.WaitVisible(chromedp.ID("login")),
		shot("dex-login"),
	)
	do("sign in at Dex",
		chromedp.SendKeys(chromedp.ID("login"), dex.Email),
		chromedp.SendKeys(chromedp.ID("password"), dex.Password),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("save-password")),
		shot("account"),
	)
	if location, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(location, "/account") {
		t.Fatalf("after Dex the browser is at %s", location)
	}
	do("a password the policy refuses",
		chromedp.SendKeys(chromedp.ID("password"), "short"),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), "short"),
		chromedp.Click(chromedp.ID("save-password")),
		chromedp.WaitVisible(chromedp.CSS(".field-error")),
		shot("policy-error"),
	)
	if got := text(".field-error"); !strings.Contains(got, "at least 8 characters") {
		t.Fatalf("policy error shown: %q", got)
	}
	do("set the password",
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), pw),
		chromedp.Click(chromedp.ID("save-password")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
		shot("password-saved"),
	)
	if got := text(".notice"); !strings.Contains(got, "password is saved") {
		t.Fatalf("notice: %q", got)
	}
	do("sign out and sign in with the password",
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		chromedp.SendKeys(chromedp.ID("email"), dex.Email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		shot("password-login"),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("identities")),
		shot("signed-in-with-password"),
	)
	if got := text("#email"); got != dex.Email {
		t.Fatalf("signed in as %q", got)
	}
}
