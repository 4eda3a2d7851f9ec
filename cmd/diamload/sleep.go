package main

import (
	"context"
	"time"
)

// A sleeper is how the open-loop pacer waits for the next due request. It is made and used on
// the pacer's goroutine only.
type sleeper interface {
	// until waits until the runner clock reads deadline, or a stop (r.stop, the run's context).
	// It reports false when it was the stop that woke it. due says deadline is a request's due
	// time, worth the precise sleeper's spin; a poll for a free slot is not.
	until(deadline int64, due bool) bool
	// wakes counts the calls of until that slept (the precise sleeper returns from a deadline
	// already past without sleeping; the coarse one still sleeps to its tick).
	wakes() int64
	// close releases what the sleeper holds (its thread, its descriptors).
	close()
}

// Pacer choices (--pacer).
const (
	pacerPrecise = "precise" // a thread of its own in ppoll(2) with 1 ns timer slack
	pacerCoarse  = "coarse"  // Go timers, at most one wake per coarseTick
)

// timerSleeper waits on a Go timer, and wakes at most once per coarseTick: the pacer then sends
// everything that came due meanwhile, so above 1,000 ECR/s the wakes stop growing with the rate
// and the requests of a tick reach the event loop together (one wake-up of the loop, one write),
// as a client on a millisecond ticker does. The price is the send lag: up to a tick (and the
// runtime's poller, which sleeps in whole milliseconds, may add about one more), reported in
// send_lag_us and counted in the latency. It is --pacer coarse, the fallback where the precise
// sleeper is not available, and the sleeper of tests in virtual time (testing/synctest fakes Go
// timers, not system calls).
type timerSleeper struct {
	r     *runner
	ctx   context.Context
	timer *time.Timer
	woke  int64 // runner clock at the last wake; the next is not before woke + coarseTick
	slept int64
}

// coarseTick is the coarse pacer's shortest time between two wakes.
const coarseTick = time.Millisecond

func newTimerSleeper(r *runner, ctx context.Context) *timerSleeper {
	return &timerSleeper{r: r, ctx: ctx, timer: time.NewTimer(time.Hour), woke: r.clock() - int64(coarseTick)}
}

func (s *timerSleeper) until(deadline int64, _ bool) bool {
	deadline = max(deadline, s.woke+int64(coarseTick))
	s.timer.Reset(time.Duration(deadline - s.r.clock()))
	due := false
	select {
	case <-s.timer.C:
		due = true
	case <-s.r.stopCh:
	case <-s.ctx.Done():
	}
	s.woke = s.r.clock()
	s.slept++
	return due
}

func (s *timerSleeper) wakes() int64 { return s.slept }

func (s *timerSleeper) close() { s.timer.Stop() }

// newSleeper makes the pacer's sleeper, on the pacer's goroutine: the precise one unless
// --pacer coarse or it cannot be had here (then the report says coarse).
func (r *runner) newSleeper(ctx context.Context) sleeper {
	if r.sleeperFor != nil {
		r.pacerUsed = "test"
		return r.sleeperFor(ctx)
	}
	if r.o.pacer != pacerCoarse {
		if s, err := newPreciseSleeper(r, ctx); err == nil {
			r.pacerUsed = pacerPrecise
			return s
		}
	}
	r.pacerUsed = pacerCoarse
	return newTimerSleeper(r, ctx)
}
