package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/token"
)

// checkEmailText is what /signup answers to every sign-up it records,
// whether or not the address has an account.
const checkEmailText = "Open the link in it to verify your address and choose your password."

// TestSignUpFormAnswers: the sign-up form hands what was typed, and the
// client's address for the limits, to SignUp, and answers each outcome
// with its status and text; a refused form comes back with what was typed
// and each field's error tied to its input.
func TestSignUpFormAnswers(t *testing.T) {
	cases := []struct {
		name        string
		err         error
		status      int
		says        string
		fieldErrors map[string]string
		retryAfter  string
	}{
		{"recorded", nil, 200, checkEmailText, nil, ""},
		{"not an email", latch.FieldError("email", latch.CodeInvalidEmail, "The email field must be a valid email address."),
			422, "Not signed up: see below.", map[string]string{"email": "The email field must be a valid email address."}, ""},
		{"a name too long", &latch.Error{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Field: "last_name", Message: "The last name is too long.",
			Details: []latch.Error{{Kind: latch.KindInvalid, Code: latch.CodeInvalidRequest, Field: "first_name", Message: "The first name is too long."}}},
			422, "Not signed up: see below.", map[string]string{"last_name": "The last name is too long.", "first_name": "The first name is too long."}, ""},
		{"an error about no input of the form", latch.FieldError("tenant", latch.CodeInvalidRequest, "No such tenant."),
			422, "No such tenant.", nil, ""},
		{"too many", &latch.Error{Kind: latch.KindTooMany, Code: latch.CodeRateLimited, Message: "too many requests", RetryAfter: time.Hour},
			429, "Too many attempts. Wait a while and try again.", nil, ""},
		{"mail off", &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeMailDisabled, Message: "email delivery is not configured"},
			503, "This cannot be done right now: email delivery is not configured.", nil, ""},
		{"database down", &latch.Error{Kind: latch.KindUnavailable, Code: latch.CodeDatabaseUnavailable, Message: "the database is unavailable", RetryAfter: 3 * time.Second},
			503, "Latch cannot do this right now. Nothing was changed: try again in a minute.", nil, "3"},
		{"internal", latch.Internal(context.DeadlineExceeded), 500, "Something went wrong on our side. Try again in a moment.", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got account.SignUpInput
			var clientIP string
			f := &fakeAccounts{t: t, SignUpFn: func(ctx context.Context, in account.SignUpInput) error {
				got, clientIP = in, latch.ClientIP(ctx)
				return c.err
			}}
			if c.err != nil {
				f.FlowDeadlineFn = func() time.Time { return flowDeadline } // the form again, with the provider button
			}
			req := formPost("/signup", url.Values{"email": {"ada@example.com"}, "first_name": {"Ada"}, "last_name": {"Lovelace"}})
			req.RemoteAddr = "198.51.100.4:5555"
			rec, panicked := serveFake(fakePages(f), req)
			if panicked != nil {
				t.Fatalf("panic: %v", panicked)
			}
			if want := (account.SignUpInput{Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}); got != want || clientIP != "198.51.100.4" {
				t.Errorf("SignUp got %+v from %q, want %+v from 198.51.100.4", got, clientIP, want)
			}
			body := html.UnescapeString(rec.Body.String())
			if rec.Code != c.status || !strings.Contains(body, c.says) {
				t.Fatalf("%d, want %d saying %q:\n%s", rec.Code, c.status, c.says, body)
			}
			if ra := rec.Header().Get("Retry-After"); ra != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", ra, c.retryAfter)
			}
			a := checkAccessible(t, rec.Body.String())
			if c.err == nil || c.status == 500 {
				return
			}
			for _, kept := range []string{`value="ada@example.com"`, `value="Ada"`, `value="Lovelace"`, `id="provider-acme"`} {
				if !strings.Contains(body, kept) {
					t.Errorf("the form again lacks %s:\n%s", kept, body)
				}
			}
			if len(a.FieldErrors) != len(c.fieldErrors) {
				t.Errorf("field errors %v, want %v", a.FieldErrors, c.fieldErrors)
			}
			for id, msg := range c.fieldErrors {
				if a.FieldErrors[id] != msg {
					t.Errorf("input %s: error %q, want %q", id, a.FieldErrors[id], msg)
				}
			}
			if a.FormError == "" {
				t.Errorf("no form-level alert")
			}
		})
	}
}

