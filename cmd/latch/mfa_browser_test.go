package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/latchid/latch/internal/testenv"
)

// TestBrowserPasskeys is issue 16's passkey journey in headless Chromium
// with a virtual authenticator (the DevTools WebAuthn domain), against the
// built binary on both stores: a person signs in with a password on
// /login, adds a passkey on /account, removes it and adds a new one (with
// the passkey again where the page asks for a step-up), signs out, signs
// back in with only the passkey (the button, and the autofill), and uses
// it as the second factor after the password; the native API's passkey
// flows run with the same authenticator. The same pages served on another
// origin by a phishing proxy get a genuine assertion of that passkey and
// are refused, for the passwordless sign-in and for the factor step; so is
// a clone of it with a lower sign count (audited, the passkey kept). Last
// the passkey is removed, and the authenticator that still holds it signs
// nobody in. Screenshots go to bin/artifacts/mfa-passkeys/<store>.
func TestBrowserPasskeys(t *testing.T) {
	for name, dsn := range openIDStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testBrowserPasskeys(t, name, dsn(t))
		})
	}
}

func testBrowserPasskeys(t *testing.T, store, dsn string) {
	in := mfaInstance(t, dsn)
	ctx, shot, do, text := browser(t, "mfa-passkeys/"+store)
	auth := virtualAuthenticator(t, ctx)
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return loc
	}
	signInWithPassword := func(base string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(base+"/login"),
			chromedp.WaitVisible(chromedp.ID("sign-in")),
			chromedp.SendKeys(chromedp.ID("email"), mfaEmail),
			chromedp.SendKeys(chromedp.ID("password"), mfaPassword),
			chromedp.Click(chromedp.ID("sign-in")),
		)
	}
	signOut := chromedp.Steps(chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("sign-in")))
	// Removing the passkey, with the passkey again when the page asks for
	// a step-up (a session whose factor check is not fresh).
	removePasskey := chromedp.Steps(
		chromedp.Click(chromedp.CSS(`button[aria-label="Remove Laptop"]`)),
		landed(`location.search === "?factor=removed" || document.getElementById("step-up-passkey") !== null`),
		chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
			stepUp, err := chromedp.Evaluate[bool](`document.getElementById("step-up-passkey") !== null`)(ctx, target)
			if err != nil || !stepUp {
				return err
			}
			t.Log("the removal asked for a step-up")
			_, err = chromedp.Steps(shot("step-up"), chromedp.Click(chromedp.ID("step-up-passkey")), landed(`location.search === "?factor=removed"`))(ctx, target)
			return err
		}),
	)

	// /login also offers passkeys in the email's autofill (conditional
	// mediation), and the virtual authenticator answers such a request at
	// once, as a person picking the passkey there would: on every visit
	// to /login it would sign in by itself. The journey takes the button
	// (as a browser without conditional UI does) until its own step of
	// the autofill.
	autofill := withoutConditionalUI(t, ctx)

	// The button is in a form the page keeps hidden until Latch's script
	// finds WebAuthn: visible, it proves the script was served and the
	// page's CSP let it run.
	do("open /login",
		chromedp.Navigate(in.base+"/login"),
		chromedp.WaitVisible(chromedp.ID("passkey-sign-in")),
		shot("login"),
	)
	do("sign in with the password (no factor yet: straight to the account)",
		signInWithPassword(in.base),
		chromedp.WaitVisible(chromedp.ID("security")),
		chromedp.WaitVisible(chromedp.ID("add-passkey")),
	)
	do("add a passkey",
		chromedp.SendKeys(chromedp.ID("passkey_name"), "Laptop"),
		chromedp.Click(chromedp.ID("add-passkey")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if got := text(".notice"); !strings.Contains(got, "Second factor added") {
		t.Fatalf("after adding a passkey the account page says %q, want \"Second factor added\"", got)
	}
	if got := text("#factors"); !strings.Contains(got, "Laptop") || !strings.Contains(got, "passkey") {
		t.Fatalf("the account's factors after adding one: %q, want the passkey named Laptop", got)
	}
	creds := authenticatorCredentials(t, ctx, auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" || len(creds[0].UserHandle) == 0 {
		t.Fatalf("the authenticator holds %+v, want one discoverable credential for rpId localhost with a user handle", creds)
	}

	do("remove it", removePasskey)
	if got := text(".notice"); !strings.Contains(got, "Second factor removed") {
		t.Fatalf("after removing the passkey the account page says %q, want \"Second factor removed\"", got)
	}
	if got := text("#factors"); got != "None" {
		t.Fatalf("the account's factors after removing the only one: %q, want None", got)
	}
	// The person deletes it from the device too, and adds a new one.
	if _, err := chromedp.Call(ctx, webauthn.ClearCredentials, webauthn.ClearCredentialsParams{AuthenticatorID: auth}); err != nil {
		t.Fatal(err)
	}
	do("add the passkey again",
		chromedp.SendKeys(chromedp.ID("passkey_name"), "Laptop"),
		chromedp.Click(chromedp.ID("add-passkey")),
		landed(`location.search === "?factor=added"`),
		chromedp.ScrollIntoView(chromedp.ID("security")),
		shot("account-security"),
	)
	if got := text("#factors"); !strings.Contains(got, "Laptop") || !strings.Contains(got, "passkey") || !strings.Contains(got, "never used") {
		t.Fatalf("the account's factors: %q, want the new passkey Laptop, never used", got)
	}

	do("sign out, and sign in with only the passkey",
		signOut,
		chromedp.WaitVisible(chromedp.ID("passkey-sign-in")),
		chromedp.Click(chromedp.ID("passkey-sign-in")),
		chromedp.WaitVisible(chromedp.ID("security")),
		shot("signed-in-by-passkey"),
	)
	if got, loc := text("#email"), location(); got != mfaEmail || loc != in.base+"/account" {
		t.Fatalf("after the passkey sign-in the browser is at %s signed in as %q, want %s/account as %s", loc, got, in.base, mfaEmail)
	}
	if got := text("#factors"); !strings.Contains(got, "last used") {
		t.Errorf("the passkey's row after signing in with it: %q, want a last use", got)
	}

	// The passkey as the second factor of a password sign-in.
	do("sign out; the password leads to the factor step",
		signOut,
		signInWithPassword(in.base),
		chromedp.WaitVisible(chromedp.ID("use-passkey")),
		shot("factor-step-passkey"),
	)
	if n := count(t, ctx, "#totp-form, #recovery-form"); n != 0 {
		t.Errorf("the factor step of an account with only a passkey offers %d code forms, want none", n)
	}
	do("use the passkey as the second factor",
		chromedp.Click(chromedp.ID("use-passkey")),
		chromedp.WaitVisible(chromedp.ID("security")),
	)
	if got := text("#email"); got != mfaEmail {
		t.Fatalf("after the factor step signed in as %q", got)
	}

	// The native API's passkey ceremonies, driven by script on Latch's
	// origin (as a web app of that origin would): the mfa grant of
	// /v1/token with a passkey, and the passwordless sign-in.
	native := nativePasskeyFlows(t, ctx)
	if native.Step.Status != 403 || native.Step.Body["error"] != "mfa_required" || !slices.Contains(native.Step.Factors(), "webauthn") {
		t.Fatalf("/v1/token's password grant of an account with a passkey: %+v, want 403 mfa_required offering webauthn", native.Step)
	}
	for name, r := range map[string]nativeAnswer{"the mfa grant with a passkey": native.MFA, "the passwordless finish": native.SignIn} {
		if r.Status != 200 || r.Body["access_token"] == nil || r.Body["refresh_token"] == nil {
			t.Fatalf("%s: %+v, want 200 with access and refresh tokens", name, r)
		}
	}
	for name, r := range map[string]nativeAnswer{"the same assertion again": native.Replay, "a new assertion of the spent ceremony": native.Again} {
		if r.Status != 401 || r.Body["code"] != "invalid_credentials" || r.Body["access_token"] != nil {
			t.Fatalf("the passwordless finish, %s: %+v, want 401 invalid_credentials", name, r)
		}
	}
	do("sign out", signOut)

	// A phishing proxy serves Latch's very pages on another origin. The
	// browser lets Latch's script run the ceremony there (the rpId,
	// localhost, suits both origins), and the authenticator signs: Latch
	// must refuse the assertion for the origin it names.
	phish := phishingProxy(t, in.base)
	signCount := func() float64 {
		t.Helper()
		creds := authenticatorCredentials(t, ctx, auth)
		if len(creds) != 1 {
			t.Fatalf("the authenticator holds %d credentials, want 1", len(creds))
		}
		return creds[0].SignCount
	}
	before := signCount()
	do("the passkey sign-in on the phishing origin",
		chromedp.Navigate(phish+"/login"),
		chromedp.WaitVisible(chromedp.ID("passkey-sign-in")),
		chromedp.Click(chromedp.ID("passkey-sign-in")),
		chromedp.WaitVisible(chromedp.ID("form-error")),
		shot("wrong-origin-refused"),
	)
	if got := text("#form-error"); !strings.Contains(got, "That passkey did not sign you in") {
		t.Fatalf("the passkey sign-in on %s: %q, want \"That passkey did not sign you in\"", phish, got)
	}
	if after := signCount(); after <= before {
		t.Fatalf("the authenticator's sign count went from %v to %v: it signed nothing on the phishing origin, so the refusal proves nothing", before, after)
	}
	if loc := location(); !strings.HasPrefix(loc, phish+"/") {
		t.Fatalf("the refused sign-in is at %s, not on the proxy %s", loc, phish)
	}
	// The password passes through the proxy (it is the password); the
	// second factor does not.
	before = signCount()
	do("the password on the phishing origin, then the passkey at the factor step",
		signInWithPassword(phish),
		chromedp.WaitVisible(chromedp.ID("use-passkey")),
		chromedp.Click(chromedp.ID("use-passkey")),
		// The step answers again (401) on the proxy; nothing signs in.
		landed(`location.pathname === "/login/factor"`),
		chromedp.WaitVisible(chromedp.ID("use-passkey")),
		shot("wrong-origin-factor-refused"),
	)
	if after := signCount(); after <= before {
		t.Fatalf("the authenticator's sign count went from %v to %v at the phishing factor step: nothing was signed", before, after)
	}
	do("no session on Latch's origin after either",
		chromedp.Navigate(in.base+"/account"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
	)
	if loc := location(); !strings.HasPrefix(loc, in.base+"/login") {
		t.Fatalf("/account after the phishing attempts is at %s, want the sign-in page", loc)
	}

	// Back on Latch's origin, with the autofill: opening /login signs in
	// with the passkey, no click.
	autofill(true)
	do("open /login: the autofill's passkey signs in",
		chromedp.Navigate(in.base+"/login"),
		landed(`location.pathname === "/account"`),
		chromedp.WaitVisible(chromedp.ID("security")),
		shot("signed-in-by-autofill"),
	)
	if got := text("#email"); got != mfaEmail {
		t.Fatalf("after the autofill's passkey signed in as %q", got)
	}
	autofill(false)

	// A clone of the passkey made when its count was lower: its assertion
	// is refused and audited, and the passkey is kept for its owner.
	genuine := authenticatorCredentials(t, ctx, auth)[0]
	setCount := func(n float64) {
		t.Helper()
		if _, err := chromedp.Call(ctx, webauthn.RemoveCredential, webauthn.RemoveCredentialParams{AuthenticatorID: auth, CredentialID: genuine.CredentialID}); err != nil {
			t.Fatal(err)
		}
		// cdproto's AddCredential always sends the CMTG fields, which this
		// Chromium refuses for a virtual authenticator: the command with
		// the credential's own fields only.
		addCredential := cdp.Command[map[string]any, cdp.Empty]{Method: webauthn.CommandAddCredential}
		if _, err := chromedp.Call(ctx, addCredential, map[string]any{"authenticatorId": auth, "credential": map[string]any{
			"credentialId": genuine.CredentialID, "isResidentCredential": genuine.IsResidentCredential, "rpId": genuine.RpID,
			"privateKey": genuine.PrivateKey, "userHandle": genuine.UserHandle, "signCount": n,
		}}); err != nil {
			t.Fatal(err)
		}
	}
	setCount(0)
	do("sign out; a clone of the passkey with a lower count",
		signOut,
		chromedp.WaitVisible(chromedp.ID("passkey-sign-in")),
		chromedp.Click(chromedp.ID("passkey-sign-in")),
		chromedp.WaitVisible(chromedp.ID("form-error")),
	)
	if got := text("#form-error"); !strings.Contains(got, "That passkey did not sign you in") {
		t.Fatalf("a cloned passkey's sign-in: %q, want \"That passkey did not sign you in\"", got)
	}
	if audit := in.cli(t, "", "audit", "tail", "--action", "passkey.clone_warning"); strings.Count(audit, "passkey.clone_warning") != 1 {
		t.Fatalf("the audit log after a cloned passkey's sign-in:\n%s\nwant one passkey.clone_warning", audit)
	}
	setCount(genuine.SignCount + 10)
	do("the genuine passkey still signs in, and is removed",
		chromedp.Click(chromedp.ID("passkey-sign-in")),
		chromedp.WaitVisible(chromedp.ID("security")),
		removePasskey,
	)
	if got := text(".notice"); !strings.Contains(got, "Second factor removed") {
		t.Fatalf("removing the passkey: %q, want \"Second factor removed\"", got)
	}
	do("sign out; the authenticator still holds the removed passkey",
		signOut,
		chromedp.WaitVisible(chromedp.ID("passkey-sign-in")),
		chromedp.Click(chromedp.ID("passkey-sign-in")),
		chromedp.WaitVisible(chromedp.ID("form-error")),
		shot("removed-passkey-refused"),
	)
	if got := text("#form-error"); !strings.Contains(got, "That passkey did not sign you in") {
		t.Fatalf("a removed passkey's sign-in: %q, want \"That passkey did not sign you in\"", got)
	}
	do("the password alone signs in again",
		signInWithPassword(in.base),
		chromedp.WaitVisible(chromedp.ID("security")),
	)
	t.Logf("screenshots: %s", testenv.ArtifactsDir(t, "mfa-passkeys/"+store))
}

// TestBrowserTOTP is issue 16's authenticator-app journey in headless
// Chromium on the built binary and both stores: enrol on /account with
// the QR code's page (the secret read from the page, the codes computed
// from it as an app would), new recovery codes (with a code again where
// the page asks for a step-up), then a sign-in with the password and a
// code at the factor step; the same code in the next sign-in is refused; a
// recovery code signs in once and is refused the next time; new recovery
// codes end the old set. Screenshots go to bin/artifacts/mfa-totp/<store>.
func TestBrowserTOTP(t *testing.T) {
	for name, dsn := range openIDStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testBrowserTOTP(t, name, dsn(t))
		})
	}
}

