package server

import (
	"log/slog"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link"
)

// This file carries out the connection's state machine (fsm.Responder: RFC 6733 §5.6.1's
// responder rows merged with the RFC 3539 watchdog, the same timers and jitter as the client's)
// and keeps its one deadline on the loop's wheel: CER wait, watchdog, DPR grace, DPA wait.

// step feeds ev to the machine, carries out its actions except ActProcess and ActSendCEA (the
// caller's, they need the message) and sets the deadline. h is the received message's header,
// which DWA and DPA answer; nil for events that are not a message.
func (c *conn) step(ev fsm.Event, h *framing.Header, now int64) fsm.ResponderOutput {
	out := c.m.Step(ev)
	if out.Ignore {
		return out
	}
	l := c.l
	s := l.s
	do := out.Do
	if do.Has(fsm.ActSendDWA) && h != nil {
		c.out.B = link.DWA(c.out.B, *h, &s.id)
		l.touch(c)
	}
	if do.Has(fsm.ActSendDPA) && h != nil {
		c.out.B = link.DPA(c.out.B, *h, framing.Success, &s.id)
		l.touch(c)
	}
	if do.Has(fsm.ActSendDWR) {
		c.out.B = framing.AppendDWR(c.out.B, c.nextHopByHop(), s.e2e.Next(), &s.id)
		l.touch(c)
		l.ctr[cDWRSent]++
	}
	if do.Has(fsm.ActSendDPR) {
		c.out.B = framing.AppendDPR(c.out.B, c.nextHopByHop(), s.e2e.Next(), &s.id, framing.Rebooting)
		l.touch(c)
		l.ctr[cDPRSent]++
		c.record(recDPR, now, slog.LevelInfo, "DPR sent", "cause", framing.Rebooting.String())
	}
	if do.Has(fsm.ActClose) {
		c.close(closeFIN) // after the flush has written what is queued (a CEA with an error)
	}
	switch {
	case out.Arm:
		c.gen = out.Gen
		c.timer.Set(l.wheel, now+int64(out.After), c)
	case out.Cancel:
		c.timer.Stop(l.wheel)
	}
	return out
}

// Expire is the deadline's wheel callback. The deadline is lazy (wheel.Lazy): every message
// re-arms the watchdog, and the wheel entry only moves when the deadline comes earlier.
func (c *conn) Expire(now int64) {
	if !c.timer.Due(c.l.wheel, now, c) || c.want != keepOpen {
		return // not yet; or closing for another reason (framing, slow reader, handler panic)
	}
	c.expired(c.step(fsm.Event{Kind: fsm.EvTimeout, Gen: c.gen}, nil, now), now)
}

// expired counts and logs what a deadline's expiry did.
func (c *conn) expired(out fsm.ResponderOutput, now int64) {
	l := c.l
	switch out.From {
	case fsm.RWaitCER:
		l.ctr[cNoCER]++
		c.record(recWatchdog, now, slog.LevelInfo, "no CER in time, closing")
	case fsm.RDWRSent:
		c.record(recWatchdog, now, slog.LevelDebug, "no answer to our DWR within Tw: suspect")
	case fsm.RSuspect:
		l.ctr[cWatchdogCloses]++
		c.record(recWatchdog, now, slog.LevelWarn, "no answer to our DWR, closing")
	case fsm.RClosing:
		if c.m.Stopping() {
			c.record(recWatchdog, now, slog.LevelInfo, "no DPA in time, closing")
		} // else the client did not close after our DPA
	}
}
