package engine

import (
	"sync/atomic"

	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/hsdfat8/diam-gw/s13"
)

// Synchronous request states: the loop and a Check caller whose context ended race to move a
// request out of statePending; whoever loses knows the other owns it.
const (
	statePending uint32 = iota
	stateDone
	stateAbandoned
)

// request is one ECR from submission to completion. Pooled; owned by the loop from the moment it
// is popped from the inbox until it completes.
type request struct {
	e   *Engine
	req s13.Request

	e2e        uint32 // assigned at the first send, kept through failovers
	sessLo     uint32 // the generated Session-Id's low part (when req.SessionID is empty)
	origin     *peer  // first connection it was sent on: its Origin-Host stays on resends
	deadline   int64  // loop clock
	sentAt     int64
	sends      int  // times sent
	retransmit bool // the next send carries the T flag
	altRetry   bool // resent to another DRA after a 3002/3004 answer-message

	lost  *peer  // connection it was failed over from, while it waits to be resent
	peer  *peer  // connection holding it in its slot table, nil when none
	hbh   uint32 // its Hop-by-Hop id there
	timer wheel.Timer

	cb    func(s13.Answer, error) // asynchronous completion (Go), run on the loop
	done  chan struct{}           // synchronous completion (Check)
	state atomic.Uint32
	ans   s13.Answer // owned copy for Check
	err   error
}

// Expire is the request's answer timeout, fired by the wheel on the loop.
func (r *request) Expire(int64) {
	e, p := r.e, r.peer
	if p != nil {
		p.slots.take(r.hbh)
		r.peer = nil
		p.stats.inFlight(-1)
		p.stats.inc(cTimeouts)
	}
	e.complete(r, nil, e.reqErr(ErrTimeout, p, nil))
}

func (e *Engine) getRequest() *request {
	return e.pool.Get().(*request)
}

func (e *Engine) putRequest(r *request) {
	*r = request{e: r.e, done: r.done}
	e.pool.Put(r)
}

// complete finishes r exactly once: it releases its timer, runs the callback (on the loop) or
// hands the result to the waiting Check. ans may alias the read buffer; Check gets a clone.
func (e *Engine) complete(r *request, ans *s13.Answer, err error) {
	e.wheel.Stop(&r.timer)
	r.peer = nil
	if r.cb != nil {
		e.runCallback(r.cb, ans, err)
		e.putRequest(r)
	} else {
		if ans != nil {
			r.ans = ans.Clone()
		}
		r.err = err
		// A caller that reads Stats after Check returns sees its answer counted.
		e.publishStats()
		if r.state.CompareAndSwap(statePending, stateDone) {
			r.done <- struct{}{}
		} else {
			e.putRequest(r) // the caller gave up; nobody else holds r
		}
	}
	if e.outstanding.Add(-1) == 0 && e.closing.Load() {
		e.signalDrained()
	}
}

// runCallback calls a user callback, keeping a panic in it from killing the loop (gnet recovers
// nothing, and one bad callback must not take every connection down).
func (e *Engine) runCallback(cb func(s13.Answer, error), ans *s13.Answer, err error) {
	defer func() {
		if v := recover(); v != nil {
			e.callbackPanics.Add(1)
			e.log.Error("callback panicked", "panic", v)
		}
	}()
	if ans == nil {
		cb(s13.Answer{}, err)
		return
	}
	cb(*ans, err)
}
