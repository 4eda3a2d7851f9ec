package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/inbox"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/panjf2000/gnet/v2"
)

// Tick is the timing wheel's resolution: timers fire at most about this late.
const Tick = link.Tick

// Engine is the S13 client. Create it with New, then Start it; Check, Go and Stats may be called
// from any goroutine; Close ends it.
type Engine struct {
	cfg Config
	log *slog.Logger

	// Shared with callers.
	life           atomic.Uint32 // lifeNew, lifeRunning, lifeClosing or lifeClosed; changed under lifeMu
	outstanding    atomic.Int64  // accepted, not yet completed
	usable         atomic.Int32  // usable connections
	callbackPanics atomic.Uint64
	callbackExits  atomic.Uint64
	loopNow        atomic.Int64 // the loop's last clock reading, for LoopTime
	inbox          *inbox.Ring[submission]
	wakePending    atomic.Bool
	wakers         atomic.Int32 // callers of wake between reading the flag and writing (see wake)
	wakeFD         int          // write end of the wake-up socketpair; set before life leaves lifeNew
	postMu         sync.Mutex
	posted         []func()
	postedN        atomic.Int32 // len(posted), readable without the lock
	sessHi         uint32       // high part of generated Session-Ids: the start time
	waiters        sync.Pool    // *waiter, for Check
	epoch          time.Time
	readyMu        sync.Mutex
	readyCh        chan struct{} // closed while a connection is usable
	drainedCh      chan struct{} // closed when nothing is outstanding during Close
	drainedOnce    sync.Once
	stoppedCh      chan struct{} // closed when every connection is Disconnected during Close
	stoppedOnce    sync.Once

	// The lifecycle. lifeMu orders Start, Close and the replacement of an event loop that a
	// callback ended; it is never held while waiting for anything a callback could hold up.
	lifeMu      sync.Mutex
	closeBegun  chan struct{} // closed when the first Close begins
	closedCh    chan struct{} // closed when that Close has finished
	closeErr    error         // its result, written before closedCh is closed
	client      atomic.Pointer[gnet.Client]
	deadLoop    atomic.Pointer[gnet.Client] // the last client whose loop a callback ended
	loopGID     atomic.Int64                // goroutine id of the running event loop, 0 when none
	cbGID       atomic.Int64                // goroutine that runs the callbacks: the loop, or a recovery between loops
	healthGID   atomic.Int64
	healthIn    chan struct{} // closed when HealthReport calls Close (the shutdown must not wait for it)
	healthOnce  sync.Once
	wakeRead    *os.File   // read end of the wake-up socketpair, enrolled in each loop
	recovering  int        // recovery goroutines running (recover.go); under lifeMu
	recoverDone *sync.Cond // on lifeMu: recovering went down
	enrollMu    sync.Mutex
	enrolling   map[*connCtx]struct{} // dials inside gnet's EnrollContext

	// Loop-owned (between two loops, the recovery goroutine's: see recover.go).
	wheel     *wheel.Wheel
	dras      []*dra
	groups    []*group
	peers     []*peer
	retries   []*request
	free      []*request // recycled requests
	all       []*request // every request made: the live ones are those taken and not completed
	spare     []*request
	touched   link.Queue[*peer] // connections with a batch to write this round
	dirty     []*peer           // connections whose counters changed since they were last published
	sessLo    uint32            // low part of the next generated Session-Id
	servicing bool
	stopping  bool
	answer    s13.Answer // the answer being delivered; its fields alias the read buffer
	rng       *rand.Rand
	fsmCfg    fsm.Config
	resumed   bool // the last replacement loop finished resetting the connections
	restarts  int  // loops replaced in a row without resume finishing

	e2e framing.EndToEndClock // End-to-End ids, on the loop clock (elapsed since epoch)

	ctrl       gnet.Conn
	dialCtx    context.Context
	dialCancel context.CancelFunc
	dialWG     sync.WaitGroup
	bgStop     chan struct{}
	bgWG       sync.WaitGroup
}

// Lifecycle states (Engine.life).
const (
	lifeNew     uint32 = iota // built: Check and Go return ErrNotStarted
	lifeRunning               // started: requests are taken
	lifeClosing               // Close has begun: requests are refused with ErrClosed
	lifeClosed                // Close has finished
)

