package password_test

import (
	"testing"

	"github.com/latchid/latch/password"
)

func benchmarkHash(b *testing.B, p password.Params) {
	for b.Loop() {
		if _, err := password.Hash("securePassword123!", p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(p.MemoryKiB)/1024, "MiB/hash")
}

// BenchmarkHashDefault is one argon2id hash at DefaultParams: the cost of a
// sign-up, a password change and (roughly) a login.
func BenchmarkHashDefault(b *testing.B) { benchmarkHash(b, password.DefaultParams()) }

// BenchmarkHashMin is argon2id at m=1 MiB, t=1: the floor the tests use.
func BenchmarkHashMin(b *testing.B) {
	benchmarkHash(b, password.Params{MemoryKiB: 1024, Time: 1, Threads: 1})
}

// BenchmarkVerifyDefault is one login check against a hash at
// DefaultParams.
func BenchmarkVerifyDefault(b *testing.B) {
	p := password.DefaultParams()
	enc, err := password.Hash("securePassword123!", p)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _, err := password.Verify("securePassword123!", enc, p); err != nil || !ok {
			b.Fatal("verify failed", err)
		}
	}
}
