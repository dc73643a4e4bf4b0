package main

import (
	"testing"
	"time"
)

func TestRefreshReuseIntervalConfig(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 10 * time.Second, true},
		{"0", 0, true},
		{"0s", 0, true},
		{"2s", 2 * time.Second, true},
		{"5m", 5 * time.Minute, true},
		{"6m", 0, false},
		{"-1s", 0, false},
		{"ten", 0, false},
	} {
		env := map[string]string{"LATCH_REFRESH_REUSE_INTERVAL": tc.value}
		c, err := loadConfig(func(k string) string { return env[k] })
		if (err == nil) != tc.ok || (tc.ok && c.RefreshReuse != tc.want) {
			t.Errorf("LATCH_REFRESH_REUSE_INTERVAL=%q: %v, %v; want %v (ok %v)", tc.value, c.RefreshReuse, err, tc.want, tc.ok)
		}
	}
}
