package password

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/latchid/latch"
)

// Hasher bounds how many hashes run at once, so memory under overload never
// exceeds slots x MemoryKiB. A request that cannot get a slot within the
// queue timeout is refused with KindUnavailable rather than queued without
// end: a login flood then degrades into fast 503s, not into an OOM kill.
//
// The refusal comes at admission, not after the wait: the Hasher keeps a
// running mean of how long one hash holds a slot, and a call whose
// expected wait (the queue ahead of it / slots x that mean) exceeds a
// quarter of its deadline (the queue timeout, or the caller's context deadline when
// sooner) is refused at once. Under a flood the 503s are then immediate,
// and the slots work only for callers that will still be there for the
// answer. The queue timeout stays as the backstop for a bad estimate.
//
// That bound holds for hashes at the Hasher's own params: verifying a
// stored hash costs that hash's parameters, not the Hasher's. Verify's caps
// bound how far above MemoryKiB any stored hash can go (argon2 1 GiB,
// scrypt 256 MiB), and CheckImport keeps every imported hash at or below
// 64 MiB per verification, so with imported accounts the bound is
// slots x max(MemoryKiB, 64 MiB). That product is why the import cap is
// 64 MiB and not more.
type Hasher struct {
	params       Params
	slots        chan struct{}     // a buffered-channel semaphore: send acquires, receive releases
	arenas       chan *argon2Arena // argon2 working memory, one per slot (hasher_arena.go)
	queueTimeout time.Duration
	// dummy is an argon2id hash at params of a password nobody knows, for
	// VerifyDummy.
	dummy string
	// hashing, set only by tests, is called with +1 when a hash starts
	// (slot held) and -1 when it ends.
	hashing func(delta int)
	// runs counts the hashes and verifications run, for Runs.
	runs atomic.Uint64
	// waiting counts the calls waiting for a slot, for Waiting.
	waiting atomic.Int64
	// meanRun is the running mean of how long one hash or verification
	// held its slot, in nanoseconds: an exponentially weighted moving
	// average, so admission reads it with one atomic load. NewHasher
	// seeds it with the dummy hash's time.
	meanRun atomic.Int64
	// meanGap is the running mean of the time between two releases of a
	// slot while calls were waiting, in nanoseconds: how fast the queue
	// really drains. It is more than meanRun / slots when a slot sits
	// idle between holders (the next waiter must be scheduled before it
	// hashes, and under a flood the cores are busy with other requests),
	// which the run times alone never see. lastRelease (h.now, in Unix
	// nanoseconds; 0 when no call was waiting) is the release it is
	// measured from.
	meanGap     atomic.Int64
	lastRelease atomic.Int64
	// now times the runs for meanRun and Ran; tests make it a fake clock
	// so the estimate's arithmetic is checked without real timing.
	now      func() time.Time
	observer Observer
}

// runWeightShift sets meanRun's memory: each run moves it 1/8 of the way
// to the run's time (1/2^3), so it follows a change in load within a few
// dozen hashes yet one slow run (a GC pause, a page fault burst) moves it
// little.
const runWeightShift = 3

// admitShare is the part of its deadline a call's expected wait may take
// and still be admitted. Under a sustained flood the queue sits at this
// limit, so the limit, not the deadline, is what an admitted call waits;
// and the estimate is a mean, real waits scatter around it (runs vary,
// the HTTP work competes for the cores; measured: up to twice the mean).
// A quarter of the deadline keeps the waits of admitted calls below the
// deadline with room to spare (2 s default: about 0.5 s typical, 1 s in
// the tail), and still queues far more calls than the slots need to
// stay busy (a few per slot).
const admitShare = 4 // the expected wait may be at most deadline / admitShare

// Observer is told how the Hasher's work goes, for an operator's metrics
// (package metrics implements it). Its methods run on the caller's path,
// around every hash: they must be quick and must not block.
type Observer interface {
	// SlotWaited: a call got a slot after waiting d (zero when one was
	// free at once).
	SlotWaited(d time.Duration)
	// SlotRefused: a call got no slot, for reason RefusedShed (its
	// expected wait exceeded its deadline: overload, refused at once),
	// RefusedQueueFull (the queue timeout passed, or no queue: overload) or
	// RefusedCanceled (its caller went away first).
	SlotRefused(reason string)
	// Ran: a hash (OpHash) or a verification (OpVerify, VerifyDummy's
	// included) held a slot for d.
	Ran(op string, d time.Duration)
}

// What an Observer is told.
const (
	OpHash           = "hash"
	OpVerify         = "verify"
	RefusedQueueFull = "queue_full"
	RefusedCanceled  = "canceled"
	// RefusedShed: refused at admission, without waiting, because the
	// expected wait for a slot exceeded the call's deadline (answered 503
	// like queue_full).
	RefusedShed = "shed"
)

// HasherOption tunes a Hasher.
type HasherOption func(*Hasher)

