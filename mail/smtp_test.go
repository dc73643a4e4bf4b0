package mail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/mail"
)

const testFrom = "Latch <no-reply@latch.test>"

var linkRE = regexp.MustCompile(`https://id\.example\.com/password\?token=\S+`)

func TestSMTPSend(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s, err := mail.NewSMTP(srv.URL(), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.Templates{Product: "Latch ✓", PublicURL: "https://id.example.com"}.Render(latch.MailRecovery, fullData())
	if err != nil {
		t.Fatal(err)
	}
	m.To = "Ada@Example.com"
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}

	got := srv.WaitFor(t, "ada@example.com", 5*time.Second)
	if got.From != "no-reply@latch.test" {
		t.Errorf("envelope From = %q", got.From)
	}
	if h := got.Header.Get("From"); !strings.Contains(h, "<no-reply@latch.test>") || !strings.Contains(h, "Latch") {
		t.Errorf("From header = %q", h)
	}
	if got.Subject != "Reset your Latch ✓ password" {
		t.Errorf("Subject = %q", got.Subject)
	}
	if ct := got.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("Content-Type = %q", ct)
	}
	if got.Text != m.Text {
		t.Errorf("text part:\n%q\nwant\n%q", got.Text, m.Text)
	}
	if got.HTML != m.HTML {
		t.Errorf("HTML part differs:\n%s", got.HTML)
	}
	if l := linkRE.FindString(got.Text); l != testLink {
		t.Errorf("link in text = %q, want %q", l, testLink)
	}
	if got.User != "" {
		t.Errorf("authenticated as %q without a user in the URL", got.User)
	}
}

func TestSMTPAuthPlain(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s, err := mail.NewSMTP("smtp://latch:s%3Acret@"+srv.Addr(), "no-reply@latch.test")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(t.Context(), mail.Message{To: "a@example.com", Subject: "hi", Text: "hello\n"}); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, "a@example.com", 5*time.Second)
	if got.User != "latch" {
		t.Errorf("AUTH user = %q, want latch", got.User)
	}
	if got.Text != "hello\n" || got.HTML != "" {
		t.Errorf("text-only message: text %q, html %q", got.Text, got.HTML)
	}
}

func TestSMTPServerDown(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s, err := mail.NewSMTP(srv.URL(), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	m := mail.Message{To: "a@example.com", Subject: "s", Text: "body " + testLink, HTML: "<p>" + testLink + "</p>"}
	err = s.Send(t.Context(), m)
	if err == nil {
		t.Fatal("sent with the server down")
	}
	if strings.Contains(err.Error(), "SECRETTOKEN") {
		t.Errorf("error holds the body: %v", err)
	}
	if errors.Is(err, mail.ErrUndeliverable) {
		t.Errorf("an outage is not permanent: %v", err)
	}

	srv.Start()
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatalf("after Start: %v", err)
	}
	srv.WaitFor(t, "a@example.com", 5*time.Second)
}