type dra struct {
	cfg   DRA
	name  string
	addr  string
	group *group
	peers []*peer
}

// group is the DRAs of one priority; requests go round-robin over its usable connections.
type group struct {
	priority int
	usable   []*peer
	rr       int // the connection taking the current batch
	burst    int // requests it took in this batch
}

// New checks cfg (after applying opts and filling defaults) and builds an Engine. Nothing is
// dialled before Start. Safe for concurrent use (it shares nothing).
func New(cfg Config, opts ...Option) (*Engine, error) {
	if err := applyOptions(&cfg, opts); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	now := time.Now()
	link.DefaultOriginStateID(&cfg.OriginStateID, now)
	seed := cfg.seed
	if seed == 0 {
		seed = uint64(now.UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5DEECE66D))
	e := &Engine{
		cfg:        cfg,
		log:        cfg.Logger,
		inbox:      inbox.NewRing[submission](cfg.InboxSize),
		e2e:        framing.NewEndToEndClock(now.UnixNano()),
		sessHi:     uint32(now.Unix()),
		epoch:      now,
		readyCh:    make(chan struct{}),
		drainedCh:  make(chan struct{}),
		stoppedCh:  make(chan struct{}),
		closeBegun: make(chan struct{}),
		closedCh:   make(chan struct{}),
		healthIn:   make(chan struct{}),
		enrolling:  map[*connCtx]struct{}{},
		bgStop:     make(chan struct{}),
		wakeFD:     -1,
		rng:        rng,
		resumed:    true,
	}
	e.recoverDone = sync.NewCond(&e.lifeMu)
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.waiters.New = func() any { return &waiter{done: make(chan struct{}, 1)} }
	e.wheel = wheel.New(Tick, 2048, e.now())
	e.dialCtx, e.dialCancel = context.WithCancel(context.Background())
	fcfg := fsm.Config{
		Tw:                cfg.DWRInterval,
		TwFloor:           min(MinDWRInterval, cfg.DWRInterval),
		DWATimeout:        cfg.DWATimeout,
		ConnectTimeout:    cfg.ConnectTimeout,
		CEATimeout:        cfg.CEATimeout,
		DPATimeout:        cfg.DPATimeout,
		DPRGrace:          cfg.DPATimeout,
		BackoffInitial:    cfg.BackoffInitial,
		BackoffMultiplier: cfg.BackoffMultiplier,
		BackoffMax:        cfg.BackoffMax,
		LongBackoff:       cfg.BackoffMax,
	}
	if cfg.noJitter {
		fcfg.TwJitter, fcfg.BackoffJitter = -1, -1
	}
	e.fsmCfg = fcfg
	groups := map[int]*group{}
	for _, dc := range cfg.DRAs {
		d := &dra{cfg: dc, name: dc.Name, addr: dc.Address}
		g := groups[dc.Priority]
		if g == nil {
			g = &group{priority: dc.Priority}
			groups[dc.Priority] = g
			e.groups = append(e.groups, g)
		}
		d.group = g
		for k := 1; k <= dc.Connections; k++ {
			p := &peer{
				e:     e,
				dra:   d,
				index: k,
				id: framing.Identity{
					OriginHost:    ConnectionIdentity(cfg.OriginHost, dc.Identity, k),
					OriginRealm:   cfg.OriginRealm,
					OriginStateID: cfg.OriginStateID,
				},
				m:        fsm.New(fcfg, rng.Uint64()),
				slots:    newSlotTable(cfg.MaxInFlight, rng.Uint32()),
				usableAt: -1,
				frames:   link.Reassembler{Max: cfg.MaxMessageSize},
			}
			p.stats.p, p.frag.p = p, p
			p.tmpl = s13.NewECRTemplate(p.id.OriginHost, p.id.OriginRealm, cfg.DestinationRealm, cfg.DestinationHost, e.sessHi)
			p.stats.setState(fsm.Disconnected)
			d.peers = append(d.peers, p)
			e.peers = append(e.peers, p)
		}
		e.dras = append(e.dras, d)
	}
	sort.SliceStable(e.groups, func(i, j int) bool { return e.groups[i].priority < e.groups[j].priority })
	return e, nil
}

// Config returns the configuration in use, defaults filled in. Safe for concurrent use.
func (e *Engine) Config() Config { return e.cfg }

