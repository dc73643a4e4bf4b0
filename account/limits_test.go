package account_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/password"
	"github.com/latchid/latch/ratelimit"
	"github.com/latchid/latch/ratelimit/redislimit"
	"github.com/latchid/latch/token"
)

// newServiceWithLimiter wires the use cases as testenv.NewHarness does,
// over the first store backend, but with the given limiter.
func newServiceWithLimiter(t *testing.T, limiter ratelimit.Limiter, cfg account.Config) (*account.Service, latch.Store) {
	t.Helper()
	store := testenv.Backends()[0].Open(t)
	clock := testenv.NewClock()
	hasher, err := password.NewHasher(testenv.FastParams, 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.LoadKeys(context.Background(), store, token.KeysConfig{Algorithm: token.ES256, Issuer: testenv.TestIssuer, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return account.New(store, hasher, keys, limiter, cfg, clock.Now, slog.New(slog.DiscardHandler)), store
}

// No input size reaches the limiter: every limit key built from an email
// is a fixed-size digest of the address the lookup uses. Before, the
// per-(email, address) and per-account keys held the email as typed,
// lowercased, up to the 1 MiB body limit, for up to an hour each, and
// Redis held every email anyone tried.
func TestLimitKeysHoldNoEmail(t *testing.T) {
	rdb := testenv.Redis(t)
	prefix := testenv.RedisPrefix(t)
	accounts, _ := newServiceWithLimiter(t, redislimit.New(rdb, prefix), account.DefaultConfig())
	ctx := context.Background()

	huge := strings.Repeat("a", 1<<20) + "@example.com"
	for _, email := range []string{huge, "Owner@Example.com", "not an email"} {
		_, err := accounts.Login(ctx, account.LoginInput{Email: email, Password: "wrong password", ClientIP: "192.0.2.1"})
		if !latch.IsCode(err, latch.CodeInvalidCredentials) {
			t.Fatalf("sign-in as %.20q: %v", email, err)
		}
	}
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 5 {
		// login-ip, then login-failures and the account cap per email.
		t.Fatalf("only %d limit keys recorded: %q", len(keys), keys)
	}
	for _, k := range keys {
		k = strings.TrimPrefix(k, prefix)
		if len(k) > 128 {
			t.Errorf("a limit key of %d bytes: %.60q...", len(k), k)
		}
		for _, part := range []string{"example", "owner", "aaaa", "not an"} {
			if strings.Contains(strings.ToLower(k), part) {
				t.Errorf("limit key %.80q holds the email", k)
			}
		}
	}
}

// The digest is of the address the lookup uses, so every spelling of one
// account's address still shares its limits.
func TestLimitKeysShareSpellings(t *testing.T) {
	accounts, _ := newServiceWithLimiter(t, ratelimit.NewMemory(0, nil), account.DefaultConfig())
	ctx := context.Background()
	for i, email := range []string{"Spell@Example.com", "spell@example.com", " SPELL@EXAMPLE.COM ", "spell@Example.Com", "Spell@example.com"} {
		for j := range 2 {
			_, err := accounts.Login(ctx, account.LoginInput{Email: email, Password: "wrong password", ClientIP: "192.0.2.1"})
			if !latch.IsCode(err, latch.CodeInvalidCredentials) {
				t.Fatalf("failure %d: %v", 2*i+j+1, err)
			}
		}
	}
	_, err := accounts.Login(ctx, account.LoginInput{Email: "SPELL@example.com", Password: "wrong password", ClientIP: "192.0.2.1"})
	if !latch.IsCode(err, latch.CodeRateLimited) {
		t.Fatalf("11th failure under five spellings of one address: %v", err)
	}
}

// Changing one's own password from a session proves as much as a sign-in:
// that address is spared the per-account cap. An administrator setting
// the password proves nothing about the administrator's address.
func TestPasswordChangeMakesTheAddressKnown(t *testing.T) {
	cfg := account.DefaultConfig()
	cfg.LoginPerAccount = ratelimit.Rule{Limit: 5, Per: 5 * time.Hour}
	h := testenv.NewHarnessWithConfig(t, testenv.Backends()[0].Open(t), cfg)
	ctx := context.Background()
	_, pair := h.OAuthUser(t, "changer@example.com")
	p, err := h.Accounts.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	login := func(ip, pw string) error {
		_, err := h.Accounts.Login(ctx, account.LoginInput{Email: "changer@example.com", Password: pw, ClientIP: ip})
		return err
	}
	lock := func() {
		t.Helper()
		for i := range 5 {
			n++
			if err := login(fmt.Sprintf("198.51.100.%d", n), "guess"); !latch.IsCode(err, latch.CodeInvalidCredentials) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
		}
	}

	const device, admin = "192.0.2.77", "192.0.2.88"
	atDevice := latch.WithClientIP(ctx, device)
	if err := h.Accounts.SetOwnPassword(atDevice, p, account.SetOwnPasswordInput{Password: goodPassword, Confirmation: ptr(goodPassword)}); err != nil {
		t.Fatal(err)
	}
	lock()
	if err := login("198.51.100.200", goodPassword); !latch.IsCode(err, latch.CodeRateLimited) {
		t.Fatalf("a fresh address while capped: %v", err)
	}
	if err := login(device, goodPassword); err != nil {
		t.Fatalf("the address that set the password, capped: %v", err)
	}

	next := "another long passphrase"
	err = h.Accounts.AdminSetPassword(latch.WithClientIP(ctx, admin), account.Operator(""), account.AdminSetPasswordInput{
		User: account.UserRef{ID: p.User.ID}, Password: ptr(next), Confirmation: ptr(next)})
	if err != nil {
		t.Fatal(err)
	}
	lock()
	if err := login(admin, next); !latch.IsCode(err, latch.CodeRateLimited) {
		t.Fatalf("the administrator's address, capped: %v", err)
	}
}

// A limiter that fails refuses the request (503, try again shortly)
// rather than let it through: before, every sign-in went unlimited while
// Redis was down. The limiter Latch runs never fails (it falls back to
// the process, see ratelimit.Fallback); this is a limiter without that
// fallback, a real Redis client whose Redis is cut.
func TestFailingLimiterRefuses(t *testing.T) {
	proxy := testenv.StartRedisProxy(t)
	proxy.Cut()
	opts, err := redis.ParseURL(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	accounts, _ := newServiceWithLimiter(t, redislimit.New(client, testenv.RedisPrefix(t)), account.DefaultConfig())
	ctx := context.Background()
	for i := range 3 {
		_, err := accounts.Login(ctx, account.LoginInput{Email: "anyone@example.com", Password: "wrong password", ClientIP: "192.0.2.1"})
		var le *latch.Error
		if !errors.As(err, &le) || le.Kind != latch.KindUnavailable || le.RetryAfter <= 0 {
			t.Fatalf("sign-in %d with the limiter down: %v, want Unavailable with a Retry-After", i+1, err)
		}
	}
}