func TestSMTPCancelled(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s, err := mail.NewSMTP(srv.URL(), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Send(ctx, mail.Message{To: "a@example.com", Subject: "s", Text: "t"}); err == nil {
		t.Error("sent with a cancelled context")
	}
}

func TestSMTPInvalidRecipient(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s, err := mail.NewSMTP(srv.URL(), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"", "not an address", "a@example.com\r\nBcc: b@example.com"} {
		err := s.Send(t.Context(), mail.Message{To: to, Subject: "s", Text: "t"})
		if !errors.Is(err, mail.ErrUndeliverable) {
			t.Errorf("To %q: err = %v, want ErrUndeliverable", to, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages arrived", n)
	}
}

func TestNewSMTP(t *testing.T) {
	good := []struct{ url, addr string }{
		{"smtp://mail.example.com:2525", "mail.example.com:2525"},
		{"smtp://mail.example.com", "mail.example.com:587"},
		{"smtp://user:pass@mail.example.com:25/", "mail.example.com:25"},
		{"smtps://mail.example.com", "mail.example.com:465"},
		{"smtps://user:p%40ss@mail.example.com:2465", "mail.example.com:2465"},
		{"smtp://[::1]:25", "[::1]:25"},
		{"smtp://mail.example.com?tls=opportunistic", "mail.example.com:587"},
		{"smtp://user:pass@mail.example.com?tls=required", "mail.example.com:587"},
	}
	for _, c := range good {
		s, err := mail.NewSMTP(c.url, testFrom)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if s.Addr() != c.addr {
			t.Errorf("%s: Addr = %q, want %q", c.url, s.Addr(), c.addr)
		}
	}

	bad := []string{
		"",
		"mail.example.com:25",
		"http://mail.example.com",
		"smtp://",
		"smtp://:25",
		"smtp://user:hunter2@:25",
		"smtp://mail.example.com:0",
		"smtp://mail.example.com:65536",
		"smtp://mail.example.com:smtp",
		"smtp://mail.example.com:",
		"smtp://mail.example.com/path",
		"smtp://mail.example.com?tls=no",
		"smtp://user:hunter2@mail.example.com:25\n",
		"smtp://user:hunter2@mail.example.com?tls=opportunistic", // credentials in clear
		"smtps://mail.example.com?tls=opportunistic",
		"smtp://mail.example.com?tls=maybe",
		"smtp://mail.example.com?tls=required&x=1",
	}
	for _, u := range bad {
		_, err := mail.NewSMTP(u, testFrom)
		if err == nil {
			t.Errorf("%q accepted", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q: error holds the password: %v", u, err)
		}
	}

	for _, from := range []string{"", "   ", "latch", "Latch <no-reply>", "a@b.c, d@e.f"} {
		if _, err := mail.NewSMTP("smtp://mail.example.com", from); err == nil {
			t.Errorf("From %q accepted", from)
		}
	}
	s, err := mail.NewSMTP("smtp://mail.example.com", "  Latch  <no-reply@latch.test> ")
	if err != nil {
		t.Fatal(err)
	}
	if s.From() != `"Latch" <no-reply@latch.test>` {
		t.Errorf("From = %q", s.From())
	}
}

func TestLogSender(t *testing.T) {
	var buf bytes.Buffer
	l := mail.LogSender{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	err := l.Send(t.Context(), mail.Message{To: "a@example.com", Subject: "Reset", Text: "open " + testLink, HTML: "<p>html</p>"})
	if err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"level=WARN", "LATCH_SMTP_URL", "a@example.com", "Reset", "SECRETTOKEN"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q: %s", want, out)
		}
	}
	if strings.Contains(out, "<p>html</p>") {
		t.Errorf("log holds the HTML body: %s", out)
	}
	// A zero LogSender logs to slog.Default and does not panic.
	if err := (mail.LogSender{}).Send(t.Context(), mail.Message{}); err != nil {
		t.Fatal(err)
	}
}

// TestSMTPRequiresTLS: with tls=required (the default away from loopback)
// a server that offers no STARTTLS gets nothing: the message is refused
// rather than sent in clear.
func TestSMTPRequiresTLS(t *testing.T) {
	srv := testenv.StartSMTP(t) // offers no STARTTLS
	s, err := mail.NewSMTP(srv.URL()+"?tls=required", testFrom)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(context.Background(), mail.Message{To: "ada@example.com", Subject: "s", Text: "secret link"})
	if err == nil || len(srv.Messages()) != 0 {
		t.Fatalf("sent without TLS: %v, %d messages", err, len(srv.Messages()))
	}
}

// TestSMTPSendsNoMailer: the messages Latch sends name no mail library or
// version (no X-Mailer, no User-Agent), over a real SMTP conversation.
func TestSMTPSendsNoMailer(t *testing.T) {
	srv := testenv.StartSMTP(t)
	s, err := mail.NewSMTP(srv.URL(), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.Templates{PublicURL: "https://id.example.com"}.Render(latch.MailRecovery, fullData())
	if err != nil {
		t.Fatal(err)
	}
	m.To = "ada@example.com"
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, "ada@example.com", 5*time.Second)
	for _, h := range []string{"X-Mailer", "User-Agent"} {
		if v, ok := got.Header[h]; ok {
			t.Errorf("%s: %q sent", h, v)
		}
	}
	if bytes.Contains(bytes.ToLower(got.Raw), []byte("go-mail")) {
		t.Errorf("the message names go-mail:\n%s", got.Raw)
	}
	if got.Header.Get("Message-Id") == "" || got.Header.Get("Date") == "" {
		t.Errorf("the headers a message needs are missing: %v", got.Header)
	}
}
