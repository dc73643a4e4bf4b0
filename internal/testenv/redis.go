package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisURL is used when LATCH_TEST_REDIS_URL is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// Redis returns a client of the test Redis (LATCH_TEST_REDIS_URL, or
// DefaultRedisURL), closed when t ends. Without a reachable Redis the test
// is skipped, or fails when CI=true.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv("LATCH_TEST_REDIS_URL")
	if url == "" {
		url = DefaultRedisURL
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("LATCH_TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		msg := fmt.Sprintf("Redis unreachable (set LATCH_TEST_REDIS_URL, default %s): %v", DefaultRedisURL, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	t.Cleanup(func() { client.Close() })
	return client
}

// RedisPrefix is a key prefix of this test's own, so tests sharing one
// Redis do not see each other's keys.
func RedisPrefix(t testing.TB) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "latchtest:" + hex.EncodeToString(b[:]) + ":"
}
