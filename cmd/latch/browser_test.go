package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
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
	ctx, shot, do, text := browser(t, "browser-journey")
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

// TestBrowserEmailLink is issue 6's page journey on the built binary with
// real SMTP delivery: a Google user asks for a set-password email (seed
// 002), Chromium opens the link from the delivered message, meets a policy
// error, corrects it, and signs in on /login with the new password.
// Screenshots go to bin/artifacts/browser-email-link.
func TestBrowserEmailLink(t *testing.T) {
	smtp := testenv.StartSMTP(t)
	in := newInstance(t, "sqlite://"+testenv.SQLitePath(t))
	in.env = append(in.env, "LATCH_SMTP_URL="+smtp.URL(), "LATCH_MAIL_FROM=Latch <no-reply@example.com>", "LATCH_PRODUCT_NAME=Acme ID")
	in.cli(t, "", "users", "create", "--email", "linked@example.com", "--provider", "google", "--subject", "g-42")
	access := strings.TrimSpace(in.cli(t, "", "tokens", "issue", "--email", "linked@example.com"))
	in.serve(t)
	if code, body := in.call(t, "PUT", "/user/2024-3/user/password", access, "", ""); code != 202 {
		t.Fatalf("request: %d %v", code, body)
	}
	msg := smtp.WaitFor(t, "linked@example.com", 20*time.Second)
	link := regexp.MustCompile(regexp.QuoteMeta(in.base) + `/set-password\?token=[A-Za-z0-9_\-]+`).FindString(msg.Text)
	if link == "" || !strings.Contains(msg.Subject, "Acme ID") || !strings.Contains(msg.HTML, link) {
		t.Fatalf("message %q without a link to %s:\n%s", msg.Subject, in.base, msg.Text)
	}

	_, shot, do, text := browser(t, "browser-email-link")
	const pw = "chosen from an email link"
	do("open the link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("save-password")),
		shot("set-password"),
	)
	if rules := text("#rules"); !strings.Contains(rules, "8 to 256 characters") {
		t.Fatalf("the rules are not shown before typing: %q", rules)
	}
	do("a password the policy refuses",
		chromedp.SendKeys(chromedp.ID("password"), "short"),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), "short"),
		chromedp.Click(chromedp.ID("save-password")),
		chromedp.WaitVisible(chromedp.ID("password-error")),
		shot("policy-error"),
	)
	if got := text("#password-error"); !strings.Contains(got, "at least 8 characters") {
		t.Fatalf("policy error: %q", got)
	}
	do("the corrected password",
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), pw),
		chromedp.Click(chromedp.ID("save-password")),
		chromedp.WaitVisible(chromedp.ID("to-login")),
		shot("password-set"),
	)
	do("sign in on /login",
		chromedp.Click(chromedp.ID("to-login")),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		chromedp.SendKeys(chromedp.ID("email"), "linked@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("identities")),
		shot("signed-in"),
	)
	if got := text("#email"); got != "linked@example.com" {
		t.Fatalf("signed in as %q", got)
	}
	// The link is spent; the outbox shows both messages sent, no link.
	do("the used link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(".error")), shot("used-link"))
	list := in.cli(t, "", "mail", "list")
	if strings.Count(list, `"status":"sent"`) != 2 || strings.Contains(list, "token") {
		t.Fatalf("mail list:\n%s", list)
	}
}

// TestBrowserSignUp is issue 13's journey in headless Chromium against the
// built binary with real SMTP: from /login to /signup, an address Latch
// refuses (its error tied to its input, as Chromium's accessibility tree
// reports it), the corrected address, the verification link from the
// delivered email, a policy error and then the password on /verify, and a
// sign-in on /login. LATCH_MAIL_FROM names the product and
// LATCH_PRODUCT_NAME is unset: pages and mail both say that name. Last,
// the provider error page and its way back. Screenshots go to
// bin/artifacts/browser-signup.
func TestBrowserSignUp(t *testing.T) {
	smtp := testenv.StartSMTP(t)
	in, _ := newInstanceWithDex(t, "LATCH_SMTP_URL="+smtp.URL(), "LATCH_MAIL_FROM=Acme <no-reply@acme.example>")
	in.serve(t)
	ctx, shot, do, text := browser(t, "browser-signup")
	const email, pw = "new.person@example.com", "Chosen on the verify page, 13 times!"
	title := func() string {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Title())
		if err != nil {
			t.Fatal(err)
		}
		return got
	}

	do("from /login to /signup",
		chromedp.Navigate(in.base+"/login"),
		chromedp.WaitVisible(chromedp.ID("to-signup")),
		chromedp.Click(chromedp.ID("to-signup")),
		chromedp.WaitVisible(chromedp.ID("sign-up")),
		chromedp.WaitVisible(chromedp.ID("provider-dex")),
		shot("signup"),
	)
	if got := title(); got != "Create your account · Acme" || text("#product") != "Acme" {
		t.Fatalf("the sign-up page is titled %q, headed %q: not the product of LATCH_MAIL_FROM", got, text("#product"))
	}
	// Chromium's own check of type=email lets this through; Latch's
	// canonical form does not.
	do("an address Latch refuses",
		chromedp.SendKeys(chromedp.ID("email"), "new..person@example.com"),
		chromedp.SendKeys(chromedp.ID("first_name"), "Ada"),
		chromedp.Click(chromedp.ID("sign-up")),
		chromedp.WaitVisible(chromedp.ID("email-error")),
		shot("signup-field-error"),
	)
	if got := text("#form-error"); got != "Not signed up: see below." {
		t.Fatalf("the form's alert: %q", got)
	}
	emailField := axField(t, ctx, "Email")
	if !emailField.invalid || !strings.Contains(emailField.description, "must be a valid email address") {
		t.Fatalf("the email input, as assistive technology gets it: %+v", emailField)
	}
	if first := axField(t, ctx, "First name (optional)"); first.invalid || first.value != "Ada" {
		t.Fatalf("the first name input after the refusal: %+v", first)
	}
	do("the corrected address",
		chromedp.Clear(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.Click(chromedp.ID("sign-up")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
		shot("check-your-email"),
	)
	if got := text(".notice"); !strings.Contains(got, "verify your address and choose your password") {
		t.Fatalf("after signing up: %q", got)
	}

	msg := smtp.WaitFor(t, email, 20*time.Second)
	link := regexp.MustCompile(regexp.QuoteMeta(in.base) + `/verify\?token=[A-Za-z0-9_\-.]+`).FindString(msg.Text)
	if link == "" || !strings.Contains(msg.Subject, "Acme") || !strings.Contains(msg.Header.Get("From"), "Acme") {
		t.Fatalf("message %q from %q without a link to %s/verify:\n%s", msg.Subject, msg.Header.Get("From"), in.base, msg.Text)
	}
	for _, h := range []string{"X-Mailer", "User-Agent"} {
		if v, ok := msg.Header[h]; ok {
			t.Errorf("the email carries %s: %q", h, v)
		}
	}

	do("open the verification link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("save-password")),
		shot("verify"),
	)
	do("a password the policy refuses",
		chromedp.SendKeys(chromedp.ID("password"), "short"),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), "short"),
		chromedp.Click(chromedp.ID("save-password")),
		chromedp.WaitVisible(chromedp.ID("password-error")),
		shot("verify-field-error"),
	)
	if pwField := axField(t, ctx, "New password"); !pwField.invalid || !strings.Contains(pwField.description, text("#password-error")) ||
		!strings.Contains(pwField.description, text("#rules")) {
		t.Fatalf("the password input, as assistive technology gets it: %+v", pwField)
	}
	do("set the password",
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), pw),
		chromedp.Click(chromedp.ID("save-password")),
		chromedp.WaitVisible(chromedp.ID("to-login")),
		shot("verified"),
	)
	do("sign in on /login",
		chromedp.Click(chromedp.ID("to-login")),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.ID("identities")),
		shot("signed-in"),
	)
	if got := text("#email"); got != email {
		t.Fatalf("signed in as %q", got)
	}

	// A provider callback without its flow (an old tab, another browser):
	// the pages' layout, and a way back.
	do("the provider error page",
		chromedp.Navigate(in.base+"/v1/oauth/dex/callback?code=x&state=y"),
		chromedp.WaitVisible(chromedp.ID("back")),
		shot("provider-error"),
	)
	if got := text(".error"); !strings.Contains(got, "Start again") || title() != "Sign-in problem · Acme" || text("#product") != "Acme" {
		t.Fatalf("provider error page: %q titled %q", got, title())
	}
	do("its way back",
		chromedp.Click(chromedp.ID("back")),
		chromedp.WaitVisible(chromedp.ID("provider-dex")),
	)
	t.Logf("screenshots: %s", testenv.ArtifactsDir(t, "browser-signup"))
}

