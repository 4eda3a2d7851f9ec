package engine

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link"
	"github.com/hsdfat8/diam-gw/internal/link/linktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// RFC 3539 timings, exactly, in virtual time. The socketless rig (fakeconn_test.go) runs inside a
// testing/synctest bubble, where time.Now and the engine's clock are virtual: the test moves time
// on one wheel tick at a time and runs the loop's service pass after each, as the alarm would
// wake it, so every timer fires at its own tick and each instant below is checked to the tick
// (link.Tick), not against a wall-clock window.

// vloop is the rig's loop in virtual time.
type vloop struct {
	t *testing.T
	e *Engine
}

// run moves virtual time on tick by tick, running a service pass after each, until done
// reports true or limit has passed; it returns the virtual time that took.
func (v vloop) run(limit time.Duration, done func() bool) time.Duration {
	v.t.Helper()
	start := time.Now()
	for !done() {
		if time.Since(start) > limit {
			v.t.Fatalf("not within %v of virtual time", limit)
		}
		time.Sleep(link.Tick)
		v.e.service()
	}
	return time.Since(start)
}

// dwrs counts the DWRs written on c.
func dwrs(t *testing.T, c *fakeConn) int {
	t.Helper()
	n := 0
	for _, b := range c.written {
		for _, m := range linktest.Messages(t, b) {
			var h framing.Header
			_, err := framing.ReadMessage(m, &h)
			require.NoError(t, err)
			if h.Code == framing.CmdDeviceWatchdog && h.IsRequest() {
				n++
			}
		}
	}
	return n
}

// The watchdog's timeline on a connection whose peer goes silent (RFC 3539 §3.4.1, no jitter):
// a DWR Tw after the last message received; no DWA within its wait (Tw, DWATimeout 0) turns it
// SUSPECT, and the request it held is failed over at that instant to the other connection, with
// the T flag; one Tw later it is DOWN (closed); once the transport is gone it waits out
// BackoffInitial before dialling again. Meanwhile the other connection, which hears from its
// peer every 10 s, never sends a DWR.
func TestWatchdogTimelineInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const tw = 30 * time.Second
		cfg := testConfig("127.0.0.1:1")
		cfg.ConnectionCount = 2
		cfg.DWRInterval, cfg.DWATimeout, cfg.noJitter = tw, 0, true
		cfg.RequestTimeout = 5 * time.Minute
		cfg.BackoffInitial, cfg.BackoffMax = 7*time.Second, time.Minute
		e, conns := fakeEngine(t, cfg)
		v := vloop{t, e}
		silent, chatty := e.peers[0], e.peers[1]
		silent.step(fsm.Event{Kind: fsm.EvMessage}, nil) // its last message, now
		chatty.step(fsm.Event{Kind: fsm.EvMessage}, nil)
		e.setUsable(chatty, false) // the request goes to the silent one
		var res result
		submitFake(t, e, &res)
		e.setUsable(chatty, true)
		e.flush()
		require.Equal(t, 1, pending(silent))

		heard := time.Now()
		keepTalking := func() bool { // chatty's peer speaks every 10 s
			if time.Since(heard) >= 10*time.Second {
				chatty.step(fsm.Event{Kind: fsm.EvMessage}, nil)
				heard = time.Now()
			}
			return false
		}
		took := v.run(time.Hour, func() bool { keepTalking(); return dwrs(t, conns[0]) == 1 })
		assert.Equal(t, tw, took, "DWR at Tw after the last message received")
		took = v.run(time.Hour, func() bool { keepTalking(); return silent.m.State() == fsm.Suspect })
		assert.Equal(t, tw, took, "SUSPECT when the DWR has had no DWA for Tw")
		assert.Equal(t, 0, pending(silent), "its request failed over at SUSPECT")
		assert.Equal(t, 1, pending(chatty))
		ecrs := conns[1].ecrs(t)
		require.Len(t, ecrs, 1)
		assert.True(t, ecrs[0].Header.IsRetransmit(), "resent with the T flag")
		took = v.run(time.Hour, func() bool { keepTalking(); return conns[0].closed })
		assert.Equal(t, tw, took, "DOWN one more Tw later")
		silent.closed(nil) // gnet's OnClose
		require.Equal(t, fsm.Reconnecting, silent.m.State())
		assert.Equal(t, e.now()+int64(cfg.BackoffInitial), silent.deadline, "the first reconnect waits BackoffInitial")
		assert.Zero(t, dwrs(t, conns[1]), "traffic suppresses the other connection's watchdog")
		assert.Zero(t, res.calls, "the request is still outstanding on the other connection")
	})
}

