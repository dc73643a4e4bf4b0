// Package ratelimit limits how often a key (a client IP, an account) may do
// something. It uses GCRA (the generic cell rate algorithm): one stored
// timestamp per key, the "theoretical arrival time", which allows Rule.Limit
// events at once and then one every Rule.Per / Rule.Limit.
//
// Memory keeps the state in this process (one replica); package
// ratelimit/redislimit keeps it in Redis, so that every replica shares the
// same limits.
package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rule allows Limit events per Per, all of them at once if they come in a
// burst. A zero Limit disables the rule.
type Rule struct {
	Limit int
	Per   time.Duration
}

// Enabled reports whether the rule limits anything.
func (r Rule) Enabled() bool { return r.Limit > 0 && r.Per > 0 }

func (r Rule) String() string {
	if !r.Enabled() {
		return "off"
	}
	return fmt.Sprintf("%d/%s", r.Limit, r.Per)
}

// Interval is the time one event uses up.
func (r Rule) Interval() time.Duration { return r.Per / time.Duration(r.Limit) }

// ParseRule reads "N/DURATION" (such as "10/10m") or "off" / "0".
func ParseRule(s string) (Rule, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Rule{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	limit, err := strconv.Atoi(n)
	if !ok || err != nil || limit < 1 {
		return Rule{}, fmt.Errorf("rate limit %q: want N/DURATION such as 10/10m, or off", s)
	}
	d, err := time.ParseDuration(per)
	if err != nil || d <= 0 {
		return Rule{}, fmt.Errorf("rate limit %q: want N/DURATION such as 10/10m, or off", s)
	}
	return Rule{Limit: limit, Per: d}, nil
}

// Decision is the answer to one request.
type Decision struct {
	Allowed bool
	// RetryAfter, when not allowed, is how long until one more event fits.
	RetryAfter time.Duration
}

// Limiter decides whether the event with cost may happen under rule for
// key, and records it if so. Cost 0 only asks (nothing is recorded): it
// answers whether one more event would be allowed.
//
// Reset forgets key, as if it had never been used: a limit that counts
// consecutive failures ends when the account proves itself (a successful
// sign-in, a password set).
//
// Mark remembers key for ttl from now (marking it again starts ttl again),
// and Marked reports whether key is remembered: sign-in marks the client
// addresses that proved themselves for an account, which its per-account
// cap then spares. Marks are apart from limits: a mark and a limit of the
// same name neither see nor clear each other.
type Limiter interface {
	Allow(ctx context.Context, key string, rule Rule, cost int) (Decision, error)
	Reset(ctx context.Context, key string) error
	Mark(ctx context.Context, key string, ttl time.Duration) error
	Marked(ctx context.Context, key string) (bool, error)
}

// gcra is the algorithm both backends run: given the stored theoretical
// arrival time (zero if none), it returns the decision and the new value to
// store (zero: store nothing).
func gcra(now, tat time.Time, rule Rule, cost int) (Decision, time.Time) {
	interval := rule.Interval()
	if tat.Before(now) {
		tat = now
	}
	burst := time.Duration(rule.Limit) * interval
	// With cost 0, ask whether one more event would fit.
	probe := max(cost, 1)
	next := tat.Add(time.Duration(probe) * interval)
	if wait := next.Sub(now) - burst; wait > 0 {
		return Decision{Allowed: false, RetryAfter: wait}, time.Time{}
	}
	if cost == 0 {
		return Decision{Allowed: true}, time.Time{}
	}
	return Decision{Allowed: true}, next
}
