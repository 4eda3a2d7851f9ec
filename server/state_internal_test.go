package server

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link/linktest"
	"github.com/hsdfat8/diam-gw/internal/wheel"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests drive a connection's state handling without gnet and in virtual time: the loop's
// wheel is advanced by hand, output stays in c.out, a close is c.want.

// openResponder returns a state machine past a successful CER.
func openResponder(t *testing.T, s *Server) *fsm.Responder {
	t.Helper()
	m := fsm.NewResponder(s.fsm, 1)
	m.Step(fsm.Event{Kind: fsm.EvStart})
	require.Equal(t, fsm.ROpen, m.Step(fsm.Event{Kind: fsm.EvCEROK}).To)
	return m
}

const vtw = 6 * time.Second // Tw of the virtual-time tests, without jitter

// vconn is an open connection at virtual time 0 whose watchdog is armed for exactly vtw.
func vconn(t *testing.T) *conn {
	t.Helper()
	cfg := Config{OriginHost: "eir.test.local", OriginRealm: "test.local", Handler: HandlerFunc(echo),
		DWRInterval: vtw, twJitter: -1}
	s, err := New(cfg)
	require.NoError(t, err)
	l := newLoop(s, nil)
	l.wheel = wheel.New(Tick, 1024, 0) // virtual time starts at 0
	c := &conn{l: l, m: fsm.NewResponder(s.fsm, 1)}
	c.dq.prev, c.dq.next = &c.dq, &c.dq
	c.step(fsm.Event{Kind: fsm.EvStart}, nil, 0)
	out := c.step(fsm.Event{Kind: fsm.EvCEROK}, nil, 0)
	require.Equal(t, vtw, out.After)
	return c
}

// at advances the virtual clock to d.
func (c *conn) at(d time.Duration) { c.l.advance(int64(d)) }

// sent returns the messages c has queued since the last call, as headers.
func (c *conn) sent(t *testing.T) []framing.Header {
	t.Helper()
	var hs []framing.Header
	for _, msg := range linktest.Messages(t, c.out.B) {
		h, err := framing.ParseHeader(msg)
		require.NoError(t, err)
		hs = append(hs, h)
	}
	c.out.B = c.out.B[:0]
	return hs
}

func isDWR(h framing.Header) bool { return h.Code == framing.CmdDeviceWatchdog && h.IsRequest() }

func request(hbh uint32) []byte {
	m, mark := framing.BeginMessage(nil, framing.Header{Flags: framing.FlagRequest, Code: 999, HopByHop: hbh})
	return framing.EndMessage(m, mark)
}

// RFC 3539 as the responder runs it: our DWR after Tw of silence, SUSPECT when Tw more pass
// without an answer (no second DWR), the close one Tw after that. (The old rule closed at 2·Tw
// after the DWR without a SUSPECT in between; the close comes at the same time.)
func TestWatchdogSuspectThenDown(t *testing.T) {
	c := vconn(t)
	c.at(vtw - time.Millisecond)
	assert.Empty(t, c.sent(t), "nothing before Tw")
	c.at(vtw + Tick)
	hs := c.sent(t)
	require.Len(t, hs, 1)
	assert.True(t, isDWR(hs[0]), "a DWR after Tw of silence")
	assert.Equal(t, fsm.RDWRSent, c.m.State())

	c.at(2*vtw + Tick)
	assert.Equal(t, fsm.RSuspect, c.m.State(), "SUSPECT a Tw after the DWR")
	assert.Empty(t, c.sent(t), "no second DWR")
	assert.Equal(t, keepOpen, c.want, "SUSPECT does not close")

	c.at(3*vtw - time.Millisecond)
	assert.Equal(t, keepOpen, c.want)
	c.at(3*vtw + Tick)
	assert.Equal(t, closeFIN, c.want, "DOWN: closed a Tw after SUSPECT")
	assert.EqualValues(t, 1, c.l.ctr[cWatchdogCloses])
	assert.EqualValues(t, 1, c.l.ctr[cDWRSent])
}

// Any message in SUSPECT brings the connection back (RFC 3539 Failback); only a DWA clears
// Pending, so a client that sends requests but never answers our DWR gets no second DWR: the
// next silent Tw is SUSPECT again and the one after it closes. (The old rule cleared the pending
// DWR on any message and sent another.)
func TestSuspectFailsBackOnTraffic(t *testing.T) {
	c := vconn(t)
	c.at(vtw + Tick)
	require.True(t, isDWR(c.sent(t)[0]))
	c.at(2*vtw + Tick)
	require.Equal(t, fsm.RSuspect, c.m.State())

	now := 2*vtw + 2*Tick
	c.traffic(request(7), int64(now))
	hs := c.sent(t)
	require.Len(t, hs, 1, "the request is answered in SUSPECT")
	assert.EqualValues(t, 7, hs[0].HopByHop)
	assert.Equal(t, fsm.RDWRSent, c.m.State(), "back to OKAY, Pending still TRUE")

	c.at(now + vtw + Tick)
	assert.Equal(t, fsm.RSuspect, c.m.State(), "a silent Tw with Pending: SUSPECT, not a new DWR")
	assert.Empty(t, c.sent(t))
	c.traffic(dwa(c), int64(now+vtw+2*Tick))
	assert.Equal(t, fsm.ROpen, c.m.State(), "a DWA clears Pending")
	c.at(now + 2*vtw + Tick)
	assert.Equal(t, keepOpen, c.want)
	assert.Equal(t, fsm.ROpen, c.m.State(), "not yet a Tw after the DWA")
	c.at(now + 2*vtw + 3*Tick)
	assert.True(t, isDWR(c.sent(t)[0]), "a Tw after the DWA: a new DWR")
}