// The answer timeout fires exactly at RequestTimeout after the request was sent, completing it
// once with ErrTimeout, with nothing from the peer.
func TestAnswerTimeoutInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig("127.0.0.1:1")
		cfg.RequestTimeout = 1500 * time.Millisecond
		cfg.DWRInterval, cfg.noJitter = time.Hour, true
		e, _ := fakeEngine(t, cfg)
		var res result
		submitFake(t, e, &res)
		took := vloop{t, e}.run(time.Minute, func() bool { return res.calls > 0 })
		assert.Equal(t, cfg.RequestTimeout, took)
		assert.Equal(t, 1, res.calls)
		assert.ErrorIs(t, res.err, ErrTimeout)
	})
}

// With the RFC's jitter, the DWR goes out within Tw ± 2 s of the last message received, and the
// jitter does move it: over a handful of seeds it lands on both sides of Tw.
func TestWatchdogJitterWindowInVirtualTime(t *testing.T) {
	const tw = 30 * time.Second
	var lo, hi time.Duration = time.Hour, 0
	for seed := uint64(1); seed <= 12; seed++ {
		synctest.Test(t, func(t *testing.T) {
			cfg := testConfig("127.0.0.1:1")
			cfg.DWRInterval, cfg.seed = tw, seed
			e, conns := fakeEngine(t, cfg)
			e.peers[0].step(fsm.Event{Kind: fsm.EvMessage}, nil)
			took := vloop{t, e}.run(time.Hour, func() bool { return dwrs(t, conns[0]) == 1 })
			assert.GreaterOrEqual(t, took, tw-2*time.Second, "seed %d", seed)
			assert.LessOrEqual(t, took, tw+2*time.Second+link.Tick, "seed %d", seed)
			lo, hi = min(lo, took), max(hi, took)
		})
	}
	assert.Less(t, lo, tw-500*time.Millisecond, "jitter below Tw")
	assert.Greater(t, hi, tw+500*time.Millisecond, "jitter above Tw")
}

// A CER that gets no CEA is given up exactly CEATimeout after it was sent: the connection
// closes and waits out its backoff.
func TestCEATimeoutInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig("127.0.0.1:1")
		cfg.CEATimeout, cfg.BackoffInitial, cfg.BackoffMax, cfg.noJitter = 3*time.Second, time.Hour, time.Hour, true
		e, err := New(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close(t.Context()) })
		p := e.peers[0]
		c := &linktest.Conn{}
		p.m.Step(fsm.Event{Kind: fsm.EvStart}) // dialling (the dial itself is not wanted)
		p.conn = c
		p.step(fsm.Event{Kind: fsm.EvConnected}, nil) // sends the CER, arms the CEA wait
		e.flush()
		require.Equal(t, fsm.CERSent, p.m.State())
		require.NotEmpty(t, c.Out, "the CER")
		took := vloop{t, e}.run(time.Minute, func() bool { return c.Closed })
		assert.Equal(t, cfg.CEATimeout, took)
		p.closed(nil)
		assert.Equal(t, fsm.Reconnecting, p.m.State())
	})
}

// Close's DPR waits DPATimeout for its DPA, exactly, then closes the connection.
func TestDPATimeoutInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig("127.0.0.1:1")
		cfg.DPATimeout, cfg.DWRInterval, cfg.noJitter = 2*time.Second, time.Hour, true
		e, conns := fakeEngine(t, cfg)
		p := e.peers[0]
		p.step(fsm.Event{Kind: fsm.EvStop}, nil) // sends the DPR, arms the DPA wait
		e.flush()
		require.Equal(t, fsm.Closing, p.m.State())
		took := vloop{t, e}.run(time.Minute, func() bool { return conns[0].closed })
		assert.Equal(t, cfg.DPATimeout, took)
	})
}

// A message left incomplete is given FragmentTimeout to finish; then the stream, which cannot be
// resynchronised, is reset (RFC 6733 §2.1; OTP's fragment_timer).
func TestFragmentTimerInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := testConfig("127.0.0.1:1")
		cfg.FragmentTimeout, cfg.DWRInterval, cfg.noJitter = 1500*time.Millisecond, time.Hour, true
		e, _ := fakeEngine(t, cfg)
		p := e.peers[0]
		dwr := framing.AppendDWR(nil, 1, 1, &p.id)
		c := &linktest.Conn{In: dwr[:len(dwr)/2]} // half a message, then nothing
		p.conn = c
		p.traffic(c, e.now())
		took := vloop{t, e}.run(time.Minute, func() bool { return c.Closed })
		assert.Equal(t, cfg.FragmentTimeout, took)
		assert.True(t, c.Reset, "an RST: the unread rest would only hold a FIN back")
	})
}

