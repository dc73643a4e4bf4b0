package main

import (
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/account"
	"github.com/latchid/latch/ratelimit"
)

func TestLoadConfigLimits(t *testing.T) {
	load := func(env map[string]string) (config, error) {
		return loadConfig(func(k string) string { return env[k] })
	}
	c, err := load(nil)
	if err != nil || c.LimitIPv6Prefix != 64 {
		t.Fatalf("defaults: prefix %d, %v", c.LimitIPv6Prefix, err)
	}
	if want := (ratelimit.Rule{Limit: 100, Per: 100 * time.Hour}); c.LoginPerAccount != want {
		t.Fatalf("default LATCH_LOGIN_LIMIT_ACCOUNT: %v, want %v", c.LoginPerAccount, want)
	}
	c, err = load(map[string]string{"LATCH_LOGIN_LIMIT_ACCOUNT": "50/24h"})
	if want := (ratelimit.Rule{Limit: 50, Per: 24 * time.Hour}); err != nil || c.LoginPerAccount != want {
		t.Fatalf("LATCH_LOGIN_LIMIT_ACCOUNT=50/24h: %v, %v", c.LoginPerAccount, err)
	}
	if !c.LoginFailureFloorAuto || c.LoginFailureFloor != 0 {
		t.Fatalf("default LATCH_LOGIN_FAILURE_FLOOR: auto %v, %v", c.LoginFailureFloorAuto, c.LoginFailureFloor)
	}
	for v, want := range map[string]time.Duration{"1500ms": 1500 * time.Millisecond, "off": 0, "0": 0} {
		c, err = load(map[string]string{"LATCH_LOGIN_FAILURE_FLOOR": v})
		if err != nil || c.LoginFailureFloorAuto || c.LoginFailureFloor != want {
			t.Fatalf("LATCH_LOGIN_FAILURE_FLOOR=%s: auto %v, %v, %v", v, c.LoginFailureFloorAuto, c.LoginFailureFloor, err)
		}
	}
	for _, bad := range []string{"-1s", "fast", "2m"} {
		if _, err := load(map[string]string{"LATCH_LOGIN_FAILURE_FLOOR": bad}); err == nil || !strings.Contains(err.Error(), "LATCH_LOGIN_FAILURE_FLOOR") {
			t.Errorf("LATCH_LOGIN_FAILURE_FLOOR=%s: %v", bad, err)
		}
	}
	c, err = load(map[string]string{"LATCH_LIMIT_IPV6_PREFIX": "56"})
	if err != nil || c.LimitIPv6Prefix != 56 {
		t.Fatalf("LATCH_LIMIT_IPV6_PREFIX=56: prefix %d, %v", c.LimitIPv6Prefix, err)
	}
	for _, bad := range []string{"8", "129", "x"} {
		if _, err := load(map[string]string{"LATCH_LIMIT_IPV6_PREFIX": bad}); err == nil || !strings.Contains(err.Error(), "LATCH_LIMIT_IPV6_PREFIX") {
			t.Errorf("LATCH_LIMIT_IPV6_PREFIX=%s: %v", bad, err)
		}
	}
}

func TestLoadConfigRedisTimeout(t *testing.T) {
	load := func(env map[string]string) (config, error) {
		return loadConfig(func(k string) string { return env[k] })
	}
	if c, err := load(nil); err != nil || c.RedisTimeout != 200*time.Millisecond {
		t.Fatalf("default LATCH_REDIS_TIMEOUT: %v, %v", c.RedisTimeout, err)
	}
	if c, err := load(map[string]string{"LATCH_REDIS_TIMEOUT": "50ms"}); err != nil || c.RedisTimeout != 50*time.Millisecond {
		t.Fatalf("LATCH_REDIS_TIMEOUT=50ms: %v, %v", c.RedisTimeout, err)
	}
	for _, bad := range []string{"0", "-1s", "soon"} {
		if _, err := load(map[string]string{"LATCH_REDIS_TIMEOUT": bad}); err == nil || !strings.Contains(err.Error(), "LATCH_REDIS_TIMEOUT") {
			t.Errorf("LATCH_REDIS_TIMEOUT=%s: %v", bad, err)
		}
	}
}

func TestLoadConfigDatabaseTimeout(t *testing.T) {
	load := func(env map[string]string) (config, error) {
		return loadConfig(func(k string) string { return env[k] })
	}
	if c, err := load(nil); err != nil || c.DatabaseTimeout != 5*time.Second {
		t.Fatalf("default LATCH_DATABASE_TIMEOUT: %v, %v", c.DatabaseTimeout, err)
	}
	if c, err := load(map[string]string{"LATCH_DATABASE_TIMEOUT": "1500ms"}); err != nil || c.DatabaseTimeout != 1500*time.Millisecond {
		t.Fatalf("LATCH_DATABASE_TIMEOUT=1500ms: %v, %v", c.DatabaseTimeout, err)
	}
	for _, bad := range []string{"0", "-1s", "soon"} {
		if _, err := load(map[string]string{"LATCH_DATABASE_TIMEOUT": bad}); err == nil || !strings.Contains(err.Error(), "LATCH_DATABASE_TIMEOUT") {
			t.Errorf("LATCH_DATABASE_TIMEOUT=%s: %v", bad, err)
		}
	}
}

// The use cases' defaults are kept once, in account.DefaultConfig: the
// command line starts from them.
func TestLoadConfigDefaultsAreTheUseCases(t *testing.T) {
	c, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	d := account.DefaultConfig()
	got := []any{c.AccessTTL, c.SessionTTL, c.RefreshReuse, c.LinkTTL, c.LoginPerIP, c.LoginFailures, c.LoginPerAccount, c.LimitIPv6Prefix, c.MailPerAccount, c.MailPerIP, c.PasswordMin, c.PasswordMax}
	want := []any{d.AccessTokenTTL, d.SessionTTL, d.RefreshReuseInterval, d.LinkTTL, d.LoginPerIP, d.LoginFailures, d.LoginPerAccount, d.IPv6Prefix, d.MailPerAccount, d.MailPerIP, d.Policy.MinLength, d.Policy.MaxLength}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("default %d: %v, account's is %v", i, got[i], want[i])
		}
	}
}

// Mail limits are configurable like the others.
func TestLoadConfigMailLimits(t *testing.T) {
	c, err := loadConfig(func(k string) string {
		return map[string]string{"LATCH_MAIL_LIMIT_ACCOUNT": "2/1h", "LATCH_MAIL_LIMIT_IP": "off"}[k]
	})
	if err != nil || c.MailPerAccount != (ratelimit.Rule{Limit: 2, Per: time.Hour}) || c.MailPerIP.Enabled() {
		t.Fatalf("mail limits: %v %v, %v", c.MailPerAccount, c.MailPerIP, err)
	}
	if _, err := loadConfig(func(k string) string { return map[string]string{"LATCH_MAIL_LIMIT_IP": "lots"}[k] }); err == nil || !strings.Contains(err.Error(), "LATCH_MAIL_LIMIT_IP") {
		t.Errorf("a bad LATCH_MAIL_LIMIT_IP: %v", err)
	}
}
