package main

import (
	"context"
	"time"
)

// Open loop. Request i is due at t0 + i/rate, whatever happened to the ones before it: the
// schedule never waits for the target, so a stall shows up in the latency of every request
// that was due during it (latency is measured from the intended time, not the actual send —
// no coordinated omission). The pacer sleeps until the next request is due and then submits
// every request that is due, each with its own intended timestamp, so its wake-ups follow the
// rate: at --rate 1 it wakes about once a second. How it sleeps is its sleeper's (sleep.go):
// by default a thread of its own in ppoll(2) with 1 ns timer slack that spins the last stretch
// (sleep_linux.go), which sends within a few to tens of µs of the intended time; --pacer coarse
// uses Go timers and wakes at most once a millisecond, sending what came due together (cheaper
// above a few thousand a second, up to a millisecond or two late). Either way the send lag is
// reported (send_lag_us), not hidden.
//
// The in-flight cap (-c) is a pool of slots. A due request with no free slot waits (it is sent
// late, its lag and latency grow; the pacer looks again every pacerSlotPoll) until it is
// --timeout overdue; then it is dropped and counted as a busy error (late_dropped): never skipped
// silently. A request the client refuses (ErrBusy, ErrNoConnection) is counted under its error at
// once. With --duration the schedule ends at the end of the measured window: every request due
// before it is sent or dropped, none is left out. A stop (the budget of -n spent, the window
// over, an interrupt) wakes a sleeping pacer at once.

// pacerSlotPoll is how often the pacer looks for a free slot while a due request waits for one.
const pacerSlotPoll = 100 * time.Microsecond

// pace runs the schedule from t0: the start of the measured window when there is no warm-up, so
// that a window of --duration holds exactly rate × duration requests however late this goroutine
// got going.
func (r *runner) pace(ctx context.Context, t0 int64) {
	defer func() {
		r.pacerDone.Store(true)
		if r.outstanding.Load() == 0 {
			r.finish()
		}
	}()
	interval := float64(time.Second) / r.o.rate.perSec
	dropAfter := int64(r.o.timeout)
	due := func(i int64) int64 { return t0 + int64(float64(i)*interval) }
	var i int64
	sleep := r.newSleeper(ctx)
	defer func() {
		r.pacerWakes = sleep.wakes()
		sleep.close()
	}()
	for {
		now := r.clock()
		slotWait := false // the inner loop stopped at a due request that waits for a slot
		for !r.stopping.Load() {
			d := due(i)
			if end := r.endAt.Load(); end > 0 && d >= end {
				r.stop() // the schedule of the measured window is complete
				break
			}
			if d > now {
				break
			}
			var c *call
			select {
			case c = <-r.free:
			default:
			}
			if c == nil && now-d <= dropAfter {
				slotWait = true // the request keeps its intended time
				break
			}
			epoch, ok := r.take()
			if !ok {
				if c != nil {
					r.free <- c
				}
				break
			}
			i++
			if c == nil {
				r.rec.dropped(epoch, 1)
				continue
			}
			r.submit(c, d, epoch)
		}
		if r.stopping.Load() {
			return
		}
		// Only a wait for a slot polls. A request that came due while the ones before it were
		// being submitted is due now: the sleeper returns at once (the precise one) or at its
		// tick (the coarse one), not a slot poll later.
		wake := due(i)
		if slotWait {
			wake = r.clock() + int64(pacerSlotPoll)
		}
		if !sleep.until(wake, !slotWait) {
			if ctx.Err() != nil {
				r.stop()
			}
		}
	}
}

// submit sends one open-loop request from slot c.
func (r *runner) submit(c *call, intended int64, epoch uint32) {
	c.epoch, c.intended = epoch, intended
	c.expect = r.pay.fill(&c.req, r.seq.Add(1)-1)
	c.sent = r.clock()
	r.outstanding.Add(1)
	r.rec.attempt(epoch)
	c.out = true
	if err := r.cl.Go(c); err != nil {
		c.out = false
		r.rec.refused(epoch, classify(err))
		r.outstanding.Add(-1)
		r.free <- c
	}
}
