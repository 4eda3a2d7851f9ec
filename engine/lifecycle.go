package engine

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/panjf2000/gnet/v2"
)

// lifecycle is the engine's life from New to Close: its state, the event loop's client and the
// goroutines around it (ticker, health, recovery; see recover.go). mu orders Start, Close and
// the replacement of an event loop that a callback ended; it is never held while waiting for
// anything a callback could hold up.
type lifecycle struct {
	// Shared with callers.
	state     atomic.Uint32 // lifeNew, lifeRunning, lifeClosing or lifeClosed; changed under mu
	mu        sync.Mutex
	client    atomic.Pointer[gnet.Client]
	deadLoop  atomic.Pointer[gnet.Client] // the last client whose loop a callback ended
	loopGID   atomic.Int64                // goroutine id of the running event loop, 0 when none
	cbGID     atomic.Int64                // goroutine that runs the callbacks: the loop, or a recovery between loops
	healthGID atomic.Int64

	// Written once by the first Close, read by everyone.
	closeBegun  chan struct{} // closed when the first Close begins
	closedCh    chan struct{} // closed when that Close has finished
	closeErr    error         // its result, written before closedCh is closed
	drainedCh   chan struct{} // closed when nothing is outstanding during Close
	drainedOnce sync.Once
	stoppedCh   chan struct{} // closed when every connection is Disconnected during Close
	stoppedOnce sync.Once
	healthIn    chan struct{} // closed when HealthReport calls Close (the shutdown must not wait for it)
	healthOnce  sync.Once

	// Under mu.
	recovering  int        // recovery goroutines running (recover.go)
	recoverDone *sync.Cond // on mu: recovering went down

	// The ticker and health goroutines: started by Start, stopped by the shutdown.
	bgStop chan struct{}
	bgWG   sync.WaitGroup

	// Loop-owned (between two loops, the recovery goroutine's).
	stopping bool // the shutdown has begun on the loop: requests are refused with ErrClosed
	resumed  bool // the last replacement loop finished resetting the connections
	restarts int  // loops replaced in a row without resume finishing
}

// Lifecycle states (lifecycle.state).
const (
	lifeNew     uint32 = iota // built: Check and Go return ErrNotStarted
	lifeRunning               // started: requests are taken
	lifeClosing               // Close has begun: requests are refused with ErrClosed
	lifeClosed                // Close has finished
)

func (l *lifecycle) init() {
	l.closeBegun = make(chan struct{})
	l.closedCh = make(chan struct{})
	l.drainedCh = make(chan struct{})
	l.stoppedCh = make(chan struct{})
	l.healthIn = make(chan struct{})
	l.bgStop = make(chan struct{})
	l.recoverDone = sync.NewCond(&l.mu)
	l.resumed = true
}

func (l *lifecycle) signalDrained() { l.drainedOnce.Do(func() { close(l.drainedCh) }) }
func (l *lifecycle) signalStopped() { l.stoppedOnce.Do(func() { close(l.stoppedCh) }) }

// Start starts the event loop and dials every connection, then waits until one connection is
// usable or ctx ends. It returns nil once a connection is usable. If ctx ends first it returns
// an error wrapping ErrNoConnection, and the engine keeps connecting in the background: Check
// and Go fail fast with ErrNoConnection until a connection opens; WaitReady waits for one; Close
// stops it. After Close has begun it returns ErrClosed. Safe for concurrent use; only the first
// call starts anything, and a Close that races it waits until the loop is up, then stops it.
func (e *Engine) Start(ctx context.Context) error {
	e.life.mu.Lock()
	switch e.life.state.Load() {
	case lifeNew:
		if err := e.startLoop(); err != nil {
			e.life.mu.Unlock()
			return err
		}
		e.post(func() {
			for _, p := range e.peers {
				p.step(fsm.Event{Kind: fsm.EvStart}, nil)
			}
		})
		e.life.state.Store(lifeRunning)
	case lifeRunning:
	default:
		e.life.mu.Unlock()
		return ErrClosed
	}
	e.life.mu.Unlock()
	return e.WaitReady(ctx)
}

// startLoop creates the wake-up socketpair, the first event loop and the ticker (and health)
// goroutines. The wake-up descriptor exists before anything can wake the loop. life.mu held.
func (e *Engine) startLoop() error {
	if err := e.wk.open(); err != nil {
		return err
	}
	if err := e.newClient(); err != nil {
		e.wk.close()
		return err
	}
	if !e.cfg.KeepGnetWorkerPool {
		link.ReleaseGnetWorkerPool()
	}
	e.life.bgWG.Add(1)
	go e.ticker()
	if e.cfg.HealthInterval > 0 {
		e.life.bgWG.Add(1)
		go e.health()
	}
	return nil
}

// newClient starts a gnet client with one event loop and enrolls the wake-up socket in it; it
// returns once the loop runs. life.mu held (Start, or the replacement of a loop).
func (e *Engine) newClient() error {
	rc, err := net.FileConn(e.wk.read) // dups the descriptor: each loop enrolls its own
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
				e.wk.detach()
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
	e.life.client.Store(cl)
	return nil
}

// ticker runs the alarm that wakes the loop when the next timer on its wheel is due (and only
// then: an idle loop sleeps) until the shutdown stops the background goroutines. The loop tells
// the alarm when, at the end of each service pass (armAlarm).
func (e *Engine) ticker() {
	defer e.life.bgWG.Done()
	e.alarm.Start()
	<-e.life.bgStop
	e.alarm.Stop()
}

// health calls HealthReport every HealthInterval until Close.
func (e *Engine) health() {
	defer e.life.bgWG.Done()
	e.life.healthGID.Store(goid())
	e.every(e.cfg.HealthInterval, e.report)
}

// every runs f every d until the shutdown stops the background goroutines.
func (e *Engine) every(d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f()
		case <-e.life.bgStop:
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
			case <-e.life.bgStop:
			default:
				e.life.bgWG.Add(1) // before this goroutine's Done: the group never reaches zero between
				go e.health()
			}
		}
	}()
	e.cfg.HealthReport(e.Stats())
	returned = true
}

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
	onLoop := gid == e.life.cbGID.Load()
	if gid == e.life.healthGID.Load() {
		e.life.healthOnce.Do(func() { close(e.life.healthIn) })
	}
	e.life.mu.Lock()
	first := e.life.state.Load() < lifeClosing
	started := e.life.state.Load() == lifeRunning
	if first {
		e.life.state.Store(lifeClosing)
		close(e.life.closeBegun)
	}
	e.life.mu.Unlock()
	switch {
	case first && onLoop:
		go e.finishClose(ctx, started)
		return ErrClosing
	case first:
		e.finishClose(ctx, started)
	case onLoop:
		select {
		case <-e.life.closedCh:
			return e.life.closeErr
		default:
			return ErrClosing
		}
	}
	select {
	case <-e.life.closedCh:
		return e.life.closeErr
	case <-ctx.Done():
		return fmt.Errorf("engine: close still in progress: %w", ctx.Err())
	}
}

// finishClose runs the shutdown (shutdown.go) and publishes its result.
func (e *Engine) finishClose(ctx context.Context, started bool) {
	var res error
	if started {
		res = e.shutdown(ctx)
	} else {
		e.dials.cancel()
		e.release()
	}
	e.life.closeErr = res
	e.life.mu.Lock()
	e.life.state.Store(lifeClosed)
	e.life.mu.Unlock()
	close(e.life.closedCh) // for WaitReady and later Close calls
}
