package main

import (
	"strings"
	"testing"
)

func TestLoadConfigLimits(t *testing.T) {
	load := func(env map[string]string) (config, error) {
		return loadConfig(func(k string) string { return env[k] })
	}
	c, err := load(nil)
	if err != nil || c.LimitIPv6Prefix != 64 {
		t.Fatalf("defaults: prefix %d, %v", c.LimitIPv6Prefix, err)
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
