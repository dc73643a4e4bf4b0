package ratelimit

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Memory is a Limiter for one replica.
type Memory struct {
	now func() time.Time

	mu sync.Mutex
	// tat holds each key's theoretical arrival time. An Allow reads and
	// then writes, so mu guards the whole table.
	tat *timedKeys
	// marks holds each mark's end. Marks have a table of their own, as
	// large as the limits': filling one never evicts from the other.
	marks *timedKeys
}

// NewMemory keeps at most maxKeys keys (default 100,000 when <= 0), and
// as many marks; when full, a new mark drops the one that ends first.
//
// When full, it drops the key whose theoretical arrival time is earliest:
// the key closest to limiting nothing, whose loss forgets the least. Keys
// that have expired (they limit nothing) are the earliest of all, so they
// go first. How recently a key was used does not count: a key limiting an
// account for hours outlives any number of keys that each limit for a
// second, so a flood of cheap requests from fresh addresses cannot erase
// an account's failure count. A flood can only evict keys that limit less
// than its own keys do, and making its keys limit long costs it as many
// requests.
//
// The keys are kept in a min-heap ordered by arrival time (besides a map):
// finding the earliest is O(1), and recording an event O(log n), about 17
// steps at 100,000 keys, under a flood as at rest. A bounded sample of the
// least recently used keys would be cheaper by a little but could still
// evict a limiting key that happens to be sampled among fresh ones; a
// full scan would cost O(n) per new key.
func NewMemory(maxKeys int, now func() time.Time) *Memory {
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, tat: newTimedKeys(maxKeys), marks: newTimedKeys(maxKeys)}
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string, rule Rule, cost int) (Decision, error) {
	if !rule.Enabled() {
		return Decision{Allowed: true}, nil
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tat.dropExpired(now)
	tat, _ := m.tat.get(key)
	d, next := gcra(now, tat, rule, cost)
	if !next.IsZero() {
		// The key being recorded is stored even when full: it is in use
		// right now. The earliest of the others makes room.
		m.tat.set(key, next)
	}
	return d, nil
}

// Reset implements Limiter.
func (m *Memory) Reset(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tat.remove(key)
	return nil
}

// Mark implements Limiter.
func (m *Memory) Mark(_ context.Context, key string, ttl time.Duration) error {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.marks.dropExpired(now)
	m.marks.set(key, now.Add(ttl))
	return nil
}

// Marked implements Limiter.
func (m *Memory) Marked(_ context.Context, key string) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	end, ok := m.marks.get(key)
	return ok && end.After(now), nil
}

// timedKeys is a bounded set of keys, each with a time, that can give up
// the key with the earliest time at once: a map for lookups and a
// min-heap on the times. It does no locking of its own.
type timedKeys struct {
	max   int
	byKey map[string]*timedKey
	heap  timedHeap
	seq   uint64 // counts sets, to order equal times
}

type timedKey struct {
	key   string
	at    time.Time
	seq   uint64 // when it was last set: of two equal times, the older goes first
	index int    // in the heap
}

func newTimedKeys(max int) *timedKeys {
	return &timedKeys{max: max, byKey: make(map[string]*timedKey)}
}

func (t *timedKeys) get(key string) (time.Time, bool) {
	if e, ok := t.byKey[key]; ok {
		return e.at, true
	}
	return time.Time{}, false
}

// set stores key with time at; a new key, when full, first evicts the key
// with the earliest time.
func (t *timedKeys) set(key string, at time.Time) {
	t.seq++
	if e, ok := t.byKey[key]; ok {
		e.at, e.seq = at, t.seq
		heap.Fix(&t.heap, e.index)
		return
	}
	if len(t.byKey) >= t.max {
		oldest := heap.Pop(&t.heap).(*timedKey)
		delete(t.byKey, oldest.key)
	}
	e := &timedKey{key: key, at: at, seq: t.seq}
	heap.Push(&t.heap, e)
	t.byKey[key] = e
}

func (t *timedKeys) remove(key string) {
	if e, ok := t.byKey[key]; ok {
		heap.Remove(&t.heap, e.index)
		delete(t.byKey, key)
	}
}

// expiredPerCall bounds how many expired keys one call drops: more than
// the one key a call can add, so the table shrinks back after a flood, yet
// no single request pays for dropping thousands of keys that expired at
// once.
const expiredPerCall = 4

// dropExpired drops keys whose time is not after now (a limit key that
// limits nothing, a mark that has lapsed), earliest first.
func (t *timedKeys) dropExpired(now time.Time) {
	for range expiredPerCall {
		if len(t.heap) == 0 || t.heap[0].at.After(now) {
			return
		}
		oldest := heap.Pop(&t.heap).(*timedKey)
		delete(t.byKey, oldest.key)
	}
}

// timedHeap is a container/heap of keys, earliest time first.
type timedHeap []*timedKey

func (h timedHeap) Len() int { return len(h) }
func (h timedHeap) Less(i, j int) bool {
	if h[i].at.Equal(h[j].at) {
		return h[i].seq < h[j].seq
	}
	return h[i].at.Before(h[j].at)
}
func (h timedHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *timedHeap) Push(x any) {
	e := x.(*timedKey)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *timedHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
