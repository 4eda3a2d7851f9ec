package engine

import (
	"bytes"
	"runtime"
	"syscall"
	"time"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/panjf2000/gnet/v2"
)

// A callback that never returns.
//
// Go callbacks and OnStateChange run on the event loop's goroutine. A panic in one is recovered
// (runCallback, notify), but runtime.Goexit, which t.FailNow and require.* call, cannot be
// stopped: deferred calls run and the goroutine ends. gnet v2.9.7 runs its loop on that goroutine
// (reactor_default.go: eventloop.run calls poller.Polling, and neither defers anything), so the
// loop ends with it: nothing closes its connections (closeConns is not reached), and the tasks
// queued for it, enrollments included, never run. Client.Stop still returns, because errgroup
// defers its Done.
//
// The deferred check of each callback notices the Goexit, counts and logs it, makes every
// connection unusable at once (Check and Go get ErrNoConnection instead of queueing for a loop
// that is gone) and hands over to a recovery goroutine. That goroutine stops the dead client,
// which waits for the goroutine to be gone, so from then on the loop's state is its own. It
// closes the dead loop's sockets, completes every outstanding request with ErrLoopExited, and
// starts a new loop whose first task resets each connection (to Disconnected, announced) and
// dials it afresh. If Close has begun it starts no loop: it refuses what the inbox still brings
// and marks the connections Disconnected, and Close finishes.

// goid returns the calling goroutine's id, parsed from runtime.Stack ("goroutine 123 [..."). It
// costs about a microsecond: for rare paths only (Close, a loop's start, a callback that exited).
func goid() int64 {
	var buf [64]byte
	b := bytes.TrimPrefix(buf[:runtime.Stack(buf[:], false)], []byte("goroutine "))
	var id int64
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	return id
}

// callbackExited runs in the deferred check of a callback that did not return, on the goroutine
// that is ending. Loop-owned data is still this goroutine's.
func (e *Engine) callbackExited(what string) {
	e.callbackExits.Add(1)
	var dead *gnet.Client
	switch goid() {
	case e.life.loopGID.Load():
		dead = e.life.client.Load()
		e.life.deadLoop.Store(dead)
		e.life.loopGID.Store(0)
		e.wk.detach() // its poller goes with it
		e.log.Error("a callback called runtime.Goexit on the event loop, which ends with it; a new loop takes over",
			"callback", what)
		for _, p := range e.peers {
			e.setUsable(p, false)
		}
	case e.life.cbGID.Load():
		e.log.Error("a callback called runtime.Goexit while a loop was being replaced; another goroutine carries on",
			"callback", what)
	default:
		return // not a goroutine of ours: nothing of the engine's ends with it
	}
	e.life.mu.Lock()
	e.life.recovering++
	e.life.mu.Unlock()
	go e.recoverLoop(dead)
}

// recoverLoop takes over from a loop that a callback ended (dead), or from a recovery goroutine
// that a callback ended in its turn (dead nil): see the comment at the top of this file.
func (e *Engine) recoverLoop(dead *gnet.Client) {
	defer func() {
		e.life.mu.Lock()
		e.life.recovering--
		e.life.recoverDone.Broadcast()
		e.life.mu.Unlock()
	}()
	e.life.cbGID.Store(goid()) // callbacks run here until the next loop: Close must not wait for them
	if dead != nil {
		e.life.mu.Lock()
		if e.life.client.Load() != dead { // Close took it already and stops it itself
			e.life.mu.Unlock()
			return
		}
		_ = dead.Stop() // returns once the dead loop's goroutine is gone
		e.life.client.Store(nil)
		e.life.mu.Unlock()
		e.closeLoopFDs()
		e.releaseStuckDials(dead)
		e.wheel.Recover()
		e.wk.servicing = false
		if !e.life.resumed {
			e.life.restarts++ // the previous new loop ended before it had reset the connections
		}
		e.life.resumed = false
	}
	// Every request the loop had taken and not completed fails now, each exactly once; the
	// books are straight before each callback, so a Goexit in one leaves the rest to the next
	// recovery goroutine.
	for _, p := range e.peers {
		p.slots.drain(func(*request) { p.stats.inFlight(-1) })
	}
	e.retries = resendQueue{}
	e.parked = parkedReqs{}
	for _, r := range e.reqs.all {
		if r.live {
			p := r.peer
			if p == nil {
				p = r.failedFrom
			}
			e.complete(r, nil, e.reqErr(ErrLoopExited, p, nil))
		}
	}
	e.resetPeers()
	e.postFirst(e.resume) // the next loop's first task, whenever it starts
	for i := 0; ; i++ {
		if d := e.restartDelay(i); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-e.life.closeBegun:
			}
			t.Stop()
		}
		e.life.mu.Lock()
		if e.life.state.Load() >= lifeClosing {
			e.life.mu.Unlock()
			e.stopWithoutLoop()
			return
		}
		err := e.newClient()
		e.life.mu.Unlock()
		if err == nil {
			return
		}
		e.log.Error("cannot start a new event loop; retrying", "err", err)
	}
}

