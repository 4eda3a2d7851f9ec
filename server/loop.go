package server

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/alarm"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/panjf2000/gnet/v2"
)

// This file is the event-loop side: the gnet callbacks, and per loop the timing wheel, the batch
// flush (one Write per touched connection per event), the pool of delayed answers and the
// counters. Everything here runs on the loop's goroutine except OnBoot and ring, which say so.

// loop is the state of one gnet event loop. Loop-owned, except the atomics the ticker and Stats
// read.
type loop struct {
	s       *Server
	el      gnet.EventLoop
	wheel   *wheel.Wheel
	rng     *rand.Rand
	conns   []*conn           // open connections, for Close
	touched link.Queue[*conn] // connections with output or a close to carry out in this event
	cur     *conn             // the connection whose OnTraffic is flushing, see flush
	act     gnet.Action       // what that OnTraffic returns
	logs    loopLogs          // limits the records its clients cause (logs.go)
	free    []*delayed
	// hdr is the header handed to the Handler: a field, so that taking its address for an
	// interface call does not move a local to the heap per request.
	hdr framing.Header
	ctr [numCounters]uint64 // cumulative, loop-owned; published at the end of each event

	pub         counters
	active      atomic.Int32 // connections on this loop
	delayedN    atomic.Int32 // delayed answers pending
	alarm       *alarm.Alarm // wakes the loop when its wheel's next timer is due
	tickPending atomic.Bool  // a tick task is queued: do not queue another
}

// Pool bounds: a burst of delayed answers leaves at most this many entries (and buffers this
// large) behind for reuse; the rest go to the GC.
const (
	maxFreeDelayed  = 16 << 10
	maxPooledAnswer = 4 << 10
)

func newLoop(s *Server, el gnet.EventLoop) *loop {
	now := s.now()
	seed := uint64(now) ^ uint64(time.Now().UnixNano())
	l := &loop{
		s:     s,
		el:    el,
		wheel: wheel.New(Tick, 1024, now),
		rng:   rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15)),
		logs:  newLoopLogs(),
	}
	l.alarm = alarm.New(s.now, l.ring) // started by Server.loopFor, stopped when the loops exit
	return l
}

// advance runs the timers due by now; their output waits for the flush at the end of the event.
func (l *loop) advance(now int64) { l.wheel.Advance(now) }

// ring is the alarm's wake-up, on the alarm's goroutine: it queues the tick task on the loop
// (at most one at a time) and touches nothing else.
func (l *loop) ring() {
	if l.tickPending.CompareAndSwap(false, true) {
		if err := l.el.Execute(context.Background(), l); err != nil {
			l.tickPending.Store(false) // shutting down
		}
	}
}

// Run is the tick task ring queues with Execute: it runs the timers that are due.
func (l *loop) Run(context.Context) error {
	l.tickPending.Store(false)
	l.advance(l.s.now())
	l.flush(nil)
	l.endEvent()
	return nil
}

// endEvent ends each event on the loop: the counters are published, and the alarm is told when
// the next timer is due when that changed — a timer was added before every other one, or the
// alarm has rung. Otherwise that costs one load: later timers need nothing until it rings.
func (l *loop) endEvent() {
	l.publish()
	if l.wheel.Lowered() || l.alarm.Planned() == wheel.Never {
		l.alarm.Set(l.wheel.Next())
	}
}

// touch queues c for the flush at the end of the current event.
func (l *loop) touch(c *conn) { l.touched.Add(c) }

// flush writes each touched connection's batch with one Write and carries out requested closes
// (conn.Flush). cur is the connection whose OnTraffic is running: its close is returned as
// gnet.Close rather than queued. Nothing here is re-entered.
func (l *loop) flush(cur *conn) gnet.Action {
	// Published before anything is written, so that a client that has its answer also sees it
	// counted in Stats; the write counters follow at the end of the event.
	l.publish()
	l.cur, l.act = cur, gnet.None
	l.touched.Flush()
	act := l.act
	l.cur, l.act = nil, gnet.None
	return act
}

