package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/s13"
)

// call is one request slot, reused for the whole run. Its callback is the method value c.done,
// bound once when the slot is made, so submitting costs no closure and no allocation.
type call struct {
	r        *runner
	cb       func(s13.Answer, error)
	req      s13.Request
	expect   *outcome // nil when the target's policy is unknown
	intended int64    // runner clock: when it should have been sent (open loop) or was sent
	sent     int64    // runner clock: when it was handed to the client
	epoch    uint32
	peer     int // baseline client: which peer took it
}

// done is the completion callback. On the engine it runs on the event loop: it records, then
// (closed loop) submits the next request from the same slot, or (open loop) frees the slot.
func (c *call) done(a s13.Answer, err error) {
	r := c.r
	now := r.completedAt()
	ap := &a
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

	seq          atomic.Uint64 // payload sequence number
	stopping     atomic.Bool   // no new submissions
	measureEpoch uint32        // the recorder epoch that is reported (1 after a warm-up)
	limited      bool          // -n: remaining bounds the measured requests
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

	observer completionObserver // the baseline client's per-peer counts; nil for the engine
}

func (r *runner) clock() int64 { return int64(time.Since(r.base)) }

// loopClock is implemented by clients whose callbacks know when their answer was read: the
// time since Epoch at which the loop last read its clock.
type loopClock interface {
	LoopElapsed() time.Duration
	Epoch() time.Time
}

// completedAt is the completion time of the answer being delivered: the engine's loop read the
// clock when it read the answer, which saves a clock read per request (about 35 ns here, 5 % of
// a pipelined request's CPU), and the offset between the two clocks is taken once, so building
// and subtracting time.Time values costs nothing per request either; other clients get a fresh
// reading.
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
	if err := r.cl.Go(c); err != nil {
		// Refused at once (busy, no connection, closed): counted, and the lane waits a little
		// instead of spinning on the loop.
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
		parked: make(chan *call, o.concurrency),
	}
	if r.lc, _ = cl.(loopClock); r.lc != nil {
		r.lcAt = int64(r.lc.Epoch().Sub(r.base))
	}
	r.observer, _ = cl.(completionObserver)
	r.rec = newRecorder(max(60*time.Second, 2*o.timeout), r.open)
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
		c.cb = c.done // bound once: no closure per request
		c.req.DestinationRealm, c.req.DestinationHost = o.destRealm, o.destHost
	}
	return r, slots
}

// result is everything a report needs besides the recorder.
type result struct {
	opts        *runOpts
	client      string
	peers       []string
	embedded    *responder
	seed        uint64
	duration    time.Duration // measured window: start to last completion
	attack      time.Duration // measured window: start to the last submission
	cpu         time.Duration // user+sys during the measured window
	mallocs     uint64        // heap allocations during the measured window
	rssKiB      int64
	conns       []connReport
	lateAnswers uint64
	closeErr    error
	interrupted bool
	drainCut    bool
	warmup      time.Duration
	procs       int // GOMAXPROCS during the run
}