func dwa(c *conn) []byte {
	return framing.AppendDWA(nil, framing.Header{Code: framing.CmdDeviceWatchdog, Flags: framing.FlagRequest},
		framing.Success, &framing.Identity{OriginHost: "gw.test.local", OriginRealm: "test.local"})
}

// The hot path: a read of many requests steps the machine once (one re-arm), and a later deadline
// leaves the wheel entry where it is; the entry fires early, finds the deadline moved, and waits.
func TestTrafficStepsOncePerReadAndMovesNoWheelEntry(t *testing.T) {
	c := vconn(t)
	firstAt := c.timer.Entry()
	gen := c.m.Gen()
	var read []byte
	for i := range 10 {
		read = append(read, request(uint32(i))...)
	}
	c.traffic(read, int64(time.Second))
	assert.Len(t, c.sent(t), 10, "every request answered")
	assert.Equal(t, gen+1, c.m.Gen(), "one step for the read, not one per request")
	assert.Equal(t, firstAt, c.timer.Entry(), "the wheel entry did not move")
	assert.Equal(t, int64(time.Second+vtw), c.timer.Deadline())

	c.at(vtw + Tick)
	assert.Empty(t, c.sent(t), "traffic deferred the DWR")
	assert.True(t, c.timer.Armed())
	assert.Equal(t, int64(time.Second+vtw), c.timer.Entry(), "re-armed for the deadline")
	c.at(time.Second + vtw + Tick)
	assert.True(t, isDWR(c.sent(t)[0]))
}

// Close's Stop on the loop: DPR, then the DPA closes; without one DPATimeout does.
func TestStopSendsDPRAndClosesOnDPA(t *testing.T) {
	for _, answered := range []bool{true, false} {
		c := vconn(t)
		c.l.conns = append(c.l.conns, c)
		now := time.Second
		c.step(fsm.Event{Kind: fsm.EvStop}, nil, int64(now))
		hs := c.sent(t)
		require.Len(t, hs, 1)
		assert.Equal(t, framing.CmdDisconnectPeer, hs[0].Code)
		assert.True(t, hs[0].IsRequest())
		assert.Equal(t, fsm.RClosing, c.m.State())
		c.traffic(request(1), int64(now)) // crossed the DPR: answered
		assert.Len(t, c.sent(t), 1)
		if answered {
			c.traffic(framing.AppendDPA(nil, hs[0], framing.Success, &framing.Identity{OriginHost: "gw", OriginRealm: "r"}), int64(now))
			assert.Equal(t, closeFIN, c.want, "closed on the DPA")
			continue
		}
		c.at(now + DefaultDPATimeout - Tick)
		assert.Equal(t, keepOpen, c.want)
		c.at(now + DefaultDPATimeout + Tick)
		assert.Equal(t, closeFIN, c.want, "closed after DPATimeout")
	}
}

// The server's Tw is the client's: DWRInterval with the RFC's ±2 s, never below 6 s, from the
// one jitter helper in fsm (no cap of its own).
func TestWatchdogUsesTheSharedJitter(t *testing.T) {
	s, err := New(Config{OriginHost: "eir.test.local", OriginRealm: "test.local", DWRInterval: 6 * time.Second})
	require.NoError(t, err)
	seen := map[time.Duration]bool{}
	for seed := uint64(1); seed < 200; seed++ {
		m := fsm.NewResponder(s.fsm, seed)
		m.Step(fsm.Event{Kind: fsm.EvStart})
		tw := m.Step(fsm.Event{Kind: fsm.EvCEROK}).After
		assert.GreaterOrEqual(t, tw, 6*time.Second, "never below the RFC 3539 floor")
		assert.LessOrEqual(t, tw, 8*time.Second, "Tw + 2 s at most")
		seen[tw] = true
	}
	assert.Greater(t, len(seen), 50, "jittered")
	var top time.Duration
	for d := range seen {
		top = max(top, d)
	}
	assert.Greater(t, top, 6*time.Second+3*time.Second/2, "the RFC's ±2 s, not a quarter of Tw")
}
