package account_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/latchid/latch"
	"github.com/latchid/latch/internal/testenv"
)

// pingCounter is a real store that counts its pings.
type pingCounter struct {
	latch.Store
	pings atomic.Int32
}

func (p *pingCounter) Ping(ctx context.Context) error {
	p.pings.Add(1)
	return p.Store.Ping(ctx)
}

// /readyz is public: a flood of it costs the database one ping a second,
// not one per request.
func TestReadyPingsAtMostOncePerSecond(t *testing.T) {
	st := &pingCounter{Store: testenv.Backends()[0].Open(t)}
	h := testenv.NewHarness(t, st)
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.Accounts.Ready(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := st.pings.Load(); n > 2 {
		t.Errorf("200 readiness checks pinged the database %d times", n)
	}
}
