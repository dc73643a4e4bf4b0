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
