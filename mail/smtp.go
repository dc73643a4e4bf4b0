package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Sender delivers a rendered message. An error never holds the message's
// body (which may hold a link).
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrUndeliverable marks an error that another attempt will not fix (an
// invalid recipient address): the worker gives the message up at once.
var ErrUndeliverable = errors.New("mail: undeliverable")

// SMTPTimeout bounds connecting and each SMTP command.
const SMTPTimeout = 10 * time.Second

// Default ports: submission with STARTTLS for smtp://, implicit TLS for
// smtps://.
const (
	DefaultSMTPPort  = 587
	DefaultSMTPSPort = 465
)

// SMTP sends mail through an SMTP server (LATCH_SMTP_URL). It opens one
// connection per message and is safe for concurrent use.
type SMTP struct {
	host        string
	port        int
	implicitTLS bool
	// opportunistic accepts a server without STARTTLS (loopback, or
	// ?tls=opportunistic); otherwise STARTTLS is required.
	opportunistic bool
	user, pass    string
	hasUser       bool
	from          *netmail.Address
	timeout       time.Duration
}

// NewSMTP parses rawURL and from (LATCH_MAIL_FROM, e.g. `Latch
// <no-reply@example.com>`).
//
// rawURL is smtp://[user:pass@]host[:port][?tls=opportunistic|required] (default
// port 587) or smtps://[user:pass@]host[:port] (TLS from the first byte,
// default port 465). smtp:// requires STARTTLS: a network attacker who
// strips it would otherwise read every link and the credentials. A relay
// on the loopback interface may go without TLS (unless ?tls=required);
// elsewhere only with
// ?tls=opportunistic (STARTTLS when offered), and never with a user,
// which authenticates with PLAIN or LOGIN.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the URL, which may hold a password.
		return nil, errors.New("mail: SMTP URL is not a valid URL")
	}
	s := &SMTP{timeout: SMTPTimeout}
	switch u.Scheme {
	case "smtp":
		s.port = DefaultSMTPPort
	case "smtps":
		s.implicitTLS = true
		s.port = DefaultSMTPSPort
	default:
		return nil, fmt.Errorf("mail: SMTP URL: scheme %q is not smtp or smtps", u.Scheme)
	}
	q := u.Query()
	tlsMode := q.Get("tls")
	q.Del("tls")
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || len(q) > 0 || u.Fragment != "" {
		return nil, errors.New("mail: SMTP URL: want smtp[s]://[user:pass@]host[:port][?tls=opportunistic], with no path or other query")
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("mail: SMTP URL: host is missing")
	}
	switch tlsMode {
	case "":
		s.opportunistic = isLoopback(s.host) && !s.implicitTLS
	case "required":
	case "opportunistic":
		if s.implicitTLS {
			return nil, errors.New("mail: SMTP URL: smtps:// is always TLS; tls=opportunistic is for smtp://")
		}
		s.opportunistic = true
	default:
		return nil, fmt.Errorf("mail: SMTP URL: tls=%q: want required or opportunistic", tlsMode)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mail: SMTP URL: port %q is not a number from 1 to 65535", p)
		}
		s.port = n
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, errors.New("mail: SMTP URL: port is empty")
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		s.hasUser = s.user != ""
	}
	if s.hasUser && s.opportunistic && !isLoopback(s.host) {
		return nil, errors.New("mail: SMTP URL: credentials need TLS: drop tls=opportunistic, or use smtps://")
	}
	if strings.TrimSpace(from) == "" {
		return nil, errors.New("mail: the sender address (LATCH_MAIL_FROM) is not set")
	}
	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: the sender address (LATCH_MAIL_FROM) %q is invalid: %v", from, err)
	}
	s.from = addr
	return s, nil
}

// From is the parsed sender address.
func (s *SMTP) From() string { return s.from.String() }

// Addr is host:port of the server, for logs (no credentials).
func (s *SMTP) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// Send delivers m as multipart/alternative (text, then HTML).
func (s *SMTP) Send(ctx context.Context, m Message) error {
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return fmt.Errorf("%w: invalid recipient address", ErrUndeliverable)
	}
	// No User-Agent or X-Mailer: go-mail would name itself and its
	// version in every message, telling anyone who reads one which
	// library (and so which known bugs) stands behind Latch's mail.
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	msg.FromMailAddress(s.from)
	msg.ToMailAddress(to)
	msg.Subject(oneLine(m.Subject))
	if m.ID != "" {
		msg.SetMessageIDWithValue(m.ID)
	}
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	}

	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(s.timeout)}
	if s.implicitTLS {
		opts = append(opts, gomail.WithSSL())
	} else if s.opportunistic {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if s.hasUser {
		// PLAIN, or LOGIN: nothing go-mail would discover by itself.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.user), gomail.WithPassword(s.pass))
	}
	// A client per message: go-mail's Client keeps per-connection state.
	c, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return fmt.Errorf("mail: smtp %s: %w", s.Addr(), err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: smtp %s: %w", s.Addr(), err)
	}
	return nil
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LogSender is the development sender, used when LATCH_SMTP_URL is unset:
// it writes each message, link included, to the log instead of sending it.
type LogSender struct {
	Log *slog.Logger
}

// Send logs m at Warn; it never fails.
func (l LogSender) Send(ctx context.Context, m Message) error {
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	log.WarnContext(ctx, "mail is not configured (LATCH_SMTP_URL unset): not sent; this log entry holds the message",
		"to", m.To, "subject", m.Subject, "text", m.Text)
	return nil
}
