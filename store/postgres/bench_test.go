package postgres_test

import (
	"testing"

	"github.com/latchid/latch/internal/testenv"
	"github.com/latchid/latch/store/storetest"
)

// BenchmarkRotateRefreshToken measures the write behind every refresh of a
// session.
func BenchmarkRotateRefreshToken(b *testing.B) {
	storetest.BenchRotateRefreshToken(b, testenv.OpenPostgres(b))
}
