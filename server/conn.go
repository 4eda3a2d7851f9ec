package server

import (
	"net/netip"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/panjf2000/gnet/v2"
)

// This file is one client connection: its state, the stream splitter, the dispatch of each
// message (DWR/DWA and DPR/DPA here, CER in cer.go, requests in handler.go; the deadline in
// watchdog.go), and the release of what it holds when it closes.

// connState is where a connection is in its life.
type connState uint8

const (
	stWaitCER  connState = iota // accepted; the first message must be a CER
	stOpen                      // capabilities exchanged
	stPeerDPR                   // we answered the client's DPR: it closes, or we do after the grace
	stLocalDPR                  // we sent DPR (Close): we close on its DPA or after DPATimeout
)

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
	state       connState
	want        closeMode
	closeIssued bool // the close was handed to gnet: no more output
	touched     bool
	out         []byte // answers batched for the flush
	partial     []byte // an incomplete frame carried over to the next read
	remote      string
	ip          netip.Addr // our address on this socket, for Host-IP-Address
	peerHost    string     // Origin-Host from the CER
	registered  bool       // in the RejectDuplicates registry

	// One deadline whose meaning follows the state, as freeDiameter's p_psm_timer: CER wait,
	// watchdog, DPR grace, DPA wait.
	timer      wheel.Timer
	lastRx     int64 // when a message last arrived
	tw         int64 // the current jittered Tw
	dwrSentAt  int64
	dwrPending bool
	hbh        uint32 // Hop-by-Hop of our own requests (DWR, DPR)

	dq       delayed // sentinel of the delayed answers' list
	nDelayed int
}

func newConn(l *loop, gc gnet.Conn, now int64) *conn {
	c := &conn{l: l, gc: gc, idx: len(l.conns), lastRx: now, hbh: l.rng.Uint32()}
	c.dq.prev, c.dq.next = &c.dq, &c.dq
	if a := gc.RemoteAddr(); a != nil {
		c.remote = a.String()
	}
	l.conns = append(l.conns, c)
	l.active.Add(1)
	l.ctr[cAccepted]++
	c.arm(now + int64(l.s.cfg.CERTimeout))
	l.s.log.Debug("connection accepted", "remote", c.remote)
	return c
}

func (c *conn) arm(at int64) { c.l.wheel.Add(&c.timer, at, c) }

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

// traffic handles the bytes of one read: it completes the frame carried over from the last read
// with just the bytes it lacks, then cuts the rest of data in place, keeping only an incomplete
// tail. So a pipelining client costs no copy except at the frame that straddles two reads.
func (c *conn) traffic(data []byte, now int64) {
	if c.want != keepOpen {
		return // closing: input is ignored
	}
	max := c.l.s.cfg.MaxMessageSize
	if len(c.partial) > 0 {
		if len(c.partial) < 4 { // the length field first
			k := min(4-len(c.partial), len(data))
			c.partial = append(c.partial, data[:k]...)
			data = data[k:]
		}
		if len(c.partial) >= 4 {
			if _, err := framing.FrameLen(c.partial, max); err != nil {
				c.framingError(err)
				return
			}
			need := int(c.partial[1])<<16 | int(c.partial[2])<<8 | int(c.partial[3])
			k := min(need-len(c.partial), len(data))
			c.partial = append(c.partial, data[:k]...)
			data = data[k:]
			if len(c.partial) == need {
				c.message(c.partial, now)
				c.partial = c.partial[:0]
			}
		}
		if len(c.partial) > 0 || c.want != keepOpen {
			return // still incomplete (data is used up), or closing
		}
	}
	for len(data) > 0 {
		n, err := framing.FrameLen(data, max)
		if err != nil {
			c.framingError(err)
			return
		}
		if n == 0 {
			break
		}
		c.message(data[:n], now)
		data = data[n:]
		if c.want != keepOpen {
			return
		}
	}
	if len(data) > 0 {
		c.partial = append(c.partial[:0], data...) // data aliases gnet's read buffer: copy
	} else if cap(c.partial) > 2*max {
		c.partial = nil
	}
}

// framingError resets a stream whose header is invalid: it cannot be resynchronised (RFC 6733
// §2.1, §7: close the transport abortively).
func (c *conn) framingError(err error) {
	c.l.ctr[cFramingErrors]++
	c.l.s.log.Warn("framing error, resetting the connection", "remote", c.remote, "err", err)
	c.partial = c.partial[:0]
	c.close(closeRST)
}

// message handles one whole message.
func (c *conn) message(msg []byte, now int64) {
	l := c.l
	s := l.s
	h := &l.hdr
	if _, err := framing.ReadMessage(msg, h); err != nil {
		return // FrameLen checked the same header
	}
	l.ctr[cMessagesIn]++
	c.lastRx = now
	if c.dwrPending { // any message proves the client alive (RFC 3539: failback on any receipt)
		c.dwrPending = false
		c.arm(now + c.tw)
	}
	if c.state == stWaitCER {
		c.cer(msg, h, now)
		return
	}
	switch h.Code {
	case framing.CmdCapabilitiesExchange:
		if h.IsRequest() {
			// The capabilities stand; a second exchange on the connection is refused (freeDiameter
			// answers the same way) without dropping the connection.
			l.ctr[cCERs]++
			l.ctr[cCERRejects]++
			caps := c.capabilities()
			c.out = framing.AppendCEA(c.out, *h, framing.UnableToComply, &caps, "capabilities already exchanged on this connection")
			l.touch(c)
			return
		}
	case framing.CmdDeviceWatchdog:
		if h.IsRequest() {
			l.ctr[cDWRReceived]++
			c.out = framing.AppendDWA(c.out, *h, framing.Success, &s.id)
			l.touch(c)
		} else {
			l.ctr[cDWAReceived]++ // absorbed: any message re-armed the watchdog above
		}
		return
	case framing.CmdDisconnectPeer:
		if h.IsRequest() {
			l.ctr[cDPRReceived]++
			c.out = framing.AppendDPA(c.out, *h, framing.Success, &s.id)
			l.touch(c)
			if c.state == stOpen {
				// The DPR sender closes (RFC 6733 §5.4); one that does not is closed after the grace.
				c.state = stPeerDPR
				c.arm(now + int64(s.cfg.dprGrace))
			}
			return
		}
		l.ctr[cDPAReceived]++
		if c.state == stLocalDPR {
			c.close(closeFIN)
		}
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
	l.wheel.Stop(&c.timer)
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

	if c.state != stWaitCER {
		s.peers.Add(-1)
	}
	if c.registered {
		s.unregister(c.peerHost)
		c.registered = false
	}
	c.gc = nil
	c.out, c.partial = nil, nil
	s.log.Debug("connection closed", "remote", c.remote, "origin_host", c.peerHost, "err", err)
}

var _ wheel.Expirer = (*conn)(nil)
