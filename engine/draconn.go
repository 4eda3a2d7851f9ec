package engine

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/hsdfat8/diam-gw/internal/tlslink"
	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/panjf2000/gnet/v2"
)

// draConn is one connection slot of a DRA: its state machine, the current transport, its pending
// table and its statistics (published as a ConnStats). The slot outlives reconnects. Loop-owned
// except stats.
type draConn struct {
	e     *Engine
	dra   *dra
	index int // 1-based within the DRA
	id    framing.Identity
	tmpl  *s13.ECRTemplate // this identity's ECRs to the default destination, pre-encoded
	m     *fsm.Machine

	conn       gnet.Conn
	attempt    uint64             // dial attempt number; stale dial results carry an older one
	dialCancel context.CancelFunc // cancels the dial in flight
	closing    bool               // Close issued on conn: ignore what else it says
	out        link.Batch         // queued in e.touched while it holds bytes
	flushes    uint32             // batches handed to gnet's Write; a request encoded since the last one is still in out
	batchMsgs  uint64             // messages in out, counted once written
	batchReqs  uint64             // ECRs among them
	batchRetx  uint64             // ECRs among those with the T flag
	frames     link.Reassembler
	tls        *tlslink.Session // the transport's TLS; nil for TCP (tls.go)
	now        int64            // loop clock of the read being handled
	rearmed    bool             // the watchdog was re-armed by a message of the current read

	slots    slotTable
	sent     sentReqs // our base requests awaiting their answers
	usableAt int      // index in the group's usable list, -1 when not usable

	timer    wheel.Timer // the FSM's single deadline, lazily re-armed
	frag     fragWatch   // resets a stream whose message stays incomplete (slow loris)
	deadline int64       // when the FSM deadline expires, 0 when none
	gen      uint32      // the FSM generation of that deadline

	hold    peerHold // not routed to after a CEA and during the peer's REOPEN (peerreopen.go)
	stats   connStats
	warns   peerLogs     // limits the log records the peer's messages cause (logs.go)
	log     *slog.Logger // this connection's records: dra, conn, and the peer once known
	baseLog *slog.Logger // dra and conn only
}

// step feeds ev to the state machine and carries out its output; req is the header of the
// received request to answer (DWR, DPR), when there is one.
func (p *draConn) step(ev fsm.Event, req *framing.Header) fsm.Output {
	out := p.m.Step(ev)
	p.apply(ev, out, req)
	return out
}

// apply carries out one step's output: the counters, the actions, the deadline, then the
// announcement of the new state.
func (p *draConn) apply(ev fsm.Event, out fsm.Output, req *framing.Header) {
	e := p.e
	if out.Rebooted {
		p.stats.inc(cPeerReboots)
	}
	if out.To != out.From {
		p.stats.setState(out.To)
	}
	// One bit at a time, lowest first: the order fsm.Action prescribes (stop routing before
	// failing over, answer before closing, close before redialling) is the bits' order.
	for do := out.Do; do != 0; do &= do - 1 {
		p.act(do&-do, req)
	}
	switch {
	case out.Arm:
		p.arm(e.now()+int64(out.After), out.Gen)
	case out.Cancel:
		p.deadline = 0
		e.wheel.Stop(&p.timer)
	}
	if out.To != out.From {
		// Announced after the actions ran, so an observer sees the connection usable (or not)
		// by the time it hears of the state.
		p.logState(ev, out.From, out.To)
		if out.To == fsm.Reconnecting && out.Arm {
			p.log.Info("reconnect backoff", "delay", out.After, "attempt", p.m.Attempts())
		}
		if f := e.cfg.OnStateChange; f != nil {
			e.notify(f, StateChange{DRA: p.dra.name, Conn: p.index, From: out.From, To: out.To, Event: ev.Kind, Time: timeNow()})
		}
	}
	if e.life.stopping && out.To == fsm.Disconnected && out.From != fsm.Disconnected {
		e.peerStopped()
	}
}

