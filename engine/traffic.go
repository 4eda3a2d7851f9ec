package engine

import (
	"bytes"
	"fmt"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/panjf2000/gnet/v2"
)

// traffic consumes everything gnet has read for p and handles every complete message. gnet's
// own inbound ring is never used: all bytes are taken (zero-copy while the ring is empty, which
// it always is) and cut into messages by p.frames.
func (p *draConn) traffic(c gnet.Conn, now int64) gnet.Action {
	data, _ := c.Next(-1)
	if len(data) == 0 && p.tls == nil {
		return gnet.None
	}
	p.stats.add(cBytesIn, uint64(len(data)))
	if p.closing {
		return gnet.None
	}
	p.rearmed, p.now = false, now
	if p.tls != nil {
		p.tlsTraffic(c, data) // a wake-up of the handshake has no data
	} else if err := p.frames.Feed(data, p); err != nil {
		p.framingError(err)
	}
	p.frag.watch(now)
	return gnet.None
}

// Frame handles one message cut by the reassembler; false stops the cutting (the connection is
// closing).
func (p *draConn) Frame(msg []byte) bool {
	p.message(msg, p.now)
	return !p.closing && p.conn != nil
}

// framingError resets a stream that broke the framing rules: it cannot be resynchronised
// (RFC 6733 §2.1).
func (p *draConn) framingError(err error) {
	p.frames.Reset()
	p.e.wheel.Stop(&p.frag.timer)
	p.stats.inc(cFramingResets)
	p.stats.setError(&Error{Err: ErrProtocol, DRA: p.dra.name, Conn: p.index, Cause: err})
	if ok, n := p.allow(recFraming, p.e.now()); ok { // now: also called from the fragment timer
		p.log.Warn("framing error, resetting", "err", err, "suppressed", n)
	}
	p.closeConn(true)
}

// message handles one complete message: a dispatch on the command, one handler per base
// command, and the rest (an answer we cannot match, a request we do not serve) in other.
func (p *draConn) message(msg []byte, now int64) {
	p.stats.inc(cMsgsIn)
	var h framing.Header
	if _, err := framing.ReadMessage(msg, &h); err != nil {
		return // FrameLen validated the same fields
	}
	switch {
	case h.Code == s13.CommandCode && !h.IsRequest():
		p.eca(msg, &h, now)
	case h.Code == framing.CmdCapabilitiesExchange && !h.IsRequest():
		p.capabilitiesAnswer(msg, &h, now)
	case h.Code == framing.CmdDeviceWatchdog:
		p.watchdog(msg, &h, now)
	case h.Code == framing.CmdDisconnectPeer:
		p.disconnectPeer(msg, &h, now)
	default:
		p.other(msg, &h)
	}
}

// eca handles an ECA (or a DRA's answer-message in its place).
func (p *draConn) eca(msg []byte, h *framing.Header, now int64) {
	// Messages of one read arrived together: after the first has re-armed the watchdog of a
	// usable connection (Open and DWRSent map EvMessage to themselves), the others would only
	// re-arm it again to the same instant.
	if p.rearmed && p.m.State().Usable() {
		p.answer(msg, h, now)
		return
	}
	if p.step(fsm.Event{Kind: fsm.EvMessage}, nil).Do.Has(fsm.ActProcess) {
		p.rearmed = true
		p.answer(msg, h, now)
	}
}

// capabilitiesAnswer handles a CEA: ours when it answers our CER.
func (p *draConn) capabilitiesAnswer(msg []byte, h *framing.Header, now int64) {
	if p.sent.cer.answeredBy(h) {
		p.cea(msg, now)
	} else {
		p.unknownBase(h, now)
	}
}

