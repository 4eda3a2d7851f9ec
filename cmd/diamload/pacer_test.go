package main

import (
	"context"
	"sync"
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
		r.stop()
		synctest.Wait()
		assert.True(t, r.pacerDone.Load(), "a stop wakes the sleeping pacer")
		assert.LessOrEqual(t, r.pacerWakes, int64(110), "about one wake per request, not one per millisecond")
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
		require.NotNil(t, lag)
		assert.Less(t, lag.Max, int64(coarseTick/time.Microsecond), "µs; no request waits a tick")
		r.stop()
		synctest.Wait()
		assert.True(t, r.pacerDone.Load())
		// The pacer's wakes are counted when it ends: the 1,001 above and the one the stop ended.
		assert.EqualValues(t, 1002, r.pacerWakes, "one wake a millisecond")
	})
}

// startCoarsePacer starts, inside a synctest bubble, a coarse pacer at rate with c slots over a
// client that answers at once; the bubble's end stops it.
func startCoarsePacer(t *testing.T, c, rate string) *runner {
	t.Helper()
	r := newPacedRunner(t, &instantClient{}, "-c", c, "--rate", rate, "--pacer", "coarse")
	startPacer(t, r)
	return r
}

// newPacedRunner makes an open-loop runner over cl from run flags (-d 1h and args), its slots
// free.
func newPacedRunner(t *testing.T, cl loadClient, args ...string) *runner {
	t.Helper()
	o, err := parseRunFlags("run", append([]string{"-d", "1h"}, args...), false)
	require.NoError(t, err)
	pay, err := newPayload([]mixEntry{{o.imei, 1}}, o.imsi, 64, 1)
	require.NoError(t, err)
	r, slots := newRunner(o, cl, pay)
	r.free = make(chan *call, len(slots))
	for i := range slots {
		r.free <- &slots[i]
	}
	return r
}

// startPacer starts r's pacer; the test's end stops it.
func startPacer(t *testing.T, r *runner) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go r.pace(ctx, r.clock())
}

// stopPacerInBubble stops r's pacer inside a synctest bubble, after the sleep or submission
// under way (at most a millisecond of virtual time), and checks that it ended.
func stopPacerInBubble(t *testing.T, r *runner) {
	t.Helper()
	r.stop()
	time.Sleep(time.Millisecond)
	synctest.Wait()
	require.True(t, r.pacerDone.Load(), "the pacer ended")
}

// slowClient answers at once, but each Go takes cost of (virtual) time, as a submission does.
type slowClient struct {
	instantClient
	cost time.Duration
}

func (f *slowClient) Go(c *call) error {
	time.Sleep(f.cost)
	return f.instantClient.Go(c)
}

// lateSleeper sleeps until the deadline and then late more, as a vCPU comes back late; a
// deadline already past returns at once, as the precise sleeper's does.
type lateSleeper struct {
	r     *runner
	late  time.Duration
	slept int64
}

func (s *lateSleeper) until(deadline int64, _ bool) bool {
	if rem := deadline - s.r.clock(); rem > 0 {
		time.Sleep(time.Duration(rem) + s.late)
		s.slept++
	}
	return true
}

func (s *lateSleeper) wakes() int64 { return s.slept }
func (s *lateSleeper) close()       {}

// A request that comes due while the pacer is still submitting the ones before it is sent next,
// not a slot poll later: with wake-ups 25 µs late and 6 µs a submission at 100,000/s, each wake
// finds three or four due and the last of them takes the pacer past the next due time. Every
// request goes out within the wake-up's lateness and a few submissions of its intended time.
// (Before, the pacer took that for a wait for a slot and slept pacerSlotPoll: lags over 100 µs.)
func TestPacerSendsWhatCameDueWhileSubmitting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newPacedRunner(t, &slowClient{cost: 6 * time.Microsecond}, "-c", "64", "--rate", "100000")
		r.sleeperFor = func(context.Context) sleeper { return &lateSleeper{r: r, late: 25 * time.Microsecond} }
		startPacer(t, r)
		time.Sleep(20 * time.Millisecond)
		stopPacerInBubble(t, r)
		c, _, _, lag := r.rec.final()
		assert.GreaterOrEqual(t, c.requests, uint64(1990), "20 ms at 100,000/s")
		require.NotNil(t, lag)
		assert.Less(t, lag.Max, int64(60), "µs: no request waits a slot poll (%v)", pacerSlotPoll)
	})
}

// recordingSleeper returns at once and keeps what each wait was for.
type recordingSleeper struct {
	r    *runner
	mu   sync.Mutex
	due  int // waits for a request's due time
	poll int // waits for a slot, pacerSlotPoll from when they began
}

func (s *recordingSleeper) until(deadline int64, due bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case due:
		s.due++
	case deadline-s.r.clock() == int64(pacerSlotPoll):
		s.poll++
	}
	time.Sleep(time.Duration(deadline - s.r.clock()))
	return true
}

func (s *recordingSleeper) wakes() int64 { return 0 }
func (s *recordingSleeper) close()       {}

// A wait for a free slot is a poll, not a due time: the precise sleeper does not spin for it
// (all slots busy through a stalled target would otherwise spin a core).
func TestPacerPollsForASlotWithoutSpinning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newPacedRunner(t, &queueClient{t: t, q: make(chan *call, 4)}, "-c", "1", "--rate", "1000")
		s := &recordingSleeper{r: r}
		r.sleeperFor = func(context.Context) sleeper { return s }
		startPacer(t, r)
		time.Sleep(10 * time.Millisecond)
		stopPacerInBubble(t, r)
		s.mu.Lock()
		defer s.mu.Unlock()
		assert.Positive(t, s.due, "the first request's wait")
		assert.Greater(t, s.poll, 50, "the second request waits for the slot the first holds")
	})
}