func testBrowserTOTP(t *testing.T, store, dsn string) {
	in := mfaInstance(t, dsn)
	ctx, shot, do, text := browser(t, "mfa-totp/"+store)
	signInWithPassword := chromedp.Steps(
		chromedp.Navigate(in.base+"/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		chromedp.SendKeys(chromedp.ID("email"), mfaEmail),
		chromedp.SendKeys(chromedp.ID("password"), mfaPassword),
		chromedp.Click(chromedp.ID("sign-in")),
	)
	signOut := chromedp.Steps(chromedp.Click(chromedp.ID("sign-out")), chromedp.WaitVisible(chromedp.ID("sign-in")))

	do("sign in with the password (no factor yet: straight to the account)",
		signInWithPassword,
		chromedp.WaitVisible(chromedp.ID("add-totp")),
	)
	do("add an authenticator app",
		chromedp.SendKeys(chromedp.ID("totp_name"), "Phone"),
		chromedp.Click(chromedp.ID("add-totp")),
		chromedp.WaitVisible(chromedp.ID("totp-secret")),
		chromedp.WaitVisible(chromedp.ID("totp-qr")),
		shot("totp-enrolment"),
	)
	// The QR code is a data: image only this page's CSP allows: loaded,
	// it has a width.
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const i = document.getElementById("totp-qr"); return i.complete && i.naturalWidth >= 100; })()`)); err != nil || !ok {
		t.Fatalf("the QR code did not load (%v): the page's CSP or the image is wrong", err)
	}
	secret := text("#totp-secret")
	app := newTOTPClock(t, secret)
	code, _ := app.next()
	do("confirm with the app's code",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("confirm-totp")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if got := text(".notice"); !strings.Contains(got, "Second factor added") {
		t.Fatalf("after confirming the app: %q, want \"Second factor added\"", got)
	}
	if got := text("#factors"); !strings.Contains(got, "Phone") || !strings.Contains(got, "authenticator app") || strings.Contains(got, "not confirmed") {
		t.Fatalf("the account's factors: %q, want the confirmed authenticator app Phone", got)
	}

	// New recovery codes: a step-up when the page asks for one (this
	// session proved the factor by enrolling it, so Latch may not).
	do("ask for recovery codes",
		chromedp.Click(chromedp.ID("new-recovery-codes")),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes, #step-up-code")),
	)
	if count(t, ctx, "#step-up-code") == 1 {
		code, _ = app.next()
		do("the page asks for a code first",
			shot("step-up"),
			chromedp.SendKeys(chromedp.ID("code"), code),
			chromedp.Click(chromedp.ID("step-up-code")),
			chromedp.WaitVisible(chromedp.ID("recovery-codes")),
		)
	}
	do("the codes", shot("recovery-codes"))
	codes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#recovery-codes code"), c => c.textContent.trim())`))
	if err != nil || len(codes) != 10 || codes[0] == "" || codes[0] == codes[1] {
		t.Fatalf("recovery codes shown: %q (%v), want ten different codes", codes, err)
	}
	do("back to the account, and sign out",
		chromedp.Click(chromedp.ID("back-to-account")),
		chromedp.WaitVisible(chromedp.ID("sign-out")),
		signOut,
	)

	do("sign in with the password: the factor step",
		signInWithPassword,
		chromedp.WaitVisible(chromedp.ID("verify-code")),
		shot("factor-step"),
	)
	if got := text("#email"); got != mfaEmail {
		t.Errorf("the factor step names %q, want %s", got, mfaEmail)
	}
	code, step := app.next()
	do("a fresh code signs in",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("verify-code")),
		chromedp.WaitVisible(chromedp.ID("security")),
		shot("signed-in-with-code"),
	)
	if got := text("#email"); got != mfaEmail {
		t.Fatalf("after the factor step signed in as %q", got)
	}

	do("sign out; the password again",
		signOut,
		signInWithPassword,
		chromedp.WaitVisible(chromedp.ID("verify-code")),
	)
	// Still inside the code's window (its step or the next), so only the
	// replay can refuse it.
	if now := time.Now().Unix() / totpPeriod; now > step+1 {
		t.Fatalf("the code of step %d is out of its window at step %d before its replay: the test was too slow to prove anything", step, now)
	}
	do("the same code again is refused",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("verify-code")),
		chromedp.WaitVisible(chromedp.ID("code-error")),
		shot("replay-refused"),
	)
	if got := text("#code-error"); !strings.Contains(got, "used already") {
		t.Fatalf("a replayed code: %q, want \"... used already ...\"", got)
	}
	do("a recovery code signs in",
		chromedp.Click(chromedp.ID("use-recovery-code")),
		chromedp.WaitVisible(chromedp.ID("recovery_code")),
		chromedp.SendKeys(chromedp.ID("recovery_code"), codes[0]),
		chromedp.Click(chromedp.ID("verify-recovery-code")),
		chromedp.WaitVisible(chromedp.ID("security")),
	)
	if got := text("#email"); got != mfaEmail {
		t.Fatalf("after a recovery code signed in as %q", got)
	}

	do("sign out; the password; the same recovery code is refused",
		signOut,
		signInWithPassword,
		chromedp.WaitVisible(chromedp.ID("use-recovery-code")),
		chromedp.Click(chromedp.ID("use-recovery-code")),
		chromedp.WaitVisible(chromedp.ID("recovery_code")),
		chromedp.SendKeys(chromedp.ID("recovery_code"), codes[0]),
		chromedp.Click(chromedp.ID("verify-recovery-code")),
		chromedp.WaitVisible(chromedp.ID("recovery_code-error")),
		shot("used-recovery-code-refused"),
	)
	if got := text("#recovery_code-error"); !strings.Contains(got, "used already") {
		t.Fatalf("a used recovery code: %q, want \"... used already\"", got)
	}
	do("another recovery code signs in",
		chromedp.SendKeys(chromedp.ID("recovery_code"), codes[1]),
		chromedp.Click(chromedp.ID("verify-recovery-code")),
		chromedp.WaitVisible(chromedp.ID("security")),
	)

	// New codes end the old set, used or not.
	do("ask for new recovery codes",
		chromedp.Click(chromedp.ID("new-recovery-codes")),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes, #step-up-code")),
	)
	if count(t, ctx, "#step-up-code") == 1 {
		code, _ = app.next()
		do("the page asks for a code first",
			chromedp.SendKeys(chromedp.ID("code"), code),
			chromedp.Click(chromedp.ID("step-up-code")),
			chromedp.WaitVisible(chromedp.ID("recovery-codes")),
		)
	}
	renewed, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#recovery-codes code"), c => c.textContent.trim())`))
	if err != nil || len(renewed) != 10 || slices.Contains(renewed, codes[2]) {
		t.Fatalf("new recovery codes: %q (%v), want ten, none of the old set", renewed, err)
	}
	do("an unused code of the old set is refused",
		chromedp.Click(chromedp.ID("back-to-account")),
		chromedp.WaitVisible(chromedp.ID("sign-out")),
		signOut,
		signInWithPassword,
		chromedp.WaitVisible(chromedp.ID("use-recovery-code")),
		chromedp.Click(chromedp.ID("use-recovery-code")),
		chromedp.WaitVisible(chromedp.ID("recovery_code")),
		chromedp.SendKeys(chromedp.ID("recovery_code"), codes[2]),
		chromedp.Click(chromedp.ID("verify-recovery-code")),
		chromedp.WaitVisible(chromedp.ID("recovery_code-error")),
	)
	do("a new one signs in",
		chromedp.SendKeys(chromedp.ID("recovery_code"), renewed[0]),
		chromedp.Click(chromedp.ID("verify-recovery-code")),
		chromedp.WaitVisible(chromedp.ID("security")),
	)
	t.Logf("screenshots: %s", testenv.ArtifactsDir(t, "mfa-totp/"+store))
}