// now is the loop clock: monotonic nanoseconds since New. Safe for concurrent use.
func (e *Engine) now() int64 { return int64(time.Since(e.epoch)) }

// tick reads the clock for the loop and publishes it for LoopTime. Loop only.
func (e *Engine) tick() int64 {
	now := e.now()
	e.loopNow.Store(now)
	return now
}

// LoopTime is the time at which the event loop last read its clock. In a Go callback it is when
// the answer being delivered was read from the socket (or its timeout fired): a latency probe can
// use it instead of reading the clock once more per answer. Its monotonic reading is exact, so
// Sub against another time.Time measures intervals. It equals Epoch().Add(LoopElapsed()).
// Safe for concurrent use.
func (e *Engine) LoopTime() time.Time { return e.epoch.Add(e.LoopElapsed()) }

// LoopElapsed is LoopTime as the time since Epoch: one atomic load, for a probe that converts
// Epoch to its own clock once and then pays nothing per answer. Safe for concurrent use.
func (e *Engine) LoopElapsed() time.Duration { return time.Duration(e.loopNow.Load()) }

// Epoch is when the engine's clock started (New). Safe for concurrent use.
func (e *Engine) Epoch() time.Time { return e.epoch }

// Start starts the event loop and dials every connection, then waits until one connection is
// usable or ctx ends. It returns nil once a connection is usable. If ctx ends first it returns
// an error wrapping ErrNoConnection, and the engine keeps connecting in the background: Check
// and Go fail fast with ErrNoConnection until a connection opens; WaitReady waits for one; Close
// stops it. After Close has begun it returns ErrClosed. Safe for concurrent use; only the first
// call starts anything, and a Close that races it waits until the loop is up, then stops it.
func (e *Engine) Start(ctx context.Context) error {
	e.lifeMu.Lock()
	switch e.life.Load() {
	case lifeNew:
		if err := e.startLoop(); err != nil {
			e.lifeMu.Unlock()
			return err
		}
		e.post(func() {
			for _, p := range e.peers {
				p.step(fsm.Event{Kind: fsm.EvStart}, nil)
			}
		})
		e.life.Store(lifeRunning)
	case lifeRunning:
	default:
		e.lifeMu.Unlock()
		return ErrClosed
	}
	e.lifeMu.Unlock()
	return e.WaitReady(ctx)
}

// startLoop creates the wake-up socketpair, the first event loop and the ticker (and health)
// goroutines. The wake-up descriptor exists before anything can wake the loop. lifeMu held.
func (e *Engine) startLoop() error {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("engine: wake-up socketpair: %w", err)
	}
	e.wakeRead, e.wakeFD = os.NewFile(uintptr(fds[0]), "diam-gw-wake"), fds[1]
	if err := e.newClient(); err != nil {
		e.wakeRead.Close()
		syscall.Close(e.wakeFD)
		e.wakeRead, e.wakeFD = nil, -1
		return err
	}
	e.bgWG.Add(1)
	go e.ticker()
	if e.cfg.HealthInterval > 0 {
		e.bgWG.Add(1)
		go e.health()
	}
	return nil
}

// newClient starts a gnet client with one event loop and enrolls the wake-up socket in it; it
// returns once the loop runs. lifeMu held (Start, or the replacement of a loop).
func (e *Engine) newClient() error {
	rc, err := net.FileConn(e.wakeRead) // dups the descriptor: each loop enrolls its own
	if err != nil {
		return fmt.Errorf("engine: wake-up socket: %w", err)
	}
	nodelay := gnet.TCPNoDelay
	if e.cfg.EnableNagle {
		nodelay = gnet.TCPDelay
	}
	cl, err := gnet.NewClient(&handler{e: e},
		gnet.WithNumEventLoop(1),
		gnet.WithLogger(link.QuietLogger{}),
		gnet.WithReadBufferCap(64<<10),
		gnet.WithWriteBufferCap(256<<10),
		gnet.WithTCPNoDelay(nodelay),
	)
	if err == nil {
		if err = cl.Start(); err == nil {
			// EnrollContext closes rc (it keeps a dup) and returns once OnOpen has run on the loop.
			if _, err = cl.EnrollContext(rc, ctrlCtx{}); err != nil {
				_ = cl.Stop()
			}
			rc = nil
		}
	}
	if rc != nil {
		rc.Close()
	}
	if err != nil {
		return fmt.Errorf("engine: start event loop: %w", err)
	}
	e.client.Store(cl)
	return nil
}

