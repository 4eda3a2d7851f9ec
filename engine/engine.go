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
	started, closing atomic.Bool
	outstanding      atomic.Int64 // accepted, not yet completed
	usable           atomic.Int32 // usable connections
	callbackPanics   atomic.Uint64
	loopNow          atomic.Int64 // the loop's last clock reading, for LoopTime
	inbox            *inbox.Ring[submission]
	wakePending      atomic.Bool
	wakeFD           int // write end of the wake-up socketpair
	postMu           sync.Mutex
	posted           []func()
	postedN          atomic.Int32 // len(posted), readable without the lock
	sessHi           uint32       // high part of generated Session-Ids: the start time
	waiters          sync.Pool    // *waiter, for Check
	epoch            time.Time
	readyMu          sync.Mutex
	readyCh          chan struct{} // closed while a connection is usable
	drainedCh        chan struct{} // closed when nothing is outstanding during Close
	drainedOnce      sync.Once
	stoppedCh        chan struct{} // closed when every connection is Disconnected during Close
	stoppedOnce      sync.Once
	closedCh         chan struct{}
	closeOnce        sync.Once
	closeErr         error

	// Loop-owned.
	wheel     *wheel.Wheel
	dras      []*dra
	groups    []*group
	peers     []*peer
	retries   []*request
	free      []*request // recycled requests
	spare     []*request
	touched   link.Queue[*peer] // connections with a batch to write this round
	dirty     []*peer           // connections whose counters changed since they were last published
	sessLo    uint32            // low part of the next generated Session-Id
	servicing bool
	stopping  bool
	answer    s13.Answer // the answer being delivered; its fields alias the read buffer

	e2e framing.EndToEndClock // End-to-End ids, on the loop clock (elapsed since epoch)

	client     *gnet.Client
	ctrl       gnet.Conn
	dialCtx    context.Context
	dialCancel context.CancelFunc
	dialWG     sync.WaitGroup
	bgStop     chan struct{}
	bgWG       sync.WaitGroup
}

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
	for _, o := range opts {
		o(&cfg)
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
		cfg:       cfg,
		log:       cfg.Logger,
		inbox:     inbox.NewRing[submission](cfg.SendBufferSize),
		e2e:       framing.NewEndToEndClock(now.UnixNano()),
		sessHi:    uint32(now.Unix()),
		epoch:     now,
		readyCh:   make(chan struct{}),
		drainedCh: make(chan struct{}),
		stoppedCh: make(chan struct{}),
		closedCh:  make(chan struct{}),
		bgStop:    make(chan struct{}),
		wakeFD:    -1,
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.waiters.New = func() any { return &waiter{done: make(chan struct{}, 1)} }
	e.wheel = wheel.New(Tick, 2048, e.now())
	e.dialCtx, e.dialCancel = context.WithCancel(context.Background())
	fcfg := fsm.Config{
		Tw:                cfg.DWRInterval,
		TwFloor:           min(MinDWRInterval, cfg.DWRInterval),
		DWATimeout:        cfg.DWRTimeout,
		ConnectTimeout:    cfg.ConnectTimeout,
		CEATimeout:        cfg.CERTimeout,
		DPATimeout:        cfg.DPATimeout,
		DPRGrace:          cfg.DPATimeout,
		BackoffInitial:    cfg.ReconnectInterval,
		BackoffMultiplier: cfg.ReconnectBackoff,
		BackoffMax:        cfg.MaxReconnectDelay,
		LongBackoff:       cfg.MaxReconnectDelay,
	}
	if cfg.noJitter {
		fcfg.TwJitter, fcfg.BackoffJitter = -1, -1
	}
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
// stops it. Safe for concurrent use; only the first call starts anything.
func (e *Engine) Start(ctx context.Context) error {
	if e.closing.Load() {
		return ErrClosed
	}
	if !e.started.CompareAndSwap(false, true) {
		return e.WaitReady(ctx)
	}
	if err := e.startLoop(); err != nil {
		e.started.Store(false)
		return err
	}
	e.post(func() {
		for _, p := range e.peers {
			p.step(fsm.Event{Kind: fsm.EvStart}, nil)
		}
	})
	return e.WaitReady(ctx)
}

// startLoop creates the gnet client with one event loop and enrolls the wake-up socket.
func (e *Engine) startLoop() error {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("engine: wake-up socketpair: %w", err)
	}
	f := os.NewFile(uintptr(fds[0]), "diam-gw-wake")
	rc, err := net.FileConn(f) // dups the fd
	f.Close()
	if err != nil {
		syscall.Close(fds[1])
		return fmt.Errorf("engine: wake-up socket: %w", err)
	}
	nodelay := gnet.TCPNoDelay
	if e.cfg.EnableNagle {
		nodelay = gnet.TCPDelay
	}
	e.client, err = gnet.NewClient(&handler{e: e},
		gnet.WithNumEventLoop(1),
		gnet.WithLogger(link.QuietLogger{}),
		gnet.WithReadBufferCap(64<<10),
		gnet.WithWriteBufferCap(256<<10),
		gnet.WithTCPNoDelay(nodelay),
	)
	if err == nil {
		err = e.client.Start()
	}
	if err == nil {
		_, err = e.client.EnrollContext(rc, ctrlCtx{}) // returns once OnOpen has run on the loop
	} else {
		rc.Close()
	}
	if err != nil {
		syscall.Close(fds[1])
		if e.client != nil {
			_ = e.client.Stop()
		}
		return fmt.Errorf("engine: start event loop: %w", err)
	}
	e.wakeFD = fds[1]
	e.bgWG.Add(1)
	go e.ticker()
	if e.cfg.HealthInterval > 0 {
		e.bgWG.Add(1)
		go e.health()
	}
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

func (e *Engine) health() {
	defer e.bgWG.Done()
	t := time.NewTicker(e.cfg.HealthInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			e.cfg.HealthReport(e.Stats())
		case <-e.bgStop:
			return
		}
	}
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
// only during the call (use Answer.Clone to keep it). A panic in cb is recovered and counted.
// Safe for concurrent use; may be called from a callback.
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
// they are frequent and must not allocate. outstanding is raised before the closing check, so
// that Close, once it has set closing, can count on it: every request it includes is either
// refused (and uncounted again) or pushed.
func (e *Engine) submit(s *submission) error {
	n := e.outstanding.Add(1)
	var err error
	switch {
	case !e.started.Load():
		err = ErrNotStarted
	case e.closing.Load():
		err = ErrClosed
	default:
		switch u := int64(e.usable.Load()); {
		case u == 0:
			err = ErrNoConnection
		case n > u*int64(e.cfg.MaxInFlight), !e.inbox.TryPushFrom(s):
			err = ErrBusy
		default:
			e.wake()
			return nil
		}
	}
	if e.outstanding.Add(-1) == 0 && e.closing.Load() {
		e.signalDrained()
	}
	return err
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

// Close stops taking requests, lets outstanding ones finish until ctx ends, sends DPR on every
// open connection and waits (bounded by DPATimeout) for the DPAs, then closes everything and
// stops the loop. Requests still outstanding when ctx ends complete with ErrClosed. It returns
// nil after a clean shutdown, or an error wrapping ctx.Err() when it had to cut things short.
// Safe for concurrent use; later calls wait for the first and return its result.
func (e *Engine) Close(ctx context.Context) error {
	// Once.Do holds later callers until the first call's shutdown has returned.
	e.closeOnce.Do(func() {
		e.closeErr = e.shutdown(ctx)
		close(e.closedCh) // for WaitReady
	})
	return e.closeErr
}

func (e *Engine) shutdown(ctx context.Context) error {
	e.closing.Store(true)
	if !e.started.Load() {
		e.dialCancel()
		e.release()
		return nil
	}
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
	case <-ctx.Done():
		if cut == nil {
			cut = ctx.Err()
		}
	case <-bound.C:
	}
	select {
	case <-e.stoppedCh:
	default:
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
	e.dialCancel()
	e.dialWG.Wait() // an Enroll racing the loop's end would never return
	close(e.bgStop)
	e.bgWG.Wait()
	err := e.client.Stop()
	syscall.Close(e.wakeFD)
	// The loop has exited: what is left belongs to this goroutine now.
	for _, r := range e.retries {
		e.complete(r, nil, e.reqErr(ErrClosed, r.lost, nil))
	}
	e.retries = nil
	for _, p := range e.peers {
		p.slots.drain(func(r *request) {
			p.stats.inFlight(-1)
			e.complete(r, nil, e.reqErr(ErrClosed, p, nil))
		})
	}
	// A caller that passed the closing check just before it was set is pushing right now:
	// outstanding counts it until its request is here (nanoseconds; bounded all the same).
	for spin := 0; e.outstanding.Load() > 0 && spin < 1e6; spin++ {
		if s := e.inbox.Front(); s != nil {
			r := e.takeRequest(s)
			e.inbox.Advance()
			e.complete(r, nil, e.reqErr(ErrClosed, nil, nil))
		} else {
			runtime.Gosched()
		}
	}
	e.publishStats()
	e.release()
	if cut != nil {
		return fmt.Errorf("engine: close cut short: %w", cut)
	}
	if err != nil {
		return fmt.Errorf("engine: stop event loop: %w", err)
	}
	return nil
}

func (e *Engine) release() {
	for _, p := range e.peers {
		p.releaseBuffers()
	}
}