// lastDWR is the header of the last DWR written on c.
func lastDWR(t *testing.T, c *linktest.Conn) framing.Header {
	t.Helper()
	var last framing.Header
	for _, m := range linktest.Messages(t, c.Out) {
		var h framing.Header
		_, err := framing.ReadMessage(m, &h)
		require.NoError(t, err)
		if h.Code == framing.CmdDeviceWatchdog && h.IsRequest() {
			last = h
		}
	}
	require.NotZero(t, last.HopByHop, "a DWR was written")
	return last
}

// reopening is the rig's connection after a reconnect, in REOPEN (RFC 3539 §3.4.1) with its
// first DWR out, and a func that answers the last DWR with a DWA as the peer would.
func reopening(t *testing.T, tw time.Duration) (*Engine, *draConn, *linktest.Conn, func()) {
	t.Helper()
	cfg := testConfig("127.0.0.1:1")
	cfg.DWRInterval, cfg.DWATimeout, cfg.noJitter = tw, 0, true // the RFC's waits: Tw throughout
	e, _ := fakeEngine(t, cfg)
	p := e.peers[0]
	e.setUsable(p, false)
	for _, k := range []fsm.EventKind{fsm.EvTransportLost, fsm.EvTimeout, fsm.EvConnected} {
		p.m.Step(fsm.Event{Kind: k, Gen: p.m.Gen()}) // down, backoff over, redialled: the states only
	}
	require.Equal(t, fsm.CERSent, p.m.State())
	c := &linktest.Conn{}
	p.conn = c
	p.step(fsm.Event{Kind: fsm.EvCEAOK}, nil)
	e.flush()
	require.Equal(t, fsm.Reopen, p.m.State())
	peer := framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"}
	return e, p, c, func() {
		c.In = link.DWA(nil, lastDWR(t, c), &peer)
		p.traffic(c, e.now())
		e.flush()
	}
}

// REOPEN carries no traffic until three DWRs in a row are answered: a DWR goes out with the CEA
// and after each DWA, and the third DWA makes the connection usable.
func TestReopenNeedsThreeDWAsInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e, p, _, answer := reopening(t, 30*time.Second)
		answer()
		answer()
		assert.Equal(t, fsm.Reopen, p.m.State(), "two DWAs are not enough")
		assert.Zero(t, e.Stats().Usable, "no traffic in REOPEN")
		answer()
		assert.Equal(t, fsm.Open, p.m.State(), "the third DWA in a row")
		assert.Equal(t, 1, e.Stats().Usable)
	})
}

// A REOPEN whose peer stops answering: its pending DWR is not repeated; the count starts over
// after Tw, and one more Tw of silence closes the connection (RFC 3539 Appendix A, REOPEN,
// timer expiry with Pending set).
func TestReopenSilentPeerClosesAfterTwoTwInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const tw = 30 * time.Second
		e, p, c, answer := reopening(t, tw)
		answer()
		sent := len(linktest.Messages(t, c.Out))
		took := vloop{t, e}.run(time.Hour, func() bool { return c.Closed })
		assert.Equal(t, 2*tw, took)
		assert.Equal(t, sent, len(linktest.Messages(t, c.Out)), "no DWR while one is pending")
		assert.NotEqual(t, fsm.Open, p.m.State())
	})
}

// A DWA that comes late — after the connection went SUSPECT, before it went DOWN — brings it
// back (RFC 3539 §3.4.1: SUSPECT, a DWA: OKAY): usable again, nothing closed, and its watchdog
// starts over from that DWA.
func TestLateDWAFailsBackInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const tw = 30 * time.Second
		cfg := testConfig("127.0.0.1:1")
		cfg.DWRInterval, cfg.DWATimeout, cfg.noJitter = tw, 0, true
		e, _ := fakeEngine(t, cfg)
		p := e.peers[0]
		c := &linktest.Conn{}
		p.conn = c
		p.step(fsm.Event{Kind: fsm.EvMessage}, nil)
		v := vloop{t, e}
		v.run(time.Hour, func() bool { return p.m.State() == fsm.Suspect })
		assert.Zero(t, e.Stats().Usable, "SUSPECT: not routed to")
		dwr := lastDWR(t, c)
		c.In = link.DWA(nil, dwr, &framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local"})
		p.traffic(c, e.now())
		e.service()
		assert.Equal(t, fsm.Open, p.m.State(), "the late DWA: back to OKAY")
		assert.Equal(t, 1, e.Stats().Usable)
		assert.False(t, c.Closed)
		before := len(linktest.Messages(t, c.Out))
		took := v.run(time.Hour, func() bool { return len(linktest.Messages(t, c.Out)) > before })
		assert.Equal(t, tw, took, "the next DWR a Tw after the late DWA")
	})
}
