package server

import (
	"runtime/debug"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/link"
)

// This file is the hand-off of every request other than CER, DWR and DPR to the Handler, and the
// delayed answers it may ask for, parked on the loop's wheel in pooled buffers.

// Handler answers requests other than the base protocol's.
type Handler interface {
	// ServeDiameter answers one request other than CER, DWR and DPR. It appends the answer to dst
	// and returns the extended slice plus an optional delay; returning dst unchanged (same length)
	// means "no answer". msg is the whole request and h its header; both alias the loop's buffer and
	// are valid only during the call. Called on an event loop: must not block. What is appended must
	// be whole Diameter messages (else it is dropped and counted); a panic is recovered, counted,
	// and closes the connection.
	ServeDiameter(dst, msg []byte, h *framing.Header) (out []byte, delay time.Duration)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(dst, msg []byte, h *framing.Header) ([]byte, time.Duration)

// ServeDiameter calls f; it is as safe for concurrent use as f is.
func (f HandlerFunc) ServeDiameter(dst, msg []byte, h *framing.Header) ([]byte, time.Duration) {
	return f(dst, msg, h)
}

// request hands one request to the Handler and queues its answer, now or on the wheel.
func (c *conn) request(msg []byte, h *framing.Header, now int64) {
	l := c.l
	s := l.s
	l.ctr[cRequests]++
	if s.cfg.Handler == nil {
		c.out.B = link.Unsupported(c.out.B, msg, h, &s.id, s.advertises)
		l.ctr[cAnswers]++
		l.ctr[cUnsupported]++
		l.touch(c)
		return
	}
	dst := c.out.B
	out, delay, panicked := c.serve(dst, msg, h)
	switch {
	case panicked:
		l.ctr[cHandlerPanics]++
		c.out.B = dst
		c.close(closeFIN)
	case len(out) < len(dst) || !wholeMessages(out[len(dst):]):
		l.ctr[cHandlerErrors]++
		s.log.Warn("handler output is not whole Diameter messages, dropped", "remote", c.remote,
			"command", framing.CommandName(h.Code, true))
		if len(out) >= len(dst) {
			c.out.B = out[:len(dst)]
		} else {
			c.out.B = dst
		}
	case len(out) == len(dst):
		l.ctr[cNoAnswer]++
		c.out.B = out
	case delay <= 0:
		l.ctr[cAnswers]++
		c.out.B = out
		l.touch(c)
	default:
		c.out.B = out[:len(dst)] // keeps any capacity the handler grew
		c.delay(out[len(dst):], now+int64(delay))
	}
}

// serve calls the Handler, turning a panic into panicked: gnet has no recover, and one bad
// request must not take the process down.
func (c *conn) serve(dst, msg []byte, h *framing.Header) (out []byte, delay time.Duration, panicked bool) {
	defer func() {
		if r := recover(); r != nil {
			panicked = true
			c.l.s.log.Error("handler panic, closing the connection", "remote", c.remote, "panic", r,
				"stack", string(debug.Stack()))
		}
	}()
	out, delay = c.l.s.cfg.Handler.ServeDiameter(dst, msg, h)
	return out, delay, false
}

// wholeMessages reports whether b is a sequence of complete, well-formed Diameter messages.
func wholeMessages(b []byte) bool {
	for len(b) > 0 {
		n, err := framing.FrameLen(b, framing.MaxMessageLength)
		if err != nil || n == 0 {
			return false
		}
		b = b[n:]
	}
	return true
}

// delay parks a copy of ans (it lives in c.out.B, which the flush reuses) on the wheel until at.
func (c *conn) delay(ans []byte, at int64) {
	l := c.l
	if c.nDelayed >= l.s.cfg.MaxDelayedPerConn {
		l.ctr[cDelayedDropped]++
		return
	}
	d := l.getDelayed()
	d.buf = append(d.buf[:0], ans...)
	d.c = c
	d.prev, d.next = c.dq.prev, &c.dq
	c.dq.prev.next = d
	c.dq.prev = d
	c.nDelayed++
	l.delayedN.Add(1)
	l.ctr[cDelayed]++
	l.wheel.Add(&d.timer, at, d)
}

// delayedDue queues a delayed answer whose time has come.
func (c *conn) delayedDue(d *delayed) {
	l := c.l
	c.unlinkDelayed(d)
	if c.want == keepOpen {
		c.out.B = append(c.out.B, d.buf...)
		l.touch(c)
		l.ctr[cAnswers]++
	} else {
		l.ctr[cDelayedDropped]++
	}
	l.putDelayed(d)
}

func (c *conn) unlinkDelayed(d *delayed) {
	d.prev.next = d.next
	d.next.prev = d.prev
	c.nDelayed--
	c.l.delayedN.Add(-1)
}
