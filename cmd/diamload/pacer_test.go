package main

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// instantClient answers every request inside Go, on the caller's goroutine.
type instantClient struct{ queueClient }

func (f *instantClient) Go(c *call) error {
	c.cb(s13.Answer{ResultCode: 2001, HasEquipmentStatus: true}, nil)
	return nil
}

// The pacer's wake-ups follow the rate: at 10/s it sleeps until each request is due (about one
// wake per request), not every millisecond, and every request of the schedule goes out; a stop
// wakes it at once however long its sleep.
func TestPacerWakesWithTheRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startCoarsePacer(t, "4", "10")
		time.Sleep(10*time.Second - time.Millisecond)
		synctest.Wait()
		c, _, _, _ := r.rec.final()
		assert.EqualValues(t, 100, c.requests, "requests due at 0, 100 ms, ... 9.9 s")
		assert.LessOrEqual(t, r.pacerWakes, int64(110), "about one wake per request, not one per millisecond")
		r.stop()
		synctest.Wait()
		assert.True(t, r.pacerDone.Load(), "a stop wakes the sleeping pacer")
	})
}

// Above 1,000/s the coarse pacer wakes once a tick and sends what came due together: at
// 10,000/s about 1,000 wakes a second, not 10,000, every request of the schedule still goes out,
// none a tick or more after its intended time.
func TestCoarsePacerWakesOncePerTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := startCoarsePacer(t, "64", "10000")
		time.Sleep(time.Second + coarseTick/2)
		synctest.Wait()
		c, _, _, lag := r.rec.final()
		// Request 0 goes out at t0, the first wake is when request 1 is due (100 µs), then one a
		// millisecond: by 1.0005 s 1,001 wakes, the last at 1.0001 s sending up to request 10,001.
		assert.EqualValues(t, 10002, c.requests)
		assert.EqualValues(t, 1001, r.pacerWakes, "one wake a millisecond")
		require.NotNil(t, lag)
		assert.Less(t, lag.Max, int64(coarseTick/time.Microsecond), "µs; no request waits a tick")
		r.stop()
		synctest.Wait()
		assert.True(t, r.pacerDone.Load())
	})
}

// startCoarsePacer starts, inside a synctest bubble, a coarse pacer at rate with c slots over a
// client that answers at once; the bubble's end stops it.
func startCoarsePacer(t *testing.T, c, rate string) *runner {
	t.Helper()
	o, err := parseRunFlags("run", []string{"-d", "1h", "-c", c, "--rate", rate, "--pacer", "coarse"}, false)
	require.NoError(t, err)
	pay, err := newPayload([]mixEntry{{o.imei, 1}}, o.imsi, 64, 1)
	require.NoError(t, err)
	r, slots := newRunner(o, &instantClient{}, pay)
	r.free = make(chan *call, len(slots))
	for i := range slots {
		r.free <- &slots[i]
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go r.pace(ctx, r.clock())
	return r
}
