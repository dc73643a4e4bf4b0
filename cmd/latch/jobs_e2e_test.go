package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/password"
	"github.com/latchid/latch/store/sqlite"
	"github.com/latchid/latch/token"
)

// TestAnsweredRequestsOutliveTheReplica (issue 11, item 2): a recovery and
// a sign-up answered by a replica that died before doing their work are
// done by the next `latch serve`, over a real SMTP conversation.
func TestAnsweredRequestsOutliveTheReplica(t *testing.T) {
	smtp := testenv.StartSMTP(t)
	path := testenv.SQLitePath(t)
	in := newInstance(t, "sqlite://"+path)
	in.env = append(in.env, "LATCH_SMTP_URL="+smtp.URL(), "LATCH_MAIL_FROM=Latch <no-reply@example.com>")
	in.cli(t, "swordfish horizon 42\n", "users", "create", "--email", "known@example.com", "--password-stdin")

	// The replica that answers: the same database and keys, no worker; it
	// is gone before anything is done.
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.LoadKeys(ctx, st, token.KeysConfig{Algorithm: token.ES256, Issuer: in.base, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.NewHasher(testenv.FastParams, 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cfg := account.DefaultConfig()
	cfg.PublicURL = in.base
	answering := account.New(st, hasher, keys, nil, cfg, nil, slog.New(slog.DiscardHandler))
	if err := answering.RequestRecovery(ctx, "known@example.com"); err != nil {
		t.Fatalf("recovery: %v", err)
	}
	if err := answering.SignUp(ctx, account.SignUpInput{Email: "new@example.com", FirstName: "Nina"}); err != nil {
		t.Fatalf("sign-up: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	in.serve(t)
	recovery := smtp.WaitFor(t, "known@example.com", 20*time.Second)
	if !strings.Contains(recovery.Text, in.base+"/set-password?token=") {
		t.Errorf("the recovery mail has no link:\n%s", recovery.Text)
	}
	verify := smtp.WaitFor(t, "new@example.com", 20*time.Second)
	if !strings.Contains(verify.Text, in.base+"/verify?token=") {
		t.Errorf("the sign-up mail has no verification link:\n%s", verify.Text)
	}
}
