package engine

import (
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/s13"
)

// Retrying through an alternate DRA. A request that a DRA answers 3002 DIAMETER_UNABLE_TO_DELIVER or
// 3004 DIAMETER_TOO_BUSY is resent once through another DRA (retryElsewhere, RFC 6733 §7.1.3).
// At start-up, or while another DRA reconnects, that alternate may be a few milliseconds from
// usable: completing the request with the refusal then would hand the caller an error it need
// not have had. So when another DRA has a connection on its way up (dialling, waiting for its
// CEA, in REOPEN counting DWAs, or held, peerreopen.go), the request waits parked (park.go),
// its refusal kept, until a connection of another DRA becomes routable — then it is resent
// there — or until its own deadline, when the refusal is its answer; a Close cut short delivers
// the refusal too.

// retryElsewhere resends r, answered a by from with 3002 DIAMETER_UNABLE_TO_DELIVER or 3004
// DIAMETER_TOO_BUSY, once through another DRA (RFC 6733 §7.1.3: "SHOULD attempt to send the
// message to an alternate peer"). It is a new request, not a retransmission: no T flag after an
// error answer (§3), and a new End-to-End id so no duplicate cache hands back the error. With no
// other DRA usable but one coming up, r waits parked with a copy of a (a aliases the read
// buffer). It reports false when there is nowhere to try; the caller then delivers a as it is.
// Loop only.
func (e *Engine) retryElsewhere(r *request, from *draConn, a *s13.Answer, now int64) bool {
	if r.altRetry || e.cfg.DisableAlternateRetry || e.life.stopping {
		return false
	}
	_, err := e.route(nil, from.dra)
	if err != nil && !e.alternateComing(from.dra) {
		return false
	}
	r.altRetry, r.retransmit = true, false
	r.e2e = e.nextE2E()
	if err != nil {
		kept := a.Clone()
		r.refusal, r.refusedBy = &kept, from
		e.park(r)
		return true
	}
	from.stats.inc(cAltRetries)
	e.send(r, now, from)
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
