package main

import (
	"context"
	"time"
)

// Open loop. Request i is due at t0 + i/rate, whatever happened to the ones before it: the
// schedule never waits for the target, so a stall shows up in the latency of every request
// that was due during it (latency is measured from the intended time, not the actual send —
// no coordinated omission). The pacer wakes every 100 µs to 1 ms and submits every due request,
// each with its own intended timestamp. Go timers below 1 ms round up to about 1 ms on an idle
// Linux runtime, so requests go out somewhat after their intended time: the send lag is
// reported (send_lag_us) rather than hidden. A thread parked in nanosleep(2) shortens it but
// costs much more CPU per request (bench/results/2026-12-03-notes.md), which disturbs a target
// sharing the machine more than the lag does.
//
// The in-flight cap (-c) is a pool of slots. A due request with no free slot waits (it is sent
// late, its lag and latency grow) until it is --timeout overdue; then it is dropped and counted
// as a busy error (late_dropped): never skipped silently. A request the client refuses (ErrBusy,
// ErrNoConnection) is counted under its error at once. With --duration the schedule ends at the
// end of the measured window: every request due before it is sent or dropped, none is left out.

const (
	pacerMinSleep = 100 * time.Microsecond
	pacerMaxSleep = time.Millisecond
)

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
	sleep := time.NewTimer(time.Hour)
	defer sleep.Stop()
	for {
		now := r.clock()
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
				break // wait for a slot; the request keeps its intended time
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
		wait := time.Duration(due(i) - r.clock())
		wait = min(max(wait, pacerMinSleep), pacerMaxSleep)
		sleep.Reset(wait)
		select {
		case <-sleep.C:
		case <-ctx.Done():
			r.stop()
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
	if err := r.cl.Go(c); err != nil {
		r.rec.refused(epoch, classify(err))
		r.outstanding.Add(-1)
		r.free <- c
	}
}