// restartDelay is the pause before the i-th attempt to start a new loop: none at first, unless
// loops keep ending before they have reset the connections (a callback that exits every time
// would otherwise replace loops in a hot cycle), and backoff after failed attempts.
func (e *Engine) restartDelay(i int) time.Duration {
	n := e.life.restarts + i
	if n == 0 {
		return 0
	}
	return min(e.cfg.BackoffInitial<<min(n-1, 16), e.cfg.BackoffMax)
}

// resetPeers drops what each connection had of the dead loop: its deadline, its dial (a late
// result is stale), its partial input and unsent batch. The state machines go on to resume.
func (e *Engine) resetPeers() {
	for _, p := range e.peers {
		e.wheel.Stop(&p.timer)
		p.deadline = 0
		e.wheel.Stop(&p.frag.timer)
		if p.dialCancel != nil {
			p.dialCancel()
			p.dialCancel = nil
		}
		p.attempt++
		p.conn, p.closing, p.rearmed = nil, false, false
		p.frames.Reset()
		p.sent = sentReqs{} // their answers would come on sockets that are gone
		p.hold.reset()
		p.dropBatch()
		p.stats.setState(fsm.Disconnected) // resume announces it
	}
	e.touched.Reset()
}

// resume is a new loop's first task: each connection starts over from Disconnected (announced
// to OnStateChange) with a fresh state machine, as at Start. The first connection after this is
// an INITIAL one (no REOPEN): the links were not at fault.
func (e *Engine) resume() {
	for _, p := range e.peers {
		from := p.m.State()
		p.m = fsm.New(e.fsmCfg, e.rng.Uint64())
		if from != fsm.Disconnected {
			p.stats.setError(ErrLoopExited)
			p.log.Info("connection state", "from", from.String(), "to", fsm.Disconnected.String(), "event", "LoopExited")
			if f := e.cfg.OnStateChange; f != nil {
				e.notify(f, StateChange{DRA: p.dra.name, Conn: p.index, From: from, To: fsm.Disconnected,
					Event: fsm.EvTransportLost, Time: timeNow()})
			}
		}
		p.step(fsm.Event{Kind: fsm.EvStart}, nil)
	}
	e.life.resumed, e.life.restarts = true, 0
}

// stopWithoutLoop finishes for a Close that began while no loop runs: what the inbox holds, or
// is about to hold (a producer counted before Close began may still be pushing), is refused with
// ErrClosed, and every connection is Disconnected.
func (e *Engine) stopWithoutLoop() {
	e.life.stopping = true
	for i := 0; e.outstanding.Load() > 0; i++ {
		if s := e.inbox.Front(); s != nil {
			r := e.takeRequest(s)
			e.inbox.Advance()
			e.complete(r, nil, e.reqErr(ErrClosed, nil, nil))
			i = 0
			continue
		}
		backoff(i)
	}
	for _, p := range e.peers {
		p.stats.setState(fsm.Disconnected)
	}
	e.publishStats()
	e.life.signalStopped()
}

// closeLoopFDs closes the sockets of a loop that a callback ended: its gnet connections will not
// be used again, and gnet closes nothing of a loop that did not return.
func (e *Engine) closeLoopFDs() {
	for _, p := range e.peers {
		if p.conn != nil {
			_ = syscall.Close(p.conn.Fd())
			p.conn = nil
			_ = p.endTLS()
		}
	}
	if e.wk.ctrl != nil {
		_ = syscall.Close(e.wk.ctrl.Fd())
		e.wk.ctrl = nil
	}
}
