package mail_test

import (
	"errors"
	"html"
	"strings"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/mail"
)

const testLink = "https://id.example.com/password?token=SECRETTOKEN&x=1"

var allTemplates = []string{
	latch.MailSetPassword, latch.MailPasswordSet, latch.MailVerifyEmail,
	latch.MailSignupExists, latch.MailRecovery, latch.MailRecoveryCodeUsed, latch.MailPasskeyAdded,
	latch.MailFactorsReset,
}

func fullData() map[string]string {
	return map[string]string{
		"link":        testLink,
		"first_name":  "Ada",
		"email":       "ada@example.com",
		"expires":     "24 hours",
		"login_url":   "https://id.example.com/login",
		"recover_url": "https://id.example.com/recover",
	}
}

// mainLink is the link a template is about.
func mainLink(name string) string {
	switch name {
	case latch.MailPasswordSet:
		return "https://id.example.com/recover"
	case latch.MailSignupExists, latch.MailRecoveryCodeUsed, latch.MailPasskeyAdded, latch.MailFactorsReset:
		return "https://id.example.com/login"
	}
	return testLink
}

func TestRenderEveryTemplate(t *testing.T) {
	tpl := mail.Templates{PublicURL: "https://id.example.com/"}
	for _, name := range allTemplates {
		t.Run(name, func(t *testing.T) {
			m, err := tpl.Render(name, fullData())
			if err != nil {
				t.Fatal(err)
			}
			if m.To != "" {
				t.Errorf("To = %q, want it left to the caller", m.To)
			}
			if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
				t.Errorf("Subject = %q", m.Subject)
			}
			if !strings.Contains(m.Subject, "Latch") {
				t.Errorf("Subject %q does not name the default product", m.Subject)
			}
			link := mainLink(name)
			if !strings.Contains(m.Text, link) {
				t.Errorf("text lacks %s:\n%s", link, m.Text)
			}
			escaped := html.EscapeString(link)
			if n := strings.Count(m.HTML, `href="`+escaped+`"`); n < 2 {
				t.Errorf("HTML has %d links to %s, want a button and a plain link:\n%s", n, link, m.HTML)
			}
			if !strings.Contains(m.HTML, ">"+escaped+"</a>") {
				t.Errorf("HTML does not show %s as text:\n%s", link, m.HTML)
			}
			for _, s := range []string{"Hi Ada,", "ada@example.com"} {
				if !strings.Contains(m.Text, s) || !strings.Contains(m.HTML, s) {
					t.Errorf("%q missing from text or HTML", s)
				}
			}
			if strings.Contains(m.HTML, "src=") || strings.Contains(m.HTML, "<link") {
				t.Errorf("HTML loads external resources:\n%s", m.HTML)
			}
			if !strings.HasPrefix(m.HTML, "<!DOCTYPE html>") {
				t.Errorf("HTML does not start with a doctype: %.40q", m.HTML)
			}
		})
	}
}

func TestRenderContent(t *testing.T) {
	tpl := mail.Templates{Product: "Acme ID", PublicURL: "https://id.example.com"}
	cases := []struct {
		name string
		want []string // in the text body
	}{
		{latch.MailSetPassword, []string{"does not have a password", "expires in 24 hours"}},
		{latch.MailPasswordSet, []string{"was just set or changed", "If it was not you", "https://id.example.com/recover"}},
		{latch.MailVerifyEmail, []string{"signing up", "expires in 24 hours"}},
		{latch.MailSignupExists, []string{"tried to sign up", "already has an account", "https://id.example.com/login", "https://id.example.com/recover"}},
		{latch.MailRecovery, []string{"reset the password", "expires in 24 hours"}},
		{latch.MailRecoveryCodeUsed, []string{"recovery code", "If it was not you", "https://id.example.com/login"}},
		{latch.MailPasskeyAdded, []string{"passkey was added", "If it was not you", "https://id.example.com/login"}},
		{latch.MailFactorsReset, []string{"administrator removed", "second factors", "recovery codes", "did not ask", "https://id.example.com/login"}},
	}
	for _, c := range cases {
		m, err := tpl.Render(c.name, fullData())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !strings.Contains(m.Subject, "Acme ID") {
			t.Errorf("%s: subject %q lacks the product", c.name, m.Subject)
		}
		for _, w := range c.want {
			if !strings.Contains(m.Text, w) {
				t.Errorf("%s: text lacks %q:\n%s", c.name, w, m.Text)
			}
		}
	}
}

func TestRenderDefaultLoginURL(t *testing.T) {
	data := fullData()
	delete(data, "login_url")
	delete(data, "recover_url")
	m, err := mail.Templates{PublicURL: "https://id.example.com/"}.Render(latch.MailPasswordSet, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "https://id.example.com/login\n") {
		t.Errorf("text lacks the default login URL:\n%s", m.Text)
	}
	if _, err := (mail.Templates{}).Render(latch.MailPasswordSet, data); err == nil {
		t.Error("password_set without login_url or PublicURL rendered")
	}
}

