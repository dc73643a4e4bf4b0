package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/scrypt"
)

// VerifyCosts are how long one verification takes, on this machine, for
// the slowest hash of each kind the service may hold: argon2id at its own
// parameters (Own), and every import format at CheckImport's caps. A
// failed sign-in that answers no sooner than Slowest takes the same time
// whatever hash the account has, and whether or not there is an account.
type VerifyCosts struct {
	Own    time.Duration // argon2id at the configured params
	Argon2 time.Duration // m = 64 MiB, t = 10, p = 1 (lanes run in parallel, so p = 1 is the slowest)
	Bcrypt time.Duration // cost 14
	Scrypt time.Duration // N*r = 2^19 with r = 1 (the slowest per byte), p = 4: 64 MiB, 256 MiB of work
	PBKDF2 time.Duration // 2,000,000 iterations
}

// Slowest is the longest of the costs.
func (c VerifyCosts) Slowest() time.Duration {
	return max(c.Own, c.Argon2, c.Bcrypt, c.Scrypt, c.PBKDF2)
}

// Calibration runs: each is a cheaper hash of the same shape as the cap,
// whose time scales linearly to it (bcrypt doubles per cost step; PBKDF2
// is linear in its iterations; x/crypto's scrypt runs p lanes one after
// the other; argon2's passes after the first cost the same, and the first
// one, which also allocates, is counted as the others, so the estimate
// errs on the slow side).
const (
	calBcryptCost   = 10
	calPBKDF2Iter   = importMaxPBKDF2Work / 20
	calArgon2Time   = 2
	calScryptLogN   = 19
	importMaxScrypt = 4 // lanes at N*r = 2^19 within importMaxScryptWork
)

// MeasureVerifyCosts times each kind of verification VerifyCosts lists.
// It runs about a second of hashing (each run twice) and allocates 64 MiB
// at a time: call it at start-up, not per request. The run
// times are those of an idle machine; a caller that makes a floor of them
// adds a margin for load.
func MeasureVerifyCosts(own Params) VerifyCosts {
	salt := []byte("calibration salt")
	pw := []byte("calibration password")
	// The faster of two runs: a run slowed by a burst of other work
	// would raise every failed sign-in's time for the life of the process.
	timed := func(f func()) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 2 {
			start := time.Now()
			f()
			best = min(best, time.Since(start))
		}
		return best
	}
	var c VerifyCosts
	c.Own = timed(func() { argon2.IDKey(pw, salt, own.Time, own.MemoryKiB, own.Threads, keyLen) })
	c.Argon2 = timed(func() { argon2.IDKey(pw, salt, calArgon2Time, importMaxArgon2MemoryKiB, 1, keyLen) }) *
		importMaxArgon2Time / calArgon2Time
	c.Bcrypt = timed(func() { _, _ = bcrypt.GenerateFromPassword(pw, calBcryptCost) }) << (maxBcryptCost - calBcryptCost)
	c.Scrypt = timed(func() { _, _ = scrypt.Key(pw, salt, 1<<calScryptLogN, 1, 1, keyLen) }) * importMaxScrypt
	c.PBKDF2 = timed(func() { _, _ = pbkdf2.Key(sha256.New, string(pw), salt, calPBKDF2Iter, sha256.Size) }) *
		importMaxPBKDF2Work / calPBKDF2Iter
	return c
}
