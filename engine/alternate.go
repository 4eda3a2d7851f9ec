package engine

import (
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/s13"
)

// Waiting for an alternate DRA. A request that a DRA answers 3002 DIAMETER_UNABLE_TO_DELIVER or
// 3004 DIAMETER_TOO_BUSY is resent once through another DRA (retryElsewhere, RFC 6733 §7.1.3).
// At start-up, or while another DRA reconnects, that alternate may be a few milliseconds from
// usable: completing the request with the refusal then would hand the caller an error it need
// not have had. So when another DRA has a connection on its way up (dialling, waiting for its
// CEA, or in REOPEN counting DWAs), the request waits, its refusal kept, until a connection of
// another DRA becomes usable — then it is resent there — or until its own deadline, when the
// refusal is its answer. Close gives every waiting request its refusal at once.

// alternateWait is the requests waiting for another DRA. Loop-owned.
type alternateWait struct {
	reqs []*request
}

// awaitAlternate parks r, refused by from with a, when another DRA has a connection coming up;
// it reports whether it did. The answer is copied: it aliases the read buffer. Loop only.
func (e *Engine) awaitAlternate(r *request, from *draConn, a *s13.Answer) bool {
	if r.altRetry || e.cfg.DisableAlternateRetry || e.life.stopping || !e.alternateComing(from.dra) {
		return false
	}
	kept := a.Clone()
	r.refusal, r.refusedBy = &kept, from
	e.waiting.reqs = append(e.waiting.reqs, r)
	e.wheel.Add(&r.timer, r.deadline, r) // Expire: the refusal, at the request's deadline
	return true
}

// alternateComing reports whether a DRA other than d has a connection on its way to usable.
func (e *Engine) alternateComing(d *dra) bool {
	for _, p := range e.peers {
		if p.dra == d {
			continue
		}
		switch p.m.State() {
		case fsm.Connecting, fsm.CERSent, fsm.Reopen:
			return true
		}
	}
	return false
}

// alternateUp resends, through p, the waiting requests another DRA refused: p just became
// usable. They go through the resend queue, which the service pass drains this round, each
// as retryElsewhere sends it: once, avoiding the DRA that refused it, a new End-to-End id, no
// T flag. Loop only.
func (e *Engine) alternateUp(p *draConn) {
	w := &e.waiting
	kept := w.reqs[:0]
	for _, r := range w.reqs {
		if r.refusedBy.dra == p.dra {
			kept = append(kept, r)
			continue
		}
		e.wheel.Stop(&r.timer)
		from := r.refusedBy
		r.refusal, r.refusedBy = nil, nil
		from.stats.inc(cAltRetries)
		r.altRetry, r.retransmit = true, false
		r.e2e = e.nextE2E()
		r.failedFrom = from
		e.retries.add(r)
	}
	clear(w.reqs[len(kept):])
	w.reqs = kept
}

// remove takes r off the waiting list (its deadline came). Loop only.
func (w *alternateWait) remove(r *request) {
	for i, q := range w.reqs {
		if q == r {
			last := len(w.reqs) - 1
			w.reqs[i], w.reqs[last] = w.reqs[last], nil
			w.reqs = w.reqs[:last]
			return
		}
	}
}

// refuseWaiting completes every waiting request with its refusal: the engine is closing.
// Loop only.
func (e *Engine) refuseWaiting() {
	reqs := e.waiting.reqs
	e.waiting.reqs = nil
	for _, r := range reqs {
		e.complete(r, r.refusal, nil)
	}
}
