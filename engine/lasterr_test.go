package engine

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ConnStats.LastErr is the error value itself: a CEA with a Result-Code other than 2001 matches
// ErrCEARejected and is an *Error naming the connection; LastError keeps its text.
func TestLastErrMatchesCEARejected(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{CEAResult: framing.UnableToComply})
	cfg := testConfig(peer.Addr())
	cfg.BackoffInitial, cfg.BackoffMax = time.Minute, time.Minute // one attempt is enough
	w := watchStates(&cfg)
	e, ctx := startInBackground(t, cfg)
	sc := w.await(t, ctx, 1, fsm.Failed)
	assert.Equal(t, fsm.CERSent, sc.From)

	cs := e.Stats().Conns[0]
	require.Error(t, cs.LastErr)
	assert.ErrorIs(t, cs.LastErr, ErrCEARejected)
	assert.NotErrorIs(t, cs.LastErr, ErrProtocol)
	var ee *Error
	require.ErrorAs(t, cs.LastErr, &ee)
	assert.Equal(t, cfg.DRAs[0].Address, ee.DRA)
	assert.Equal(t, 1, ee.Conn)
	assert.Contains(t, cs.LastErr.Error(), "Result-Code 5012")
	assert.Equal(t, cs.LastErr.Error(), cs.LastError)
	assert.False(t, cs.LastErrorAt.IsZero())
}

// A refused dial leaves the network's own error, which matches with errors.Is too (for a framing
// violation's ErrProtocol see TestFramingViolationResets).
func TestLastErrMatchesDialError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close()) // nothing listens there now: the dial is refused
	cfg := testConfig(addr)
	cfg.BackoffInitial, cfg.BackoffMax = time.Minute, time.Minute
	w := watchStates(&cfg)
	e, ctx := startInBackground(t, cfg)
	w.await(t, ctx, 1, fsm.Reconnecting) // a failed dial backs off
	le := e.Stats().Conns[0].LastErr
	assert.ErrorIs(t, le, syscall.ECONNREFUSED, "%v", le)
	assert.NotErrorIs(t, le, ErrCEARejected)
}

// startInBackground builds an engine whose Start is expected not to succeed soon, starts it on
// a goroutine and closes it at the end of the test.
func startInBackground(t *testing.T, cfg Config) (*Engine, context.Context) {
	t.Helper()
	e, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close(ctxT(t, 3*time.Second)) })
	ctx := ctxT(t, 10*time.Second)
	go func() { _ = e.Start(ctx) }()
	return e, ctx
}
