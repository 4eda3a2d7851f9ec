package server

import (
	"log/slog"
	"net/netip"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/hsdfat8/diam-gw/internal/tlslink"
	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/panjf2000/gnet/v2"
)

// This file is one client connection: the stream splitter, the dispatch of each message to the
// state machine (CER in cer.go, requests in handler.go; the machine's actions and the deadline in
// watchdog.go), and the release of what it holds when it closes.

// closeMode is a close requested during an event, carried out by the flush at its end.
type closeMode uint8

const (
	keepOpen closeMode = iota
	closeFIN
	closeRST
)

// conn is one client connection. Loop-owned.
type conn struct {
	l           *loop
	gc          gnet.Conn // nil once closed
	idx         int       // position in l.conns
	m           *fsm.Responder
	want        closeMode
	closeIssued bool             // the close was handed to gnet: no more output
	out         link.Batch       // answers batched for the flush, queued in l.touched
	frames      link.Reassembler // cuts the stream; holds a message cut by the end of a read
	tls         *tlslink.Session // the connection's TLS; nil for TCP (tls.go)
	tlsCounted  bool             // its handshake failure is counted
	now         int64            // loop clock of the read being handled
	remote      string
	ip          netip.Addr // our address on this socket, for Host-IP-Address
	peerHost    string     // Origin-Host from the CER
	peerRealm   string     // Origin-Realm from the CER, once accepted
	registered  bool       // in the RejectDuplicates registry

	// One deadline whose meaning follows the machine's state: CER wait, watchdog, DPR grace, DPA
	// wait.
	timer   wheel.Lazy
	gen     uint32 // its generation, for EvTimeout
	rearmed bool   // a message of the current read has re-armed the watchdog of an OKAY connection
	hbh     uint32 // Hop-by-Hop of our own requests (DWR, DPR)

	dq       delayed // sentinel of the delayed answers' list
	nDelayed int
}

func newConn(l *loop, gc gnet.Conn, now int64) *conn {
	c := &conn{l: l, gc: gc, idx: len(l.conns), m: fsm.NewResponder(l.s.fsm, l.rng.Uint64()), hbh: l.rng.Uint32(),
		frames: link.Reassembler{Max: l.s.cfg.MaxMessageSize}}
	c.dq.prev, c.dq.next = &c.dq, &c.dq
	if a := gc.RemoteAddr(); a != nil {
		c.remote = a.String()
	}
	l.conns = append(l.conns, c)
	l.active.Add(1)
	l.ctr[cAccepted]++
	c.startTLS()
	c.step(fsm.Event{Kind: fsm.EvStart}, nil, now) // the CER wait
	c.record(recConn, now, slog.LevelInfo, "client connected")
	return c
}

func (c *conn) close(mode closeMode) {
	if mode > c.want {
		c.want = mode
	}
	c.l.touch(c)
}

func (c *conn) nextHopByHop() uint32 {
	c.hbh++
	return c.hbh
}

// traffic handles the bytes of one read: c.frames cuts them in place, copying only a message
// cut by the end of the read, so a pipelining client costs no copy but at the frame that
// straddles two reads.
func (c *conn) traffic(data []byte, now int64) {
	if c.want != keepOpen {
		return // closing: input is ignored
	}
	c.rearmed = false
	c.now = now
	if c.tls != nil {
		c.tlsTraffic(data) // a wake-up of the handshake has no data
	} else if err := c.frames.Feed(data, c); err != nil {
		c.framingError(err)
	}
}

// Frame handles one message cut by c.frames; false stops the cutting: the connection is closing.
func (c *conn) Frame(msg []byte) bool {
	c.message(msg, c.now)
	return c.want == keepOpen
}

// OutBatch is the batch l.touched flushes.
func (c *conn) OutBatch() *link.Batch { return &c.out }

// Flush writes the event's answers with one Write, closes a client that does not read them
// (more than MaxOutboundBytes unsent), and carries out a requested close; an RST one drops the
// batch. A Write that fails closes the connection inside it (gnet runs OnClose there), which only
// clears c.gc. The connection whose OnTraffic is running (l.cur) is closed by returning
// gnet.Close (immediate) rather than by a queued Close.
func (c *conn) Flush(b []byte) {
	l := c.l
	gc := c.gc
	if gc == nil {
		return // closed earlier in this event
	}
	if len(b) > 0 && !c.closeIssued && c.want != closeRST {
		if c.tls != nil {
			if b = c.seal(b); len(b) == 0 || c.gc == nil {
				return
			}
		}
		l.ctr[cWrites]++
		l.ctr[cBytesOut] += uint64(len(b))
		if _, err := gc.Write(b); err != nil || c.gc == nil {
			return
		}
		if n := gc.OutboundBuffered(); n > l.s.cfg.MaxOutboundBytes && c.want == keepOpen {
			l.ctr[cSlowConsumerCloses]++
			c.record(recSlow, c.now, slog.LevelWarn, "client does not read its answers, closing", "unsent_bytes", n)
			c.want = closeFIN
		}
	}
	if c.want != keepOpen && !c.closeIssued {
		c.closeIssued = true
		if c.want == closeRST {
			link.SetRST(gc) // the stream cannot be trusted (RFC 6733 §2.1)
		}
		if c == l.cur {
			l.act = gnet.Close
		} else {
			_ = gc.Close()
		}
	}
}

