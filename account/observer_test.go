package account_test

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/account"
	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/ratelimit"
)

// counts is an account.Observer that counts what it is told, one key per
// call ("login password success", "revoked logout", ...).
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(key string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[key] += n
}

func (c *counts) Login(method, result string)          { c.add("login "+method+" "+result, 1) }
func (c *counts) Refresh(result string)                { c.add("refresh "+result, 1) }
func (c *counts) SessionCreated(kind string)           { c.add("session "+kind, 1) }
func (c *counts) SessionsRevoked(reason string, n int) { c.add("revoked "+reason, n) }
func (c *counts) MailQueued(template string)           { c.add("queued "+template, 1) }
func (c *counts) SessionChangeDelay(time.Duration)     { c.add("change delay", 1) }
func (c *counts) SessionChangeFeed(up bool)            { c.add(fmt.Sprint("feed up ", up), 1) }

// take returns the counts since the last take.
func (c *counts) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.n = map[string]int{}
	return n
}

// TestObserver drives the use cases through each thing they report and
// checks that the observer was told exactly that, once.
func TestObserver(t *testing.T) {
	ctx := latch.WithClientIP(context.Background(), "192.0.2.7")
	seen := &counts{n: map[string]int{}}
	cfg := account.DefaultConfig()
	cfg.Observer = seen
	cfg.RefreshReuseInterval = 0 // any reuse revokes
	cfg.LoginFailures = ratelimit.Rule{Limit: 2, Per: time.Hour}
	h := testenv.NewHarnessWithConfig(t, testenv.OpenSQLite(t), cfg)
	user := h.PasswordUser(t, "ada@example.com", "correct horse battery", "", false)
	seen.take()

	expect := func(what string, want map[string]int) {
		t.Helper()
		if got := seen.take(); !maps.Equal(got, want) {
			t.Errorf("%s: observed %v, want %v", what, got, want)
		}
	}
	login := func(email, pw string) (account.TokenPair, error) {
		return h.Accounts.Login(ctx, account.LoginInput{Email: email, Password: pw, ClientIP: "192.0.2.7"})
	}

	pair, err := login("ada@example.com", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	expect("a sign-in", map[string]int{"login password success": 1, "session session": 1})
	if _, err := login("ada@example.com", ""); err == nil {
		t.Fatal("sign-in without a password succeeded")
	}
	expect("no password", map[string]int{"login password invalid": 1})
	for range 2 {
		if _, err := login("ada@example.com", "wrong horse battery"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	expect("wrong passwords", map[string]int{"login password failure": 2})
	if _, err := login("ada@example.com", "correct horse battery"); !latch.IsKind(err, latch.KindTooMany) {
		t.Fatalf("third sign-in after two failures: %v, want TooMany", err)
	}
	expect("over the limit", map[string]int{"login password limited": 1})
	if _, _, err := h.Accounts.AuthenticatePassword(ctx, account.LoginInput{Email: "nobody@example.com", Password: "whatever it is", ClientIP: "192.0.2.7"}); err == nil {
		t.Fatal("unknown email accepted")
	}
	expect("the sign-in page, unknown email", map[string]int{"login password failure": 1})

	next, err := h.Accounts.Refresh(ctx, pair.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	expect("a refresh", map[string]int{"refresh success": 1})
	if _, err := h.Accounts.Refresh(ctx, "lrt_garbage"); err == nil {
		t.Fatal("garbage refresh token accepted")
	}
	expect("a garbage refresh token", map[string]int{"refresh failure": 1})
	if _, err := h.Accounts.Refresh(ctx, pair.RefreshToken); !latch.IsCode(err, latch.CodeRefreshTokenReused) {
		t.Fatalf("reuse: %v", err)
	}
	expect("a reuse", map[string]int{"refresh reused": 1, "revoked refresh_reuse": 1})
	if _, err := h.Accounts.Refresh(ctx, next.RefreshToken); err == nil {
		t.Fatal("the successor of a reused token still refreshes")
	}
	expect("the revoked session's token", map[string]int{"refresh failure": 1})

	// Two sessions by the operator's tokens; the user logs one out, an
	// administrator revokes the rest.
	var principals []account.Principal
	for range 2 {
		p, err := h.Accounts.IssueToken(ctx, account.IssueTokenInput{Email: "ada@example.com", Kind: latch.KindPersonal, Scopes: []string{latch.ScopeUserRead}})
		if err != nil {
			t.Fatal(err)
		}
		principal, err := h.Accounts.Authenticate(ctx, p.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		principals = append(principals, principal)
	}
	expect("issued tokens", map[string]int{"session personal": 2})
	if err := h.Accounts.Logout(ctx, principals[0]); err != nil {
		t.Fatal(err)
	}
	expect("a logout", map[string]int{"revoked logout": 1})
	if n, err := h.Accounts.RevokeUserSessions(ctx, account.Operator(""), account.UserRef{ID: user.ID}, ""); err != nil || n != 1 {
		t.Fatalf("RevokeUserSessions = %d, %v; want 1", n, err)
	}
	expect("an administrator's revocation", map[string]int{"revoked admin": 1})

	client, secret, _ := h.APIClient(t, latch.ScopeReadUsers, "", false)
	expect("a client's token", map[string]int{"login client success": 1})
	if _, err := h.Accounts.IssueClientToken(ctx, client.ID, secret+"x"); err == nil {
		t.Fatal("wrong client secret accepted")
	}
	expect("a wrong client secret", map[string]int{"login client failure": 1})

	if err := h.Accounts.RequestRecovery(ctx, "ada@example.com"); err != nil {
		t.Fatal(err)
	}
	h.Accounts.Wait()
	expect("a recovery", map[string]int{"queued " + latch.MailRecovery: 1})
}

// TestObserverDeactivated: the right password of a deactivated account is
// reported as inactive, neither a success nor a wrong password.
func TestObserverDeactivated(t *testing.T) {
	seen := &counts{n: map[string]int{}}
	cfg := account.DefaultConfig()
	cfg.Observer = seen
	h := testenv.NewHarnessWithConfig(t, testenv.OpenSQLite(t), cfg)
	ctx := context.Background()
	u := h.PasswordUser(t, "inactive@example.com", "correct horse battery", "", false)
	inactive := false
	if _, err := h.Accounts.AdminUpdateUser(ctx, account.Operator(""), account.UserRef{ID: u.ID}, account.AdminUserChange{Active: &inactive}); err != nil {
		t.Fatal(err)
	}
	seen.take()
	_, err := h.Accounts.Login(ctx, account.LoginInput{Email: "inactive@example.com", Password: "correct horse battery"})
	if !latch.IsCode(err, latch.CodeAccountInactive) {
		t.Fatalf("Login of a deactivated account: %v", err)
	}
	if got, want := seen.take(), map[string]int{"login password " + account.ResultInactive: 1}; !maps.Equal(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}
}
