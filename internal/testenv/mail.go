package testenv

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/mail"
)

// MailPublicURL is the public URL of a MailHarness's Latch: links in its
// emails start with it, and Follow maps them to the test server.
const MailPublicURL = "http://latch.test"

// MailHarness is a Harness whose mail goes through the outbox, a delivery
// worker and a real SMTP conversation with an in-process server.
type MailHarness struct {
	*Harness
	SMTP   *SMTPServer
	Worker *mail.Worker
	Server *httptest.Server
}

// NewMailHarness wires cfg (PublicURL and MailQueued are set here) over
// store, starts the SMTP server, the delivery worker (on the harness's
// clock), the job worker (recovery, sign-up) and the HTTP server; all stop
// when t ends.
func NewMailHarness(t testing.TB, store latch.Store, cfg account.Config) *MailHarness {
	t.Helper()
	smtp := StartSMTP(t)
	var worker *mail.Worker // set below, before any request can queue mail
	cfg.PublicURL = MailPublicURL
	cfg.MailQueued = func() { worker.Notify() }
	h := NewHarnessWithConfig(t, store, cfg)
	sender, err := mail.NewSMTP(smtp.URL(), "Latch <no-reply@latch.test>")
	if err != nil {
		t.Fatal(err)
	}
	worker = mail.NewWorker(mail.WorkerConfig{
		Store: store, Sender: sender, Now: h.Clock.Now, Log: slog.New(slog.DiscardHandler),
		Open:      func(sealed []byte) (map[string]string, error) { return account.OpenMailData(h.Keys, sealed) },
		Templates: mail.Templates{Product: "Latch", PublicURL: MailPublicURL},
		Interval:  50 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done, jobsDone := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); worker.Run(ctx) }()
	// Recovery and sign-up requests are done by the job worker, as in
	// serve.
	go func() { defer close(jobsDone); h.Accounts.RunJobs(ctx, 50*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done; <-jobsDone })
	return &MailHarness{Harness: h, SMTP: smtp, Worker: worker, Server: h.Server(t)}
}

// ForEachMailBackend runs f against a fresh MailHarness on every backend,
// in parallel subtests.
func ForEachMailBackend(t *testing.T, cfg account.Config, f func(t *testing.T, h *MailHarness)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f(t, NewMailHarness(t, b.Open(t), cfg))
		})
	}
}

var linkPattern = regexp.MustCompile(regexp.QuoteMeta(MailPublicURL) + `(/[a-z-]+\?token=[A-Za-z0-9_.\-]+)`)

// Link returns the path and query of the first Latch link in a message's
// text part, failing the test if there is none.
func Link(t testing.TB, m Received) string {
	t.Helper()
	match := linkPattern.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no link in the message %q:\n%s", m.Subject, m.Text)
	}
	if !strings.Contains(m.HTML, match[1]) && !strings.Contains(m.HTML, strings.ReplaceAll(match[1], "&", "&amp;")) {
		t.Fatalf("the HTML part lacks the text part's link %s", match[1])
	}
	return match[1]
}

// Token returns the token= value of a link path.
func Token(link string) string {
	_, tok, _ := strings.Cut(link, "token=")
	return tok
}
