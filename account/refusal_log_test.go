package account_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/password"
	"github.com/latchid/latch/token"
)

// lockedBuffer is a log destination tests read while the service writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// TestRefusedTokenIsLoggedWithItsReason: a client gets a bare 401 for a
// token of another issuer, an expired one, one with a broken signature
// or one of an ended session; the service logs why at debug level, and
// never the token.
func TestRefusedTokenIsLoggedWithItsReason(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := b.Open(t)
			clock := testenv.NewClock()
			hasher, err := password.NewHasher(testenv.FastParams, 2, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			keysFor := func(issuer string) *token.Keys {
				k, err := token.LoadKeys(ctx, store, token.KeysConfig{Algorithm: token.ES256, Issuer: issuer, Now: clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				return k
			}
			var logs lockedBuffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			service := account.New(store, hasher, keysFor("https://id.example.test"), nil, account.DefaultConfig(), clock.Now, log)
			// The same store and key, another public URL: what `latch
			// tokens issue` run without the server's variables signs.
			elsewhere := account.New(store, hasher, keysFor("http://127.0.0.1:8080"), nil, account.DefaultConfig(), clock.Now, nil)
			if _, err := service.CreateUser(ctx, account.CreateUserInput{Email: "ada@example.com", Provider: "google", Issuer: "https://accounts.google.com", Subject: "g-1"}); err != nil {
				t.Fatal(err)
			}
			issue := func(s *account.Service, ttl time.Duration) string {
				t.Helper()
				pair, err := s.IssueToken(ctx, account.IssueTokenInput{Email: "ada@example.com", TTL: ttl})
				if err != nil {
					t.Fatal(err)
				}
				return pair.AccessToken
			}
			refused := func(name, tok, reason string) {
				t.Helper()
				logs.take()
				if _, err := service.Authenticate(ctx, tok); err == nil {
					t.Fatalf("%s: accepted", name)
				}
				got := logs.take()
				if !strings.Contains(got, "level=DEBUG") || !strings.Contains(got, "access token refused") || !strings.Contains(got, reason) {
					t.Errorf("%s: log %q, want the reason %q", name, got, reason)
				}
				for _, part := range strings.Split(tok, ".") {
					if len(part) > 8 && strings.Contains(got, part) {
						t.Errorf("%s: the log holds the token: %q", name, got)
					}
				}
			}

			good := issue(service, time.Hour)
			if _, err := service.Authenticate(ctx, good); err != nil {
				t.Fatalf("the service's own token: %v", err)
			}
			refused("another issuer", issue(elsewhere, time.Hour),
				`issuer \"http://127.0.0.1:8080\" is not this service's \"https://id.example.test\" (LATCH_PUBLIC_URL)`)
			head, sig, _ := strings.Cut(good[strings.Index(good, ".")+1:], ".")
			tampered := good[:strings.Index(good, ".")+1] + head + "." + strings.Map(func(r rune) rune {
				if r == 'A' {
					return 'B'
				}
				return 'A'
			}, sig)
			refused("a broken signature", tampered, "error in cryptographic primitive")
			refused("not a JWT", "not-a-token", "reason=")
			short := issue(service, time.Minute)
			clock.Advance(2 * time.Minute)
			refused("expired", short, "expired at ")
			ended := issue(service, time.Hour)
			p, err := service.Authenticate(ctx, ended)
			if err != nil {
				t.Fatal(err)
			}
			if err := service.Logout(ctx, p); err != nil {
				t.Fatal(err)
			}
			refused("an ended session", ended, "its session ended")

			// At info level (the default) nothing is logged.
			quiet := account.New(store, hasher, keysFor("https://id.example.test"), nil, account.DefaultConfig(), clock.Now,
				slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
			logs.take()
			if _, err := quiet.Authenticate(ctx, issue(elsewhere, time.Hour)); err == nil {
				t.Fatal("accepted")
			}
			if got := logs.take(); got != "" {
				t.Errorf("at info level: %q", got)
			}
		})
	}
}
