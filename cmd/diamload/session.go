package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/hsdfat8/diam-gw/internal/labpki"
	"github.com/hsdfat8/diam-gw/metrics"
	"github.com/hsdfat8/diam-gw/s13/eir"
)

// result is everything a report needs besides the recorder.
type result struct {
	opts             *runOpts
	client           string
	peers            []string
	tls              []*tls.Config // per peer; nil entries or none: plain TCP
	embedded         []*responder  // nil against --dra peers; two for a soak
	seed             uint64
	duration         time.Duration // measured window: start to last completion
	attack           time.Duration // measured window: start to the last submission
	cpu              time.Duration // user+sys during the measured window
	mallocs          uint64        // heap allocations during the measured window
	rssKiB           int64
	conns            []connReport
	unmatchedAnswers uint64
	closeErr         error
	interrupted      bool
	drainCut         bool
	warmup           time.Duration
	procs            int    // GOMAXPROCS during the run
	pacer            string // open loop: the pacer's sleeper
	pacerWakes       int64
	samples          []sample     // --sample
	timeline         []second     // --csv, --html, --json: per second
	faults           []faultEvent // soak: the timeline as it went
	duplicates       uint64       // second completions of a request
}

// session is one load run, in phases that run in order: start the target, build the payload,
// start the client, warm up, measure, drain, close. Each phase leaves in the session what the
// later ones need; what must be undone when the run ends, however it ends, is pushed on undo.
type session struct {
	ctx    context.Context
	o      *runOpts
	stderr io.Writer
	log    *slog.Logger // --log-level/--log-format, for the engine and the embedded EIRs
	res    *result
	undo   []func() // run last-in first-out by release

	policy  *eir.Policy // the embedded EIR's, for the oracle; nil against --dra peers
	pay     *payload
	cl      loadClient
	profile *os.File // --cpuprofile; nil without
	r       *runner
	slots   []call
	prog    *progressPrinter // nil with --quiet
	sampler *sampler         // nil without --sample
	series  *series          // nil without --csv, --html or --json
	faults  faults           // soak; nil otherwise
	obs     *observer        // --metrics, --pprof; nil without either
	tl      *timelineRun     // soak: the fault timeline, from the window's start
	runCtx  context.Context  // ends the pacer and the reviver
	cancel  context.CancelFunc

	// The measured window's starting point, taken when it begins.
	cpu0      time.Duration
	mallocs0  uint64
	profiling bool
	stopTimer *time.Timer // closed loop with --duration: stops the run
	end       int64       // runner clock: end of the measured window
}

// load runs the whole measurement: client up, warm-up, traffic, drain, close.
func load(ctx context.Context, o *runOpts, stderr io.Writer) (*result, *recorder, error) {
	s := &session{ctx: ctx, o: o, stderr: stderr, log: o.log.logger(stderr),
		res: &result{opts: o, client: o.client, warmup: o.warmup}}
	defer s.release()
	if err := s.startObserver(); err != nil {
		return nil, nil, err
	}
	if err := s.startTarget(); err != nil {
		return nil, nil, err
	}
	if err := s.buildPayload(); err != nil {
		return nil, nil, err
	}
	if err := s.startClient(); err != nil {
		return nil, nil, err
	}
	s.warmUp()
	s.measure()
	s.drain()
	s.close()
	return s.res, s.r.rec, nil
}

// startObserver serves --metrics and --pprof until the run ends.
func (s *session) startObserver() error {
	if s.o.observe == (observeOpts{}) {
		return nil
	}
	obs, err := startObserver(s.o.observe.metrics, s.o.observe.pprof, nil, s.stderr)
	if err != nil {
		return err
	}
	s.obs = obs
	s.undo = append(s.undo, obs.close)
	return nil
}

// release undoes what the phases set up, newest first.
func (s *session) release() {
	for i := len(s.undo) - 1; i >= 0; i-- {
		s.undo[i]()
	}
}

