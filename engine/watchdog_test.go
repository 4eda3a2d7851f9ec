package engine

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The peer's DWR is answered with a DWA.
func TestAnswersPeerDWR(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	startEngine(t, testConfig(peer.Addr()))
	ctx := ctxT(t, 3*time.Second)
	conns := peer.Conns()
	require.Len(t, conns, 1)
	require.NoError(t, conns[0].SendDWR())
	ev, err := peer.Await(ctx, testpeer.GotDWA)
	require.NoError(t, err)
	assert.Equal(t, "gw.test.local", ev.Origin)
}

// An idle connection sends its own DWR after Tw.
func TestSendsDWRWhenIdle(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	fast(&cfg, 300*time.Millisecond, 300*time.Millisecond)
	e := startEngine(t, cfg)
	ev, err := peer.Await(ctxT(t, 3*time.Second), testpeer.GotDWR)
	require.NoError(t, err)
	assert.Equal(t, "gw.test.local", ev.Origin)
	// answered: the connection stays usable
	_, err = e.Check(ctxT(t, 2*time.Second), testReq)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, e.Stats().Total.DWAReceived, uint64(1))
}

// A peer that stops answering DWRs goes SUSPECT after DWATimeout (its requests fail over), then
// DOWN after Tw, then the engine reconnects.
func TestSilentPeerGoesSuspectThenDown(t *testing.T) {
	overEachTransport(t, testSilentPeerGoesSuspectThenDown)
}

func testSilentPeerGoesSuspectThenDown(t *testing.T, tr transport) {
	peer := testpeer.StartT(t, tr.peer(testpeer.Config{}))
	cfg := testConfig(peer.Addr())
	tr.dras(&cfg)
	fast(&cfg, 200*time.Millisecond, 100*time.Millisecond)
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	peer.SetSilent(true)
	ctx := ctxT(t, 5*time.Second)
	_, err := peer.Await(ctx, testpeer.GotDWR)
	require.NoError(t, err)
	w.await(t, ctx, 1, fsm.Suspect)
	assert.Equal(t, 0, e.Stats().Usable)
	peer.SetSilent(false)
	w.await(t, ctx, 1, fsm.Failed) // SUSPECT + Tw without a word: DOWN
	w.await(t, ctx, 1, fsm.Reopen) // reconnected: three DWAs needed
	w.await(t, ctx, 1, fsm.Open)
	assert.GreaterOrEqual(t, e.Stats().Total.Reconnects, uint64(1))
	assert.GreaterOrEqual(t, peer.DWRs.Load(), int64(4), "one DWR before SUSPECT, three in REOPEN")
}

// openIdle returns the only connection of an engine that is never started, its state machine
// brought to Open without carrying out the steps' actions (nothing is dialled). Its own steps
// then run as on the loop, against the engine's clock.
func openIdle(t *testing.T, cfg Config) (*Engine, *draConn) {
	t.Helper()
	e, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close(ctxT(t, time.Second)) })
	p := e.peers[0]
	for _, k := range []fsm.EventKind{fsm.EvStart, fsm.EvConnected, fsm.EvCEAOK} {
		p.m.Step(fsm.Event{Kind: k})
	}
	require.Equal(t, fsm.Open, p.m.State())
	return e, p
}

// The DWA wait is armed when the DWR goes out: Tw by default (RFC 3539 §3.4.1, jitter
// included), or a shorter DWATimeout exactly; the connection turns SUSPECT at that deadline and
// not a tick before it. The deadline is read off the connection as its step armed it, on the
// engine's clock, so no wall-clock window is involved.
func TestDWATimeoutArmed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tw, dwa    time.Duration
		jitter     bool
		minW, maxW time.Duration // the armed wait
	}{
		{"default: Tw", 30 * time.Second, 0, false, 30 * time.Second, 30 * time.Second},
		{"default: Tw with its jitter", 30 * time.Second, 0, true, 28 * time.Second, 32 * time.Second},
		{"shorter DWATimeout", 30 * time.Second, 3 * time.Second, true, 3 * time.Second, 3 * time.Second},
		{"DWATimeout equal to Tw", 6 * time.Second, 6 * time.Second, false, 6 * time.Second, 6 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("127.0.0.1:1")
			cfg.DWRInterval, cfg.DWATimeout, cfg.noJitter = tc.tw, tc.dwa, !tc.jitter
			e, p := openIdle(t, cfg)
			before := e.now()
			out := p.step(fsm.Event{Kind: fsm.EvTimeout, Gen: p.m.Gen()}, nil) // Tw expired in Open
			after := e.now()
			require.Equal(t, fsm.DWRSent, out.To)
			require.True(t, out.Do.Has(fsm.ActSendDWR))
			assert.GreaterOrEqual(t, p.deadline, before+int64(tc.minW))
			assert.LessOrEqual(t, p.deadline, after+int64(tc.maxW))

			p.Expire(p.deadline - 1)
			assert.Equal(t, fsm.DWRSent, p.m.State(), "not SUSPECT before the deadline")
			p.Expire(p.deadline)
			assert.Equal(t, fsm.Suspect, p.m.State(), "SUSPECT at the deadline")
		})
	}
}

// A changed Origin-State-Id in the peer's DWR, or in the DWA to our DWR, reaches the state
// machine: the peer rebooted (RFC 6733 §8.16), so PeerReboots counts it and the connection is
// closed and set up afresh.
func TestOriginStateIDChangeRestarts(t *testing.T) {
	rebooted := &framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local", OriginStateID: 101}
	for _, via := range []string{"DWR", "DWA"} {
		t.Run(via, func(t *testing.T) {
			peer := testpeer.StartT(t, testpeer.Config{OriginStateID: 100})
			cfg := testConfig(peer.Addr())
			fast(&cfg, 200*time.Millisecond, 200*time.Millisecond)
			// No redial within the test: the reconnect's CEA (Origin-State-Id 100 again) would
			// count once more.
			cfg.BackoffInitial, cfg.BackoffMax = time.Minute, time.Minute
			w := watchStates(&cfg)
			e := startEngine(t, cfg)
			ctx := ctxT(t, 5*time.Second)
			c := peer.Conns()[0]
			if via == "DWR" {
				require.NoError(t, c.Write(framing.AppendDWR(nil, 0x77000001, 0x77000001, rebooted)))
			} else {
				peer.SetIgnoreDWR(true)
				dwr, err := peer.Await(ctx, testpeer.GotDWR)
				require.NoError(t, err)
				require.NoError(t, c.Write(framing.AppendDWA(nil, dwr.Header, framing.Success, rebooted)))
			}
			sc := w.await(t, ctx, 1, fsm.Failed)
			assert.Equal(t, via, sc.Event.String(), "closed on the %s", via)
			w.await(t, ctx, 1, fsm.Reconnecting)
			assert.EqualValues(t, 1, e.Stats().Total.PeerReboots)
		})
	}
}

// A DWR from the peer is answered while the connection is in REOPEN, and it stays there: a DWR
// is not one of the three DWAs (RFC 3539 REOPEN throws non-DWA messages away; OTP
// diameter_watchdog answers the DWR all the same).
func TestDWRAnsweredInReopen(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 5*time.Second)
	c, _ := reopened(t, ctx, peer, w)
	require.NoError(t, c.SendDWR())
	ev, err := peer.Await(ctx, testpeer.GotDWA)
	require.NoError(t, err)
	assert.Equal(t, "gw.test.local", ev.Origin)
	assert.Equal(t, "Reopen", e.state(0))
}