// publish makes the event's counts visible to Stats.
func (l *loop) publish() { link.Publish(l.ctr[:], l.pub.v[:]) }

// disconnectAll runs on the loop for Close: Stop on every connection's state machine, which
// sends DPR on the open ones and closes the ones still waiting for their CER.
func (l *loop) disconnectAll() {
	now := l.s.now()
	for _, c := range l.conns {
		if c.want == keepOpen {
			c.step(fsm.Event{Kind: fsm.EvStop}, nil, now)
		}
	}
	l.flush(nil)
	l.endEvent()
}

// resetAll runs on the loop for Reset: every connection is closed with an RST, its batch and
// delayed answers dropped.
func (l *loop) resetAll() {
	for _, c := range l.conns {
		c.close(closeRST)
	}
	l.flush(nil)
	l.endEvent()
}

// delayed is an answer waiting on the wheel, in its connection's list so that a close can drop it.
type delayed struct {
	timer      wheel.Timer
	c          *conn
	buf        []byte
	prev, next *delayed
}

// Expire sends the answer (wheel callback).
func (d *delayed) Expire(int64) { d.c.delayedDue(d) }

func (l *loop) getDelayed() *delayed {
	if n := len(l.free); n > 0 {
		d := l.free[n-1]
		l.free[n-1] = nil
		l.free = l.free[:n-1]
		return d
	}
	return &delayed{}
}

func (l *loop) putDelayed(d *delayed) {
	d.c, d.prev, d.next = nil, nil, nil
	if cap(d.buf) > maxPooledAnswer {
		d.buf = nil
	}
	if len(l.free) < maxFreeDelayed {
		l.free = append(l.free, d)
	}
}

var (
	_ wheel.Expirer = (*delayed)(nil)
	_ gnet.Runnable = (*loop)(nil)
)

// handler is the gnet event handler.
type handler struct {
	gnet.BuiltinEventEngine
	s *Server
}

var _ gnet.EventHandler = (*handler)(nil)

// OnBoot runs on Start's run goroutine once the socket listens, before any loop runs.
func (h *handler) OnBoot(eng gnet.Engine) gnet.Action {
	s := h.s
	s.eng = eng
	if addr, err := boundAddr(eng); err == nil {
		s.addr.Store(&addr)
	} else {
		s.log.Warn("cannot read the bound address", "err", err)
	}
	close(s.booted)
	return gnet.None
}

func (h *handler) OnOpen(gc gnet.Conn) ([]byte, gnet.Action) {
	s := h.s
	// Counted before the closing check, which Close makes in the opposite order: one of the two
	// sees the other, so Close never misses a connection it should wait for.
	s.active.Add(1)
	if s.closing.Load() {
		return nil, gnet.Close
	}
	l := s.loopFor(gc.EventLoop())
	gc.SetContext(newConn(l, gc, s.now()))
	l.endEvent()
	return nil, gnet.None
}

// OnTraffic takes every byte gnet read (its inbound ring stays empty, so Next never copies),
// answers every whole message, and writes each touched connection once.
func (h *handler) OnTraffic(gc gnet.Conn) gnet.Action {
	c, _ := gc.Context().(*conn)
	if c == nil {
		_, _ = gc.Discard(-1)
		return gnet.None
	}
	l := c.l
	data, _ := gc.Next(-1)
	now := l.s.now()
	l.advance(now)
	if len(data) > 0 || c.tls != nil { // over TLS an empty event is the handshake's wake-up
		l.ctr[cBytesIn] += uint64(len(data))
		c.traffic(data, now)
	}
	act := l.flush(c)
	l.endEvent()
	return act
}

func (h *handler) OnClose(gc gnet.Conn, err error) gnet.Action {
	s := h.s
	if c, _ := gc.Context().(*conn); c != nil {
		c.closed(err)
		c.l.endEvent()
	}
	if s.active.Add(-1) == 0 && s.closing.Load() {
		s.signalGone()
	}
	return gnet.None
}