// startTarget picks the seed and the target: the given peers, or an embedded EIR on loopback;
// and the GOMAXPROCS that suits it.
func (s *session) startTarget() error {
	o, res := s.o, s.res
	res.seed = o.seed
	if !o.seedSet {
		res.seed = uint64(time.Now().UnixNano())
	}
	res.peers = []string(o.peers)
	res.tls = o.tls
	var serverTLS *tls.Config
	if o.selftestTLS {
		lab, err := labpki.New(time.Now())
		if err != nil {
			return fmt.Errorf("selftest --tls: %w", err)
		}
		serverTLS = lab.ServerConfig(true)
		res.tls = []*tls.Config{lab.ClientConfig("127.0.0.1")}
	}
	if len(res.peers) == 0 {
		n := 1
		if o.soak != nil {
			n = soakResponders
		}
		for range n {
			target, err := startEIR(s.ctx, eirOpts{
				listen:      "127.0.0.1:0",
				originHost:  o.serveOriginHost,
				originRealm: o.destRealm,
				rules:       o.rules,
				rulesText:   o.rulesText(),
				delay:       o.delay,
				watchdog:    o.watchdog,
				seed:        res.seed,
				logger:      s.log,
				tls:         serverTLS,
			})
			if err != nil {
				return err
			}
			s.undo = append(s.undo, func() {
				cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = target.Close(cctx)
			})
			res.peers = append(res.peers, target.Addr())
			res.embedded = append(res.embedded, target)
		}
		s.policy = res.embedded[0].policy
		if err := s.obs.registerResponders(res.embedded); err != nil {
			return err
		}
	}
	if o.soak != nil {
		if err := s.startFaults(); err != nil {
			return err
		}
	}
	res.procs = procsFor(o, res.embedded != nil)
	s.undo = append(s.undo, setProcs(res.procs))
	return nil
}

// startFaults puts the soak's faults around its responders; the client dials what they say.
func (s *session) startFaults() error {
	f, dial, err := newFaults(s.res.embedded)
	if err != nil {
		return fmt.Errorf("%w: %w", errSoakSetup, err)
	}
	s.undo = append(s.undo, func() { _ = f.Close() })
	s.faults, s.res.peers = f, dial
	return nil
}

// buildPayload generates the IMEI and IMSI pools, and the oracle when the policy is ours.
func (s *session) buildPayload() error {
	o := s.o
	mix := []mixEntry{{o.imei, 1}}
	if o.selftest && !o.imeiSet {
		mix = selftestMix
	}
	size := maxPool
	if o.requests > 0 && o.duration == 0 {
		size = int(min(o.requests, maxPool))
	}
	pay, err := newPayload(mix, o.imsi, size, s.res.seed)
	if err != nil {
		return err
	}
	if s.policy != nil {
		pay.setOracle(s.policy)
	}
	s.pay = pay
	return nil
}