// landed waits until the page the browser navigates to satisfies the
// JavaScript predicate expr: each evaluation is its own, so the page of
// the click that led there (whose elements may match too) and the moment
// between the two documents cannot answer for it.
func landed(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, target *chromedp.Target) error {
		for {
			ok, err := chromedp.Evaluate[bool](`document.readyState === "complete" && (`+expr+`)`)(ctx, target)
			if err == nil && ok {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %s: %w", expr, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// nativeAnswer is the status and JSON body of a request of the page.
type nativeAnswer struct {
	Status int
	Body   map[string]any
}

// Factors is the factors list of an mfa_required answer.
func (a nativeAnswer) Factors() []string {
	var out []string
	l, _ := a.Body["factors"].([]any)
	for _, f := range l {
		s, _ := f.(string)
		out = append(out, s)
	}
	return out
}

// nativeFlows is what nativePasskeyFlows saw.
type nativeFlows struct {
	Step, MFA, SignIn, Replay, Again nativeAnswer
}

// nativePasskeyFlows runs, in the page of ctx (on Latch's origin, signed
// in or not), the native API's passkey flows with the tab's authenticator:
// /v1/token's password grant (Step), /v1/mfa/passkey/options and the mfa
// grant with the assertion (MFA); /v1/passkeys/sign-in/options and
// /v1/passkeys/sign-in/finish (SignIn), that finish again with the same
// ceremony and assertion (Replay), and with the same ceremony and a new
// assertion of its challenge, a higher sign count (Again).
func nativePasskeyFlows(t *testing.T, ctx context.Context) nativeFlows {
	t.Helper()
	script := `(async () => {
  const b64u = buf => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const bin = s => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), c => c.charCodeAt(0));
  const answer = async r => ({Status: r.status, Body: await r.json().catch(() => ({}))});
  const post = (path, body) => fetch(path, {method: "POST", headers: {"Content-Type": "application/json", Accept: "application/json"}, body: JSON.stringify(body)});
  const assert = async options => {
    const pk = options.publicKey;
    pk.challenge = bin(pk.challenge);
    (pk.allowCredentials || []).forEach(c => { c.id = bin(c.id); });
    const c = await navigator.credentials.get({publicKey: pk});
    const r = c.response;
    return {id: c.id, rawId: b64u(c.rawId), type: c.type, response: {clientDataJSON: b64u(r.clientDataJSON),
      authenticatorData: b64u(r.authenticatorData), signature: b64u(r.signature), userHandle: r.userHandle ? b64u(r.userHandle) : undefined}};
  };
  const out = {};
  out.Step = await answer(await post("/v1/token", {grant_type: "password", username: ` + jsString(mfaEmail) + `, password: ` + jsString(mfaPassword) + `}));
  let ch = await answer(await post("/v1/mfa/passkey/options", {mfa_token: out.Step.Body.mfa_token}));
  if (ch.Status !== 200) { out.MFA = ch; return out; }
  out.MFA = await answer(await post("/v1/token", {grant_type: "mfa", mfa_token: out.Step.Body.mfa_token,
    passkey_ceremony: ch.Body.ceremony, passkey_credential: await assert(ch.Body.options)}));
  ch = await answer(await post("/v1/passkeys/sign-in/options", {}));
  if (ch.Status !== 200) { out.SignIn = ch; return out; }
  const options = JSON.stringify(ch.Body.options);
  const finish = {ceremony: ch.Body.ceremony, credential: await assert(JSON.parse(options))};
  out.SignIn = await answer(await post("/v1/passkeys/sign-in/finish", finish));
  out.Replay = await answer(await post("/v1/passkeys/sign-in/finish", finish));
  out.Again = await answer(await post("/v1/passkeys/sign-in/finish", {ceremony: ch.Body.ceremony, credential: await assert(JSON.parse(options))}));
  return out;
})()`
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	flows, err := chromedp.Run(tctx, chromedp.Evaluate[nativeFlows](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("the native passkey flows in the page: %v", err)
	}
	return flows
}

// withoutConditionalUI makes the pages of ctx's tab find no conditional
// mediation (PublicKeyCredential.isConditionalMediationAvailable answers
// false, as in a browser without passkey autofill) from the next document
// on; the function it returns turns the autofill on (true) or off again.
func withoutConditionalUI(t *testing.T, ctx context.Context) func(on bool) {
	t.Helper()
	const source = `if (window.PublicKeyCredential) { PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false); }`
	var id cdppage.ScriptIdentifier
	set := func(on bool) {
		t.Helper()
		if on && id != "" {
			if _, err := chromedp.Call(ctx, cdppage.RemoveScriptToEvaluateOnNewDocument, cdppage.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: id}); err != nil {
				t.Fatal(err)
			}
			id = ""
		}
		if !on && id == "" {
			r, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: source})
			if err != nil {
				t.Fatal(err)
			}
			id = r.Identifier
		}
	}
	set(false)
	return set
}

// count is how many elements of the page match the CSS selector sel.
func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	n, err := chromedp.Run(tctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
	if err != nil {
		t.Fatalf("counting %s: %v", sel, err)
	}
	return n
}

// jsString is s as a JavaScript string literal.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// TestBrowserFactorPolicy is issue 16's tenant policy on the pages, in
// headless Chromium on the built binary and both stores: with "second
// factor required" set by `latch policy set-factors`, a password sign-in
// of an account without a factor leads to the enrolment, an authenticator
// app is set up there, and its next code finishes the sign-in. After
// `latch users reset-factors` the next sign-in asks for an enrolment
// again, done this time with a passkey (a virtual authenticator), which
// then finishes the sign-in. Screenshots go to
// bin/artifacts/mfa-policy/<store>.
func TestBrowserFactorPolicy(t *testing.T) {
	for name, dsn := range openIDStores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testBrowserFactorPolicy(t, name, dsn(t))
		})
	}
}

