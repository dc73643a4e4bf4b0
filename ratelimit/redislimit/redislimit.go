// Package redislimit is a ratelimit.Limiter kept in Redis, so that every
// replica shares the same limits.
package redislimit

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/ratelimit"
)

// Limiter is a ratelimit.Limiter shared by every replica that uses the same Redis. The
// clock is Redis's own (TIME), so replicas whose clocks disagree still
// apply one limit.
type Limiter struct {
	client *redis.Client
	prefix string
}

// New limits through client; every key is stored under prefix.
func New(client *redis.Client, prefix string) *Limiter {
	return &Limiter{client: client, prefix: prefix}
}

// Open limits through the Redis at url (redis://[user:pass@]host:port/db),
// every key under prefix, and connects only when first used: Redis need
// not be up yet. Every call ends within timeout, and sooner if its
// context ends: by default the client would wait its own 3 s read timeout
// and ignore the context's deadline, and a hung Redis would hold every
// sign-in that long.
func Open(url, prefix string, timeout time.Duration) (*Limiter, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	opts.ContextTimeoutEnabled = true
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout = timeout, timeout, timeout, timeout
	return New(redis.NewClient(opts), prefix), nil
}

// Ping reports whether Redis answers (ratelimit.Pinger).
func (r *Limiter) Ping(ctx context.Context) error { return r.client.Ping(ctx).Err() }

// Close closes the connections to Redis.
func (r *Limiter) Close() error { return r.client.Close() }

// gcraScript is ratelimit's GCRA in Lua, run atomically by Redis. Times
// are microseconds; Lua's doubles hold them exactly until the year 2255.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local probe = cost
if probe < 1 then probe = 1 end
local nxt = tat + probe * interval
local wait = nxt - now - burst
if wait > 0 then return {0, wait} end
if cost > 0 then
  redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1)
end
return {1, 0}
`)

// Allow implements ratelimit.Limiter.
func (r *Limiter) Allow(ctx context.Context, key string, rule ratelimit.Rule, cost int) (ratelimit.Decision, error) {
	if !rule.Enabled() {
		return ratelimit.Decision{Allowed: true}, nil
	}
	interval := rule.Interval().Microseconds()
	burst := int64(rule.Limit) * interval
	res, err := gcraScript.Run(ctx, r.client, []string{r.prefix + key}, interval, burst, cost).Int64Slice()
	if err != nil {
		return ratelimit.Decision{}, err
	}
	if res[0] == 1 {
		return ratelimit.Decision{Allowed: true}, nil
	}
	return ratelimit.Decision{Allowed: false, RetryAfter: time.Duration(res[1]) * time.Microsecond}, nil
}

// Reset implements ratelimit.Limiter.
func (r *Limiter) Reset(ctx context.Context, key string) error {
	return r.client.Del(ctx, r.prefix+key).Err()
}

// markPrefix keeps marks apart from limits of the same name: a limit's
// value is an arrival time, which a mark must not be read as.
const markPrefix = "known:"

// Mark implements ratelimit.Limiter.
func (r *Limiter) Mark(ctx context.Context, key string, ttl time.Duration) error {
	return r.client.Set(ctx, r.prefix+markPrefix+key, "1", ttl).Err()
}

// Marked implements ratelimit.Limiter.
func (r *Limiter) Marked(ctx context.Context, key string) (bool, error) {
	n, err := r.client.Exists(ctx, r.prefix+markPrefix+key).Result()
	return n > 0, err
}
