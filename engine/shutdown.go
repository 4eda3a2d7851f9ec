package engine

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/hsdfat8/diam-gw/fsm"
)

// shutdown is the first Close's work once the engine has run, phase by phase. Intake stopped
// when Close left lifeRunning: from then on submit refuses, and the loop refuses whatever the
// inbox still brings once the connections are told to stop.
func (e *Engine) shutdown(ctx context.Context) error {
	cut := e.awaitOutstanding(ctx)
	e.disconnectAll()
	e.awaitClaimed()
	e.stopBackground()
	err := e.stopLoop()
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

// awaitOutstanding lets the requests accepted before Close finish, until ctx ends; it returns
// ctx's error when ctx cut the wait short.
func (e *Engine) awaitOutstanding(ctx context.Context) error {
	if e.outstanding.Load() == 0 {
		return nil
	}
	select {
	case <-e.life.drainedCh:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// disconnectAll stops intake on the loop and sends DPR on each open connection (EvStop), then
// waits until every connection is Disconnected. Each ends within DPATimeout, DPA or not, plus
// the close itself; past that bound the connections are reset.
func (e *Engine) disconnectAll() {
	e.post(func() {
		e.life.stopping = true
		e.failParked(ErrClosed)
		for _, p := range e.peers {
			p.step(fsm.Event{Kind: fsm.EvStop}, nil)
		}
		e.peerStopped()
	})
	bound := time.NewTimer(e.cfg.DPATimeout + time.Second)
	defer bound.Stop()
	select {
	case <-e.life.stoppedCh:
	case <-bound.C:
		e.post(func() {
			for _, p := range e.peers {
				p.closeConn(true)
			}
		})
		select {
		case <-e.life.stoppedCh:
		case <-time.After(time.Second):
		}
	}
}

// awaitClaimed waits for the last request to complete. Every request completes on the loop: the
// stop failed what the connections held with ErrClosed, and the loop refuses the same way
// whatever the inbox still brings, including a producer that was preempted after it was counted
// (its push wakes the loop). The last one is bound to come.
func (e *Engine) awaitClaimed() {
	if e.outstanding.Load() > 0 {
		<-e.life.drainedCh
	}
}

// stopBackground ends the dials (those stuck in an ended loop were given up:
// releaseStuckDials), the ticker and the health goroutine.
func (e *Engine) stopBackground() {
	e.dials.cancel()
	e.dials.wg.Wait()
	close(e.life.bgStop)
	e.waitBackground()
}

// waitBackground waits for the ticker and health goroutines, except a health goroutine that is
// inside Close itself: it ends on its own once Close returns to it.
func (e *Engine) waitBackground() {
	done := make(chan struct{})
	go func() {
		e.life.bgWG.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-e.life.healthIn:
	}
}

// stopLoop stops the event loop. It takes the client under the lock, once no loop is being
// replaced (one under way gives up when it sees Close), so that nothing else stops or swaps it.
func (e *Engine) stopLoop() error {
	e.life.mu.Lock()
	for e.life.recovering > 0 {
		e.life.recoverDone.Wait()
	}
	cl := e.life.client.Swap(nil)
	e.life.mu.Unlock()
	if cl == nil {
		return nil
	}
	e.wk.detach() // before gnet closes the loop's eventfd
	err := cl.Stop()
	if e.life.deadLoop.Load() == cl { // a callback ended it after all: gnet closed nothing
		e.closeLoopFDs()
	}
	e.dials.handshakes.Wait() // every connection is closed: each handshake has failed or ended
	return err
}

// peerStopped notes that one more connection reached Disconnected during shutdown. Loop only.
func (e *Engine) peerStopped() {
	for _, p := range e.peers {
		if p.m.State() != fsm.Disconnected {
			return
		}
	}
	e.life.signalStopped()
}

// release lets the GC have the connections' buffers once none will connect again.
func (e *Engine) release() {
	for _, p := range e.peers {
		p.releaseBuffers()
	}
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
