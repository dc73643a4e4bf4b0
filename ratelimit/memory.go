package ratelimit

import (
	"context"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Memory is a Limiter for one replica.
type Memory struct {
	now func() time.Time
	max int

	mu sync.Mutex
	// tat holds each key's theoretical arrival time, most recently used
	// first. Its own locking is not enough: an Allow reads and then
	// writes, so mu guards the pair.
	tat *simplelru.LRU[string, time.Time]
	// swept is when expired keys were last dropped (see makeRoom).
	swept time.Time
}

// sweepEvery bounds how often a full limiter walks all its keys looking
// for expired ones: under a flood of new keys it would otherwise walk them
// on every request.
const sweepEvery = time.Second

// NewMemory keeps at most maxKeys keys (default 100,000 when <= 0). When
// full, it drops the keys that no longer limit anything (their arrival
// time is past) and, if none has expired, the least recently used one. A
// flood of distinct keys then costs the keys nobody uses, never the state
// of a key that is limiting someone right now.
func NewMemory(maxKeys int, now func() time.Time) *Memory {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	if now == nil {
		now = time.Now
	}
	tat, err := simplelru.NewLRU[string, time.Time](maxKeys, nil)
	if err != nil {
		panic(err) // unreachable: maxKeys > 0
	}
	return &Memory{now: now, max: maxKeys, tat: tat}
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, rule Rule, cost int) (Decision, error) {
	if !rule.Enabled() {
		return Decision{Allowed: true}, nil
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	// Get (not Peek) also marks the key as used: a key that is asked
	// about is one that matters.
	tat, known := m.tat.Get(key)
	d, next := gcra(now, tat, rule, cost)
	if !next.IsZero() {
		if !known && m.tat.Len() >= m.max {
			m.makeRoom(now)
		}
		m.tat.Add(key, next)
	}
	return d, nil
}

// Reset implements Limiter.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tat.Remove(key)
	return nil
}

// makeRoom frees at least one place: the expired keys (at most once per
// sweepEvery, oldest first), else the least recently used key.
func (m *Memory) makeRoom(now time.Time) {
	if oldest, tat, ok := m.tat.GetOldest(); ok && !tat.After(now) {
		m.tat.Remove(oldest)
		return
	}
	if now.Sub(m.swept) >= sweepEvery || now.Before(m.swept) {
		m.swept = now
		for _, k := range m.tat.Keys() {
			if tat, ok := m.tat.Peek(k); ok && !tat.After(now) {
				m.tat.Remove(k)
			}
		}
		if m.tat.Len() < m.max {
			return
		}
	}
	m.tat.RemoveOldest()
}
