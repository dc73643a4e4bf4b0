package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/latchid/latch"
)

// Worker defaults.
const (
	DefaultInterval    = time.Second
	DefaultLease       = time.Minute
	DefaultBatch       = 20
	DefaultMaxAttempts = 12
)

// markTimeout bounds recording an outcome, which is done even when the
// worker's context has just ended: a message that went out must not be
// sent again.
const markTimeout = 5 * time.Second

// WorkerConfig configures a Worker. Store, Open, Sender are required.
type WorkerConfig struct {
	Store latch.OutboxStore
	// Open turns a message's sealed Data back into the template's values
	// (token.Keys.Open("mail", ...) and JSON, wired by the caller).
	Open      func(sealed []byte) (map[string]string, error)
	Sender    Sender
	Templates Templates
	Now       func() time.Time // time.Now when nil
	Log       *slog.Logger     // slog.Default() when nil
	// Interval between polls of the outbox (DefaultInterval). Notify
	// wakes the worker sooner.
	Interval time.Duration
	// Lease is how long a claimed message is kept from other workers
	// while this one delivers it (DefaultLease).
	Lease time.Duration
	// Batch is how many messages one pass claims (DefaultBatch).
	Batch int
	// MaxAttempts: a message that failed this many times is given up
	// (DefaultMaxAttempts).
	MaxAttempts int
	// Backoff is the wait after the attempt-th failed attempt
	// (DefaultBackoff).
	Backoff func(attempt int) time.Duration
	// MessageIDDomain is the right-hand side of every Message-ID
	// (<outbox-id@MessageIDDomain>). Default: the host of
	// Templates.PublicURL, else "localhost".
	MessageIDDomain string
	// Observer is told of every delivery attempt's outcome (default:
	// nobody).
	Observer Observer
}

// Observer is told what the Worker delivered, for an operator's metrics
// (package metrics implements it). Its methods must be quick.
type Observer interface {
	// Sent: a message of template went out (and was recorded so, or
	// will go out again once its lease ends if the record failed).
	Sent(template string)
	// Failed: an attempt to deliver a message of template failed; givenUp
	// when it was the last (the message is failed for good).
	Failed(template string, givenUp bool)
}

type unobserved struct{}

func (unobserved) Sent(string)         {}
func (unobserved) Failed(string, bool) {}

// Worker delivers the outbox: it claims due messages, opens and renders
// them, sends them, and records the outcome. Several workers (replicas)
// may run against one store: ClaimMail's lease keeps them apart.
type Worker struct {
	cfg  WorkerConfig
	wake chan struct{}
}

// NewWorker fills cfg's defaults.
func NewWorker(cfg WorkerConfig) *Worker {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.MessageIDDomain == "" {
		cfg.MessageIDDomain = messageIDDomain(cfg.Templates.PublicURL)
	}
	if cfg.Observer == nil {
		cfg.Observer = unobserved{}
	}
	return &Worker{cfg: cfg, wake: make(chan struct{}, 1)}
}

// DefaultBackoff waits 15s * 2^(attempt-1), at most an hour, plus up to
// 10% jitter so that messages that failed together do not retry together.
// Twelve attempts span about four hours.
func DefaultBackoff(attempt int) time.Duration {
	d := time.Hour
	if attempt < 1 {
		attempt = 1
	}
	if attempt <= 9 { // 15s * 2^8 = 64 min: capped from there on
		d = min(15*time.Second<<(attempt-1), time.Hour)
	}
	return d + rand.N(d/10+1)
}

// Notify wakes Run to deliver now rather than at the next poll. It never
// blocks.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-w.wake:
		}
		claimed, _, err := w.pass(ctx)
		if errors.Is(err, errClaim) && ctx.Err() == nil {
			// Delivery and recording errors were logged by deliver.
			w.cfg.Log.ErrorContext(ctx, "mail: outbox", "err", err)
		}
		next := w.cfg.Interval
		if claimed == w.cfg.Batch && err == nil {
			next = 0 // a full batch: there may be more due
		}
		timer.Reset(next)
	}
}

// errClaim is wrapped by RunOnce's error when the outbox could not be
// read.
var errClaim = errors.New("mail: claim")

// errDelivery is wrapped by RunOnce's error when messages were not
// delivered (each was logged and recorded).
var errDelivery = errors.New("mail: delivery failed")

// RunOnce claims the due messages (at most Batch) and delivers them. It
// returns how many were sent, and an error if the claim failed, a message
// was not delivered, or an outcome could not be recorded.
func (w *Worker) RunOnce(ctx context.Context) (sent int, err error) {
	_, sent, err = w.pass(ctx)
	return sent, err
}