func testBrowserFactorPolicy(t *testing.T, store, dsn string) {
	in := mfaInstance(t, dsn)
	in.cli(t, "", "policy", "set-factors", "--required", "--allowed", "totp,webauthn,recovery_code")
	ctx, shot, do, text := browser(t, "mfa-policy/"+store)
	virtualAuthenticator(t, ctx)
	withoutConditionalUI(t, ctx)
	signInWithPassword := chromedp.Steps(
		chromedp.Navigate(in.base+"/login"),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		chromedp.SendKeys(chromedp.ID("email"), mfaEmail),
		chromedp.SendKeys(chromedp.ID("password"), mfaPassword),
		chromedp.Click(chromedp.ID("sign-in")),
	)

	do("the password leads to the enrolment",
		signInWithPassword,
		chromedp.WaitVisible(chromedp.ID("enrol-totp")),
		chromedp.WaitVisible(chromedp.ID("enrol-passkey")),
		shot("enrolment-required"),
	)
	do("set up an authenticator app",
		chromedp.Click(chromedp.ID("enrol-totp")),
		chromedp.WaitVisible(chromedp.ID("totp-secret")),
	)
	app := newTOTPClock(t, text("#totp-secret"))
	code, _ := app.next()
	do("confirm it: the factor step follows",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("confirm-totp")),
		chromedp.WaitVisible(chromedp.ID("verify-code")),
	)
	if got := text(".notice"); !strings.Contains(got, "authenticator app is set up") {
		t.Errorf("the factor step after the enrolment says %q", got)
	}
	code, _ = app.next()
	do("the next code finishes the sign-in",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Click(chromedp.ID("verify-code")),
		chromedp.WaitVisible(chromedp.ID("security")),
	)
	if got := text("#factors"); !strings.Contains(got, "authenticator app") {
		t.Fatalf("the account's factors after the forced enrolment: %q", got)
	}

	in.cli(t, "", "users", "reset-factors", "--email", mfaEmail)
	do("after the reset the next sign-in asks for an enrolment again",
		chromedp.Click(chromedp.ID("sign-out")),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		signInWithPassword,
		chromedp.WaitVisible(chromedp.ID("enrol-passkey")),
	)
	do("set up a passkey: the factor step follows",
		chromedp.SendKeys(chromedp.ID("passkey_name"), "Laptop"),
		chromedp.Click(chromedp.ID("enrol-passkey")),
		chromedp.WaitVisible(chromedp.ID("use-passkey")),
		shot("passkey-enrolled"),
	)
	if got := text(".notice"); !strings.Contains(got, "passkey is set up") {
		t.Errorf("the factor step after the passkey's enrolment says %q", got)
	}
	do("the passkey finishes the sign-in",
		chromedp.Click(chromedp.ID("use-passkey")),
		chromedp.WaitVisible(chromedp.ID("security")),
	)
	if got := text("#factors"); !strings.Contains(got, "Laptop") || strings.Contains(got, "authenticator app") {
		t.Fatalf("the account's factors after the reset and a passkey: %q, want only the passkey Laptop", got)
	}
}