// watchdog handles a DWR or a DWA (RFC 3539 §3.4).
func (p *draConn) watchdog(msg []byte, h *framing.Header, now int64) {
	ev := fsm.Event{Kind: fsm.EvDWA}
	var b framing.Base
	if h.IsRequest() {
		ev.Kind = fsm.EvDWR
		p.stats.inc(cDWRReceived)
		b, _ = framing.ParseDWR(msg) // a sloppy DWR still proves the peer alive
	} else {
		if !p.sent.dwr.answeredBy(h) {
			p.unknownBase(h, now)
			return
		}
		p.stats.inc(cDWAReceived)
		b, _ = framing.ParseDWA(msg)
		if b.HasResultCode && b.ResultCode != framing.Success {
			if ok, n := p.allow(recDWAError, now); ok {
				p.log.Warn("DWA with an error", "result", b.ResultCode.String(), "suppressed", n)
			}
		}
	}
	ev.OriginStateID, ev.HasOriginStateID = b.OriginStateID, b.HasOriginStateID
	p.step(ev, h)
	if ev.Kind == fsm.EvDWR {
		p.hold.dwr(now)
	}
}

// disconnectPeer handles a DPR or a DPA (RFC 6733 §5.4).
func (p *draConn) disconnectPeer(msg []byte, h *framing.Header, now int64) {
	switch {
	case h.IsRequest():
		b, _ := framing.ParseDPR(msg)
		cause := framing.Rebooting
		if b.HasDisconnectCause {
			cause = b.DisconnectCause
		}
		if ok, n := p.allow(recDPR, now); ok {
			p.log.Info("DPR received", "cause", cause.String(), "suppressed", n)
		}
		p.step(fsm.Event{Kind: fsm.EvDPR, Cause: cause}, h)
	case p.sent.dpr.answeredBy(h):
		p.step(fsm.Event{Kind: fsm.EvDPA}, nil)
	default:
		p.unknownBase(h, now)
	}
}

// other handles any other message: an answer we cannot match, or a request we do not serve
// (a second CER among them).
func (p *draConn) other(msg []byte, h *framing.Header) {
	if !p.step(fsm.Event{Kind: fsm.EvMessage}, nil).Do.Has(fsm.ActProcess) {
		return
	}
	if !h.IsRequest() {
		p.unknownAnswer(h, p.now)
		return
	}
	if h.Code == framing.CmdCapabilitiesExchange { // the exchange stands (see link.SecondCER)
		p.reply(link.SecondCER(p.buf(), *h, p.capabilities()))
		return
	}
	// RFC 6733 §6.1.4 / §7.1.3: a request for a command we do not support gets an E-bit 3001.
	p.reply(link.Unsupported(p.buf(), msg, h, &p.id, isS13))
}

// isS13 reports whether app is the application this client advertises in its CER.
func isS13(app uint32) bool { return app == framing.AppS13 }

// answer completes the request an ECA (or a DRA's answer-message in its place) belongs to.
func (p *draConn) answer(msg []byte, h *framing.Header, now int64) {
	r := p.slots.take(h.HopByHop, h.EndToEnd)
	if r == nil { // late (after a timeout or failover), duplicate, or bogus
		p.unknownAnswer(h, now)
		return
	}
	r.peer = nil
	p.hold.answered()
	p.stats.inFlight(-1)
	p.stats.rtt(now - r.sentAt)
	a := &p.e.answer // one decoded answer at a time: the loop's scratch
	if err := s13.ParseECAInto(msg, a); err != nil {
		p.stats.inc(cMalformed)
		if ok, n := p.allow(recMalformed, now); ok {
			p.log.Warn("malformed answer", "err", err, "hop_by_hop", h.HopByHop, "suppressed", n)
		}
		p.e.complete(r, nil, p.e.reqErr(ErrMalformedAnswer, p, err))
		return
	}
	p.stats.countAnswer(a)
	if a.IsError() { // Info: a DRA's 3002/3004 is the request's outcome, not the connection's fault
		if ok, n := p.allow(recErrorAnswer, now); ok {
			p.log.Info("answer with the E bit", "result", a.ResultCode.String(), "error_message", string(a.ErrorMessage),
				"error_reporting_host", string(a.ErrorReportingHost), "suppressed", n)
		}
	}
	if a.IsError() && (a.ResultCode == framing.UnableToDeliver || a.ResultCode == framing.TooBusy) &&
		p.e.retryElsewhere(r, p, a, now) {
		return
	}
	p.e.complete(r, a, nil)
}

