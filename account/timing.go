package account

// The failed sign-in floor: every failed password sign-in answers no
// sooner than the slowest verification of a hash the store holds, so an
// answer's time tells nothing about the account (see README, Security).

import (
	"context"
	"strings"
	"time"

	"github.com/latchid/latch/password"
)

// FailureFloor is the least time a failed password sign-in takes now (see
// Config.LoginFailureFloor and Config.VerifyCosts); zero is none.
func (s *Service) FailureFloor() time.Duration { return time.Duration(s.failureFloor.Load()) }

// raiseFailureFloor makes the floor at least a quarter more than verify,
// the time of one verification the service may have to run. A fixed
// floor (Config.LoginFailureFloor) stays as configured.
func (s *Service) raiseFailureFloor(verify time.Duration) {
	if s.cfg.LoginFailureFloor > 0 || s.cfg.VerifyCosts == nil {
		return
	}
	want := int64(verify * 5 / 4)
	for {
		cur := s.failureFloor.Load()
		if cur >= want || s.failureFloor.CompareAndSwap(cur, want) {
			return
		}
	}
}

// observeHash raises the floor to cover a stored hash about to be
// verified or imported: one written by another replica, or imported since
// start, is covered from then on.
func (s *Service) observeHash(encoded string) {
	// The service's own hashes cost Own, which the floor covers from the
	// start: a login need not parse its hash for nothing.
	if s.cfg.VerifyCosts != nil && !strings.HasPrefix(encoded, s.ownHashPrefix) {
		s.raiseFailureFloor(s.cfg.VerifyCosts.Estimate(encoded, s.hasher.Params()))
	}
}

// LoadFailureFloor raises the floor to cover the slowest kind of hash the
// store holds (password.VerifyCosts.StoredHashClasses): serve runs it at
// start, before the first request, so a slow imported hash is covered
// before anyone can time it. A deployment that holds only its own
// argon2id hashes keeps a floor just above one of those.
func (s *Service) LoadFailureFloor(ctx context.Context) error {
	if s.cfg.LoginFailureFloor > 0 || s.cfg.VerifyCosts == nil {
		return nil
	}
	// One look for any bcrypt first: without it, every cost would be a
	// scan of its own.
	bcryptFound, err := s.store.CredentialHashExists(ctx, "$2_$%", "")
	if err != nil {
		return err
	}
	skipBcrypt := !bcryptFound
	for _, c := range s.cfg.VerifyCosts.StoredHashClasses(s.hasher.Params()) {
		isBcrypt := strings.HasPrefix(c.Like, "$2_$")
		if isBcrypt && skipBcrypt {
			continue // none, or a costlier one was found (costliest first)
		}
		found, err := s.store.CredentialHashExists(ctx, c.Like, c.NotLike)
		if err != nil {
			return err
		}
		if found {
			s.raiseFailureFloor(c.Slowest)
			skipBcrypt = skipBcrypt || isBcrypt
		}
	}
	return nil
}

// waitFailureFloor holds a failed sign-in until LoginFailureFloor has
// passed since started, once per verification checkPassword ran (two when
// the password typed differs from its NFKC form). The hash slot is
// already released: waiting costs a goroutine and a timer, no CPU and no
// memory for hashing. What an attacker times is then the floor, for an
// unknown email as for an account whose imported hash is ten times slower
// than ours.
func (s *Service) waitFailureFloor(ctx context.Context, started time.Time, raw string) {
	floor := s.FailureFloor()
	if floor <= 0 {
		return
	}
	// (A password over the maximum length was refused unverified, and
	// is not worth normalising.)
	if !s.cfg.Policy.TooLong(raw) && password.Normalize(raw) != raw {
		floor *= 2
	}
	wait := floor - time.Since(started)
	if wait <= 0 {
		// The floor is too low for this machine, its load or a stored
		// hash: timing may tell accounts apart (see the README).
		s.log.DebugContext(ctx, "failed sign-in slower than the floor", "floor", floor, "took", floor-wait)
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done(): // nobody is left to time the answer
	}
}

// failLogin spends the cost of one verification so that an unknown account
// takes as long as a wrong password.
func (s *Service) failLogin(ctx context.Context, raw, pw string) error {
	if err := s.hasher.VerifyDummy(ctx, pw); err != nil {
		return err
	}
	if raw != pw {
		if err := s.hasher.VerifyDummy(ctx, raw); err != nil {
			return err
		}
	}
	return errInvalidCredentials()
}