// act carries out one action; req is as for step.
func (p *draConn) act(a fsm.Action, req *framing.Header) {
	e := p.e
	switch a {
	case fsm.ActMarkUnusable:
		e.setUsable(p, false)
	case fsm.ActFailover:
		e.failover(p)
	case fsm.ActSendDWA:
		if req != nil {
			p.reply(link.DWA(p.buf(), *req, &p.id))
		}
	case fsm.ActSendDPA:
		if req != nil {
			p.reply(link.DPA(p.buf(), *req, p.dpaResult(), &p.id))
		}
	case fsm.ActSendCER:
		h, x := p.issue(&p.sent.cer)
		p.write(framing.AppendCER(p.buf(), h, x, p.capabilities()))
	case fsm.ActSendDWR:
		p.stats.inc(cDWRSent)
		h, x := p.issue(&p.sent.dwr)
		p.write(framing.AppendDWR(p.buf(), h, x, &p.id))
	case fsm.ActSendDPR:
		h, x := p.issue(&p.sent.dpr)
		p.write(framing.AppendDPR(p.buf(), h, x, &p.id, framing.Rebooting))
		p.log.Info("DPR sent", "cause", framing.Rebooting.String())
	case fsm.ActClose:
		p.closeConn(false)
	case fsm.ActCancelDial:
		if p.dialCancel != nil {
			p.dialCancel()
			p.dialCancel = nil
		}
	case fsm.ActDial:
		p.dial()
	case fsm.ActMarkUsable:
		e.setUsable(p, true)
	case fsm.ActProcess: // the caller hands the message on (message)
	case fsm.ActSendCEA: // the responder's: an initiator's table never sets it
	}
}

// dpaResult is the Result-Code of our DPA: RFC 6733 §5.4 says it "SHOULD contain an error if
// messages have recently been forwarded, and are likely in flight". Requests of ours waiting for
// their answers on this connection are such messages: 5012 DIAMETER_UNABLE_TO_COMPLY, the RFC's
// code for a request refused for no more specific reason, tells the peer the link is not idle
// (§5.4 names no code; freeDiameter p_dp.c and OTP diameter_peer_fsm always answer 2001). The
// answers are still taken in Closing until the peer closes.
func (p *draConn) dpaResult() framing.ResultCode {
	if int64(p.stats.c[cInFlight]) > 0 {
		return framing.UnableToComply
	}
	return framing.Success
}

// arm sets the FSM deadline. Traffic re-arms the watchdog on every message, so the wheel entry
// is only moved when the deadline comes earlier; a later one is picked up when the entry fires.
func (p *draConn) arm(at int64, gen uint32) {
	p.deadline, p.gen = at, gen
	if !p.timer.Armed() || p.timer.At() > at {
		p.e.wheel.Add(&p.timer, at, p)
	}
}

// Expire is the FSM deadline's wheel callback.
func (p *draConn) Expire(now int64) {
	switch {
	case p.deadline == 0:
	case now < p.deadline:
		p.e.wheel.Add(&p.timer, p.deadline, p)
	default:
		p.deadline = 0
		p.handshakeTimedOut()
		p.step(fsm.Event{Kind: fsm.EvTimeout, Gen: p.gen}, nil)
	}
}

// buf returns the batch buffer for appending; write stores the extended slice back.
func (p *draConn) buf() []byte { return p.out.B }

func (p *draConn) write(b []byte) {
	p.out.B = b
	p.batchMsgs++
	p.e.touched.Add(p)
}

// OutBatch is the batch e.touched flushes.
func (p *draConn) OutBatch() *link.Batch { return &p.out }

// Flush writes the round's batch with one Write, counted as sent before it: a Write that fails
// runs OnClose inside it (its requests then fail over in the next round of service), and what
// was handed to it may have gone out in part. A connection gone or closing drops its batch.
func (p *draConn) Flush(b []byte) {
	if len(b) == 0 {
		return
	}
	c := p.conn
	if c == nil || p.closing {
		p.dropBatch()
		return
	}
	p.flushes++
	s := &p.stats
	s.add(cMsgsOut, p.batchMsgs)
	s.add(cRequests, p.batchReqs)
	s.add(cRetransmits, p.batchRetx)
	p.batchMsgs, p.batchReqs, p.batchRetx = 0, 0, 0
	if p.tls != nil {
		p.sealFlush(c, b)
		return
	}
	s.add(cBytesOut, uint64(len(b)))
	_, _ = c.Write(b)
}

