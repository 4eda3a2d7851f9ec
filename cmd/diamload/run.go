package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/s13"
)

// call is one request slot, reused for the whole run. Its callback is a closure over the slot,
// bound once when the slot is made, so submitting costs no closure and no allocation; it hands
// done the Answer by pointer (the method value c.done would copy the Answer's ~170 bytes a
// second time, in its wrapper, per completion).
type call struct {
	r        *runner
	cb       func(s13.Answer, error)
	req      s13.Request
	expect   *outcome // nil when the target's policy is unknown
	intended int64    // runner clock: when it should have been sent (open loop) or was sent
	sent     int64    // runner clock: when it was handed to the client
	epoch    uint32
	peer     int  // baseline client: which peer took it
	out      bool // with the client: set before Go, cleared by the completion (or a refusal)
}

// done is the completion; a is valid only during the call. On the engine it runs on the event
// loop: it records, then (closed loop) submits the next request from the same slot, or (open
// loop) frees the slot.
func (c *call) done(a *s13.Answer, err error) {
	r := c.r
	if !c.out {
		// A second completion of the request: counted (it fails the invariant) and otherwise
		// ignored, for the slot belongs to the next request or to nobody.
		r.duplicates.Add(1)
		return
	}
	c.out = false
	now := r.completedAt()
	ap := a
	if err != nil {
		ap = nil
	}
	if r.observer != nil {
		r.observer.observe(c, err)
	}
	if r.open {
		r.rec.completed(c, ap, err, now)
		r.release(c)
		return
	}
	// Closed loop: record this completion and count the next request in one lock hold, and
	// send it at once from the same slot; its send time is this completion's time.
	epoch, ok := r.take()
	if !ok {
		r.rec.completed(c, ap, err, now)
		r.retire()
		return
	}
	r.rec.completedAndAttempt(c, ap, err, now, epoch)
	r.send(c, epoch, now)
}

// completionObserver is implemented by clients that keep per-connection counts themselves.
type completionObserver interface{ observe(c *call, err error) }

// runner drives one load run.
type runner struct {
	o    *runOpts
	cl   loadClient
	lc   loopClock // cl, when it can tell the loop's read time; nil otherwise
	lcAt int64     // runner clock at lc's epoch
	rec  *recorder
	pay  *payload
	base time.Time
	open bool

	seq          atomic.Uint64                 // payload sequence number
	stopping     atomic.Bool                   // no new submissions
	stopCh       chan struct{}                 // closed with stopping set: wakes a pacer asleep until its next due request
	pacerWakes   int64                         // the pacer's wake-ups; its goroutine's, read once it is done
	pacerUsed    string                        // pacerPrecise or pacerCoarse; likewise
	sleeperFor   func(context.Context) sleeper // tests only: the pacer's sleeper; nil: newSleeper's
	measureEpoch uint32                        // the recorder epoch that is reported (1 after a warm-up)
	limited      bool                          // -n: remaining bounds the measured requests
	remaining    atomic.Int64

	// Closed loop: lanes still submitting; parked lanes wait for the reviver.
	lanes  atomic.Int64
	parked chan *call
	// Open loop: free slots, and the slots out with the client.
	free        chan *call
	outstanding atomic.Int64
	pacerDone   atomic.Bool

	doneOnce sync.Once
	done     chan struct{} // every slot is back: nothing in flight, nothing more to send

	startedAt int64        // clock: start of the measured window
	endAt     atomic.Int64 // open loop with --duration: the schedule ends here
	stoppedAt atomic.Int64

	observer   completionObserver // the baseline client's per-peer counts; nil for the engine
	duplicates atomic.Uint64      // completions of a request already completed

	lastSample atomic.Pointer[sample] // --sample: the newest, for the live line; nil before the first
}

func (r *runner) clock() int64 { return int64(time.Since(r.base)) }

// loopClock is implemented by clients whose callbacks know when their answer was read: the
// time since Epoch at which the loop last read its clock.
type loopClock interface {
	LoopElapsed() time.Duration
	Epoch() time.Time
}

// completedAt is the completion time of the answer being delivered: the engine's loop read the
// clock when it read the answer, which saves a clock read per request (a visible share of a
// pipelined request's CPU: bench/results/2026-12-03-notes.md), and the offset between the two
// clocks is taken once, so building and subtracting time.Time values costs nothing per request
// either; other clients get a fresh reading.
func (r *runner) completedAt() int64 {
	if r.lc != nil {
		return r.lcAt + int64(r.lc.LoopElapsed())
	}
	return r.clock()
}

