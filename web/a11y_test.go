package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
)

// formA11y is what a page's forms tell assistive technology, read from
// the page's HTML: the field errors by the id of the input each is tied
// to, and the form-level error.
type formA11y struct {
	FieldErrors map[string]string // input id -> its error's text
	FormError   string            // the text of the role="alert" element
}

// checkAccessible parses page and fails t unless every visible input has
// a label (<label for=id>), every field error has an id and is named by
// aria-describedby on exactly one input, which is aria-invalid="true",
// no input is aria-invalid without an error, and a form-level error (the
// .error element) is role="alert". It returns what it found.
func checkAccessible(t *testing.T, page string) formA11y {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("the page is not HTML: %v", err)
	}
	attr := func(n *html.Node, name string) (string, bool) {
		for _, a := range n.Attr {
			if a.Key == name {
				return a.Val, true
			}
		}
		return "", false
	}
	hasClass := func(n *html.Node, class string) bool {
		v, _ := attr(n, "class")
		return strings.Contains(" "+v+" ", " "+class+" ")
	}
	var text func(n *html.Node) string
	text = func(n *html.Node) string {
		if n.Type == html.TextNode {
			return n.Data
		}
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString(text(c))
		}
		return b.String()
	}
	labels := map[string]bool{}
	var inputs, fieldErrors []*html.Node
	out := formA11y{FieldErrors: map[string]string{}}
	ids := map[string]bool{}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			// An id names one element: a second one makes a label, an
			// aria-describedby or a fragment point at the wrong element.
			if id, ok := attr(n, "id"); ok {
				if ids[id] {
					t.Errorf("id %q is used by more than one element", id)
				}
				ids[id] = true
			}
			switch {
			case n.Data == "label":
				if f, ok := attr(n, "for"); ok {
					labels[f] = true
				}
			case n.Data == "input":
				typ, _ := attr(n, "type")
				if _, hidden := attr(n, "hidden"); typ != "hidden" && !hidden {
					inputs = append(inputs, n)
				}
			case hasClass(n, "field-error"):
				fieldErrors = append(fieldErrors, n)
			case hasClass(n, "error"):
				if role, _ := attr(n, "role"); role != "alert" {
					t.Errorf("the form's error %q is not role=alert", text(n))
				}
				out.FormError = strings.TrimSpace(text(n))
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	describes := map[string][]*html.Node{} // id -> the inputs naming it
	for _, in := range inputs {
		id, _ := attr(in, "id")
		if id == "" || !labels[id] {
			t.Errorf("input %q (id %q) has no <label for>", mustAttr(in, "name"), id)
		}
		d, _ := attr(in, "aria-describedby")
		for _, ref := range strings.Fields(d) {
			describes[ref] = append(describes[ref], in)
		}
	}
	erred := map[*html.Node]bool{}
	for _, fe := range fieldErrors {
		id, _ := attr(fe, "id")
		if id == "" {
			t.Errorf("field error %q has no id", text(fe))
			continue
		}
		named := describes[id]
		if len(named) != 1 {
			t.Errorf("field error %s (%q) is named by %d inputs' aria-describedby, want 1", id, text(fe), len(named))
			continue
		}
		if v, _ := attr(named[0], "aria-invalid"); v != "true" {
			t.Errorf("input %s has error %s but aria-invalid=%q", mustAttr(named[0], "id"), id, v)
		}
		erred[named[0]] = true
		out.FieldErrors[mustAttr(named[0], "id")] = strings.TrimSpace(text(fe))
	}
	for _, in := range inputs {
		if v, ok := attr(in, "aria-invalid"); ok && !erred[in] {
			t.Errorf("input %s is aria-invalid=%q without an error tied to it", mustAttr(in, "id"), v)
		}
	}
	return out
}

