package account

// The sessions cache: Authenticate's answer from the store (a session and
// its user), kept in memory while a latch.SessionChangeFeed says what
// changes, so that an authenticated request need not read the database.
//
// Correctness comes first. An entry is used only while the feed is up; a
// change told by the feed, or made by this replica (forgetUser, called by
// the use cases right after their store call), drops every entry of the
// user; a loss of the feed drops everything and sends Authenticate back to
// the store until the feed has resynchronised.

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchid/latch"
)

// Bounds of the sessions cache.
const (
	// sessionCacheEntries bounds its size: an entry is about a session
	// and a user (well under 1 KiB), so at most some tens of MiB. When it
	// is full an arbitrary entry goes; the next request of that session
	// reads the store again.
	sessionCacheEntries = 100_000
	// sessionCacheMaxAge is the longest an entry is used. The feed is
	// what keeps entries right; this is defence in depth against a
	// change it can never tell: a row changed with its triggers disabled
	// (a restore with session_replication_role=replica, a hand edit
	// after dropping them) or a bug. 30 s bounds such staleness well
	// below an access token's life, and costs one store read per session
	// per 30 s, nothing next to a request rate worth caching for.
	sessionCacheMaxAge = 30 * time.Second
)

// sessionCache maps a session id to what SessionWithUser answered for it.
// It is safe for concurrent use.
type sessionCache struct {
	maxEntries int
	maxAge     time.Duration

	mu      sync.RWMutex
	entries map[string]cachedSession
	byUser  map[string]map[string]struct{}
	// trusted is true while the feed is up: only then is an entry used
	// or added.
	trusted bool
	// generation counts every change told, loss and resync. A reader
	// notes it before reading the store and may add what it read only
	// if it is unchanged: a change that landed while it read (the read
	// may predate it) then keeps the stale answer out. Written under mu
	// (Lock), read without it.
	generation atomic.Uint64
}

// cachedSession is one entry. Every request of the session gets the same
// values (Scopes shares its array): callers read a Principal, never
// change it.
type cachedSession struct {
	session  latch.Session
	user     latch.User
	cachedAt time.Time
}

func newSessionCache(maxEntries int, maxAge time.Duration) *sessionCache {
	return &sessionCache{maxEntries: maxEntries, maxAge: maxAge,
		entries: map[string]cachedSession{}, byUser: map[string]map[string]struct{}{}}
}

// get returns the entry of sessionID if the cache is trusted and the entry
// younger than maxAge at now.
func (c *sessionCache) get(sessionID string, now time.Time) (latch.Session, latch.User, bool) {
	c.mu.RLock()
	e, ok := c.entries[sessionID]
	trusted := c.trusted
	c.mu.RUnlock()
	if !ok || !trusted || now.Sub(e.cachedAt) >= c.maxAge || now.Before(e.cachedAt) {
		return latch.Session{}, latch.User{}, false
	}
	return e.session, e.user, true
}

// begin is called before a store read whose answer may be added: it
// returns the generation to give put, and whether adding is possible at
// all (the feed is up).
func (c *sessionCache) begin() (generation uint64, trusted bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.generation.Load(), c.trusted
}

// put adds what the store answered for sess.ID, read after begin returned
// generation, unless anything was invalidated since.
func (c *sessionCache) put(sess latch.Session, user latch.User, generation uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.trusted || c.generation.Load() != generation {
		return
	}
	if _, ok := c.entries[sess.ID]; !ok && len(c.entries) >= c.maxEntries {
		for id, e := range c.entries { // an arbitrary one
			c.remove(id, e.session.UserID)
			break
		}
	}
	if old, ok := c.entries[sess.ID]; ok && old.session.UserID != sess.UserID {
		c.remove(sess.ID, old.session.UserID)
	}
	c.entries[sess.ID] = cachedSession{session: sess, user: user, cachedAt: now}
	ids := c.byUser[sess.UserID]
	if ids == nil {
		ids = map[string]struct{}{}
		c.byUser[sess.UserID] = ids
	}
	ids[sess.ID] = struct{}{}
}

// remove drops one entry; mu is held.
func (c *sessionCache) remove(sessionID, userID string) {
	delete(c.entries, sessionID)
	if ids := c.byUser[userID]; ids != nil {
		delete(ids, sessionID)
		if len(ids) == 0 {
			delete(c.byUser, userID)
		}
	}
}

// forgetUser drops every entry of userID, and keeps reads in flight from
// adding theirs.
func (c *sessionCache) forgetUser(userID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation.Add(1)
	for id := range c.byUser[userID] {
		delete(c.entries, id)
	}
	delete(c.byUser, userID)
}

// forgetSession drops the entry of sessionID, and keeps reads in flight
// from adding theirs.
func (c *sessionCache) forgetSession(sessionID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation.Add(1)
	if e, ok := c.entries[sessionID]; ok {
		c.remove(sessionID, e.session.UserID)
	}
}

// forgetAll drops every entry; trust stays as it is.
func (c *sessionCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flush()
}

// setTrusted drops every entry and makes the cache usable (the feed
// listens: every later change will be told) or not (it lost its channel).
func (c *sessionCache) setTrusted(trusted bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flush()
	c.trusted = trusted
}

// flush drops every entry; mu is held.
func (c *sessionCache) flush() {
	c.generation.Add(1)
	clear(c.entries)
	clear(c.byUser)
}

// len is the number of entries, for tests.
func (c *sessionCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// sessionWithUser is the store's SessionWithUser, answered from the cache
// when it can be. Only a live session of an active user is kept: any other
// answer is a refusal, rare, and must never be served stale the other way.
func (s *Service) sessionWithUser(ctx context.Context, sessionID string) (latch.Session, latch.User, error) {
	now := s.now()
	if sess, user, ok := s.sessions.get(sessionID, now); ok {
		return sess, user, nil
	}
	generation, trusted := s.sessions.begin()
	sess, user, err := s.store.SessionWithUser(ctx, sessionID)
	if err == nil && trusted && sess.ID == sessionID && sess.Live(now) && user.Active {
		s.sessions.put(sess, user, generation, now)
	}
	return sess, user, err
}

// WatchSessionChanges keeps the sessions cache in step with feed until ctx
// ends. Until it is called, and whenever the feed is down, Authenticate
// reads the store on every request.
func (s *Service) WatchSessionChanges(ctx context.Context, feed latch.SessionChangeFeed) error {
	defer s.sessions.setTrusted(false)
	return feed.WatchSessionChanges(ctx, cacheSink{s})
}

// cacheSink applies what the feed tells to the Service's cache.
type cacheSink struct{ s *Service }

func (k cacheSink) SessionsChanged(userID string, at time.Time) {
	k.s.sessions.forgetUser(userID)
	if !at.IsZero() {
		k.s.cfg.Observer.SessionChangeDelay(time.Since(at))
	}
}

func (k cacheSink) ChangesDown(err error) {
	k.s.sessions.setTrusted(false)
	k.s.cfg.Observer.SessionChangeFeed(false)
	k.s.log.Warn("session change feed lost: authenticated requests read the database until it is back", "err", err)
}

func (k cacheSink) ChangesResynced() {
	k.s.sessions.setTrusted(true)
	k.s.cfg.Observer.SessionChangeFeed(true)
	k.s.log.Info("session change feed listening: live sessions are kept in memory")
}
