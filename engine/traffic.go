package engine

import (
	"bytes"
	"fmt"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/panjf2000/gnet/v2"
)

// traffic consumes everything gnet has read for p and handles every complete message. gnet's
// own inbound ring is never used: all bytes are taken (zero-copy while the ring is empty, which
// it always is) and cut into messages by p.frames.
func (p *peer) traffic(c gnet.Conn, now int64) gnet.Action {
	data, _ := c.Next(-1)
	if len(data) == 0 {
		return gnet.None
	}
	p.stats.add(cBytesIn, uint64(len(data)))
	if p.closing {
		return gnet.None
	}
	p.rearmed, p.now = false, now
	if err := p.frames.Feed(data, p); err != nil {
		p.framingError(err)
	}
	p.frag.watch(now)
	return gnet.None
}

// Frame handles one message cut by the reassembler; false stops the cutting (the connection is
// closing).
func (p *peer) Frame(msg []byte) bool {
	p.message(msg, p.now)
	return !p.closing && p.conn != nil
}

// framingError resets a stream that broke the framing rules: it cannot be resynchronised
// (RFC 6733 §2.1).
func (p *peer) framingError(err error) {
	p.frames.Reset()
	p.e.wheel.Stop(&p.frag.timer)
	p.stats.inc(cFramingResets)
	p.stats.setError(&Error{Err: ErrProtocol, DRA: p.dra.name, Conn: p.index, Cause: err})
	p.e.log.Warn("framing error, resetting", "dra", p.dra.name, "conn", p.index, "err", err)
	p.closeConn(true)
}

// message handles one complete message.
func (p *peer) message(msg []byte, now int64) {
	p.stats.inc(cMsgsIn)
	var h framing.Header
	if _, err := framing.ReadMessage(msg, &h); err != nil {
		return // FrameLen validated the same fields
	}
	switch h.Code {
	case s13.CommandCode:
		if !h.IsRequest() {
			// Messages of one read arrived together: after the first has re-armed the watchdog
			// of a usable connection (Open and DWRSent map EvMessage to themselves), the others
			// would only re-arm it again to the same instant.
			if p.rearmed && p.m.State().Usable() {
				p.answer(msg, &h, now)
				return
			}
			if p.step(fsm.Event{Kind: fsm.EvMessage}, nil).Do.Has(fsm.ActProcess) {
				p.rearmed = true
				p.answer(msg, &h, now)
			}
			return
		}
	case framing.CmdCapabilitiesExchange:
		if !h.IsRequest() {
			if p.sent.cer.answeredBy(&h) {
				p.cea(msg)
			} else {
				p.unknownBase(&h, now)
			}
			return
		}
	case framing.CmdDeviceWatchdog:
		ev := fsm.Event{Kind: fsm.EvDWA}
		var b framing.Base
		if h.IsRequest() {
			ev.Kind = fsm.EvDWR
			p.stats.inc(cDWRReceived)
			b, _ = framing.ParseDWR(msg) // a sloppy DWR still proves the peer alive
		} else {
			if !p.sent.dwr.answeredBy(&h) {
				p.unknownBase(&h, now)
				return
			}
			p.stats.inc(cDWAReceived)
			b, _ = framing.ParseDWA(msg)
			if b.HasResultCode && b.ResultCode != framing.Success {
				if ok, n := p.warns.Allow(now); ok {
					p.e.log.Warn("DWA with an error", "dra", p.dra.name, "conn", p.index, "result", b.ResultCode.String(),
						"suppressed", n)
				}
			}
		}
		ev.OriginStateID, ev.HasOriginStateID = b.OriginStateID, b.HasOriginStateID
		p.step(ev, &h)
		return
	case framing.CmdDisconnectPeer:
		if h.IsRequest() {
			b, _ := framing.ParseDPR(msg)
			cause := framing.Rebooting
			if b.HasDisconnectCause {
				cause = b.DisconnectCause
			}
			if ok, n := p.warns.Allow(now); ok {
				p.e.log.Info("peer sent DPR", "dra", p.dra.name, "conn", p.index, "cause", cause.String(), "suppressed", n)
			}
			p.step(fsm.Event{Kind: fsm.EvDPR, Cause: cause}, &h)
		} else if p.sent.dpr.answeredBy(&h) {
			p.step(fsm.Event{Kind: fsm.EvDPA}, nil)
		} else {
			p.unknownBase(&h, now)
		}
		return
	}
	// Anything else: an answer we cannot match, or a request we do not serve.
	if !p.step(fsm.Event{Kind: fsm.EvMessage}, nil).Do.Has(fsm.ActProcess) {
		return
	}
	if !h.IsRequest() {
		p.stats.inc(cUnknownAnswers)
		return
	}
	if h.Code == framing.CmdCapabilitiesExchange { // the exchange stands (see link.SecondCER)
		p.reply(link.SecondCER(p.buf(), h, p.capabilities()))
		return
	}
	// RFC 6733 §6.1.4 / §7.1.3: a request for a command we do not support gets an E-bit 3001.
	p.reply(link.Unsupported(p.buf(), msg, &h, &p.id))
}

// answer completes the request an ECA (or a DRA's answer-message in its place) belongs to.
func (p *peer) answer(msg []byte, h *framing.Header, now int64) {
	r := p.slots.take(h.HopByHop, h.EndToEnd)
	if r == nil {
		p.stats.inc(cUnknownAnswers) // late (after a timeout or failover), duplicate, or bogus
		return
	}
	r.peer = nil
	p.stats.inFlight(-1)
	p.stats.rtt(now - r.sentAt)
	a := &p.e.answer // one decoded answer at a time: the loop's scratch
	if err := s13.ParseECAInto(msg, a); err != nil {
		p.stats.inc(cMalformed)
		p.e.complete(r, nil, p.e.reqErr(ErrMalformedAnswer, p, err))
		return
	}
	p.stats.countAnswer(a)
	if a.IsError() && (a.ResultCode == framing.UnableToDeliver || a.ResultCode == framing.TooBusy) &&
		p.e.retryElsewhere(r, p, now) {
		return
	}
	p.e.complete(r, a, nil)
}

// cea handles the Capabilities-Exchange-Answer: 2001, no E bit, S13 or Relay advertised, and the
// expected Origin-Host when one is configured (freeDiameter p_ce.c rejects a mismatch too).
func (p *peer) cea(msg []byte) {
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
		}
	}
	if err != nil {
		p.stats.inc(cCEARejects)
		p.stats.setError(&Error{Err: ErrCEARejected, DRA: p.dra.name, Conn: p.index, Cause: err})
		p.e.log.Warn("CEA rejected", "dra", p.dra.name, "conn", p.index, "err", err)
		p.step(fsm.Event{Kind: fsm.EvCEAFailed}, nil)
		return
	}
	p.stats.setPeer(a.OriginHost, a.OriginRealm)
	p.step(fsm.Event{Kind: fsm.EvCEAOK, OriginStateID: a.OriginStateID, HasOriginStateID: a.HasOriginStateID}, nil)
}
