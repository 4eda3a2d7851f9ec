package engine

import (
	"context"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/internal/faultproxy"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refusingAndLateDRAs: DRA a answers every ECR with an E-bit 3002; DRA b answers 2001 but sits
// behind a proxy that delays everything it sends by lag, its CEA included, so b is still
// waiting for its CEA when a's refusal comes back (the start-up race of issue 10).
func refusingAndLateDRAs(t *testing.T, lag, timeout time.Duration) *Engine {
	t.Helper()
	a := testpeer.StartT(t, testpeer.Config{OriginHost: "dra-a.test.local", Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Verdict: s13.Verdict{ResultCode: framing.UnableToDeliver}}
	}})
	b := testpeer.StartT(t, testpeer.Config{OriginHost: "dra-b.test.local"})
	pb, err := faultproxy.Start(b.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { _ = pb.Close() })
	require.NoError(t, pb.Apply(faultproxy.Latency(faultproxy.ToClient, lag, 0)))
	cfg := testConfig()
	cfg.DRAs = []DRA{{Name: "a", Address: a.Addr()}, {Name: "b", Address: pb.Addr(), Priority: 1}}
	cfg.RequestTimeout = timeout
	cfg.CEATimeout = 10 * time.Second
	e := startBounded(t, cfg) // returns once a is usable
	require.Equal(t, 1, e.Stats().Usable, "b is still waiting for its CEA")
	return e
}

// A request refused with 3002 by one DRA while the other is still coming up waits for it and is
// resent there once it is usable, within its own deadline.
func TestRefusalWaitsForAnAlternateComingUp(t *testing.T) {
	e := refusingAndLateDRAs(t, 300*time.Millisecond, 5*time.Second)
	ans, err := e.Check(ctxT(t, 5*time.Second), testReq)
	require.NoError(t, err)
	assert.Equal(t, framing.Success, ans.ResultCode, "answered by b, not refused")
	assert.Equal(t, "dra-b.test.local", string(ans.OriginHost))
	assert.EqualValues(t, 1, e.Stats().DRAs[0].AlternateRetries)
}

// When no other DRA becomes usable before the request's deadline, the refusal is its answer
// (not a timeout), delivered at the deadline.
func TestRefusalDeliveredAtTheDeadlineWhenNoAlternateCame(t *testing.T) {
	const timeout = 400 * time.Millisecond
	e := refusingAndLateDRAs(t, 5*time.Second, timeout)
	start := time.Now()
	ans, err := e.Check(ctxT(t, 5*time.Second), testReq)
	require.NoError(t, err)
	assert.Equal(t, framing.UnableToDeliver, ans.ResultCode)
	assert.True(t, ans.IsError())
	assert.Equal(t, "dra-a.test.local", string(ans.OriginHost), "the refusal, kept intact")
	assert.GreaterOrEqual(t, time.Since(start), timeout-20*time.Millisecond, "it waited for b")
	assert.Zero(t, e.Stats().Total.Timeouts)
}

// A Close that does not wait for it (its context ends first) gives a waiting request its
// refusal, not ErrClosed: the DRA did answer it.
func TestClosingCutShortDeliversWaitingRefusals(t *testing.T) {
	e := refusingAndLateDRAs(t, 5*time.Second, 10*time.Second)
	got := make(chan s13.Answer, 1)
	require.NoError(t, e.Go(testReq, func(a s13.Answer, err error) {
		assert.NoError(t, err)
		got <- a.Clone()
	}))
	require.Eventually(t, func() bool { return e.Stats().Total.Answers.ProtocolError >= 1 }, 5*time.Second, time.Millisecond,
		"a refused it")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	assert.ErrorIs(t, e.Close(ctx), context.DeadlineExceeded, "cut short while the request waited")
	assert.Less(t, time.Since(start), 3*time.Second, "at once, not at the request's deadline (10 s)")
	ans := await.Recv(t, got, time.Second)
	assert.Equal(t, framing.UnableToDeliver, ans.ResultCode)
}