func (r *runner) finish() { r.doneOnce.Do(func() { close(r.done) }) }

// take reserves the next request: false once the run is stopping or the budget is spent.
func (r *runner) take() (uint32, bool) {
	if r.stopping.Load() {
		return 0, false
	}
	e := r.rec.epoch.Load()
	if r.limited && e == r.measureEpoch && r.remaining.Add(-1) < 0 {
		r.stop()
		return 0, false
	}
	return e, true
}

func (r *runner) stop() {
	if r.stopping.CompareAndSwap(false, true) {
		r.stoppedAt.Store(r.clock())
		close(r.stopCh)
	}
}

// launch submits the next request of a closed-loop lane, or retires the lane: at start and
// from the reviver (done does the same inline).
func (r *runner) launch(c *call) {
	epoch, ok := r.take()
	if !ok {
		r.retire()
		return
	}
	r.rec.attempt(epoch)
	r.send(c, epoch, r.clock())
}

// send hands an attempted closed-loop request to the client.
func (r *runner) send(c *call, epoch uint32, now int64) {
	c.epoch, c.intended, c.sent = epoch, now, now
	c.expect = r.pay.fill(&c.req, r.seq.Add(1)-1)
	c.out = true
	if err := r.cl.Go(c); err != nil {
		// Refused at once (busy, no connection, closed): counted, and the lane waits a little
		// instead of spinning on the loop.
		c.out = false
		r.rec.refused(epoch, classify(err))
		r.parked <- c // capacity = lanes: never blocks
	}
}

// retire ends a closed-loop lane; the last one ends the run.
func (r *runner) retire() {
	if r.lanes.Add(-1) == 0 {
		r.finish()
	}
}

// revive relaunches parked lanes after a short pause (or, with no connection, once one is
// usable again), until every lane has retired.
func (r *runner) revive(ctx context.Context) {
	batch := make([]*call, 0, cap(r.parked))
	pause := time.NewTimer(time.Hour)
	defer pause.Stop()
	for {
		select {
		case c := <-r.parked:
			batch = append(batch[:0], c)
		case <-r.done:
			return
		}
	drain:
		for {
			select {
			case c := <-r.parked:
				batch = append(batch, c)
			default:
				break drain
			}
		}
		if !r.stopping.Load() {
			wctx, cancel := context.WithTimeout(ctx, time.Second)
			_ = r.cl.WaitReady(wctx)
			cancel()
			pause.Reset(time.Millisecond)
			select {
			case <-pause.C:
			case <-ctx.Done():
			}
		}
		for _, c := range batch {
			r.launch(c)
		}
	}
}

// release returns an open-loop slot.
func (r *runner) release(c *call) {
	r.free <- c // capacity = slots: never blocks
	if r.outstanding.Add(-1) == 0 && r.pacerDone.Load() {
		r.finish()
	}
}

// newRunner prepares a run and its slots: one per request allowed in flight, each with its
// callback bound once.
func newRunner(o *runOpts, cl loadClient, pay *payload) (*runner, []call) {
	r := &runner{
		o:      o,
		cl:     cl,
		pay:    pay,
		base:   time.Now(),
		open:   o.rate.perSec > 0,
		done:   make(chan struct{}),
		stopCh: make(chan struct{}),
		parked: make(chan *call, o.concurrency),
	}
	if r.lc, _ = cl.(loopClock); r.lc != nil {
		r.lcAt = int64(r.lc.Epoch().Sub(r.base))
	}
	r.observer, _ = cl.(completionObserver)
	r.rec = newRecorder(max(60*time.Second, 2*o.timeout), r.open)
	r.rec.verdictsOnly = o.soak != nil
	if o.warmup > 0 {
		r.measureEpoch = 1
	}
	if o.requests > 0 {
		r.limited = true
		r.remaining.Store(o.requests)
	}
	slots := make([]call, o.concurrency)
	for i := range slots {
		c := &slots[i]
		c.r = r
		c.cb = func(a s13.Answer, err error) { c.done(&a, err) } // bound once
		c.req.DestinationRealm, c.req.DestinationHost = o.destRealm, o.destHost
	}
	return r, slots
}
