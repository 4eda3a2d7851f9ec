package main

import (
	"context"
	"time"
)

// A sleeper is how the open-loop pacer waits for the next due request. It is made and used on
// the pacer's goroutine only.
type sleeper interface {
	// until waits until the runner clock reads deadline, or a stop (r.stop, the run's context).
	// It reports false when it was the stop that woke it.
	until(deadline int64) bool
	// close releases what the sleeper holds (its thread, its descriptors).
	close()
}

// Pacer choices (--pacer).
const (
	pacerPrecise = "precise" // a thread of its own in ppoll(2) with 1 ns timer slack
	pacerCoarse  = "coarse"  // Go timers: wakes rounded up to the runtime poller's millisecond
)

// timerSleeper waits on a Go timer: cheap per wake, but the runtime's poller sleeps in whole
// milliseconds, so a wake comes up to about a millisecond after the deadline. It is --pacer
// coarse, the fallback where the precise sleeper is not available, and the sleeper of tests in
// virtual time (testing/synctest fakes Go timers, not system calls).
type timerSleeper struct {
	r     *runner
	ctx   context.Context
	timer *time.Timer
}

func newTimerSleeper(r *runner, ctx context.Context) *timerSleeper {
	return &timerSleeper{r: r, ctx: ctx, timer: time.NewTimer(time.Hour)}
}

func (s *timerSleeper) until(deadline int64) bool {
	s.timer.Reset(time.Duration(deadline - s.r.clock()))
	select {
	case <-s.timer.C:
		return true
	case <-s.r.stopCh:
	case <-s.ctx.Done():
	}
	return false
}

func (s *timerSleeper) close() { s.timer.Stop() }

// newSleeper makes the pacer's sleeper, on the pacer's goroutine: the precise one unless
// --pacer coarse or it cannot be had here (then the report says coarse).
func (r *runner) newSleeper(ctx context.Context) sleeper {
	if r.o.pacer != pacerCoarse {
		if s, err := newPreciseSleeper(r, ctx); err == nil {
			r.pacerUsed = pacerPrecise
			return s
		}
	}
	r.pacerUsed = pacerCoarse
	return newTimerSleeper(r, ctx)
}