// ticker wakes the loop every Tick so the wheel advances while the loop is idle.
func (e *Engine) ticker() {
	defer e.bgWG.Done()
	t := time.NewTicker(Tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			e.wake()
		case <-e.bgStop:
			return
		}
	}
}

// health calls HealthReport every HealthInterval until Close.
func (e *Engine) health() {
	defer e.bgWG.Done()
	e.healthGID.Store(goid())
	t := time.NewTicker(e.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			e.report()
		case <-e.bgStop:
			return
		}
	}
}

// report runs HealthReport. A panic in it is recovered and counted; a runtime.Goexit, which
// nothing can stop, ends this goroutine, so another one takes over the reports.
func (e *Engine) report() {
	returned := false
	defer func() {
		if v := recover(); v != nil {
			e.callbackPanics.Add(1)
			e.log.Error("HealthReport panicked", "panic", v)
			return
		}
		if !returned {
			e.callbackExits.Add(1)
			e.log.Error("HealthReport called runtime.Goexit; reports go on from a new goroutine")
			select {
			case <-e.bgStop:
			default:
				e.bgWG.Add(1) // before this goroutine's Done: the group never reaches zero between
				go e.health()
			}
		}
	}()
	e.cfg.HealthReport(e.Stats())
	returned = true
}

// WaitReady waits until a connection is usable, ctx ends (an error wrapping ErrNoConnection and
// ctx.Err()) or the engine closes (ErrClosed). Safe for concurrent use.
func (e *Engine) WaitReady(ctx context.Context) error {
	for {
		e.readyMu.Lock()
		ch := e.readyCh
		e.readyMu.Unlock()
		if e.usable.Load() > 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return &Error{Err: ErrNoConnection, Cause: ctx.Err()}
		case <-e.closedCh:
			return ErrClosed
		}
	}
}

func (e *Engine) setReady(ready bool) {
	e.readyMu.Lock()
	defer e.readyMu.Unlock()
	select {
	case <-e.readyCh:
		if !ready {
			e.readyCh = make(chan struct{})
		}
	default:
		if ready {
			close(e.readyCh)
		}
	}
}

// Check sends one ECR and waits for its answer. The deadline is the earlier of ctx's and
// RequestTimeout. Any decodable ECA is returned with a nil error, whatever its Result-Code or
// Experimental-Result (inspect the Answer); errors are transport and capacity failures: ErrBusy,
// ErrNoConnection and ErrClosed before anything is sent, then *Error wrapping ErrTimeout,
// ErrConnectionLost, ErrMalformedAnswer or ErrClosed. A ctx cancelled before the answer returns
// ctx's error at once; the request still completes in the background. The returned Answer owns
// its memory. Safe for concurrent use; never call it from a Go callback (it would wait on the
// loop that runs the callback).
func (e *Engine) Check(ctx context.Context, req s13.Request) (s13.Answer, error) {
	var deadline int64 // 0: RequestTimeout from when the loop takes the request
	if d, ok := ctx.Deadline(); ok {
		if until := time.Until(d); until < e.cfg.RequestTimeout {
			deadline = e.now() + int64(until)
		}
	}
	if err := ctx.Err(); err != nil {
		return s13.Answer{}, err
	}
	if err := e.prepare(&req); err != nil {
		return s13.Answer{}, err
	}
	w := e.getWaiter()
	if err := e.submit(&submission{req: req, w: w, deadline: deadline}); err != nil {
		e.putWaiter(w)
		return s13.Answer{}, err
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		if w.state.CompareAndSwap(statePending, stateAbandoned) {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return s13.Answer{}, &Error{Err: ErrTimeout, Cause: ctx.Err()}
			}
			return s13.Answer{}, ctx.Err()
		}
		<-w.done // the loop finished it first
	}
	ans, err := w.ans, w.err
	e.putWaiter(w)
	return ans, err
}