// axInput is what Chromium tells assistive technology about an input.
type axInput struct {
	description, value string
	invalid            bool
}

// axField reads, from Chromium's accessibility tree, the input whose
// accessible name (its label) is name: the description assistive
// technology reads with it (from aria-describedby), its value, and
// whether it is invalid (aria-invalid).
func axField(t *testing.T, ctx context.Context, name string) axInput {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	tree, err := chromedp.Run(tctx, chromedp.Action[*accessibility.GetFullAXTreeResult](func(ctx context.Context, target *chromedp.Target) (*accessibility.GetFullAXTreeResult, error) {
		r, err := cdp.Call(ctx, target, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
		return &r, err
	}))
	if err != nil {
		t.Fatalf("accessibility tree: %v", err)
	}
	str := func(v *accessibility.Value) string {
		var s string
		if v != nil {
			_ = json.Unmarshal([]byte(v.Value), &s)
		}
		return s
	}
	for _, n := range tree.Nodes {
		if n.Ignored || str(n.Name) != name || str(n.Role) != "textbox" {
			continue
		}
		in := axInput{description: str(n.Description), value: str(n.Value)}
		for _, p := range n.Properties {
			if p.Name == accessibility.PropertyNameInvalid {
				in.invalid = str(p.Value) == "true"
			}
		}
		return in
	}
	t.Fatalf("no input named %q in the accessibility tree", name)
	return axInput{}
}

// browser starts headless Chromium for a journey and returns its context
// and three helpers: shot saves a numbered screenshot under
// bin/artifacts/<name>, do runs steps (failing the test with the page's
// location and text), text reads an element's text.
func browser(t *testing.T, name string) (context.Context, func(string) chromedp.Action[chromedp.Void], func(string, ...chromedp.Action[chromedp.Void]), func(string) string) {
	ctx := testenv.Chromium(t)
	dir := testenv.ArtifactsDir(t, name)
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
	return ctx, shot, do, text
}

// TestBrowserRefusesCrossSiteForms: a real browser's POST to a Latch page
// from another site's form, or from a document with an opaque origin (a
// data: URL sends "Origin: null"), is refused with Latch's page; the same
// form on Latch's own page goes through.
func TestBrowserRefusesCrossSiteForms(t *testing.T) {
	in := newInstance(t, "sqlite://"+testenv.SQLitePath(t))
	in.serve(t)
	form := `<!doctype html><form method="post" action="` + in.base + `/recover">` +
		`<input name="email" value="victim@example.com"><button id="go" type="submit">go</button></form>`
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, form)
	}))
	defer evil.Close()
	// localhost and 127.0.0.1 are different sites to the browser.
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	_, shot, do, text := browser(t, "browser-cross-site")
	for _, from := range []struct{ name, url string }{
		{"another-site", evilURL},
		{"opaque-origin", "data:text/html," + url.PathEscape(form)},
	} {
		do("post from "+from.name,
			chromedp.Navigate(from.url),
			chromedp.WaitVisible(chromedp.ID("go")),
			chromedp.Click(chromedp.ID("go")),
			chromedp.WaitVisible(chromedp.CSS(".error")),
			shot(from.name),
		)
		if got := text(".error"); !strings.Contains(got, "sent from another site") {
			t.Fatalf("a form posted from %s: %q", from.name, got)
		}
	}
	do("post from Latch's own page",
		chromedp.Navigate(in.base+"/recover"),
		chromedp.WaitVisible(chromedp.ID("email")),
		chromedp.SendKeys(chromedp.ID("email"), "victim@example.com"),
		chromedp.Submit(chromedp.ID("email")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
		shot("same-origin"),
	)
	if got := text("main"); !strings.Contains(got, "Check your email") {
		t.Fatalf("the form on Latch's page: %q", got)
	}
}
