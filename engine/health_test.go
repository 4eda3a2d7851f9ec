package engine

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Ready follows the usable connections and the lifecycle; Health says per DRA which of them
// take requests, and Healthy needs one for every DRA.
func TestReadyAndHealthPerDRA(t *testing.T) {
	up := testpeer.StartT(t, testpeer.Config{})
	down := testpeer.StartT(t, testpeer.Config{})
	down.Stop() // its address refuses connections
	cfg := testConfig()
	cfg.DRAs = []DRA{{Name: "up", Address: up.Addr()}, {Name: "down", Address: down.Addr()}}
	w := watchStates(&cfg)
	e := newEngineT(t, cfg)
	assert.False(t, e.Ready(), "not started")
	assert.False(t, e.Health().Running)
	require.NoError(t, e.Start(ctxT(t, 5*time.Second)))

	require.Eventually(t, e.Ready, 5*time.Second, time.Millisecond, "the DRA that listens is usable once its settle ends")
	h := e.Health()
	assert.True(t, h.Running)
	assert.True(t, h.Ready)
	assert.False(t, h.Healthy, "DRA down has no connection")
	assert.False(t, e.Healthy())
	require.Len(t, h.DRAs, 2)
	assert.Equal(t, DRAHealth{Name: "up", Connections: 1, Usable: 1, States: map[string]int{"Open": 1}}, h.DRAs[0])
	assert.Equal(t, "down", h.DRAs[1].Name)
	assert.Zero(t, h.DRAs[1].Usable)
	assert.Zero(t, h.DRAs[1].States["Open"])

	// Closing: requests are refused with ErrClosed whatever the connections, so not ready.
	e.life.state.Store(lifeClosing)
	assert.False(t, e.Ready(), "closing")
	assert.False(t, e.Health().Ready)
	assert.False(t, e.Health().Running)
	e.life.state.Store(lifeRunning)

	require.NoError(t, down.Restart())
	require.Eventually(t, e.Healthy, 5*time.Second, time.Millisecond, "both DRAs usable once the second listens")
	assert.Equal(t, 1, e.Health().DRAs[1].Usable)

	for _, c := range up.Conns() {
		c.Reset()
	}
	w.awaitWhere(t, ctxT(t, 5*time.Second), func(sc StateChange) bool {
		return sc.DRA == "up" && sc.To == fsm.Reconnecting
	}, "the reset connection never went down")
	assert.False(t, e.Healthy(), "DRA up lost its connection")
	assert.True(t, e.Ready(), "DRA down still takes requests")

	require.NoError(t, closeWithin(t, e, 5*time.Second))
	assert.False(t, e.Ready(), "closed")
	assert.Equal(t, Health{DRAs: e.Health().DRAs}, e.Health(), "closed: nothing but the per-DRA detail")
}

// The refusals are counted by kind (ErrBusy past the window, ErrNoConnection with nothing
// usable), and every answer lands in one latency bucket of its connection.
func TestStatsRefusalsAndLatency(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, ecr *s13.ECR) testpeer.Reply {
		if string(ecr.IMEI) == slowIMEI {
			return testpeer.Reply{Delay: 300 * time.Millisecond}
		}
		return testpeer.Reply{}
	}})
	cfg := testConfig(peer.Addr())
	cfg.MaxInFlight = 1
	e := startEngine(t, cfg)
	const n = 5
	for range n {
		_, err := e.Check(ctxT(t, 5*time.Second), testReq)
		require.NoError(t, err)
	}
	done := make(chan error, 1)
	slow := testReq
	slow.IMEI = slowIMEI
	require.NoError(t, e.Go(slow, func(_ s13.Answer, err error) { done <- err }))
	for range 3 { // the window is one request, and it is out
		require.ErrorIs(t, e.Go(testReq, func(s13.Answer, error) {}), ErrBusy)
	}
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the slow request never completed")
	}
	require.Eventually(t, func() bool { return e.Stats().Total.Latency.Count() == n+1 }, 5*time.Second, time.Millisecond,
		"published at the end of the round")
	s := e.Stats()
	assert.Equal(t, uint64(3), s.Busy)
	assert.Zero(t, s.NoConnection)
	lat := s.Conns[0].Latency
	assert.Equal(t, s.Conns[0].Answers.Total(), lat.Count(), "one bucket per answer")
	assert.Equal(t, s.Total.Latency, lat, "the total sums the connections")
	assert.GreaterOrEqual(t, time.Duration(lat.SumNanos), 300*time.Millisecond, "the slow one is in the sum")
	slowBucket := latencyBucket(uint64(300 * time.Millisecond))
	var above uint64
	for _, b := range lat.Buckets[slowBucket:] {
		above += b
	}
	assert.NotZero(t, above, "the slow answer is in a bucket of 300 ms or more")
	assert.Zero(t, s.InboxDepth, "nothing waits")

	peer.Stop()
	for _, c := range peer.Conns() {
		c.Reset()
	}
	require.Eventually(t, func() bool { return !e.Ready() }, 5*time.Second, time.Millisecond)
	require.ErrorIs(t, e.Go(testReq, func(s13.Answer, error) {}), ErrNoConnection)
	assert.Equal(t, uint64(1), e.Stats().NoConnection)
	assert.Equal(t, uint64(3), e.Stats().Busy)
}

const slowIMEI = "35209900176149"

// A round trip falls in the bucket whose bound is the next power of two above it, from 1024 ns
// up; the last bucket takes the rest.
func TestLatencyBuckets(t *testing.T) {
	assert.Equal(t, 0, latencyBucket(0))
	assert.Equal(t, 0, latencyBucket(1023))
	for i := range LatencyBuckets - 1 {
		b := uint64(LatencyBound(i))
		assert.Equal(t, i, latencyBucket(b-1), "under bound %d", i)
		assert.Equal(t, i+1, latencyBucket(b), "at bound %d", i)
	}
	assert.Equal(t, LatencyBuckets-1, latencyBucket(1<<63))
	assert.Equal(t, 17179869184*time.Nanosecond, LatencyBound(LatencyBuckets-2), "about 17 s")
}