func (w *Worker) pass(ctx context.Context) (claimed, sent int, err error) {
	claimedAt := w.cfg.Now()
	msgs, err := w.cfg.Store.ClaimMail(ctx, claimedAt, w.cfg.Lease, w.cfg.Batch)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", errClaim, err)
	}
	// A message is only started in the first half of its lease, so that
	// it is done before another worker may claim it again: with a slow
	// server, the rest of the batch waits for the lease to end.
	startBy := claimedAt.Add(w.cfg.Lease / 2)
	var failed int
	var errs []error
	for i, m := range msgs {
		if ctx.Err() != nil {
			// The rest go out once their lease ends.
			errs = append(errs, ctx.Err())
			break
		}
		if w.cfg.Now().After(startBy) {
			w.cfg.Log.WarnContext(ctx, "mail: delivery is slow; the rest of the batch waits for its lease to end",
				"left", len(msgs)-i, "lease", w.cfg.Lease)
			break
		}
		ok, err := w.deliver(ctx, m)
		if ok {
			sent++
		} else {
			failed++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if failed > 0 {
		errs = append([]error{fmt.Errorf("%w: %d of %d messages", errDelivery, failed, len(msgs))}, errs...)
	}
	return len(msgs), sent, errors.Join(errs...)
}

// deliver sends one claimed message and records the outcome. ok says it
// was sent; the error is about recording the outcome. Logs hold the id,
// template and address, never the data or the body (a link is a secret).
func (w *Worker) deliver(ctx context.Context, m latch.MailMessage) (ok bool, err error) {
	log := w.cfg.Log.With("mail_id", m.ID, "template", m.Template, "attempt", m.Attempts)
	msg, perr := w.prepare(m)
	if errors.Is(perr, errUnopened) {
		// The sealing key may be one this replica has not loaded yet (a
		// rolling change of keys): retry like a failed send.
		return false, w.markFailed(ctx, log, m, perr, m.Attempts >= w.cfg.MaxAttempts)
	}
	if perr != nil {
		// Waiting will not fix it: give up now.
		return false, w.markFailed(ctx, log, m, perr, true)
	}
	// A message is started in the first half of its lease; bounding the
	// send by the other half keeps it from running past the lease, when
	// another worker may take the message.
	sctx, cancel := context.WithTimeout(ctx, w.cfg.Lease/2)
	serr := w.cfg.Sender.Send(sctx, msg)
	cancel()
	if serr != nil {
		giveUp := m.Attempts >= w.cfg.MaxAttempts || errors.Is(serr, ErrUndeliverable)
		return false, w.markFailed(ctx, log, m, serr, giveUp)
	}
	w.cfg.Observer.Sent(m.Template)
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	if err := w.cfg.Store.MarkMailSent(mctx, m.ID, w.cfg.Now()); err != nil {
		// It goes out again once the lease ends.
		log.ErrorContext(ctx, "mail: sent, but not recorded", "err", err)
		return true, fmt.Errorf("mail: mark %s sent: %w", m.ID, err)
	}
	log.InfoContext(ctx, "mail: sent", "to", m.To)
	return true, nil
}

// errUnopened: the message's data could not be opened.
var errUnopened = errors.New("mail: message data cannot be opened")

// prepare opens and renders m. Its errors never hold the message's data;
// all but errUnopened are permanent.
func (w *Worker) prepare(m latch.MailMessage) (Message, error) {
	if len(m.Data) == 0 {
		return Message{}, errors.New("mail: message has no data")
	}
	data, err := w.cfg.Open(m.Data)
	if err != nil {
		return Message{}, errUnopened
	}
	msg, err := w.cfg.Templates.Render(m.Template, data)
	if err != nil {
		return Message{}, err
	}
	// Only to the canonical address: a message queued before the canonical
	// form existed is sent to that form, or not at all.
	to, err := latch.CanonicalEmail(m.To)
	if err != nil {
		return Message{}, fmt.Errorf("%w: the recipient is not a canonical email address", ErrUndeliverable)
	}
	msg.To = to
	// The same on every attempt: see Message.ID.
	msg.ID = m.ID + "@" + w.cfg.MessageIDDomain
	return msg, nil
}

// messageIDDomain returns publicURL's host in a form a Message-ID's right
// side takes (RFC 5322 dot-atom, or an IPv6 address in brackets), or
// "localhost" when there is none. A Message-ID needs to be unique, not
// resolvable: the outbox id on the left makes it so; the host only says
// whose it is.
func messageIDDomain(publicURL string) string {
	u, err := url.Parse(publicURL)
	if err != nil {
		return "localhost"
	}
	host := u.Hostname()
	if a, err := idna.Lookup.ToASCII(host); err == nil {
		host = a
	}
	host = strings.ToLower(host)
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "[" + ip.String() + "]"
	}
	if host == "" || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") || strings.Contains(host, "..") ||
		strings.ContainsFunc(host, func(r rune) bool {
			return !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-' || r == '.')
		}) {
		return "localhost"
	}
	return host
}

func (w *Worker) markFailed(ctx context.Context, log *slog.Logger, m latch.MailMessage, cause error, giveUp bool) error {
	w.cfg.Observer.Failed(m.Template, giveUp)
	now := w.cfg.Now()
	retryAt := now.Add(w.cfg.Backoff(m.Attempts))
	if giveUp {
		log.ErrorContext(ctx, "mail: not delivered, given up", "to", m.To, "err", cause)
	} else {
		log.WarnContext(ctx, "mail: not delivered, will retry", "retry_at", retryAt, "err", cause)
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	if err := w.cfg.Store.MarkMailFailed(mctx, m.ID, truncate(cause.Error(), 500), retryAt, giveUp, now); err != nil {
		log.ErrorContext(ctx, "mail: failure not recorded", "err", err)
		return fmt.Errorf("mail: mark %s failed: %w", m.ID, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 { // not inside a UTF-8 sequence
		n--
	}
	return s[:n]
}