// startClient connects the chosen client to the target, opens the --cpuprofile file, and
// prepares the runner, its slots and the progress line.
func (s *session) startClient() error {
	o := s.o
	cc := clientConfig{
		peers:           s.res.peers,
		conns:           o.conns,
		originHost:      o.originHost,
		originRealm:     o.originRealm,
		destRealm:       o.destRealm,
		destHost:        o.destHost,
		identityPerConn: o.identityPerConn,
		timeout:         o.timeout,
		watchdog:        o.watchdog,
		concurrency:     o.concurrency,
		logger:          s.log,
		tls:             s.res.tls,
	}
	var err error
	if o.client == "baseline" {
		s.cl, err = dialBaseline(s.ctx, cc)
	} else {
		s.cl, err = startEngine(s.ctx, cc)
	}
	if err != nil {
		return err
	}
	if ec, ok := s.cl.(engineClient); ok {
		if err := s.obs.register(metrics.NewEngineCollector(ec.e)); err != nil {
			_ = s.cl.Close(context.Background())
			return err
		}
		s.obs.setReady(ec.e.Ready)
	} else {
		s.obs.setReady(func() bool { return true }) // the baseline reports no readiness (its WaitReady neither)
	}
	if o.cpuProfile != "" {
		if s.profile, err = os.Create(o.cpuProfile); err != nil {
			_ = s.cl.Close(context.Background())
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		s.undo = append(s.undo, func() { s.profile.Close() })
	}
	s.r, s.slots = newRunner(o, s.cl, s.pay)
	if o.wantsSeries() {
		s.r.rec.enableSeries()
	}
	if !o.quiet {
		s.prog = startProgress(s.r, s.stderr, o.interval)
	}
	s.runCtx, s.cancel = context.WithCancel(s.ctx)
	s.undo = append(s.undo, s.cancel)
	return nil
}

// beginMeasure starts the measured window: now, or when the warm-up ends. It takes the CPU and
// allocation counts to subtract, starts the profile and the sampler, and arms --duration.
func (s *session) beginMeasure() {
	r, o := s.r, s.o
	r.startedAt = r.clock()
	s.cpu0 = cpuTime()
	s.mallocs0 = mallocs()
	if s.profile != nil {
		if err := pprof.StartCPUProfile(s.profile); err != nil {
			fmt.Fprintf(s.stderr, "diamload: --cpuprofile: %v\n", err)
		} else {
			s.profiling = true
		}
	}
	if o.sample > 0 {
		s.sampler = startSampler(r, o.sample, o.duration, o.sampleHook)
	}
	if o.wantsSeries() {
		s.series = startSeries(r)
	}
	if s.faults != nil {
		s.tl = startTimeline(s.runCtx, r, o, s.faults)
	}
	switch {
	case o.duration == 0:
	case r.open:
		r.endAt.Store(r.startedAt + int64(o.duration)) // the pacer ends its schedule there
	default:
		s.stopTimer = time.AfterFunc(o.duration, r.stop)
	}
}

// startTraffic starts the pacer (open loop) or launches every lane (closed loop).
func (s *session) startTraffic() {
	r, slots := s.r, s.slots
	if r.open {
		r.free = make(chan *call, len(slots))
		for i := range slots {
			r.free <- &slots[i]
		}
		t0 := r.clock()
		if s.o.warmup == 0 {
			t0 = r.startedAt
		}
		go r.pace(s.runCtx, t0)
		return
	}
	r.lanes.Store(int64(len(slots)))
	go r.revive(s.runCtx)
	for i := range slots {
		r.launch(&slots[i])
	}
}

// warmUp starts the traffic. With --warmup it lets it flow that long, then forgets everything
// recorded so far and begins the measured window; without, the window begins first.
func (s *session) warmUp() {
	o, r := s.o, s.r
	if o.warmup == 0 {
		s.beginMeasure()
		s.startTraffic()
		return
	}
	s.startTraffic()
	t := time.NewTimer(o.warmup)
	select {
	case <-t.C:
	case <-s.ctx.Done():
		s.res.interrupted = true
	case <-r.done:
	}
	t.Stop()
	r.rec.reset()
	s.beginMeasure()
	if s.res.interrupted {
		r.stop()
	}
}

// measure runs until the budget or duration is spent, or a signal, then stops sending.
func (s *session) measure() {
	r := s.r
	select {
	case <-r.done:
	case <-s.ctx.Done():
		s.res.interrupted = true
	}
	r.stop()
	if s.stopTimer != nil {
		s.stopTimer.Stop()
	}
}

// drain gives the answers still in flight until their timeout (plus the wheel's tick), then
// ends the measured window and takes its CPU, allocations and the client's counters.
func (s *session) drain() {
	r, res := s.r, s.res
	if s.tl != nil {
		res.faults = s.tl.stop() // a fault under way is lifted: the answers in flight can come back
	}
	drain := time.NewTimer(s.o.timeout + time.Second)
	select {
	case <-r.done:
	case <-drain.C:
		res.drainCut = true
	}
	drain.Stop()
	s.end = r.clock()
	if last := r.rec.lastDone(); last > 0 && !res.drainCut {
		s.end = max(last, r.stoppedAt.Load())
	}
	res.cpu = cpuTime() - s.cpu0
	res.mallocs = mallocs() - s.mallocs0
	if s.profiling {
		pprof.StopCPUProfile()
	}
	if s.sampler != nil {
		res.samples = s.sampler.stop()
	}
	if s.series != nil {
		res.timeline = s.series.stop()
	}
	if s.prog != nil {
		s.prog.stop()
	}
}

// close closes the client (DPR/DPA on every connection; leftovers of a cut drain complete with
// ErrClosed), waits for every slot, and fills the window's lengths.
func (s *session) close() {
	r, res := s.r, s.res
	cctx, cancel := context.WithTimeout(context.Background(), s.o.timeout+5*time.Second)
	res.closeErr = s.cl.Close(cctx)
	cancel()
	// Read after Close: the loop publishes its counters once per round, so a read right after
	// the last answer may miss that round's sends; Close publishes them all.
	res.conns = s.cl.Connections()
	res.unmatchedAnswers = s.cl.UnmatchedAnswers()
	s.cancel()
	// Every slot has completed once Close returns (the engine guarantees it); one that has not
	// is a request never completed, left in flight in the books (the invariant check).
	bound := time.NewTimer(s.o.timeout + 5*time.Second)
	select {
	case <-r.done:
	case <-bound.C:
	}
	bound.Stop()
	if r.pacerDone.Load() { // the pacer is done: its books are this goroutine's to read
		res.pacer, res.pacerWakes = r.pacerUsed, r.pacerWakes
	}

	res.duplicates = r.duplicates.Load()
	res.duration = time.Duration(s.end - r.startedAt)
	if stopped := r.stoppedAt.Load(); stopped > 0 {
		res.attack = time.Duration(min(stopped, s.end) - r.startedAt)
	}
	res.rssKiB = peakRSSKiB()
}
