package mail_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/mail"
)

// BenchmarkWorkerDeliver is the outbox's throughput on SQLite to a
// loopback SMTP server: claim, open, render, one SMTP conversation, and
// the record of it, per message (b.N messages in batches).
func BenchmarkWorkerDeliver(b *testing.B) {
	st := testenv.Backends()[0].Open(b)
	smtp := testenv.StartSMTP(b)
	sender, err := mail.NewSMTP(smtp.URL(), "Latch <no-reply@example.com>")
	if err != nil {
		b.Fatal(err)
	}
	w := mail.NewWorker(mail.WorkerConfig{
		Store: st, Sender: sender, Open: testOpen, Log: slog.New(slog.DiscardHandler),
		Templates: mail.Templates{Product: "Latch", PublicURL: "http://latch.test"},
	})
	ctx := context.Background()
	data, _ := json.Marshal(map[string]string{"link": "http://latch.test/set-password?token=x", "email": "a@example.com", "expires": "24 hours"})
	now := time.Now()
	for range b.N {
		if err := st.EnqueueMail(ctx, latch.MailMessage{ID: uuid.Must(uuid.NewV7()).String(), To: "a@example.com", Template: latch.MailSetPassword, Data: data, CreatedAt: now, NextAttemptAt: now}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		n, err := w.RunOnce(ctx)
		if err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "msgs/s")
}
