// Package mail renders Latch's emails and delivers them: an SMTP sender, a
// development sender that writes messages to the log, and the worker that
// drains the durable outbox (latch.OutboxStore).
package mail

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	netmail "net/mail"
	"net/url"
	"strings"
	texttemplate "text/template"

	"github.com/latchid/latch"
)

// Message is one rendered email. To and ID are filled by the caller.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// ID is the Message-ID without its angle brackets (left@right). The
	// worker makes it from the outbox row, so that every attempt to send
	// one message carries the same one: delivery is at least once, and a
	// receiver drops a second copy by its Message-ID. Empty: the sender
	// makes up a random one.
	ID string
}

// DefaultProduct names the product in emails when Templates.Product is
// empty.
const DefaultProduct = "Latch"

// ProductName is the one name pages and emails give the product: product
// (LATCH_PRODUCT_NAME) when set; else the display name of the sender from
// (LATCH_MAIL_FROM), so that an operator who sends as "Acme
// <no-reply@acme.example>" gets emails and pages that say Acme; else
// DefaultProduct. Whitespace is collapsed: the name goes into subjects.
func ProductName(product, from string) string {
	if name := oneLine(product); name != "" {
		return name
	}
	if addr, err := netmail.ParseAddress(from); err == nil {
		if name := oneLine(addr.Name); name != "" {
			return name
		}
	}
	return DefaultProduct
}

// DefaultFrom is the sender when LATCH_MAIL_FROM is unset: the product's
// name at no-reply@host, quoted (and encoded, when not ASCII) as RFC 5322
// asks.
func DefaultFrom(product, host string) string {
	return (&netmail.Address{Name: product, Address: "no-reply@" + host}).String()
}

// Templates renders the latch.Mail* templates.
type Templates struct {
	// Product is the name shown in subjects and bodies (DefaultProduct
	// when empty).
	Product string
	// PublicURL is the external base URL of Latch (no trailing slash
	// needed); it is shown in the footer and is the base of the default
	// login_url.
	PublicURL string
}

// Data keys a template reads. Links must be absolute http(s) URLs.
const (
	KeyLink       = "link"        // set_password, verify_email, recovery (required)
	KeyFirstName  = "first_name"  // optional greeting
	KeyEmail      = "email"       // optional: the account's address
	KeyExpires    = "expires"     // optional, e.g. "24 hours"
	KeyLoginURL   = "login_url"   // password_set, signup_exists (default PublicURL + "/login")
	KeyRecoverURL = "recover_url" // signup_exists (required); password_set (optional)
)

// templateSpec says which data a template needs.
type templateSpec struct {
	link, loginURL, recoverURL bool // required
}

var specs = map[string]templateSpec{
	latch.MailSetPassword:      {link: true},
	latch.MailPasswordSet:      {loginURL: true},
	latch.MailVerifyEmail:      {link: true},
	latch.MailSignupExists:     {loginURL: true, recoverURL: true},
	latch.MailRecovery:         {link: true},
	latch.MailRecoveryCodeUsed: {loginURL: true},
	latch.MailPasskeyAdded:     {loginURL: true},
	latch.MailFactorsReset:     {loginURL: true},
}

//go:embed templates
var files embed.FS

type parsed struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

// button is the argument of the "button" HTML template.
type button struct{ URL, Label string }

// compiled holds the parsed templates; it is written once, at init, and
// only read afterwards.
var compiled = func() map[string]parsed {
	out := make(map[string]parsed, len(specs))
	funcs := htmltemplate.FuncMap{"button": func(u, label string) button { return button{u, label} }}
	for name := range specs {
		out[name] = parsed{
			text: texttemplate.Must(texttemplate.New(name).ParseFS(files, "templates/layout.txt", "templates/"+name+".txt")),
			html: htmltemplate.Must(htmltemplate.New(name).Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/"+name+".html")),
		}
	}
	return out
}()

// view is what the templates see.
type view struct {
	Product, PublicURL, Subject string
	Link, LoginURL, RecoverURL  string
	FirstName, Email, Expires   string
}

// ErrUnknownTemplate is returned by Render for a name it does not know.
var ErrUnknownTemplate = errors.New("mail: unknown template")

// Render renders template (one of the latch.Mail* names) with data. The
// error never holds a data value (a link is a secret).
func (t Templates) Render(template string, data map[string]string) (Message, error) {
	spec, ok := specs[template]
	if !ok {
		return Message{}, fmt.Errorf("%w %q", ErrUnknownTemplate, template)
	}
	tpl := compiled[template]
	v := view{
		Product:   oneLine(t.Product),
		PublicURL: strings.TrimRight(t.PublicURL, "/"),
		FirstName: oneLine(data[KeyFirstName]),
		Email:     oneLine(data[KeyEmail]),
		Expires:   oneLine(data[KeyExpires]),
	}
	if v.Product == "" {
		v.Product = DefaultProduct
	}
	urls := []struct {
		key      string
		required bool
		dst      *string
		fallback string
	}{
		{KeyLink, spec.link, &v.Link, ""},
		{KeyLoginURL, spec.loginURL, &v.LoginURL, loginURL(v.PublicURL)},
		{KeyRecoverURL, spec.recoverURL, &v.RecoverURL, ""},
	}
	for _, u := range urls {
		s := strings.TrimSpace(data[u.key])
		if s == "" {
			s = u.fallback
		}
		if s == "" {
			if u.required {
				return Message{}, fmt.Errorf("mail: template %s: %s is missing", template, u.key)
			}
			continue
		}
		if !absoluteHTTP(s) {
			return Message{}, fmt.Errorf("mail: template %s: %s is not an absolute http(s) URL", template, u.key)
		}
		*u.dst = s
	}

	var subject, text, html bytes.Buffer
	if err := tpl.text.ExecuteTemplate(&subject, "subject", v); err != nil {
		return Message{}, fmt.Errorf("mail: template %s: subject: %w", template, err)
	}
	v.Subject = oneLine(subject.String())
	if err := tpl.text.ExecuteTemplate(&text, "layout", v); err != nil {
		return Message{}, fmt.Errorf("mail: template %s: text: %w", template, err)
	}
	if err := tpl.html.ExecuteTemplate(&html, "layout", v); err != nil {
		return Message{}, fmt.Errorf("mail: template %s: html: %w", template, err)
	}
	return Message{
		Subject: v.Subject,
		Text:    strings.TrimSpace(text.String()) + "\n",
		HTML:    strings.TrimSpace(html.String()) + "\n",
	}, nil
}

func loginURL(publicURL string) string {
	if publicURL == "" {
		return ""
	}
	return publicURL + "/login"
}

// oneLine collapses whitespace, line breaks included, so that a value
// cannot add lines to a message or a header.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	return (u.Scheme == "http" || u.Scheme == "https") && !strings.ContainsAny(s, " \t\r\n")
}
