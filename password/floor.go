package password

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
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
// at a time (collecting between runs): call it at start-up, not per request. The run
// times are those of an idle machine; a caller that makes a floor of them
// adds a margin for load.
func MeasureVerifyCosts(own Params) VerifyCosts {
	salt := []byte("calibration salt")
	pw := []byte("calibration password")
	// The faster of two runs: a run slowed by a burst of other work
	// would raise every failed sign-in's time for the life of the process.
	//
	// Each run's memory is garbage once it returns: collected before the
	// next run allocates, so that start-up peaks at one run's memory (64
	// MiB) rather than at the sum of every run's (about 270 MiB of peak
	// RSS before), and given back to the system at the end.
	timed := func(f func()) time.Duration {
		best := time.Duration(1<<63 - 1)
		for range 2 {
			start := time.Now()
			f()
			best = min(best, time.Since(start))
			runtime.GC()
		}
		return best
	}
	defer debug.FreeOSMemory()
	var c VerifyCosts
	// The service verifies its own hashes on a slot's reused arena
	// (Hasher), not on fresh memory as x/crypto does: timed the same way,
	// on one arena for both runs. Imported hashes at the caps get fresh
	// memory (see newArenaPool), so the caps are timed with x/crypto.
	ownArena := &argon2Arena{}
	c.Own = timed(func() { _, _ = ownArena.idKey(pw, salt, own.Time, own.MemoryKiB, own.Threads, keyLen) })
	ownArena = nil
	c.Argon2 = timed(func() { argon2.IDKey(pw, salt, calArgon2Time, importMaxArgon2MemoryKiB, 1, keyLen) }) *
		importMaxArgon2Time / calArgon2Time
	c.Bcrypt = timed(func() { _, _ = bcrypt.GenerateFromPassword(pw, calBcryptCost) }) << (maxBcryptCost - calBcryptCost)
	c.Scrypt = timed(func() { _, _ = scrypt.Key(pw, salt, 1<<calScryptLogN, 1, 1, keyLen) }) * importMaxScrypt
	c.PBKDF2 = timed(func() { _, _ = pbkdf2.Key(sha256.New, string(pw), salt, calPBKDF2Iter, sha256.Size) }) *
		importMaxPBKDF2Work / calPBKDF2Iter
	return c
}

// Estimate is how long verifying the stored hash encoded takes on this
// machine, scaled from c by the hash's own parameters: argon2 by m x t
// (from Own, at own's m x t; lanes run in parallel, so p is not counted),
// bcrypt by 2^cost, scrypt by 128 N r p, PBKDF2 by its work. A hash that
// does not parse is given the slowest cost: it is treated as the worst
// the service may have to verify, never as a fast one.
func (c VerifyCosts) Estimate(encoded string, own Params) time.Duration {
	scale := func(d time.Duration, work, ref uint64) time.Duration {
		if ref == 0 {
			return c.Slowest()
		}
		return time.Duration(float64(d) * float64(work) / float64(ref))
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2"):
		h, err := ParseArgon2(encoded)
		if err != nil {
			break
		}
		return scale(c.Own, uint64(h.Params.MemoryKiB)*uint64(h.Params.Time), uint64(own.MemoryKiB)*uint64(own.Time))
	case isBcrypt(encoded):
		cost, err := parseBcrypt(encoded)
		if err != nil {
			break
		}
		return scale(c.Bcrypt, 1<<cost, 1<<maxBcryptCost)
	case isScrypt(encoded):
		h, err := parseScrypt(encoded)
		if err != nil {
			break
		}
		_, _, work := h.costs()
		return scale(c.Scrypt, work, importMaxScryptWork)
	case isPBKDF2(encoded):
		h, err := parsePBKDF2(encoded)
		if err != nil {
			break
		}
		return scale(c.PBKDF2, h.work(), importMaxPBKDF2Work)
	}
	return c.Slowest()
}

// StoredHashClass is a set of stored hashes a store can find by SQL LIKE
// patterns (Like, and not NotLike when that is not empty), and how long
// the slowest of them may take to verify.
type StoredHashClass struct {
	Like, NotLike string
	Slowest       time.Duration
}

// StoredHashClasses are the kinds of stored hash that are slower than
// own's argon2id, most costly first within each format: whichever of them
// a store holds, a failed sign-in must take at least that long. Argon2
// hashes at other parameters than own (imported, or made before the
// parameters changed) count at the import caps; bcrypt by its cost, since
// it is the usual import.
func (c VerifyCosts) StoredHashClasses(own Params) []StoredHashClass {
	out := []StoredHashClass{
		{Like: "$argon2%", NotLike: OwnPrefix(own) + "%", Slowest: c.Argon2},
		{Like: "$scrypt$%", Slowest: c.Scrypt},
		{Like: "%pbkdf2%", Slowest: c.PBKDF2},
	}
	// "_" is LIKE's one-character wildcard: $2a$, $2b$ and $2y$ alike.
	for cost := maxBcryptCost; cost >= bcrypt.MinCost; cost-- {
		out = append(out, StoredHashClass{Like: fmt.Sprintf("$2_$%02d$%%", cost), Slowest: c.Bcrypt >> (maxBcryptCost - cost)})
	}
	return out
}

// OwnPrefix is how every hash this service makes at params begins (the
// argon2id PHC parameters, before the salt).
func OwnPrefix(params Params) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, params.MemoryKiB, params.Time, params.Threads)
}