// Go sends one ECR and calls cb with the outcome, on the event loop, exactly once; the deadline
// is RequestTimeout. When Go returns an error (ErrBusy, ErrNoConnection, ErrClosed,
// ErrNotStarted, ErrInvalidRequest) nothing was sent and cb is never called. cb must not block
// and must not call Check; the Answer it receives aliases the loop's read buffer and is valid
// only during the call (use Answer.Clone to keep it). cb may call Go, and Close (which then
// returns ErrClosing at once). A panic in cb is recovered and counted (CallbackPanics). A
// runtime.Goexit in cb (t.FailNow, require.*) cannot be stopped and ends the loop's goroutine:
// it is counted (CallbackExits), the requests outstanding then complete with ErrLoopExited,
// and a new loop reconnects (see ErrLoopExited). Safe for concurrent use; may be called from a
// callback.
func (e *Engine) Go(req s13.Request, cb func(s13.Answer, error)) error {
	if cb == nil {
		return fmt.Errorf("%w: nil callback", ErrInvalidRequest)
	}
	if err := e.prepare(&req); err != nil {
		return err
	}
	// A zero deadline is RequestTimeout from when the loop takes the request: the loop reads its
	// clock once per batch, so callers need not read it per request.
	return e.submit(&submission{req: req, cb: cb})
}

// prepare fills the destination defaults and validates req.
func (e *Engine) prepare(req *s13.Request) error {
	if req.DestinationRealm == "" {
		req.DestinationRealm = e.cfg.DestinationRealm
	}
	if req.DestinationHost == "" {
		req.DestinationHost = e.cfg.DestinationHost
	}
	if err := req.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	return nil
}

// submit admits s: the engine must be running, a connection usable, and room left in the
// windows of the usable connections and in the inbox. Errors are bare sentinels: under overload
// they are frequent and must not allocate. outstanding is raised before the lifecycle check, so
// that Close, once it has left lifeRunning, can count on it: every request it includes is
// either refused (and uncounted again) or pushed.
func (e *Engine) submit(s *submission) error {
	n := e.outstanding.Add(1)
	var err error
	switch e.life.Load() {
	case lifeRunning:
		switch u := int64(e.usable.Load()); {
		case u == 0:
			err = ErrNoConnection
		case n > u*int64(e.cfg.MaxInFlight), !e.inbox.TryPushFrom(s):
			err = ErrBusy
		default:
			e.wake()
			return nil
		}
	case lifeNew:
		err = ErrNotStarted
	default:
		err = ErrClosed
	}
	e.finished()
	return err
}

// finished uncounts one request (completed or refused) and tells a waiting Close when it was the
// last. Safe for concurrent use.
func (e *Engine) finished() {
	if e.outstanding.Add(-1) == 0 && e.life.Load() >= lifeClosing {
		e.signalDrained()
	}
}

// reqErr wraps a sentinel with the connection it concerns.
func (e *Engine) reqErr(err error, p *peer, cause error) error {
	re := &Error{Err: err, Cause: cause}
	if p != nil {
		re.DRA, re.Conn = p.dra.name, p.index
	}
	return re
}

func (e *Engine) signalDrained() { e.drainedOnce.Do(func() { close(e.drainedCh) }) }
func (e *Engine) signalStopped() { e.stoppedOnce.Do(func() { close(e.stoppedCh) }) }

// Close stops taking requests, lets outstanding ones finish until ctx ends, then sends DPR on
// every open connection and waits for the DPAs (bounded by DPATimeout, whatever ctx says, so
// that peers see a clean DPR/DPA and not a reset); answers that arrive meanwhile still complete
// their requests. Everything left then completes with ErrClosed, the connections close and the
// loop stops. It returns nil after a clean shutdown, or an error wrapping ctx.Err() when ctx cut
// the drain short.
//
// Safe for concurrent use: the first call does the work; later ones wait for it (or for their
// own ctx) and return its result. On the event loop (from a Go callback or OnStateChange) Close
// cannot wait for the loop it runs on: it starts the shutdown on a goroutine of its own, or
// leaves the one under way, and returns ErrClosing at once. From HealthReport it works as from
// any other goroutine.
func (e *Engine) Close(ctx context.Context) error {
	gid := goid() // Close is rare: reading the goroutine id from runtime.Stack is affordable here
	onLoop := gid == e.cbGID.Load()
	if gid == e.healthGID.Load() {
		e.healthOnce.Do(func() { close(e.healthIn) })
	}
	e.lifeMu.Lock()
	first := e.life.Load() < lifeClosing
	started := e.life.Load() == lifeRunning
	if first {
		e.life.Store(lifeClosing)
		close(e.closeBegun)
	}
	e.lifeMu.Unlock()
	switch {
	case first && onLoop:
		go e.finishClose(ctx, started)
		return ErrClosing
	case first:
		e.finishClose(ctx, started)
	case onLoop:
		select {
		case <-e.closedCh:
			return e.closeErr
		default:
			return ErrClosing
		}
	}
	select {
	case <-e.closedCh:
		return e.closeErr
	case <-ctx.Done():
		return fmt.Errorf("engine: close still in progress: %w", ctx.Err())
	}
}