func mustAttr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// TestFormErrorsAreTiedToTheirInputs: on every form, a refused input's
// error is next to it and tied to it (aria-invalid, aria-describedby), a
// new password's input is also described by the rules, the form's own
// error is an alert, and every input has a label.
func TestFormErrorsAreTiedToTheirInputs(t *testing.T) {
	user := latch.User{ID: "u1", Email: "ada@example.com", TenantID: latch.DefaultTenantID}
	policy := &latch.Error{Kind: latch.KindInvalid, Code: latch.CodePolicyLength, Field: "password", Message: "The password must be at least 8 characters.",
		Details: []latch.Error{{Kind: latch.KindInvalid, Code: latch.CodePasswordMismatch, Field: "password_confirmation", Message: "The two passwords do not match."}}}
	f := &fakeAccounts{t: t,
		LoginFn: func(_ context.Context, in account.LoginInput) (account.TokenPair, error) {
			switch in.Password {
			case "the right one":
				return account.TokenPair{AccessToken: "access", RefreshToken: "lrt_refresh"}, nil
			case "":
				return account.TokenPair{}, latch.FieldError("password", latch.CodeRequired, "The password field is required.")
			}
			return account.TokenPair{}, &latch.Error{Kind: latch.KindUnauthenticated, Code: latch.CodeInvalidCredentials, Message: "wrong email or password"}
		},
		FlowDeadlineFn:  func() time.Time { return flowDeadline },
		AuthenticateFn:  func(context.Context, string) (account.Principal, error) { return account.Principal{User: user}, nil },
		MyIdentitiesFn:  func(context.Context, account.Principal) ([]latch.Identity, error) { return nil, nil },
		MyAppsFn:        func(context.Context, string) ([]account.MyApp, error) { return nil, nil },
		HasPasswordFn:   func(context.Context, string) (bool, error) { return true, nil },
		PasswordRulesFn: func(context.Context, string) string { return "At least 8 characters." },
		SetOwnPasswordFn: func(context.Context, account.Principal, account.SetOwnPasswordInput) error {
			return latch.FieldError("current_password", latch.CodeCurrentPasswordWrong, "The current password is not right.")
		},
		RequestRecoveryFn: func(context.Context, string) error {
			return latch.FieldError("email", latch.CodeInvalidEmail, "The email field must be a valid email address.")
		},
		PasswordLinkInfoFn: func(context.Context, string) (account.LinkInfo, error) {
			return account.LinkInfo{User: user, Rules: "At least 8 characters."}, nil
		},
		SetPasswordWithLinkFn:  func(context.Context, account.SetPasswordWithLinkInput) error { return policy },
		VerificationUserFn:     func(context.Context, string) (latch.User, error) { return user, nil },
		VerifyAndSetPasswordFn: func(context.Context, string, string) error { return policy },
		SignUpFn: func(context.Context, account.SignUpInput) error {
			return latch.FieldError("email", latch.CodeRequired, "The email field is required.")
		},
	}
	h := fakePages(f)
	rec, _ := serveFake(h, formPost("/login", url.Values{"email": {"ada@example.com"}, "password": {"the right one"}}))
	session := cookieNamed(rec, "__Host-latch_web")
	if session == nil {
		t.Fatalf("no session: %d %s", rec.Code, rec.Body)
	}
	for _, c := range []struct {
		name      string
		req       *http.Request
		errors    map[string]string // input id -> its error
		formError string
		rules     []string // inputs described by the password rules as well
	}{
		{"sign-in, a refused input", formPost("/login", url.Values{"email": {"ada@example.com"}}),
			map[string]string{"password": "The password field is required."}, "Not signed in: see below.", nil},
		{"sign-in, wrong password", formPost("/login", url.Values{"email": {"ada@example.com"}, "password": {"wrong"}}),
			nil, "That email and password do not match an account.", nil},
		{"recover", formPost("/recover", url.Values{"email": {"ada"}}),
			map[string]string{"email": "The email field must be a valid email address."}, "The email field must be a valid email address.", nil},
		{"set password with a link", formPost(account.SetPasswordPath, url.Values{"token": {"t"}, "password": {"short"}, "password_confirmation": {"other"}}),
			map[string]string{"password": policy.Message, "password_confirmation": "The two passwords do not match."}, "Not saved: see below.",
			[]string{"password", "password_confirmation"}},
		{"verify, passwords that differ", formPost(account.VerifyPath, url.Values{"token": {"t"}, "password": {"one"}, "password_confirmation": {"two"}}),
			map[string]string{"password_confirmation": "The two passwords do not match."}, "The password was not saved.", []string{"password", "password_confirmation"}},
		{"verify, the policy", formPost(account.VerifyPath, url.Values{"token": {"t"}, "password": {"short"}, "password_confirmation": {"short"}}),
			map[string]string{"password": policy.Message, "password_confirmation": "The two passwords do not match."}, "Not saved: see below.",
			[]string{"password", "password_confirmation"}},
		{"account password", formPost("/account/password", url.Values{"current_password": {"x"}, "password": {"a new one"}, "password_confirmation": {"a new one"}}, session),
			map[string]string{"current_password": "The current password is not right."}, "The password was not saved.", []string{"password", "password_confirmation"}},
		{"sign-up", formPost("/signup", url.Values{"email": {""}}),
			map[string]string{"email": "The email field is required."}, "Not signed up: see below.", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec, panicked := serveFake(h, c.req)
			if panicked != nil {
				t.Fatalf("panic: %v", panicked)
			}
			body := rec.Body.String()
			got := checkAccessible(t, body)
			if len(got.FieldErrors) != len(c.errors) {
				t.Errorf("field errors %v, want %v", got.FieldErrors, c.errors)
			}
			for id, msg := range c.errors {
				if got.FieldErrors[id] != msg {
					t.Errorf("input %s: error %q, want %q", id, got.FieldErrors[id], msg)
				}
			}
			if got.FormError != c.formError {
				t.Errorf("form error %q, want %q", got.FormError, c.formError)
			}
			for _, id := range c.rules {
				if !regexp.MustCompile(`id="` + id + `"[^>]*aria-describedby="[^"]*\brules\b`).MatchString(body) {
					t.Errorf("input %s is not described by the rules:\n%s", id, body)
				}
			}
		})
	}
}