// reply is write for an answer to one of the peer's own requests (DWA, DPA, E-bit 3001). All a
// connection writes shares one budget, MaxOutboundBytes unsent: ECRs are routed around a
// connection above it, and an answer that would go past it is dropped and the connection reset.
// A peer that sends requests and reads nothing would otherwise grow our buffers without bound,
// and its requests keep the watchdog from ever noticing.
func (p *draConn) reply(b []byte) {
	if p.closing {
		return // nothing more goes out on this connection: b stays beyond out's length
	}
	old := len(p.out.B)
	p.out.B = b
	if n := p.unsent(); n > p.e.cfg.MaxOutboundBytes {
		p.out.B = b[:old]
		p.stats.inc(cSlowPeerCloses)
		p.stats.setError(&Error{Err: ErrSlowPeer, DRA: p.dra.name, Conn: p.index,
			Cause: fmt.Errorf("answering would leave %d bytes unsent, more than MaxOutboundBytes %d", n, p.e.cfg.MaxOutboundBytes)})
		p.log.Warn("peer does not read its answers, resetting", "unsent", n)
		p.closeConn(true) // what is queued will never be read: an RST drops it, a FIN would wait behind it
		return
	}
	p.write(b)
}

// unsent is the connection's outbound backlog: our batch plus what gnet could not write yet.
func (p *draConn) unsent() int {
	n := len(p.out.B)
	if p.conn != nil {
		n += p.conn.OutboundBuffered()
	}
	return n
}

// dropBatch discards the batch: its connection is gone, or going.
func (p *draConn) dropBatch() {
	p.out.Drop()
	p.batchMsgs, p.batchReqs, p.batchRetx = 0, 0, 0
}

// capabilities is our CER for this connection: S13 advertised as a Vendor-Specific-Application-Id
// with Supported-Vendor-Id 10415 (the 3GPP convention), Host-IP-Address from the configuration or
// the socket.
func (p *draConn) capabilities() *framing.Capabilities {
	e := p.e
	ips := e.cfg.HostIPAddresses
	if len(ips) == 0 && p.conn != nil {
		if a, ok := p.conn.LocalAddr().(*net.TCPAddr); ok {
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				ips = []netip.Addr{ip.Unmap()}
			}
		}
	}
	return &framing.Capabilities{
		OriginHost:         p.id.OriginHost,
		OriginRealm:        p.id.OriginRealm,
		HostIPAddresses:    ips,
		VendorID:           e.cfg.VendorID,
		ProductName:        e.cfg.ProductName,
		OriginStateID:      p.id.OriginStateID,
		SupportedVendorIDs: []uint32{framing.Vendor3GPP},
		VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}},
		FirmwareRevision:   e.cfg.FirmwareRevision,
	}
}

// closeConn closes the transport asynchronously; OnClose then feeds EvTransportLost. reset sends
// an RST instead of a FIN, for a stream that cannot be trusted any more (RFC 6733 §2.1). The
// connection takes no requests from here on: gnet's Close runs later, and bytes routed to it
// meanwhile would be dropped by flush.
func (p *draConn) closeConn(reset bool) {
	if p.conn == nil || p.closing {
		return
	}
	p.closing = true
	p.e.setUsable(p, false)
	if reset {
		link.SetRST(p.conn)
	}
	_ = p.conn.Close()
}

// opened runs in OnOpen for a dialled socket; it reports false when the socket is stale.
func (p *draConn) opened(c gnet.Conn, attempt uint64) bool {
	e := p.e
	if e.life.stopping || attempt != p.attempt || p.m.State() != fsm.Connecting {
		return false
	}
	p.dialCancel = nil
	p.conn, p.closing = c, false
	p.sent = sentReqs{} // nothing sent on an earlier transport is answered on this one
	p.hold.reset()
	p.frames.Reset()
	p.dropBatch()
	p.stats.connected(c.LocalAddr().String(), c.RemoteAddr().String())
	p.stats.inc(cOpens)
	if p.stats.c[cOpens] > 1 {
		p.stats.inc(cReconnects)
	}
	p.startTLS(c)
	p.step(fsm.Event{Kind: fsm.EvConnected}, nil) // over TLS the CER waits in the session for the handshake
	return true
}

// closed runs in OnClose for the current socket.
func (p *draConn) closed(err error) {
	if herr := p.endTLS(); herr != nil {
		err = herr // why the peer closed: it heard our handshake's alert
	}
	if err != nil && !p.closing { // when we closed it, the reason is recorded already
		p.stats.setError(err)
	}
	p.conn = nil
	p.closing = false
	p.hold.reset()
	p.frames.Reset()
	p.e.wheel.Stop(&p.frag.timer)
	p.dropBatch()
	p.step(fsm.Event{Kind: fsm.EvTransportLost}, nil)
}

// releaseBuffers lets the GC have the batch buffer once the slot will not connect again.
func (p *draConn) releaseBuffers() { p.out.B = nil }

var _ wheel.Expirer = (*draConn)(nil)
