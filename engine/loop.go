package engine

import (
	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/panjf2000/gnet/v2"
)

// handler is the gnet event handler: every method runs on the event loop.
type handler struct {
	gnet.BuiltinEventEngine
	e *Engine
}

var _ gnet.EventHandler = (*handler)(nil)

func (h *handler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	e := h.e
	switch cc := c.Context().(type) {
	case ctrlCtx:
		// The loop's first event: from here its goroutine runs the callbacks (Close looks).
		e.wk.ctrl = c
		e.wk.attach(c)
		id := goid()
		e.life.loopGID.Store(id)
		e.life.cbGID.Store(id)
	case *connCtx:
		cc.registered.Store(true) // its EnrollContext returns now
		if !cc.p.opened(c, cc.attempt) {
			return nil, gnet.Close
		}
		e.service()
	}
	return nil, gnet.None
}

func (h *handler) OnTraffic(c gnet.Conn) gnet.Action {
	e := h.e
	// Callbacks that call Go while answers are processed, and callers meanwhile, must not wake
	// the loop again; service clears the flag when it is done (wake.go).
	e.wk.awake()
	switch cc := c.Context().(type) {
	case ctrlCtx:
		_, _ = c.Discard(-1) // the wake-up bytes, if any (gnet's Wake brings none); service does the work
	case *connCtx:
		if cc.p.conn == c {
			cc.p.traffic(c, e.readClock())
		} else {
			_, _ = c.Discard(-1)
		}
	}
	e.service()
	return gnet.None
}

func (h *handler) OnClose(c gnet.Conn, err error) gnet.Action {
	e := h.e
	if cc, ok := c.Context().(*connCtx); ok && cc.p.conn == c {
		cc.p.closed(err)
		e.service()
	}
	return gnet.None
}

// service is the loop's work after every event: timers, posted tasks, the inbox, failed-over
// requests, and one write per touched connection. It is not re-entered: a gnet write that fails
// runs OnClose inside it, and that OnClose only queues work for the rounds below. The loop stays
// awake for callers while it runs and goes idle on the way out (wake.go).
func (e *Engine) service() {
	if !e.wk.enter() {
		return
	}
	now := e.readClock()
	e.wheel.Advance(now)
	for round := 0; ; round++ {
		e.runPosted()
		drained := e.drain(now)
		e.resend(now)
		e.flush()
		if e.retries.waiting() || drained == drainBatch {
			if round < 3 {
				continue
			}
			e.publishStats()
			e.armAlarm()
			e.yield() // give sockets a turn; come back for the rest
			return
		}
		if e.idle() {
			break
		}
		now = e.readClock()
	}
	e.publishStats()
	e.armAlarm()
}

// armAlarm tells the alarm when the wheel's next timer is due, when that changed: a timer was
// added before every other one, or the alarm has rung (its ring is what woke this pass, or one
// that will). Otherwise it costs one load: later timers need nothing until the alarm rings.
func (e *Engine) armAlarm() {
	if e.wheel.Lowered() || e.alarm.Planned() == wheel.Never {
		e.alarm.Set(e.wheel.Next())
	}
}

// drainBatch bounds the requests taken from the inbox per round, so reads are not starved.
const drainBatch = 4096

// drain moves up to drainBatch requests from the inbox onto connections.
func (e *Engine) drain(now int64) int {
	for _, g := range e.routes.groups {
		g.nextBatch()
	}
	// Stored only when it changed: an idle or keeping-up loop finds 0 round after round.
	if d := int64(e.inbox.Len()); e.inboxDepth.Load() != d {
		e.inboxDepth.Store(d)
	}
	n := 0
	for n < drainBatch {
		s := e.inbox.Front()
		if s == nil {
			break
		}
		n++
		r := e.takeRequest(s)
		e.inbox.Advance()
		if e.life.stopping {
			e.complete(r, nil, e.reqErr(ErrClosed, nil, nil))
			continue
		}
		e.send(r, now, nil)
	}
	return n
}

// send routes r to a connection, encodes it into that connection's batch and arms its timeout.
func (e *Engine) send(r *request, now int64, from *draConn) {
	if r.deadline == 0 {
		r.deadline = now + int64(e.cfg.RequestTimeout)
	} else if now >= r.deadline {
		e.complete(r, nil, e.reqErr(ErrTimeout, from, nil))
		return
	}
	var avoid *dra
	if r.altRetry && from != nil {
		avoid = from.dra
	}
	p, err := e.route(from, avoid)
	if err != nil {
		switch {
		case err == errHeld, r.refusal != nil && e.alternateComing(r.refusedBy.dra):
			e.park(r) // a connection is on its way: wait for it (park.go, alternate.go)
			return
		case r.refusal != nil: // no other DRA will take it: the refusal is its answer
			e.complete(r, r.refusal, nil)
			return
		}
		if from != nil { // it was sent once: say what happened to it, and why it stays lost
			e.complete(r, nil, e.reqErr(ErrConnectionLost, from, err))
		} else {
			e.complete(r, nil, e.reqErr(err, nil, nil))
		}
		return
	}
	if r.refusal != nil { // a refused request resent through another DRA at last
		r.refusedBy.stats.inc(cAltRetries)
		r.refusal, r.refusedBy = nil, nil
	}
	if r.origin == nil { // first send: the identifiers it keeps through failovers
		r.origin = p
		r.e2e = e.nextE2E()
		if r.req.SessionID == "" {
			r.sessLo = e.sessLo
			e.sessLo++
		}
	}
	r.peer, r.hbh = p, p.slots.alloc(r)
	r.batch = p.flushes
	r.sentAt = now
	r.sends++
	env := s13.Envelope{
		HopByHop:    r.hbh,
		EndToEnd:    r.e2e,
		Retransmit:  r.retransmit,
		OriginHost:  r.origin.id.OriginHost,
		OriginRealm: r.origin.id.OriginRealm,
		SessionHi:   e.sessHi,
		SessionLo:   r.sessLo,
	}
	p.write(r.origin.tmpl.Append(p.buf(), &env, &r.req))
	p.batchReqs++
	if r.retransmit {
		p.batchRetx++
	}
	p.stats.inFlight(1)
	e.wheel.Add(&r.timer, r.deadline, r)
}

// flush writes each touched connection's batch with one write (draConn.Flush).
func (e *Engine) flush() { e.touched.Flush() }
