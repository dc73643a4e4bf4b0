package password_test

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch"
	"github.com/latchid/latch/password"
)

// checkOverloaded fails unless err is the overload refusal every surface
// answers with 503 and Retry-After.
func checkOverloaded(t *testing.T, name string, err error) {
	t.Helper()
	var le *latch.Error
	if !errors.As(err, &le) || le.Kind != latch.KindUnavailable || le.Code != latch.CodeOverloaded || le.RetryAfter <= 0 {
		t.Fatalf("%s: err = %#v, want Unavailable/overloaded with RetryAfter", name, err)
	}
}

// waitUntil polls cond (no sleep: it yields) and fails after a generous
// minute; it only waits for goroutines to reach a state, never proves timing.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	stop := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(stop) {
			t.Fatalf("timed out waiting until %s", what)
		}
		runtime.Gosched()
	}
}

// TestHasherShedsAtAdmission saturates a one-slot Hasher whose estimate
// says a hash takes 1 s: with a 20 s queue timeout, a quarter of it (5 s)
// is what an admitted call may expect to wait, so five calls queue and the
// sixth is refused at once (well under the timeout) as "shed". The five
// admitted calls then all complete with real hashing.
func TestHasherShedsAtAdmission(t *testing.T) {
	const queueTimeout = 20 * time.Second
	ctx := context.Background()
	rec := &recorder{}
	h, err := password.NewHasher(lowParams, 1, queueTimeout, password.WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	var hashes atomic.Int32
	h.OnHashing(func(delta int) {
		if delta > 0 {
			hashes.Add(1)
		}
	})
	release, err := h.HoldSlot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h.SetMeanRun(time.Second)

	const admitted = 5
	var wg sync.WaitGroup
	errs := make(chan error, admitted)
	for range admitted {
		wg.Go(func() {
			_, err := h.Hash(ctx, "pw")
			errs <- err
		})
	}
	waitUntil(t, "five calls queue", func() bool { return h.Waiting() == admitted })

	start := time.Now()
	_, err = h.Hash(ctx, "pw")
	elapsed := time.Since(start)
	checkOverloaded(t, "sixth call", err)
	if elapsed >= queueTimeout/4 {
		t.Fatalf("the sixth call was refused after %v, want well under the %v queue timeout", elapsed, queueTimeout)
	}
	// The others shed the same way, whatever their kind.
	checkOverloaded(t, "VerifyDummy", h.VerifyDummy(ctx, "pw"))
	_, _, err = h.Verify(ctx, "pw", h.DummyHash())
	checkOverloaded(t, "Verify", err)
	if n := hashes.Load(); n != 0 {
		t.Fatalf("%d hashes ran while the slot was held", n)
	}
	if _, refused, _ := rec.take(); len(refused) != 3 || refused[0] != password.RefusedShed || refused[1] != password.RefusedShed || refused[2] != password.RefusedShed {
		t.Fatalf("refusals %q, want three %q", refused, password.RefusedShed)
	}

	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("an admitted call failed: %v", err)
		}
	}
	if n := hashes.Load(); n != admitted {
		t.Fatalf("%d hashes ran, want the %d admitted", n, admitted)
	}
	// Real runs at lowParams take well under a second: the estimate has
	// moved down from the 1 s it was set to.
	if m := h.MeanRun(); m >= time.Second {
		t.Fatalf("MeanRun = %v after %d real runs, want below 1s", m, admitted)
	}
}

// TestHasherShedsByContextDeadline: a caller whose own deadline is sooner
// than the queue timeout is refused at once when the expected wait would
// take more than a quarter of it, and admitted when it would not.
func TestHasherShedsByContextDeadline(t *testing.T) {
	h := newHasher(t, 1, time.Hour)
	release, err := h.HoldSlot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h.SetMeanRun(time.Minute)

	// A one-minute expected wait against a one-minute deadline: refused
	// now, as overload, not when the deadline passes.
	short, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	_, err = h.Hash(short, "pw")
	if d := time.Since(start); d >= 15*time.Second {
		t.Fatalf("refused after %v, want at once", d)
	}
	checkOverloaded(t, "one-minute wait, one-minute deadline", err)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a refusal at admission, not the deadline", err)
	}

	// Against a ten-minute deadline the same wait is admitted: the call
	// queues, and runs once the slot is free.
	long, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() { _, err := h.Hash(long, "pw"); errc <- err }()
	waitUntil(t, "the call queues", func() bool { return h.Waiting() == 1 })
	release()
	if err := <-errc; err != nil {
		t.Fatalf("admitted call: %v", err)
	}
}

// fakeRunClock is a clock that moves step forward at every reading, so
// each run a Hasher times takes exactly step.
type fakeRunClock struct {
	mu   sync.Mutex
	now  time.Time
	step time.Duration
}

func (c *fakeRunClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(c.step)
	return c.now
}