// WithObserver tells o how the Hasher's work goes (default: nobody).
func WithObserver(o Observer) HasherOption {
	return func(h *Hasher) {
		if o != nil {
			h.observer = o
		}
	}
}

// unobserved is the Observer of a Hasher given none.
type unobserved struct{}

func (unobserved) SlotWaited(time.Duration)  {}
func (unobserved) SlotRefused(string)        {}
func (unobserved) Ran(string, time.Duration) {}

// NewHasher returns a Hasher hashing at p with at most slots hashes at once
// (runtime.GOMAXPROCS(0) when slots <= 0: argon2 with p=1 keeps one core
// busy, so more would only queue inside the scheduler while holding memory).
// A request waits at most queueTimeout for a slot; zero means it does not
// wait at all. NewHasher computes one hash (the dummy for VerifyDummy), so
// it takes as long as one Hash; that hash's time is the first estimate of a
// run's time for admission.
func NewHasher(p Params, slots int, queueTimeout time.Duration, opts ...HasherOption) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if queueTimeout < 0 {
		return nil, errors.New("password: negative queue timeout")
	}
	if slots <= 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	h := &Hasher{
		params:       p,
		slots:        make(chan struct{}, slots),
		arenas:       newArenaPool(slots, p),
		queueTimeout: queueTimeout,
		now:          time.Now,
		observer:     unobserved{},
	}
	for _, opt := range opts {
		opt(h)
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	start := h.now()
	dummy, err := Hash(hex.EncodeToString(secret), p)
	if err != nil {
		return nil, err
	}
	// The first hash of a process faults its memory in and runs slower
	// than the steady state: a cautious first estimate, which the first
	// few dozen runs correct.
	h.meanRun.Store(int64(max(h.now().Sub(start), 1)))
	h.dummy = dummy
	return h, nil
}

// Params returns the parameters new hashes are made with.
func (h *Hasher) Params() Params { return h.params }

// Slots returns how many hashes may run at once.
func (h *Hasher) Slots() int { return cap(h.slots) }

// InUse returns how many slots are held now.
func (h *Hasher) InUse() int { return len(h.slots) }

// Waiting returns how many calls are waiting for a slot now: the queue's
// depth.
func (h *Hasher) Waiting() int { return int(h.waiting.Load()) }

// MeanRun returns the running estimate of how long one hash or
// verification holds a slot, which admission divides the queue by.
func (h *Hasher) MeanRun() time.Duration { return time.Duration(h.meanRun.Load()) }

// ewma moves the running mean in toward d. A compare-and-swap loop keeps
// it lock-free; under contention a retry costs a few nanoseconds.
func ewma(in *atomic.Int64, d time.Duration) {
	for {
		old := in.Load()
		next := max(old+(int64(d)-old)>>runWeightShift, 1)
		if in.CompareAndSwap(old, next) {
			return
		}
	}
}

// expectedWait is how long a call arriving now should wait for a slot
// when none is free: it needs the calls ahead of it, and one more, to
// finish, and a slot frees up every MeanRun / slots on average, or every
// meanGap when the queue was seen to drain slower than that. meanGap may
// be stale from an earlier flood; taking the larger errs toward a fast
// refusal, and the next queue corrects it within a few dozen releases.
func (h *Hasher) expectedWait() time.Duration {
	ahead := h.waiting.Load()
	perSlot := max(h.meanRun.Load()/int64(cap(h.slots)), h.meanGap.Load())
	return time.Duration((ahead + 1) * perSlot)
}

// Hash hashes password at the Hasher's params (see the package function).
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	var encoded string
	var err error
	if werr := h.withSlot(ctx, OpHash, func() {
		h.withArena(func(a *argon2Arena) { encoded, err = hashWith(a, password, h.params) })
	}); werr != nil {
		return "", werr
	}
	return encoded, err
}

// Verify checks password against encoded (see the package function); a hash
// weaker than the Hasher's params needs a rehash.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (ok, needsRehash bool, err error) {
	if werr := h.withSlot(ctx, OpVerify, func() {
		h.withArena(func(a *argon2Arena) { ok, needsRehash, err = verifyWith(a, password, encoded, h.params) })
	}); werr != nil {
		return false, false, werr
	}
	return ok, needsRehash, err
}

// VerifyDummy spends exactly the cost of one Verify at the configured
// params against an internal dummy hash and always reports false; used for
// unknown accounts so that they cost and look the same as a wrong password.
// It runs the very code path Verify runs, slot included, so that neither
// time nor overload behaviour tells the two apart.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	return h.withSlot(ctx, OpVerify, func() {
		h.withArena(func(a *argon2Arena) { _, _, _ = verifyWith(a, password, h.dummy, h.params) })
	})
}

