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
// CEA, in REOPEN counting DWAs, or held, peerreopen.go), the request waits parked (park.go),
// its refusal kept, until a connection of another DRA becomes routable — then it is resent
// there — or until its own deadline, when the refusal is its answer; a Close cut short delivers
// the refusal too.

// awaitAlternate parks r, refused by from with a, when another DRA has a connection coming up;
// it reports whether it did. The answer is copied: it aliases the read buffer. Loop only.
func (e *Engine) awaitAlternate(r *request, from *draConn, a *s13.Answer) bool {
	if r.altRetry || e.cfg.DisableAlternateRetry || e.life.stopping || !e.alternateComing(from.dra) {
		return false
	}
	kept := a.Clone()
	r.refusal, r.refusedBy = &kept, from
	r.altRetry, r.retransmit = true, false // sent as retryElsewhere sends it: a new request
	r.e2e = e.nextE2E()
	e.park(r)
	return true
}

// alternateComing reports whether a DRA other than d has a connection on its way to routable.
func (e *Engine) alternateComing(d *dra) bool {
	for _, p := range e.peers {
		if p.dra == d {
			continue
		}
		if p.hold.held() {
			return true
		}
		switch p.m.State() {
		case fsm.Connecting, fsm.CERSent, fsm.Reopen:
			return true
		}
	}
	return false
}