// load runs the whole measurement: client up, warm-up, traffic, drain, close.
func load(ctx context.Context, o *runOpts, stderr io.Writer) (*result, *recorder, error) {
	res := &result{opts: o, client: o.client, warmup: o.warmup}
	res.seed = o.seed
	if !o.seedSet {
		res.seed = uint64(time.Now().UnixNano())
	}

	// The target: the given peers, or an embedded EIR on loopback.
	peers := []string(o.peers)
	var eir *responder
	var policy *s13.Policy
	if len(peers) == 0 {
		var err error
		eir, err = startEIR(ctx, eirOpts{
			listen:      "127.0.0.1:0",
			originHost:  o.serveOriginHost,
			originRealm: o.destRealm,
			rules:       o.rules,
			rulesText:   o.rulesText(),
			delay:       o.delay,
			watchdog:    o.watchdog,
			seed:        res.seed,
		})
		if err != nil {
			return nil, nil, err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = eir.Close(cctx)
		}()
		peers = []string{eir.Addr()}
		policy = eir.policy
		res.embedded = eir
	}
	res.peers = peers
	res.procs = procsFor(o, eir != nil)
	defer setProcs(res.procs)()

	// Payloads, and the oracle when the policy is ours.
	mix := []mixEntry{{o.imei, 1}}
	if o.selftest && !o.imeiSet {
		mix = selftestMix
	}
	size := maxPool
	if o.requests > 0 && o.duration == 0 {
		size = int(min(o.requests, maxPool))
	}
	pay, err := newPayload(mix, o.imsi, size, res.seed)
	if err != nil {
		return nil, nil, err
	}
	if policy != nil {
		pay.setOracle(policy)
	}

	cc := clientConfig{
		peers:           peers,
		conns:           o.conns,
		originHost:      o.originHost,
		originRealm:     o.originRealm,
		destRealm:       o.destRealm,
		destHost:        o.destHost,
		identityPerConn: o.identityPerConn,
		timeout:         o.timeout,
		watchdog:        o.watchdog,
		concurrency:     o.concurrency,
	}
	var cl loadClient
	if o.client == "baseline" {
		cl, err = dialBaseline(ctx, cc)
	} else {
		cl, err = startEngine(ctx, cc)
	}
	if err != nil {
		return nil, nil, err
	}

	var profile *os.File
	if o.cpuProfile != "" {
		if profile, err = os.Create(o.cpuProfile); err != nil {
			_ = cl.Close(context.Background())
			return nil, nil, fmt.Errorf("--cpuprofile: %w", err)
		}
		defer profile.Close()
	}

	r, slots := newRunner(o, cl, pay)
	var prog *progressPrinter
	if !o.quiet {
		prog = startProgress(r, stderr, o.interval)
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()

	// Measurement bookkeeping starts now, or when the warm-up ends.
	var cpu0 time.Duration
	var mallocs0 uint64
	var profiling bool
	beginMeasure := func() {
		r.startedAt = r.clock()
		cpu0 = cpuTime()
		mallocs0 = mallocs()
		if profile != nil {
			if err := pprof.StartCPUProfile(profile); err != nil {
				fmt.Fprintf(stderr, "diamload: --cpuprofile: %v\n", err)
			} else {
				profiling = true
			}
		}
	}
	var stopTimer *time.Timer
	armDuration := func() {
		switch {
		case o.duration == 0:
		case r.open:
			r.endAt.Store(r.startedAt + int64(o.duration)) // the pacer ends its schedule there
		default:
			stopTimer = time.AfterFunc(o.duration, r.stop)
		}
	}
	if o.warmup == 0 {
		beginMeasure()
		armDuration()
	}

	// Traffic.
	if r.open {
		r.free = make(chan *call, len(slots))
		for i := range slots {
			r.free <- &slots[i]
		}
		t0 := r.clock()
		if o.warmup == 0 {
			t0 = r.startedAt
		}
		go r.pace(runCtx, t0)
	} else {
		r.lanes.Store(int64(len(slots)))
		go r.revive(runCtx)
		for i := range slots {
			r.launch(&slots[i])
		}
	}

	// Warm-up: traffic flows, then everything recorded so far is forgotten.
	interrupted := false
	if o.warmup > 0 {
		t := time.NewTimer(o.warmup)
		select {
		case <-t.C:
		case <-ctx.Done():
			interrupted = true
		case <-r.done:
		}
		t.Stop()
		r.rec.reset()
		beginMeasure()
		armDuration()
		if interrupted {
			r.stop()
		}
	}

	// Run until the budget or duration is spent, or a signal.
	select {
	case <-r.done:
	case <-ctx.Done():
		interrupted = true
	}
	r.stop()
	if stopTimer != nil {
		stopTimer.Stop()
	}
	// Drain: answers still in flight get until their timeout (plus the wheel's tick).
	drain := time.NewTimer(o.timeout + time.Second)
	select {
	case <-r.done:
	case <-drain.C:
		res.drainCut = true
	}
	drain.Stop()
	end := r.clock()
	if last := r.rec.lastDone(); last > 0 && !res.drainCut {
		end = max(last, r.stoppedAt.Load())
	}
	res.cpu = cpuTime() - cpu0
	res.mallocs = mallocs() - mallocs0
	if profiling {
		pprof.StopCPUProfile()
	}
	if prog != nil {
		prog.stop()
	}
	res.conns = cl.Connections()
	res.lateAnswers = cl.LateAnswers()

	// Close: DPR/DPA on every connection; leftovers (a cut drain) complete with ErrClosed.
	cctx, cancel := context.WithTimeout(context.Background(), o.timeout+5*time.Second)
	res.closeErr = cl.Close(cctx)
	cancel()
	cancelRun()
	<-r.done // every slot completed: Close guarantees it

	res.duration = time.Duration(end - r.startedAt)
	if stopped := r.stoppedAt.Load(); stopped > 0 {
		res.attack = time.Duration(min(stopped, end) - r.startedAt)
	}
	res.rssKiB = peakRSSKiB()
	res.interrupted = interrupted
	return res, r.rec, nil
}
