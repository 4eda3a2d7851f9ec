package server

import (
	"github.com/hsdfat8/diam-gw/framing"
)

// This file is the connection deadline: CER wait, the server's own watchdog (RFC 3539), the grace
// after the client's DPR and the wait for the DPA to ours.

// Expire is the connection deadline's wheel callback; what it means depends on the state.
func (c *conn) Expire(now int64) {
	if c.want != keepOpen {
		return
	}
	l := c.l
	switch c.state {
	case stWaitCER:
		l.ctr[cNoCER]++
		l.s.log.Info("no CER in time, closing", "remote", c.remote)
		c.close(closeFIN)
	case stOpen:
		c.watchdog(now)
	case stPeerDPR:
		c.close(closeFIN) // the client did not close after our DPA
	case stLocalDPR:
		l.s.log.Info("no DPA in time, closing", "remote", c.remote)
		c.close(closeFIN)
	}
}

// watchdog is the server's side of RFC 3539: after Tw (jittered) without any message, send a
// DWR; if nothing at all (DWA or other) comes back within 2·Tw of it, the client is gone.
// Arrivals only record their time; the timer catches up with them when it fires, so traffic costs
// no wheel operation per message.
func (c *conn) watchdog(now int64) {
	l := c.l
	s := l.s
	tw := int64(s.cfg.DWRInterval)
	if c.dwrPending {
		if now-c.dwrSentAt >= 2*tw {
			l.ctr[cWatchdogCloses]++
			s.log.Info("no answer to our DWR, closing", "remote", c.remote, "origin_host", c.peerHost)
			c.close(closeFIN)
			return
		}
		c.arm(c.dwrSentAt + 2*tw)
		return
	}
	if due := c.lastRx + c.tw; now < due {
		c.arm(due)
		return
	}
	c.out.B = framing.AppendDWR(c.out.B, c.nextHopByHop(), s.e2e.Next(), &s.id)
	l.touch(c)
	l.ctr[cDWRSent]++
	c.dwrPending, c.dwrSentAt = true, now
	c.tw = l.jitter() // the next idle interval
	c.arm(now + 2*tw)
}
