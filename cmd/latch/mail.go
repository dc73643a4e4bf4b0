package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/mail"
)

// startMail runs the outbox's delivery worker until ctx ends, and returns
// a channel closed when it has stopped. Without LATCH_SMTP_URL messages
// are printed to the log (development) and marked sent; with LATCH_MAIL=off
// nothing is started (the flows that send mail answer that mail is off).
func (a *app) startMail(ctx context.Context) (<-chan struct{}, error) {
	done := make(chan struct{})
	if a.cfg.MailOff {
		close(done)
		return done, nil
	}
	var sender mail.Sender = mail.LogSender{Log: a.log}
	if a.cfg.SMTPURL != "" {
		smtp, err := mail.NewSMTP(a.cfg.SMTPURL, a.cfg.MailFrom)
		if err != nil {
			return nil, fmt.Errorf("LATCH_SMTP_URL / LATCH_MAIL_FROM: %w", err)
		}
		sender = smtp
		a.log.Info("mail delivery", "smtp", redactURL(a.cfg.SMTPURL), "from", smtp.From())
	} else {
		a.log.Warn("LATCH_SMTP_URL is not set: emails are kept in the outbox and printed to this log (development only)")
	}
	worker := mail.NewWorker(mail.WorkerConfig{
		Store: a.observed, Sender: sender, Log: a.log, Now: nowUTC, Observer: a.metrics.Outbox(),
		Open:      func(sealed []byte) (map[string]string, error) { return account.OpenMailData(a.keys, sealed) },
		Templates: mail.Templates{Product: a.cfg.ProductName, PublicURL: a.cfg.PublicURL},
	})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-a.mailQueued:
				worker.Notify()
			}
		}
	}()
	go func() {
		defer close(done)
		worker.Run(ctx)
	}()
	return done, nil
}

func mailListCommand(inv *invocation) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "the outbox, newest first: what was sent, what waits, what failed (never a link)",
		Long: `Print the outbox, newest first, one JSON line per message: its status (pending,
sent or failed), attempts and last error. Never a message's values: they may
hold a link. Without LATCH_SMTP_URL, messages are printed to the service's
log and marked sent.`,
		Args: noArgs,
	}
	n := cmd.Flags().IntP("limit", "n", 50, "how many messages, newest first (1-1000)")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if *n < 1 || *n > 1000 {
			return usageError(cmd, "-n must be between 1 and 1000")
		}
		a, err := inv.open()
		if err != nil {
			return err
		}
		defer a.Close()
		msgs, err := a.store.MailMessages(inv.ctx, *n)
		if err != nil {
			return describe(err)
		}
		enc := json.NewEncoder(inv.stdout)
		for _, m := range msgs {
			// Never the message's values: they may hold a link.
			out := map[string]any{"id": m.ID, "to": m.To, "template": m.Template, "status": m.Status(),
				"created_at": m.CreatedAt, "attempts": m.Attempts}
			switch {
			case m.SentAt != nil:
				out["sent_at"] = *m.SentAt
			case m.FailedAt != nil:
				out["failed_at"] = *m.FailedAt
			default:
				out["next_attempt_at"] = m.NextAttemptAt
			}
			if m.LastError != "" {
				out["last_error"] = m.LastError
			}
			if err := enc.Encode(out); err != nil {
				return err
			}
		}
		return nil
	}
	return cmd
}
