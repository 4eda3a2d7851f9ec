package engine

import (
	"testing"
	"time"

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

// A peer that stops answering DWRs goes SUSPECT after DWRTimeout (its requests fail over), then
// DOWN after Tw, then the engine reconnects.
func TestSilentPeerGoesSuspectThenDown(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
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
