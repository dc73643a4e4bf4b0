package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is a Limiter for one replica.
type Memory struct {
	now func() time.Time
	max int

	mu  sync.Mutex
	tat map[string]time.Time
}

// NewMemory keeps at most maxKeys keys (default 100,000 when <= 0). When
// full, keys whose limit has fully recovered are dropped first; if none
// has, the oldest state is dropped wholesale rather than growing without
// bound (a flood of distinct keys must not exhaust memory).
func NewMemory(maxKeys int, now func() time.Time) *Memory {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, max: maxKeys, tat: make(map[string]time.Time)}
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, rule Rule, cost int) (Decision, error) {
	if !rule.Enabled() {
		return Decision{Allowed: true}, nil
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	d, next := gcra(now, m.tat[key], rule, cost)
	if !next.IsZero() {
		if _, ok := m.tat[key]; !ok && len(m.tat) >= m.max {
			m.evict(now)
		}
		m.tat[key] = next
	}
	return d, nil
}

// evict drops the keys that no longer limit anything (their arrival time
// is past), or everything if that frees nothing.
func (m *Memory) evict(now time.Time) {
	for k, t := range m.tat {
		if t.Before(now) {
			delete(m.tat, k)
		}
	}
	if len(m.tat) >= m.max {
		clear(m.tat)
	}
}
