package engine

import (
	"syscall"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/panjf2000/gnet/v2"
)

// handler is the gnet event handler: every method runs on the event loop.
type handler struct {
	gnet.BuiltinEventEngine
	e *Engine
}

var _ gnet.EventHandler = (*handler)(nil)

// ctrlCtx marks the loop's wake-up socket.
type ctrlCtx struct{}

func (h *handler) OnOpen(c gnet.Conn) ([]byte, gnet.Action) {
	e := h.e
	switch cc := c.Context().(type) {
	case ctrlCtx:
		// The loop's first event: from here its goroutine runs the callbacks (Close looks).
		e.ctrl = c
		id := goid()
		e.loopGID.Store(id)
		e.cbGID.Store(id)
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
	// The loop is awake from here on: callbacks that call Go while answers are processed, and
	// callers meanwhile, must not write a wake-up byte; service clears the flag when it is done.
	e.wakePending.Store(true)
	switch cc := c.Context().(type) {
	case ctrlCtx:
		_, _ = c.Discard(-1) // the wake-up bytes; service below does the work
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
// runs OnClose inside it, and that OnClose only queues work for the rounds below.
//
// While it runs, wakePending stays set, so callers (and callbacks calling Go on the loop) push
// without writing a wake-up byte. On the way out it clears the flag and then looks at the inbox
// once more: a push that landed before the clear is drained here, and one after it sees the flag
// clear and wakes the loop. (Producers check the flag after publishing, the loop checks the inbox
// after clearing: with sequentially consistent atomics one of the two always sees the other.)
func (e *Engine) service() {
	if e.servicing {
		return
	}
	e.servicing = true
	e.wakePending.Store(true)
	now := e.readClock()
	e.wheel.Advance(now)
	for round := 0; ; round++ {
		e.runPosted()
		drained := e.drain(now)
		e.resend(now)
		e.flush()
		if len(e.retries) > 0 || drained == drainBatch {
			if round < 3 {
				continue
			}
			e.publishStats()
			e.servicing = false
			e.wakePending.Store(false)
			e.wake() // give sockets a turn; come back for the rest
			return
		}
		e.wakePending.Store(false)
		if !e.inbox.Ready() && e.postedN.Load() == 0 {
			break
		}
		e.wakePending.Store(true)
		now = e.readClock()
	}
	e.publishStats()
	e.servicing = false
}

// drainBatch bounds the requests taken from the inbox per round, so reads are not starved.
const drainBatch = 4096

// drain moves up to drainBatch requests from the inbox onto connections.
func (e *Engine) drain(now int64) int {
	for _, g := range e.groups {
		g.nextBatch()
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
		if e.stopping {
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
		if from != nil { // it was sent once: say what happened to it, and why it stays lost
			e.complete(r, nil, e.reqErr(ErrConnectionLost, from, err))
		} else {
			e.complete(r, nil, e.reqErr(err, nil, nil))
		}
		return
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

// failover takes every pending request off p. Each one is resent on another connection with the
// T flag, the same End-to-End id and Session-Id and a new Hop-by-Hop id (RFC 6733 §5.5.4), unless
// its resend budget is spent or the engine is stopping.
//
// A request whose bytes never left (still in p's batch, which a closing connection's flush
// drops) was not sent on p: that send is undone, so it goes out elsewhere as it would have gone
// out here, with no T flag unless an earlier connection did send it (RFC 6733 §3: T marks a
// possible duplicate), and counts as neither a failover nor a resend.
func (e *Engine) failover(p *draConn) {
	dropped := p.conn == nil || p.closing // the batch will not be written
	p.slots.drain(func(r *request) {
		r.peer = nil
		p.stats.inFlight(-1)
		e.wheel.Stop(&r.timer)
		switch {
		case e.stopping:
			e.complete(r, nil, e.reqErr(ErrClosed, p, nil))
		case dropped && r.batch == p.flushes:
			r.sends--
			if r.sends == 0 { // its first send is still to come, with that connection's identity
				r.origin = nil
			} else {
				r.failedFrom = p
			}
			e.retries = append(e.retries, r)
		case r.sends > e.cfg.FailoverLimit:
			e.complete(r, nil, e.reqErr(ErrConnectionLost, p, nil))
		default:
			p.stats.inc(cFailovers)
			r.retransmit = true
			r.failedFrom = p
			e.retries = append(e.retries, r)
		}
	})
}

// resend routes the failed-over requests.
func (e *Engine) resend(now int64) {
	for len(e.retries) > 0 {
		batch := e.retries
		e.retries = e.spare[:0]
		for i, r := range batch {
			batch[i] = nil
			from := r.failedFrom
			r.failedFrom = nil
			e.send(r, now, from)
		}
		e.spare = batch[:0]
	}
}

// flush writes each touched connection's batch with one write (peer.Flush).
func (e *Engine) flush() { e.touched.Flush() }

// wake makes the loop run service soon. Safe for concurrent use: only the caller that flips the
// flag writes the wake-up byte, so a burst of submissions costs one write(2). A caller past the
// flag is counted in wakers until its write is done, so that Close can close the descriptor
// without a late write landing on whatever reuses its number (closeWake).
func (e *Engine) wake() {
	if !e.wakePending.Load() {
		e.wakers.Add(1)
		if e.wakePending.CompareAndSwap(false, true) {
			_, _ = syscall.Write(e.wakeFD, wakeByte)
		}
		e.wakers.Add(-1)
	}
}

var wakeByte = []byte{1}

// post runs f on the loop. Safe for concurrent use; for rare control work (dial results,
// shutdown), not per request.
func (e *Engine) post(f func()) {
	e.postMu.Lock()
	e.posted = append(e.posted, f)
	e.postedN.Add(1)
	e.postMu.Unlock()
	e.wake()
}

func (e *Engine) runPosted() {
	if e.postedN.Load() == 0 {
		return
	}
	e.postMu.Lock()
	fs := e.posted
	e.posted = nil
	e.postedN.Store(0)
	e.postMu.Unlock()
	for _, f := range fs {
		f()
	}
}

// setUsable adds p to or removes it from its priority group's routing list.
func (e *Engine) setUsable(p *draConn, on bool) {
	g := p.dra.group
	switch {
	case on && p.closing: // on its way out: see closeConn
	case on && p.usableAt < 0:
		p.usableAt = len(g.usable)
		g.usable = append(g.usable, p)
		if e.usable.Add(1) == 1 {
			e.setReady(true)
		}
	case !on && p.usableAt >= 0:
		last := g.usable[len(g.usable)-1]
		g.usable[p.usableAt] = last
		last.usableAt = p.usableAt
		g.usable = g.usable[:len(g.usable)-1]
		p.usableAt = -1
		if e.usable.Add(-1) == 0 {
			e.setReady(false)
		}
	}
}

// route picks a connection: round-robin over the usable connections of the most preferred
// priority group that has any, skipping full windows, congested sockets, except and the
// connections of avoid. A group with usable connections that are all full means ErrBusy; no group
// with usable connections means ErrNoConnection.
//
// The rotation is per batch, not per request: the requests of one drain go to the same
// connection (up to maxBurst), and the next drain starts on the next connection. Spreading one
// batch over every connection would cost a write(2) per connection per batch for the same
// balance over time; with one request per drain it is plain round-robin.
func (e *Engine) route(except *draConn, avoid *dra) (*draConn, error) {
	for _, g := range e.groups {
		n := len(g.usable)
		if n == 0 || (n == 1 && (g.usable[0] == except || g.usable[0].dra == avoid)) {
			continue
		}
		if avoid != nil && !g.hasOther(avoid) {
			continue
		}
		if g.rr >= n {
			g.rr, g.burst = 0, 0
		}
		for i := 0; i < n; i++ {
			k := g.rr + i
			if k >= n {
				k -= n
			}
			p := g.usable[k]
			if p == except || p.dra == avoid || p.slots.full() || p.unsent() > e.cfg.MaxOutboundBytes {
				continue
			}
			if k != g.rr {
				g.rr, g.burst = k, 0
			}
			if g.burst++; g.burst >= maxBurst {
				g.nextBatch()
			}
			return p, nil
		}
		return nil, ErrBusy
	}
	return nil, ErrNoConnection
}

// maxBurst bounds how many requests of one batch go to one connection before the next one.
const maxBurst = 128

// nextBatch moves the rotation on when the current connection got requests.
func (g *group) nextBatch() {
	if g.burst > 0 {
		g.rr, g.burst = g.rr+1, 0
		if g.rr >= len(g.usable) {
			g.rr = 0
		}
	}
}

// hasOther reports whether g has a usable connection of a DRA other than d.
func (g *group) hasOther(d *dra) bool {
	for _, p := range g.usable {
		if p.dra != d {
			return true
		}
	}
	return false
}

// retryElsewhere resends r, answered 3002 DIAMETER_UNABLE_TO_DELIVER or 3004 DIAMETER_TOO_BUSY
// by a DRA, once through another DRA (RFC 6733 §7.1.3: "SHOULD attempt to send the message to an
// alternate peer"). It is a new request, not a retransmission: no T flag after an error answer
// (§3), and a new End-to-End id so no duplicate cache hands back the error. It reports false when
// no other DRA has a usable connection; the caller then delivers the answer as it is.
func (e *Engine) retryElsewhere(r *request, from *draConn, now int64) bool {
	if r.altRetry || e.cfg.DisableAlternateRetry || e.stopping {
		return false
	}
	if _, err := e.route(nil, from.dra); err != nil {
		return false
	}
	from.stats.inc(cAltRetries)
	r.altRetry, r.retransmit = true, false
	r.e2e = e.nextE2E()
	e.send(r, now, from)
	return true
}

// nextE2E returns the next End-to-End id: one more than the last, held to a floor that follows
// the wall clock, so ids stay unique for 4 minutes across a restart at our rates (RFC 6733 §3;
// see framing.EndToEndClock). The time is the loop's last clock reading: no clock read per id.
// Loop only.
func (e *Engine) nextE2E() uint32 { return e.e2e.Next(e.loopNow.Load()) }

// peerStopped notes that one more connection reached Disconnected during shutdown.
func (e *Engine) peerStopped() {
	for _, p := range e.peers {
		if p.m.State() != fsm.Disconnected {
			return
		}
	}
	e.signalStopped()
}
