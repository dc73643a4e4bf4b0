package account

import (
	"testing"
	"time"

	"github.com/latchid/latch"
)

func cacheEntry(id, userID string) (latch.Session, latch.User) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return latch.Session{ID: id, UserID: userID, Kind: latch.KindSession, ExpiresAt: now.Add(time.Hour)},
		latch.User{ID: userID, Active: true}
}

// TestSessionCacheStaleReadKeptOut is the classic race: a request reads the
// session before its revocation commits, the revocation is told, then the
// request stores what it read. The stale answer must not be kept.
func TestSessionCacheStaleReadKeptOut(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, invalidate := range map[string]func(c *sessionCache){
		"change of the user":    func(c *sessionCache) { c.forgetUser("u1") },
		"change of another":     func(c *sessionCache) { c.forgetUser("u2") },
		"everything forgotten":  func(c *sessionCache) { c.forgetAll() },
		"the session forgotten": func(c *sessionCache) { c.forgetSession("s1") },
		"feed down and back":    func(c *sessionCache) { c.setTrusted(false); c.setTrusted(true) },
	} {
		t.Run(name, func(t *testing.T) {
			c := newSessionCache(10, time.Minute)
			c.setTrusted(true)
			generation, trusted := c.begin() // before the store read
			if !trusted {
				t.Fatal("a trusted cache says it is not")
			}
			invalidate(c) // lands while the read is in flight
			sess, user := cacheEntry("s1", "u1")
			c.put(sess, user, generation, now)
			if _, _, ok := c.get("s1", now); ok {
				t.Error("a read that raced an invalidation was kept")
			}
			// A read after it is kept.
			generation, _ = c.begin()
			c.put(sess, user, generation, now)
			if _, _, ok := c.get("s1", now); !ok {
				t.Error("a read after the invalidation was not kept")
			}
		})
	}
}

// TestSessionCacheUntrusted: while the feed is down (or was never up),
// nothing is kept or served.
func TestSessionCacheUntrusted(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newSessionCache(10, time.Minute)
	sess, user := cacheEntry("s1", "u1")
	generation, trusted := c.begin()
	if trusted {
		t.Fatal("a cache never told its feed is up trusts itself")
	}
	c.put(sess, user, generation, now)
	if c.len() != 0 {
		t.Fatal("an untrusted cache kept an entry")
	}
	c.setTrusted(true)
	generation, _ = c.begin()
	c.put(sess, user, generation, now)
	c.setTrusted(false)
	if _, _, ok := c.get("s1", now); ok {
		t.Error("an entry was served with the feed down")
	}
}

// TestSessionCacheBounds: the size bound evicts, the age bound expires, and
// forgetting a user drops all of its sessions and only them.
func TestSessionCacheBounds(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newSessionCache(3, 30*time.Second)
	c.setTrusted(true)
	put := func(id, userID string) {
		sess, user := cacheEntry(id, userID)
		generation, _ := c.begin()
		c.put(sess, user, generation, now)
	}
	put("a1", "a")
	put("a2", "a")
	put("b1", "b")
	put("c1", "c")
	if c.len() != 3 {
		t.Fatalf("%d entries, want the bound 3", c.len())
	}
	c.forgetUser("a")
	for _, id := range []string{"a1", "a2"} {
		if _, _, ok := c.get(id, now); ok {
			t.Errorf("%s served after its user was forgotten", id)
		}
	}
	if _, _, ok := c.get("c1", now); !ok {
		t.Error("another user's session was dropped")
	}
	if _, _, ok := c.get("c1", now.Add(30*time.Second)); ok {
		t.Error("an entry served at its maximum age")
	}
	if len(c.byUser) != c.len() {
		// One session per remaining user here.
		t.Errorf("user index %v out of step with %d entries", c.byUser, c.len())
	}
}
