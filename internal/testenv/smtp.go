package testenv

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one message the capture server accepted.
type Received struct {
	From    string   // envelope sender (MAIL FROM)
	To      []string // envelope recipients (RCPT TO)
	Header  netmail.Header
	Subject string // decoded
	Text    string // the text/plain part, decoded, lines ending in LF
	HTML    string // the text/html part, decoded, lines ending in LF
	Raw     []byte
	User    string // the AUTH PLAIN user, if the client authenticated
}

// SMTPServer is an in-process SMTP server that captures what it is sent.
// It accepts any AUTH PLAIN credentials (also without TLS) and offers no
// STARTTLS.
type SMTPServer struct {
	addr string

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	msgs     []Received
	returned []bool        // by WaitFor
	arrived  chan struct{} // closed (and replaced) when a message arrives
}

// StartSMTP starts a capture server on 127.0.0.1 and a free port, stopped
// when t ends.
func StartSMTP(t testing.TB) *SMTPServer {
	t.Helper()
	s := &SMTPServer{addr: "127.0.0.1:0", arrived: make(chan struct{})}
	if err := s.start(); err != nil {
		t.Fatalf("smtp capture server: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// URL is the smtp:// URL of the server, for mail.NewSMTP.
func (s *SMTPServer) URL() string { return "smtp://" + s.addr }

// Addr is host:port.
func (s *SMTPServer) Addr() string { return s.addr }

// Stop closes the listener and open connections: the server is down and
// connections are refused until Start.
func (s *SMTPServer) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Closed here too: srv.Close misses a listener that Serve has
		// not registered yet.
		_ = ln.Close()
		_ = srv.Close()
	}
}

// Start listens again, on the same port, after Stop. It panics if the
// port cannot be bound (it is called from tests).
func (s *SMTPServer) Start() {
	if err := s.start(); err != nil {
		panic(fmt.Sprintf("smtp capture server: %v", err))
	}
}

func (s *SMTPServer) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return err
	}
	s.addr = l.Addr().String()
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &captureSession{s: s}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.ErrorLog = discardLogger{}
	s.srv, s.ln = srv, l
	go func() { _ = srv.Serve(l) }()
	return nil
}

// Messages returns every message received so far, oldest first.
func (s *SMTPServer) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.msgs...)
}

// WaitFor returns the oldest message to to (case-insensitive) that
// WaitFor has not returned yet, waiting for it up to timeout; the test
// fails if none arrives.
func (s *SMTPServer) WaitFor(t testing.TB, to string, timeout time.Duration) Received {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for i, m := range s.msgs {
			if s.returned[i] || !hasRecipient(m, to) {
				continue
			}
			s.returned[i] = true
			s.mu.Unlock()
			return m
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-deadline.C:
			t.Fatalf("no email to %s within %s (%d received in all)", to, timeout, len(s.Messages()))
			return Received{}
		}
	}
}

func hasRecipient(m Received, to string) bool {
	for _, r := range m.To {
		if strings.EqualFold(r, to) {
			return true
		}
	}
	return false
}

func (s *SMTPServer) add(m Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	s.returned = append(s.returned, false)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

type captureSession struct {
	s    *SMTPServer
	user string
	from string
	to   []string
}

func (c *captureSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (c *captureSession) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		c.user = username
		return nil
	}), nil
}

func (c *captureSession) Mail(from string, _ *smtp.MailOptions) error {
	c.from = from
	return nil
}

func (c *captureSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	c.to = append(c.to, to)
	return nil
}

func (c *captureSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := ParseMessage(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "unparsable message: " + err.Error()}
	}
	m.From, m.To, m.User = c.from, append([]string(nil), c.to...), c.user
	c.s.add(m)
	return nil
}

func (c *captureSession) Reset() { c.from, c.to = "", nil }

func (c *captureSession) Logout() error { return nil }

// ParseMessage parses a raw RFC 5322 message: the decoded subject and the
// first text/plain and text/html parts, also inside nested multiparts.
func ParseMessage(raw []byte) (Received, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Received{}, err
	}
	out := Received{Raw: raw, Header: msg.Header}
	dec := new(mime.WordDecoder)
	if out.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Received{}, fmt.Errorf("subject: %w", err)
	}
	err = walkPart(&out, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return out, err
}

func walkPart(out *Received, contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content-type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			// NextPart already decodes quoted-printable (and removes the
			// header); base64 is left to walkPart.
			if err := walkPart(out, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body) // skips CR and LF
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	// Lines end in CRLF on the wire; tests compare with LF.
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
	switch {
	case mediaType == "text/plain" && out.Text == "":
		out.Text = text
	case mediaType == "text/html" && out.HTML == "":
		out.HTML = text
	}
	return nil
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...interface{}) {}
func (discardLogger) Println(...interface{})        {}
