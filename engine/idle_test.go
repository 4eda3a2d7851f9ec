package engine

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An idle loop sleeps until its next timer is due instead of being woken every Tick: while one
// request waits out its timeout on a connection whose peer never answers (and Tw is 30 s), the
// alarm wakes the loop once or twice — at the timeout's tick boundary, perhaps once early for a
// stopped timer's stale bound — not every Tick (a 10 ms ticker would wake it about 40 times). The
// timeout was set while the alarm slept towards Tw, so it also shows an earlier deadline cuts
// that sleep short: the request still fails on time.
func TestIdleLoopSleepsUntilTheNextDeadline(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Drop: true}
	}})
	cfg := testConfig(peer.Addr())
	cfg.RequestTimeout = 400 * time.Millisecond
	e := startEngine(t, cfg)
	before := e.Stats().TimerWakeups
	start := time.Now()
	_, err := e.Check(ctxT(t, 5*time.Second), testReq)
	took := time.Since(start)
	require.ErrorIs(t, err, ErrTimeout)
	assert.GreaterOrEqual(t, took, cfg.RequestTimeout, "not before its deadline")
	assert.Less(t, took, cfg.RequestTimeout+time.Second, "the timeout's deadline woke the sleeping loop")
	woken := e.Stats().TimerWakeups - before
	assert.GreaterOrEqual(t, woken, uint64(1), "the timeout itself woke the loop")
	assert.LessOrEqual(t, woken, uint64(3), "woken only for due timers, not every Tick")
}