// Runs returns how many hashes and verifications, VerifyDummy's included,
// this Hasher has run (a call refused for want of a slot runs nothing).
// Code paths that must cost the same, such as a sign-in with an unknown
// email and one with a wrong password, can be compared by it: the floor on
// failed sign-ins hides their times, but not the slots they take.
func (h *Hasher) Runs() uint64 { return h.runs.Load() }

// withSlot runs fn, the operation op, while holding a slot.
func (h *Hasher) withSlot(ctx context.Context, op string, fn func()) error {
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.releaseTimed()
	h.runs.Add(1)
	if h.hashing != nil {
		h.hashing(+1)
		defer h.hashing(-1)
	}
	start := h.now()
	fn()
	ran := h.now().Sub(start)
	ewma(&h.meanRun, ran)
	h.observer.Ran(op, ran)
	return nil
}

// acquire takes a slot, waiting at most queueTimeout, and gives up at once
// when ctx is done: nobody is left to read the answer. With no slot free,
// a call whose expected wait exceeds its deadline / admitShare is refused
// before it queues (see Hasher).
func (h *Hasher) acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		h.observer.SlotRefused(RefusedCanceled)
		return canceled(err)
	}
	select {
	case h.slots <- struct{}{}:
		h.observer.SlotWaited(0)
		return nil
	default:
	}
	if h.queueTimeout <= 0 {
		h.observer.SlotRefused(RefusedQueueFull)
		return overloaded()
	}
	if h.wouldShed(ctx) {
		h.observer.SlotRefused(RefusedShed)
		return overloaded()
	}
	h.waiting.Add(1)
	defer h.waiting.Add(-1)
	start := time.Now()
	timer := time.NewTimer(h.queueTimeout)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		h.observer.SlotWaited(time.Since(start))
		return nil
	case <-timer.C:
		h.observer.SlotRefused(RefusedQueueFull)
		return overloaded()
	case <-ctx.Done():
		h.observer.SlotRefused(RefusedCanceled)
		return canceled(ctx.Err())
	}
}

// wouldShed reports whether a call with ctx, finding no slot free, is
// refused at admission: its expected wait exceeds its deadline /
// admitShare.
func (h *Hasher) wouldShed(ctx context.Context) bool {
	deadline := h.queueTimeout
	if d, ok := ctx.Deadline(); ok {
		deadline = min(deadline, time.Until(d))
	}
	return h.expectedWait() > deadline/admitShare
}

// Admits tells, without taking a slot, whether a hash asked for now would
// be shed at admission, and answers the same Unavailable error as the
// hash would. A caller with work to do before its hash (a sign-in reads
// the account and its credential first) asks before that work, so that
// under overload a refusal costs neither the reads nor the wait. nil
// promises nothing: the hash itself may still be refused.
func (h *Hasher) Admits(ctx context.Context) error {
	if len(h.slots) < cap(h.slots) {
		return nil
	}
	if h.queueTimeout <= 0 || h.wouldShed(ctx) {
		h.observer.SlotRefused(RefusedShed)
		return overloaded()
	}
	return nil
}

func (h *Hasher) release() { <-h.slots }

// releaseTimed releases a slot and, when calls were waiting at this
// release and at the one before, adds the time between the two to
// meanGap. Only such pairs are timed: after an idle spell, the time since
// the last release says nothing of how fast a queue drains.
func (h *Hasher) releaseTimed() {
	// Timed and recorded before the slot is handed over: afterwards the
	// next holder may already have run and released (a busy scheduler can
	// park this goroutine that long), and would time its gap from the
	// release before this one, twice as long, while this one's came out
	// negative.
	now := h.now().UnixNano()
	queued := h.waiting.Load() > 0
	mark := int64(0) // 0: this release had no queue behind it
	if queued {
		mark = now
	}
	previous := h.lastRelease.Swap(mark)
	h.release()
	if queued && previous != 0 && now > previous {
		ewma(&h.meanGap, time.Duration(now-previous))
	}
}

func overloaded() error {
	return &latch.Error{
		Kind:       latch.KindUnavailable,
		Code:       latch.CodeOverloaded,
		Message:    "too many password checks at once; try again shortly",
		RetryAfter: 1 * time.Second,
	}
}

// canceled reports a caller that went away while waiting. It is
// Unavailable like overload (the check did not run), and wraps the context
// error so errors.Is(err, context.Canceled) holds.
func canceled(cause error) error {
	return &latch.Error{
		Kind:    latch.KindUnavailable,
		Code:    latch.CodeOverloaded,
		Message: "the request ended before the password check could run",
		Err:     cause,
	}
}

// MatchesAny reports whether password matches any of hashes (a password
// history), verifying each through the Hasher's slots: a depth-N history
// costs N verifications, so it is bounded like every other hash.
func (h *Hasher) MatchesAny(ctx context.Context, password string, hashes []string) (bool, error) {
	for _, encoded := range hashes {
		ok, _, err := h.Verify(ctx, password, encoded)
		if err != nil {
			return false, err
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}