// framingError resets a stream whose header is invalid: it cannot be resynchronised (RFC 6733
// §2.1, §7: close the transport abortively).
func (c *conn) framingError(err error) {
	c.l.ctr[cFramingErrors]++
	c.record(recFraming, c.now, slog.LevelWarn, "framing error, resetting the connection", "err", err)
	c.frames.Reset()
	c.close(closeRST)
}

// message handles one whole message: it becomes an event of the connection's state machine.
func (c *conn) message(msg []byte, now int64) {
	l := c.l
	h := &l.hdr
	if _, err := framing.ReadMessage(msg, h); err != nil {
		return // FrameLen checked the same header
	}
	l.ctr[cMessagesIn]++
	if c.m.State() == fsm.RWaitCER {
		c.cer(msg, h, now)
		return
	}
	switch h.Code {
	case framing.CmdDeviceWatchdog:
		if h.IsRequest() {
			l.ctr[cDWRReceived]++
			c.step(fsm.Event{Kind: fsm.EvDWR}, h, now)
		} else {
			l.ctr[cDWAReceived]++
			c.step(fsm.Event{Kind: fsm.EvDWA}, h, now)
		}
		return
	case framing.CmdDisconnectPeer:
		if h.IsRequest() {
			l.ctr[cDPRReceived]++
			cause := framing.Rebooting // the RFC's default when the AVP is missing
			if b, _ := framing.ParseDPR(msg); b.HasDisconnectCause {
				cause = b.DisconnectCause
			}
			c.record(recDPR, now, slog.LevelInfo, "DPR received", "cause", cause.String())
			c.step(fsm.Event{Kind: fsm.EvDPR}, h, now)
		} else {
			l.ctr[cDPAReceived]++
			c.step(fsm.Event{Kind: fsm.EvDPA}, h, now)
		}
		return
	}
	// Messages of one read arrived together: once the first has re-armed the watchdog of an OKAY
	// connection (which maps EvMessage to its own state), the others would only re-arm it to the
	// same instant, so the machine is stepped once per read, not once per request.
	if !c.rearmed || !c.m.State().Okay() {
		if !c.step(fsm.Event{Kind: fsm.EvMessage}, h, now).Do.Has(fsm.ActProcess) {
			return
		}
		c.rearmed = true
	}
	c.process(msg, h, now)
}

// process is ActProcess: any message but CER (the first), DWR/DWA and DPR/DPA.
func (c *conn) process(msg []byte, h *framing.Header, now int64) {
	l := c.l
	if h.Code == framing.CmdCapabilitiesExchange && h.IsRequest() {
		// RFC 6733 R-Open R-Conn-CER R-Reject: the capabilities stand; a second exchange on the
		// connection is refused without dropping it (the answer: link.SecondCER).
		l.ctr[cCERs]++
		l.ctr[cCERRejects]++
		caps := c.capabilities()
		c.out.B = link.SecondCER(c.out.B, *h, &caps)
		l.touch(c)
		return
	}
	if !h.IsRequest() {
		l.ctr[cUnexpectedAnswers]++ // we only ever ask DWR and DPR
		return
	}
	c.request(msg, h, now)
}

// closed runs in OnClose: it releases everything the connection holds on the loop.
func (c *conn) closed(err error) {
	l := c.l
	s := l.s
	c.endTLS()
	c.timer.Stop(l.wheel)
	for d := c.dq.next; d != &c.dq; {
		next := d.next
		l.wheel.Stop(&d.timer)
		l.ctr[cDelayedDropped]++
		l.putDelayed(d)
		d = next
	}
	l.delayedN.Add(-int32(c.nDelayed))
	c.nDelayed = 0
	c.dq.prev, c.dq.next = &c.dq, &c.dq

	last := l.conns[len(l.conns)-1]
	l.conns[c.idx] = last
	last.idx = c.idx
	l.conns[len(l.conns)-1] = nil
	l.conns = l.conns[:len(l.conns)-1]
	l.active.Add(-1)

	c.m.Step(fsm.Event{Kind: fsm.EvTransportLost}) // the timer is stopped above
	if c.m.Opened() {
		s.peers.Add(-1)
	}
	if c.registered {
		s.unregister(c.peerHost)
		c.registered = false
	}
	c.gc = nil
	c.out.B, c.frames = nil, link.Reassembler{}
	c.record(recConn, s.now(), slog.LevelInfo, "client disconnected", "err", err)
}

var _ wheel.Expirer = (*conn)(nil)