// TestSignUpPage: /signup offers the provider buttons /login offers and
// a form whose every input has a label, the names optional; /login and
// /signup link to each other, keeping an app's sign-in parameters.
func TestSignUpPage(t *testing.T) {
	f := &fakeAccounts{t: t, FlowDeadlineFn: func() time.Time { return flowDeadline },
		AllowedRedirectFn: func(raw string) (*url.URL, error) { return url.Parse(raw) }}
	h := fakePages(f)
	rec, _ := serveFake(h, pageGet("/signup"))
	body := rec.Body.String()
	if rec.Code != 200 || cookieNamed(rec, "__Host-latch_login") == nil {
		t.Fatalf("/signup: %d, cookies %v", rec.Code, rec.Result().Cookies())
	}
	checkAccessible(t, body)
	for _, want := range []string{`id="provider-acme" href="/v1/oauth/acme/start?`, `<form method="post" action="/signup">`,
		`name="email" type="email" autocomplete="email" required`, `name="first_name" type="text" autocomplete="given-name">`,
		`name="last_name" type="text" autocomplete="family-name">`, `<a href="/login" id="to-login">`, "<title>Create your account · Latch</title>"} {
		if !strings.Contains(body, want) {
			t.Errorf("/signup lacks %s:\n%s", want, body)
		}
	}
	rec, _ = serveFake(h, pageGet("/login"))
	if !strings.Contains(rec.Body.String(), `<a href="/signup" id="to-signup">`) {
		t.Errorf("/login does not link to /signup:\n%s", rec.Body)
	}

	app := url.Values{"redirect_to": {"https://app.example/cb"}, "code_challenge": {token.S256("v")}, "state": {"s1"}}
	for _, page := range []struct{ path, link string }{{"/signup", "to-login"}, {"/login", "to-signup"}} {
		rec, _ := serveFake(h, pageGet(page.path+"?"+app.Encode()))
		m := regexp.MustCompile(`<a href="([^"]+)" id="` + page.link + `">`).FindStringSubmatch(rec.Body.String())
		if rec.Code != 200 || m == nil {
			t.Fatalf("%s for an app: %d\n%s", page.path, rec.Code, rec.Body)
		}
		u, _ := url.Parse(html.UnescapeString(m[1]))
		if u.Query().Encode() != app.Encode() {
			t.Errorf("%s for an app links %s, without the app's parameters", page.path, u)
		}
	}
}

// TestPagesNameTheProduct: every page's title and header carry the
// configured product name.
func TestPagesNameTheProduct(t *testing.T) {
	f := &fakeAccounts{t: t, FlowDeadlineFn: func() time.Time { return flowDeadline }}
	h := fakePagesNamed(f, "Acme ID")
	for _, path := range []string{"/login", "/signup", "/recover", "/set-password?token=x"} {
		f.PasswordLinkInfoFn = func(context.Context, string) (account.LinkInfo, error) {
			return account.LinkInfo{}, latch.FieldError("token", latch.CodeInvalidLink, "invalid link")
		}
		rec, _ := serveFake(h, pageGet(path))
		body := rec.Body.String()
		if !regexp.MustCompile(`<title>[^<]+ · Acme ID</title>`).MatchString(body) || !strings.Contains(body, `<p class="product" id="product">Acme ID</p>`) {
			t.Errorf("%s does not name the product:\n%s", path, body)
		}
	}
}

// TestSignUpAnswersAlikeForEveryEmail: over the real use cases, a sign-up
// for an address that has an account gets the same status and page as
// one for a new address (nobody learns which emails exist); the first is
// sent a notice, the second a verification link.
func TestSignUpAnswersAlikeForEveryEmail(t *testing.T) {
	h, srv := pagesServer(t)
	h.PasswordUser(t, "taken@example.com", "correct horse battery staple", "", false)
	post := func(email string) (int, string) {
		t.Helper()
		res, err := http.PostForm(srv.URL+"/signup", url.Values{"email": {email}, "first_name": {"Ada"}})
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.ReplaceAll(string(body), email, "EMAIL")
	}
	newStatus, newPage := post("new@example.com")
	takenStatus, takenPage := post("taken@example.com")
	if newStatus != 200 || !strings.Contains(newPage, checkEmailText) {
		t.Fatalf("a new address: %d\n%s", newStatus, newPage)
	}
	if takenStatus != newStatus || takenPage != newPage {
		t.Errorf("an address with an account is answered otherwise: %d\n%s\nthan a new one: %d\n%s", takenStatus, takenPage, newStatus, newPage)
	}
	// Each recorded request becomes its email: a verification link for
	// the new address, a notice for the taken one.
	h.Accounts.Wait()
	outbox, err := h.Store.MailMessages(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]string{}
	for _, m := range outbox {
		sent[m.To] = m.Template
	}
	if sent["new@example.com"] != latch.MailVerifyEmail || sent["taken@example.com"] != latch.MailSignupExists || len(sent) != 2 {
		t.Errorf("outbox %v, want verify_email to the new address and signup_exists to the taken one", sent)
	}
}