func (c *fakeRunClock) setStep(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.step = d
}

// TestHasherEstimateAdapts: the estimate starts at the first hash's time
// (NewHasher's) and follows the runs' times when they change, both ways.
func TestHasherEstimateAdapts(t *testing.T) {
	ctx := context.Background()
	clock := &fakeRunClock{now: time.Unix(0, 0), step: 80 * time.Millisecond}
	h, err := password.NewHasher(lowParams, 2, time.Second, password.WithRunClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	if m := h.MeanRun(); m != 80*time.Millisecond {
		t.Fatalf("first estimate %v, want the dummy hash's 80ms", m)
	}
	within := func(got, want time.Duration) bool { return got > want*95/100 && got < want*105/100 }
	for _, step := range []time.Duration{10 * time.Millisecond, 200 * time.Millisecond} {
		clock.setStep(step)
		for range 40 {
			if _, err := h.Hash(ctx, "pw"); err != nil {
				t.Fatal(err)
			}
		}
		if m := h.MeanRun(); !within(m, step) {
			t.Fatalf("after 40 runs of %v the estimate is %v, want within 5%%", step, m)
		}
	}
	// One outlier moves it by an eighth of the difference, no more.
	clock.setStep(1000 * time.Millisecond)
	before := h.MeanRun()
	if err := h.VerifyDummy(ctx, "pw"); err != nil {
		t.Fatal(err)
	}
	if got, want := h.MeanRun(), before+(time.Second-before)/8; got < want-time.Millisecond || got > want+time.Millisecond {
		t.Fatalf("one 1s run moved the estimate from %v to %v, want %v", before, got, want)
	}
}

// manualClock is a clock that moves only when told.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestHasherEstimateSeesIdleSlots: when the queue drains slower than the
// run times say (a slot waits between holders), admission goes by how fast
// it really drains. Here every run takes no time on the test's clock, but
// a held slot starts its run only 50 ms after it was handed over: the
// expected wait becomes 50 ms per call, and a call whose context allows
// 60 ms (15 ms of expected wait) is refused, where the run times alone
// would admit it.
func TestHasherEstimateSeesIdleSlots(t *testing.T) {
	const calls = 48
	ctx := context.Background()
	clock := &manualClock{now: time.Unix(1000, 0)}
	h, err := password.NewHasher(lowParams, 1, time.Hour, password.WithRunClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	h.SetMeanRun(time.Millisecond)
	entered, proceed := make(chan struct{}, calls), make(chan struct{})
	h.OnHashing(func(delta int) {
		if delta > 0 {
			entered <- struct{}{}
			<-proceed
		}
	})
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for range calls {
		wg.Go(func() {
			_, err := h.Hash(ctx, "pw")
			errs <- err
		})
	}
	waitUntil(t, "all but one call queue", func() bool { return h.Waiting() == calls-1 })
	for range calls {
		<-entered
		clock.advance(50 * time.Millisecond)
		proceed <- struct{}{}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("an admitted call failed: %v", err)
		}
	}
	if m := h.MeanRun(); m > time.Millisecond {
		t.Fatalf("MeanRun = %v, want about 0 (the clock never moved during a run)", m)
	}
	if w := h.ExpectedWait(); w < 45*time.Millisecond || w > 55*time.Millisecond {
		t.Fatalf("ExpectedWait = %v, want about 50ms (the gap between holders)", w)
	}

	h.OnHashing(nil)
	release, err := h.HoldSlot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	soon, cancel := context.WithTimeout(ctx, 60*time.Millisecond)
	defer cancel()
	_, err = h.Hash(soon, "pw")
	checkOverloaded(t, "a 50 ms expected wait against a 60 ms deadline", err)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a refusal at admission, not the deadline", err)
	}
}

// TestHasherAdmits: Admits answers what a hash asked for now would meet at
// admission, without taking a slot: nil with a slot free or a short
// expected wait, the overload refusal (counted as shed) when the hash
// would be shed.
func TestHasherAdmits(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	h, err := password.NewHasher(lowParams, 1, 20*time.Second, password.WithObserver(rec))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Admits(ctx); err != nil {
		t.Fatalf("a free slot: %v", err)
	}
	release, err := h.HoldSlot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	h.SetMeanRun(time.Second) // 1 s expected against a 5 s admission budget
	if err := h.Admits(ctx); err != nil {
		t.Fatalf("a busy slot with a short expected wait: %v", err)
	}
	h.SetMeanRun(10 * time.Second)
	checkOverloaded(t, "a 10 s expected wait", h.Admits(ctx))
	if h.Waiting() != 0 {
		t.Fatalf("Admits queued: %d waiting", h.Waiting())
	}
	if _, refused, _ := rec.take(); len(refused) != 1 || refused[0] != password.RefusedShed {
		t.Fatalf("refusals %q, want one %q", refused, password.RefusedShed)
	}
}
