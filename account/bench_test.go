package account_test

import (
	"context"
	"testing"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/ratelimit"
)

// benchHarness gives each benchmark a fresh SQLite-backed harness (the
// embedded default) with one account that has a password.
func benchHarness(b *testing.B) (*testenv.Harness, account.TokenPair) {
	b.Helper()
	// One client signing in thousands of times a second is what a
	// benchmark does and the sign-in limits exist to stop: they are off.
	cfg := account.DefaultConfig()
	cfg.LoginPerIP, cfg.LoginFailures = ratelimit.Rule{}, ratelimit.Rule{}
	cfg.MailPerIP, cfg.MailPerAccount = ratelimit.Rule{}, ratelimit.Rule{}
	h := testenv.NewHarnessWithConfig(b, testenv.Backends()[0].Open(b), cfg)
	_, pair := h.OAuthUser(b, "load@example.com")
	ctx := context.Background()
	p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		b.Fatal(err)
	}
	pw := "benchmark passphrase"
	if err := h.Accounts.SetOwnPassword(ctx, p, account.SetOwnPasswordInput{Password: pw, Confirmation: &pw}); err != nil {
		b.Fatal(err)
	}
	return h, pair
}

// BenchmarkLogin is one in-process email+password login on SQLite, at the
// test hashing parameters (argon2id m=1 MiB, t=1): what a login costs
// beyond the hash is the point.
func BenchmarkLogin(b *testing.B) {
	h, _ := benchHarness(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Accounts.Login(ctx, account.LoginInput{Email: "load@example.com", Password: "benchmark passphrase"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate is the per-request cost of an access token:
// signature (cached after the first use), then the session revocation
// check in the store. Parallel, as under load.
func BenchmarkAuthenticate(b *testing.B) {
	h, pair := benchHarness(b)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Accounts.Authenticate(ctx, pair.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerifyOnly is Authenticate without the store: the difference to
// BenchmarkAuthenticate is what the revocation check costs per request.
func BenchmarkVerifyOnly(b *testing.B) {
	h, pair := benchHarness(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := h.Keys.Verify(pair.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRequestRecovery is what a caller of POST /v1/recover waits for,
// for an email with an account and one without: the lookup and the email
// happen after the answer, so the two should cost the same.
func BenchmarkRequestRecovery(b *testing.B) {
	for _, email := range []string{"load@example.com", "nobody@example.com"} {
		b.Run(email, func(b *testing.B) {
			h, _ := benchHarness(b)
			ctx := context.Background()
			for b.Loop() {
				if err := h.Accounts.RequestRecovery(ctx, email); err != nil {
					b.Fatal(err)
				}
			}
			h.Accounts.Wait()
		})
	}
}
