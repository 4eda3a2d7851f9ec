package engine

import (
	"time"

	"github.com/hsdfat8/diam-gw/internal/wheel"
)

// The peer's REOPEN. RFC 3539 §3.4.1 has the peer watch us as we watch it: after a connection
// to us went down, its next one from our Origin-Host starts in the peer's REOPEN, which carries
// no traffic until the peer has had three DWAs from us. Both real peers do it after an unclean
// close of ours (a crash, kill -9: no DPR/DPA) and both say nothing of it in the CEA, which is
// a plain 2001 (../shared/peers/README.md, freeDiameter quirk 1, OTP quirk 2):
//
//   - freeDiameter sends a DWR at once and the next one on each DWA (p_dw.c), and drops the
//     answers to the requests that arrive before the third DWA;
//   - OTP sends a DWR at once and then one per Tw of its own, and throws every other request
//     away until the third DWA, about 2·Tw later.
//
// The rule that fits both: the REOPEN is over once we have answered three DWRs (each answer is
// one of the three DWAs the peer counts, whatever its pace), and a DWR is the peer's REOPEN
// when it comes right after the CEA: before any answer to our requests and within
// peerReopenWindow of the CEA. A peer in OKAY sends its first DWR only after Tw of silence,
// and Tw is at least 6 s less a jitter of 2 s (RFC 3539 §3.4.1), so a DWR within the window is
// never a watchdog's; and an answer proves the peer takes our requests.
//
// Until then the connection is held: not routable (the requests go to the other usable
// connections, or wait parked until their deadline, park.go), with everything it had in flight
// failed over. Our own state machine runs on unchanged: the hold only gates routing.
//
// OTP also loses requests sent within about a millisecond of its CEA (its quirk 1: its service
// learns of the connection after the watchdog has passed it requests), and the same holds for
// its REOPEN's end. Measured with diamload against it (40 fresh connections, 8 ECRs each at
// once: some runs lost all eight), so every CEA and the REOPEN's end are followed by
// peerSettle of hold as well. The settle also lets a REOPEN's first DWR, which both peers
// send together with the CEA, arrive before any request has gone out.
const (
	peerSettle       = 20 * time.Millisecond
	peerReopenWindow = 2 * time.Second
	// peerReopenDWRs is how many DWRs we answer before the peer's REOPEN is over (RFC 3539
	// Appendix A: REOPEN goes to OKAY on the third DWA).
	peerReopenDWRs = 3
)

// holdState is what keeps a connection from being routed to, besides its own state.
type holdState uint8

const (
	holdNone   holdState = iota
	holdSettle           // after a CEA, or after the peer's REOPEN: peerSettle
	holdReopen           // the peer's REOPEN: until we have answered peerReopenDWRs DWRs
)

// peerHold is one connection's hold. Loop-owned, except the published flag in connStats.
type peerHold struct {
	p         *draConn
	state     holdState
	timer     wheel.Timer // the settle's end, or the REOPEN's limit
	watchTill int64       // a DWR before this is the peer's REOPEN; 0 once an answer came
	dwrs      int         // DWRs answered during the peer's REOPEN
}

// begin holds a connection whose CEA has just been accepted, before its state machine can mark
// it usable.
func (h *peerHold) begin(now int64) {
	h.watchTill = now + int64(peerReopenWindow)
	h.dwrs = 0
	h.set(holdSettle, now+int64(peerSettle))
}

// answered notes an answer to one of our requests: the peer is not in its REOPEN.
func (h *peerHold) answered() { h.watchTill = 0 }

// dwr notes a DWR from the peer, already answered by the state machine.
func (h *peerHold) dwr(now int64) {
	p := h.p
	switch {
	case h.state == holdReopen:
		h.dwrs++
	case h.watchTill != 0 && now < h.watchTill && p.conn != nil && !p.closing:
		h.watchTill = 0
		h.dwrs = 1
		p.stats.inc(cPeerReopens)
		p.log.Info("peer is reopening the connection: holding traffic until it has three DWAs")
		h.set(holdReopen, now+p.e.peerReopenLimit())
		p.e.failover(p) // the peer drops them: resent elsewhere, or parked until it is over
	default:
		return
	}
	if h.dwrs >= peerReopenDWRs {
		p.log.Info("peer's REOPEN is over: routing to it after the settle", "dwrs", h.dwrs)
		h.set(holdSettle, now+int64(peerSettle))
	}
}

// peerReopenLimit bounds the peer's REOPEN: three of our Tw. OTP's lasts two of its own Tw
// after its first DWR, so this covers a peer whose Tw is up to half as long again as ours; and
// a DWR within the window that was not a REOPEN's cannot keep the connection out for longer.
func (e *Engine) peerReopenLimit() int64 { return 3 * int64(e.cfg.DWRInterval) }

// set moves the hold to st until at, holding the connection.
func (h *peerHold) set(st holdState, at int64) {
	p := h.p
	if h.state == holdNone {
		p.e.routes.held.Add(1)
	}
	h.state = st
	p.stats.setHold(st)
	p.e.setUsable(p, false)
	p.e.wheel.Add(&h.timer, at, h)
	h.announce()
}

// announce tells the test hook of a change.
func (h *peerHold) announce() {
	if f := h.p.e.cfg.onHold; f != nil {
		f(&ConnStats{DRA: h.p.dra.name, Index: h.p.index, Settling: h.state == holdSettle, PeerReopening: h.state == holdReopen})
	}
}

// Expire ends the settle, or gives up waiting for the peer's REOPEN to end.
func (h *peerHold) Expire(int64) {
	p := h.p
	if h.state == holdReopen {
		p.log.Warn("peer's REOPEN did not end in time: routing to it again", "dwrs", h.dwrs)
	}
	h.release()
	if p.m.State().Usable() {
		p.e.setUsable(p, true)
	}
}

// held reports whether the connection must not be routed to whatever its state.
func (h *peerHold) held() bool { return h.state != holdNone }

// release ends the hold without routing to the connection (its transport is gone, or Expire
// routes to it). The parked requests are routed again: to the connections still usable or
// held, or refused (ErrNoConnection) when there are none.
func (h *peerHold) release() {
	if h.state == holdNone {
		return
	}
	e := h.p.e
	h.state = holdNone
	h.p.stats.setHold(holdNone)
	e.wheel.Stop(&h.timer)
	e.routes.held.Add(-1)
	if len(e.parked.q) > 0 {
		e.routeParked()
	}
	h.announce()
}

// reset forgets the hold and the watch: the transport is gone.
func (h *peerHold) reset() {
	h.release()
	h.watchTill, h.dwrs = 0, 0
}

var _ wheel.Expirer = (*peerHold)(nil)
