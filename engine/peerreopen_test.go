package engine

import (
	"sync"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkAll runs n Checks from as many goroutines and returns their errors.
func checkAll(t *testing.T, e *Engine, n int) []error {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.Check(ctxT(t, 10*time.Second), testReq)
		}()
	}
	await.Wait(t, &wg, 15*time.Second)
	return errs
}

// sawPeerReopen reports whether the hold watch saw the connection in the peer's REOPEN.
func sawPeerReopen(t *testing.T, holds chan ConnStats) {
	t.Helper()
	for {
		if c := await.Recv(t, holds, 5*time.Second); c.PeerReopening {
			return
		}
	}
}

// A peer that puts the connection in its REOPEN (a DWR right after the CEA, the next on each
// DWA, ECRs dropped until the third DWA: freeDiameter after an unclean close of ours) loses
// none of our requests: those submitted as soon as the connection is Open wait until we have
// answered its three DWRs, and then go out.
func TestPeerReopenHoldsTraffic(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Reopen: true})
	cfg := testConfig(peer.Addr())
	w := watchStates(&cfg)
	holds := w.holds
	e, _ := startInBackground(t, cfg)
	w.await(t, ctxT(t, 5*time.Second), 1, fsm.Open)
	for i, err := range checkAll(t, e, 16) {
		require.NoError(t, err, "request %d", i)
	}
	sawPeerReopen(t, holds)
	assert.Zero(t, peer.ReopenDrops.Load(), "no ECR reached the peer during its REOPEN")
	st := e.Stats()
	assert.EqualValues(t, 1, st.Total.PeerReopens)
	assert.EqualValues(t, 3, st.Total.DWRReceived)
	assert.False(t, st.Conns[0].PeerReopening)
	assert.True(t, st.Conns[0].Usable)
	assert.Zero(t, st.Total.Timeouts)
}

// OTP's pace: a DWR at once, then one per Tw of its own; the hold lasts until the third is
// answered, however long that takes (within the limit), and the requests wait parked within
// their deadlines.
func TestPeerReopenAtThePeersPace(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Reopen: true, ReopenInterval: 300 * time.Millisecond})
	cfg := testConfig(peer.Addr())
	cfg.RequestTimeout = 5 * time.Second
	w := watchStates(&cfg)
	holds := w.holds
	e, _ := startInBackground(t, cfg)
	w.await(t, ctxT(t, 5*time.Second), 1, fsm.Open)
	sawPeerReopen(t, holds)
	start := time.Now()
	for i, err := range checkAll(t, e, 8) {
		require.NoError(t, err, "request %d", i)
	}
	assert.GreaterOrEqual(t, time.Since(start), 400*time.Millisecond, "held until the third DWR, two intervals later")
	assert.Zero(t, peer.ReopenDrops.Load())
	assert.EqualValues(t, 1, e.Stats().Total.PeerReopens)
}

// The REOPEN's first DWR comes late, after requests have gone out on the connection: the peer
// dropped them, so they are failed over (parked: there is no other connection) and sent again,
// with the T flag, once the REOPEN is over.
func TestPeerReopenFailsOverWhatItDropped(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Reopen: true, ReopenDelay: 200 * time.Millisecond})
	cfg := testConfig(peer.Addr())
	cfg.RequestTimeout = 5 * time.Second
	e := startEngine(t, cfg) // usable once the settle is over, before the DWR
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := e.Check(ctxT(t, 10*time.Second), testReq)
			errs <- err
		}()
	}
	for i := range 8 {
		require.NoError(t, await.Recv(t, errs, 15*time.Second), "request %d", i)
	}
	assert.Positive(t, peer.ReopenDrops.Load(), "requests went out before the DWR")
	st := e.Stats().Total
	assert.EqualValues(t, 1, st.PeerReopens)
	assert.EqualValues(t, peer.ReopenDrops.Load(), st.Retransmits, "each dropped one resent once, with the T flag")
	assert.Zero(t, st.Timeouts)
}

// While one DRA's connection is in the peer's REOPEN, requests go to another DRA's.
func TestPeerReopenRoutesElsewhere(t *testing.T) {
	a := testpeer.StartT(t, testpeer.Config{OriginHost: "dra-a.test.local"})
	b := testpeer.StartT(t, testpeer.Config{OriginHost: "dra-b.test.local", Reopen: true, ReopenInterval: time.Hour})
	cfg := testConfig()
	cfg.DRAs = []DRA{{Name: "a", Address: a.Addr()}, {Name: "b", Address: b.Addr()}}
	holds := watchHolds(&cfg)
	e := startEngine(t, cfg)
	for {
		if c := await.Recv(t, holds, 5*time.Second); c.DRA == "b" && c.PeerReopening {
			break
		}
	}
	for i, err := range checkAll(t, e, 20) {
		require.NoError(t, err, "request %d", i)
	}
	assert.Zero(t, b.ECRs.Load(), "nothing routed to the reopening connection")
	assert.EqualValues(t, 20, a.ECRs.Load())
	st := e.Stats()
	assert.True(t, st.Conns[1].PeerReopening)
	assert.False(t, st.Conns[1].Usable)
	assert.Equal(t, 1, st.Usable)
}

// A DWR after the connection has answered a request is the peer's watchdog, not a REOPEN: the
// connection stays routable.
func TestPeerDWRAfterAnswerIsNoReopen(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	e := startEngine(t, cfg)
	ctx := ctxT(t, 5*time.Second)
	_, err := e.Check(ctx, testReq)
	require.NoError(t, err)
	require.NoError(t, peer.Conns()[0].SendDWR())
	_, err = peer.Await(ctx, testpeer.GotDWA)
	require.NoError(t, err)
	_, err = e.Check(ctx, testReq)
	require.NoError(t, err)
	st := e.Stats()
	assert.Zero(t, st.Total.PeerReopens)
	assert.True(t, st.Conns[0].Usable)
}

// A peer that sends one DWR right after the CEA and then no more cannot keep the connection out
// of use: past three Tw it is routed to again.
func TestPeerReopenLimit(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Reopen: true, ReopenInterval: time.Hour})
	cfg := testConfig(peer.Addr())
	fast(&cfg, 200*time.Millisecond, 200*time.Millisecond)
	holds := watchHolds(&cfg)
	e := startEngine(t, cfg) // WaitReady: after the limit
	sawPeerReopen(t, holds)
	st := e.Stats()
	assert.True(t, st.Conns[0].Usable)
	assert.EqualValues(t, 1, st.Total.PeerReopens)
	assert.EqualValues(t, 1, st.Total.DWRReceived, "the peer's REOPEN never ended")
}