func TestRenderOptionalData(t *testing.T) {
	m, err := mail.Templates{}.Render(latch.MailRecovery, map[string]string{"link": testLink})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Hello,") || !strings.Contains(m.HTML, "Hello,") {
		t.Errorf("no neutral greeting without a first name:\n%s", m.Text)
	}
	if strings.Contains(m.Text, "()") || strings.Contains(m.Text, "expires in") {
		t.Errorf("empty optional values show:\n%s", m.Text)
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	data := fullData()
	data["first_name"] = `<script>alert("x")</script>`
	data["email"] = `a<b>@example.com`
	for _, name := range allTemplates {
		m, err := mail.Templates{}.Render(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<b>") {
			t.Errorf("%s: HTML holds unescaped data:\n%s", name, m.HTML)
		}
		if !strings.Contains(m.HTML, "&lt;script&gt;") {
			t.Errorf("%s: escaped first name missing from HTML", name)
		}
	}
}

func TestRenderOneLineValues(t *testing.T) {
	data := fullData()
	data["first_name"] = "Ada\r\nBcc: evil@example.com"
	m, err := mail.Templates{Product: "Acme\nID"}.Render(latch.MailRecovery, data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "Hi Ada Bcc: evil@example.com,") {
		t.Errorf("line breaks in a value kept:\n%s", m.Text)
	}
	if m.Subject != "Reset your Acme ID password" {
		t.Errorf("Subject = %q", m.Subject)
	}
}

func TestRenderErrors(t *testing.T) {
	tpl := mail.Templates{PublicURL: "https://id.example.com"}
	without := func(keys ...string) map[string]string {
		d := fullData()
		for _, k := range keys {
			delete(d, k)
		}
		return d
	}
	with := func(k, v string) map[string]string {
		d := fullData()
		d[k] = v
		return d
	}
	cases := []struct {
		desc, template string
		data           map[string]string
	}{
		{"set_password without link", latch.MailSetPassword, without("link")},
		{"verify_email without link", latch.MailVerifyEmail, without("link")},
		{"recovery without link", latch.MailRecovery, without("link")},
		{"recovery with blank link", latch.MailRecovery, with("link", "  ")},
		{"signup_exists without recover_url", latch.MailSignupExists, without("recover_url")},
		{"nil data", latch.MailSetPassword, nil},
		{"relative link", latch.MailRecovery, with("link", "/password?token=SECRETTOKEN")},
		{"javascript link", latch.MailRecovery, with("link", "javascript:alert(1)//SECRETTOKEN")},
		{"link with a line break", latch.MailRecovery, with("link", "https://x.example/?SECRETTOKEN\nBcc: a@b")},
		{"bad recover_url", latch.MailSignupExists, with("recover_url", "ftp://x.example/SECRETTOKEN")},
	}
	for _, c := range cases {
		_, err := tpl.Render(c.template, c.data)
		if err == nil {
			t.Errorf("%s: rendered", c.desc)
			continue
		}
		if strings.Contains(err.Error(), "SECRETTOKEN") {
			t.Errorf("%s: error holds the link: %v", c.desc, err)
		}
	}

	_, err := tpl.Render("welcome", fullData())
	if !errors.Is(err, mail.ErrUnknownTemplate) {
		t.Errorf("unknown template: err = %v, want ErrUnknownTemplate", err)
	}
}

// TestProductName: one name for pages and mail: LATCH_PRODUCT_NAME when
// set, else the display name of LATCH_MAIL_FROM, else Latch; and the
// default sender carries that name.
func TestProductName(t *testing.T) {
	for _, c := range []struct{ product, from, want string }{
		{"", "", "Latch"},
		{"", "Acme <no-reply@acme.example>", "Acme"},
		{"", `"Acme ID" <no-reply@acme.example>`, "Acme ID"},
		{"", "=?utf-8?q?Caf=C3=A9_ID?= <no-reply@cafe.example>", "Café ID"},
		{"", "no-reply@acme.example", "Latch"},
		{"", "not an address", "Latch"},
		{"", `"  " <no-reply@acme.example>`, "Latch"},
		{"Acme ID", "Latch <no-reply@acme.example>", "Acme ID"},
		{"  Acme\n ID ", "", "Acme ID"},
	} {
		if got := mail.ProductName(c.product, c.from); got != c.want {
			t.Errorf("ProductName(%q, %q) = %q, want %q", c.product, c.from, got, c.want)
		}
	}
	for _, c := range []struct{ product, want string }{
		{"Latch", `"Latch" <no-reply@id.example>`},
		{"Acme ID", `"Acme ID" <no-reply@id.example>`},
		{"Café", "=?utf-8?q?Caf=C3=A9?= <no-reply@id.example>"},
	} {
		from := mail.DefaultFrom(c.product, "id.example")
		if from != c.want {
			t.Errorf("DefaultFrom(%q) = %q, want %q", c.product, from, c.want)
		}
		if got := mail.ProductName("", from); got != c.product {
			t.Errorf("the name of DefaultFrom(%q) reads back as %q", c.product, got)
		}
		if _, err := mail.NewSMTP("smtp://127.0.0.1:2525", from); err != nil {
			t.Errorf("DefaultFrom(%q) = %q is refused as a sender: %v", c.product, from, err)
		}
	}
}