// unknownAnswer counts an answer that matches no request in flight: late (after a timeout or
// a failover), duplicate, or bogus. The warning is rate-limited: a peer can send these in a loop.
func (p *draConn) unknownAnswer(h *framing.Header, now int64) {
	p.stats.inc(cUnknownAnswers)
	if ok, n := p.allow(recUnknownAnswer, now); ok {
		p.log.Warn("answer matches no request", "command", framing.CommandName(h.Code, false),
			"hop_by_hop", h.HopByHop, "end_to_end", h.EndToEnd, "suppressed", n)
	}
}

// cea handles the Capabilities-Exchange-Answer: 2001, no E bit, S13 or Relay advertised, and the
// expected Origin-Host when one is configured (freeDiameter p_ce.c rejects a mismatch too).
func (p *draConn) cea(msg []byte, now int64) {
	a, err := framing.ParseCEA(msg)
	if err == nil {
		switch {
		case a.Error || a.ResultCode != framing.Success:
			err = fmt.Errorf("Result-Code %d %s", uint32(a.ResultCode), a.ResultCode)
			if a.ErrorMessage != "" {
				err = fmt.Errorf("%w (%q)", err, a.ErrorMessage)
			}
		case !a.Supports(framing.AppS13):
			err = fmt.Errorf("no common application: peer advertises neither S13 (%d) nor Relay", framing.AppS13)
		case p.dra.cfg.PeerOriginHost != "" && !bytes.EqualFold([]byte(a.OriginHost), []byte(p.dra.cfg.PeerOriginHost)):
			err = fmt.Errorf("peer Origin-Host %q, expected %q", a.OriginHost, p.dra.cfg.PeerOriginHost)
		case p.dra.cfg.PeerOriginRealm != "" && !bytes.EqualFold([]byte(a.OriginRealm), []byte(p.dra.cfg.PeerOriginRealm)):
			err = fmt.Errorf("peer Origin-Realm %q, expected %q", a.OriginRealm, p.dra.cfg.PeerOriginRealm)
		}
	}
	if a.OriginHost != "" || a.OriginRealm != "" { // who answered, accepted or not
		p.setLogPeer(a.OriginHost, a.OriginRealm)
	}
	if err != nil {
		p.stats.inc(cCEARejects)
		p.stats.setError(&Error{Err: ErrCEARejected, DRA: p.dra.name, Conn: p.index, Cause: err})
		p.log.Warn("CEA rejected", "err", err)
		p.step(fsm.Event{Kind: fsm.EvCEAFailed}, nil)
		return
	}
	p.stats.setPeer(a.OriginHost, a.OriginRealm, p.tlsInfo())
	p.log.Info("CEA accepted", "product", a.ProductName, "apps", link.AppList(&a.Capabilities))
	p.hold.begin(now) // before the step can mark it usable
	p.step(fsm.Event{Kind: fsm.EvCEAOK, OriginStateID: a.OriginStateID, HasOriginStateID: a.HasOriginStateID}, nil)
}

// fragWatch is the timer of a message left incomplete at the end of a read. A peer that sends
// part of a message and stalls would otherwise hold the stream (and its partial buffer) until the
// watchdog noticed, several Tw later (OTP diameter_tcp has the same fragment_timer).
type fragWatch struct {
	p     *draConn
	timer wheel.Timer
	seen  uint64 // frames.cut when the timer was armed
}

// watch arms or stops the timer after a read: armed while a message is incomplete, and re-armed
// when the read completed messages, so that a busy stream whose reads keep ending mid-message
// (it happens at every read boundary under load) is not mistaken for a stalled one.
func (f *fragWatch) watch(now int64) {
	w, cut := f.p.e.wheel, f.p.frames.Cut()
	switch {
	case f.p.frames.Pending() == 0:
		w.Stop(&f.timer)
	case !f.timer.Armed() || cut != f.seen:
		f.seen = cut
		w.Add(&f.timer, now+int64(f.p.e.cfg.FragmentTimeout), f)
	}
}

// Expire resets the stream: the message did not complete in time.
func (f *fragWatch) Expire(int64) {
	if f.p.conn != nil && !f.p.closing && f.p.frames.Pending() > 0 {
		f.p.framingError(fmt.Errorf("a message stayed incomplete for %v (%d bytes of it received)",
			f.p.e.cfg.FragmentTimeout, f.p.frames.Pending()))
	}
}
