package latch

import (
	"context"
	"time"
)

// OutboxStore is the durable mail outbox.
type OutboxStore interface {
	// EnqueueMail adds a message to the outbox (NextAttemptAt zero: now).
	EnqueueMail(ctx context.Context, m MailMessage) error
	// ClaimMail returns up to limit messages due at now (not sent, not
	// failed, NextAttemptAt <= now), oldest first, and pushes their
	// NextAttemptAt to now+lease and Attempts up by one in the same
	// transaction, so that another worker (another replica) does not take
	// them while this one delivers. A crash mid-delivery leaves the
	// message to be taken again once the lease ends.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]MailMessage, error)
	// MarkMailSent records delivery and erases Data.
	MarkMailSent(ctx context.Context, id string, at time.Time) error
	// MarkMailFailed records a failed attempt: retry at retryAt, or, when
	// giveUp, mark the message failed for good (Data erased).
	MarkMailFailed(ctx context.Context, id, lastError string, retryAt time.Time, giveUp bool, at time.Time) error
	// MailMessages lists the outbox, newest first.
	MailMessages(ctx context.Context, limit int) ([]MailMessage, error)
	// OldestPendingMail returns the CreatedAt of the oldest message
	// neither sent nor failed (whether due now or waiting to retry), or
	// the zero time when there is none. It reads one index entry, so a
	// metric may ask it at every scrape.
	OldestPendingMail(ctx context.Context) (time.Time, error)
	// PurgeMail deletes at most limit messages sent or failed before
	// before, and returns how many it deleted.
	PurgeMail(ctx context.Context, before time.Time, limit int) (int, error)
}
