package engine

import (
	"sync"
	"sync/atomic"

	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/hsdfat8/diam-gw/s13"
)

// Synchronous request states: the loop and a Check caller whose context ended race to move a
// waiter out of statePending; whoever loses knows the other owns it.
const (
	statePending uint32 = iota
	stateDone
	stateAbandoned
)

// submission is what a caller hands the loop. It is copied into an inbox slot by value, so a
// submission takes no pooled object on the caller's side: the loop turns it into a request from
// its own free list (a sync.Pool Get and Put per request was a visible share of a pipelined
// request's CPU: bench/results/2026-12-03-notes.md).
type submission struct {
	req      s13.Request
	cb       func(s13.Answer, error) // Go: asynchronous completion, run on the loop
	w        *waiter                 // Check: where the result goes
	deadline int64                   // loop clock; 0 = RequestTimeout from when the loop takes it
}

// waiter is one synchronous Check's completion. Pooled: Check blocks on a channel anyway.
type waiter struct {
	done  chan struct{}
	state atomic.Uint32
	ans   s13.Answer // owned copy
	err   error
}

// request is one ECR from when the loop takes its submission until it completes. Loop-owned
// throughout, recycled through the loop's free list.
type request struct {
	e   *Engine
	req s13.Request

	e2e        uint32   // assigned at the first send, kept through failovers
	sessLo     uint32   // the generated Session-Id's low part (when req.SessionID is empty)
	origin     *draConn // first connection it was sent on: its Origin-Host stays on resends
	deadline   int64    // loop clock
	sentAt     int64
	sends      int         // times sent
	retransmit bool        // the next send carries the T flag
	altRetry   bool        // resent to another DRA after a 3002/3004 answer-message
	refusal    *s13.Answer // a 3002/3004 kept while it waits parked for another DRA (alternate.go)
	refusedBy  *draConn    // the connection that answered it

	failedFrom *draConn // connection it was failed over from, while it waits to be resent
	peer       *draConn // connection holding it in its slot table, nil when none
	hbh        uint32   // its Hop-by-Hop id there
	batch      uint32   // that connection's flushes when it was encoded: equal while it is unwritten
	parked     int      // 1 + its index in Engine.parked while it waits for a held connection, else 0
	timer      wheel.Timer

	cb   func(s13.Answer, error) // asynchronous completion (Go), run on the loop
	w    *waiter                 // synchronous completion (Check)
	live bool                    // taken from the inbox and not completed
}

// Expire is the request's answer timeout, fired by the wheel on the loop.
func (r *request) Expire(int64) {
	e, p := r.e, r.peer
	if r.parked != 0 {
		e.unpark(r)
	}
	if r.refusal != nil { // no other DRA came up in time: the refusal is its answer
		e.complete(r, r.refusal, nil)
		return
	}
	if p != nil {
		p.slots.take(r.hbh, r.e2e)
		r.peer = nil
		p.stats.inFlight(-1)
		p.stats.inc(cTimeouts)
	}
	e.complete(r, nil, e.reqErr(ErrTimeout, p, nil))
}

// requestPool is the loop's requests and the Check callers' waiters.
type requestPool struct {
	// Loop-owned (between two loops, the recovery goroutine's).
	free []*request // recycled requests
	all  []*request // every request made: the live ones are those taken and not completed

	waiters sync.Pool // *waiter, for Check; safe for concurrent use
}

func (rp *requestPool) init() {
	rp.waiters.New = func() any { return &waiter{done: make(chan struct{}, 1)} }
}

// takeRequest turns a submission popped from the inbox into a request. Loop only.
func (e *Engine) takeRequest(s *submission) *request {
	rp := &e.reqs
	var r *request
	if n := len(rp.free); n > 0 {
		r = rp.free[n-1]
		rp.free[n-1] = nil
		rp.free = rp.free[:n-1]
	} else {
		r = &request{e: e}
		rp.all = append(rp.all, r) // as many as were ever in the loop's hands at once
	}
	r.req, r.cb, r.w, r.deadline, r.live = s.req, s.cb, s.w, s.deadline, true
	return r
}

// putRequest recycles a completed request. The free list holds at most as many requests as were
// ever in the loop's hands at once, which MaxInFlight and the inbox bound. Loop only.
func (e *Engine) putRequest(r *request) {
	*r = request{e: e} // drop the caller's strings and callback
	e.reqs.free = append(e.reqs.free, r)
}

// getWaiter and putWaiter are safe for concurrent use.
func (rp *requestPool) getWaiter() *waiter { return rp.waiters.Get().(*waiter) }

func (rp *requestPool) putWaiter(w *waiter) {
	w.ans, w.err = s13.Answer{}, nil
	w.state.Store(statePending)
	rp.waiters.Put(w)
}

// reqErr wraps a sentinel with the connection it concerns.
func (e *Engine) reqErr(err error, p *draConn, cause error) error {
	re := &Error{Err: err, Cause: cause}
	if p != nil {
		re.DRA, re.Conn = p.dra.name, p.index
	}
	return re
}

// complete finishes r exactly once: it releases its timer, runs the callback (on the loop) or
// hands the result to the waiting Check. ans may alias the read buffer; Check gets a clone.
func (e *Engine) complete(r *request, ans *s13.Answer, err error) {
	e.wheel.Stop(&r.timer)
	cb, w := r.cb, r.w
	// Recycled and uncounted first: a callback that never returns (runtime.Goexit) must leave
	// its request done and the books straight, and a Check caller who reads Stats once it has
	// its answer sees it no longer outstanding.
	e.putRequest(r)
	e.finished()
	if cb != nil {
		e.runCallback(cb, ans, err)
		return
	}
	if ans != nil {
		w.ans = ans.Clone()
	}
	w.err = err
	// A caller that reads Stats after Check returns sees its answer counted.
	e.publishStats()
	if w.state.CompareAndSwap(statePending, stateDone) {
		w.done <- struct{}{}
	} else {
		e.reqs.putWaiter(w) // the caller gave up; nobody else holds w
	}
}

// runCallback calls a user callback, keeping a panic in it from killing the loop (gnet recovers
// nothing, and one bad callback must not take every connection down). A runtime.Goexit cannot
// be stopped: it is noticed here and the loop is replaced (recover.go).
func (e *Engine) runCallback(cb func(s13.Answer, error), ans *s13.Answer, err error) {
	returned := false
	defer func() {
		if v := recover(); v != nil {
			e.callbackPanics.Add(1)
			e.log.Error("callback panicked", "panic", v)
		} else if !returned {
			e.callbackExited("Go callback")
		}
	}()
	if ans == nil {
		cb(s13.Answer{}, err)
	} else {
		cb(*ans, err)
	}
	returned = true
}