// finishClose runs the shutdown and publishes its result.
func (e *Engine) finishClose(ctx context.Context, started bool) {
	var res error
	if started {
		res = e.shutdown(ctx)
	} else {
		e.dialCancel()
		e.release()
	}
	e.closeErr = res
	e.lifeMu.Lock()
	e.life.Store(lifeClosed)
	e.lifeMu.Unlock()
	close(e.closedCh) // for WaitReady and later Close calls
}

func (e *Engine) shutdown(ctx context.Context) error {
	var cut error
	if e.outstanding.Load() > 0 {
		select {
		case <-e.drainedCh:
		case <-ctx.Done():
			cut = ctx.Err()
		}
	}
	e.post(func() {
		e.stopping = true
		for _, p := range e.peers {
			p.step(fsm.Event{Kind: fsm.EvStop}, nil)
		}
		e.peerStopped()
	})
	// Every connection ends within DPATimeout (DPA or not) plus the close itself.
	bound := time.NewTimer(e.cfg.DPATimeout + time.Second)
	defer bound.Stop()
	select {
	case <-e.stoppedCh:
	case <-bound.C:
		e.post(func() {
			for _, p := range e.peers {
				p.closeConn(true)
			}
		})
		select {
		case <-e.stoppedCh:
		case <-time.After(time.Second):
		}
	}
	// Every request completes on the loop: the stop failed what the connections held with
	// ErrClosed, and the loop refuses the same way whatever the inbox still brings, including a
	// producer that was preempted after it was counted (its push wakes the loop). Wait for the
	// last one: it is bound to come.
	if e.outstanding.Load() > 0 {
		<-e.drainedCh
	}
	e.dialCancel()
	e.dialWG.Wait() // dials stuck in an ended loop were given up (releaseStuckDials)
	close(e.bgStop)
	e.waitBackground()
	// Take the client under the lock, once no loop is being replaced (one under way gives up
	// when it sees Close), so that nothing else stops or swaps it.
	e.lifeMu.Lock()
	for e.recovering > 0 {
		e.recoverDone.Wait()
	}
	cl := e.client.Swap(nil)
	e.lifeMu.Unlock()
	var err error
	if cl != nil {
		err = cl.Stop()
		if e.deadLoop.Load() == cl { // a callback ended it after all: gnet closed nothing
			e.closeLoopFDs()
		}
	}
	// The loop has exited: what is left belongs to this goroutine now.
	e.publishStats()
	e.closeWake()
	e.release()
	if cut != nil {
		return fmt.Errorf("engine: close cut short: %w", cut)
	}
	if err != nil {
		return fmt.Errorf("engine: stop event loop: %w", err)
	}
	return nil
}

// waitBackground waits for the ticker and health goroutines, except a health goroutine that is
// inside Close itself: it ends on its own once Close returns to it.
func (e *Engine) waitBackground() {
	done := make(chan struct{})
	go func() {
		e.bgWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-e.healthIn:
	}
}

// closeWake closes the wake-up socketpair once no caller can be writing to it: the flag is left
// set, so no new caller writes, and those already past the flag are waited for (a write to a
// closed descriptor number could land on whatever reuses it).
func (e *Engine) closeWake() {
	e.wakePending.Store(true)
	for i := 0; e.wakers.Load() != 0; i++ {
		backoff(i)
	}
	syscall.Close(e.wakeFD)
	e.wakeRead.Close()
}

// backoff pauses the i-th time round a wait for something that is bound to happen soon: yields
// first, then sleeps of up to a millisecond.
func backoff(i int) {
	if i < 64 {
		runtime.Gosched()
		return
	}
	time.Sleep(time.Duration(min(1<<(min(i-64, 10)), 1000)) * time.Microsecond)
}

func (e *Engine) release() {
	for _, p := range e.peers {
		p.releaseBuffers()
	}
}
