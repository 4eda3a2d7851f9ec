package engine

import (
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
	e, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close(ctxT(t, 3*time.Second)) })
	ctx := ctxT(t, 10*time.Second)
	go func() { _ = e.Start(ctx) }()
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

// A framing violation leaves ErrProtocol with the framing sentinel as its cause, and a refused
// dial leaves the network's own error: both match with errors.Is.
func TestLastErrMatchesOtherKinds(t *testing.T) {
	t.Run("framing", func(t *testing.T) {
		peer := testpeer.StartT(t, testpeer.Config{})
		cfg := testConfig(peer.Addr())
		w := watchStates(&cfg)
		e := startEngine(t, cfg)
		ctx := ctxT(t, 10*time.Second)
		require.NoError(t, peer.Conns()[0].Write([]byte{2, 0, 0, 20, 0x80, 0, 1, 24, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}))
		st := awaitFramingReset(t, ctx, peer, w, e, "unsupported Diameter version")
		le := st.Conns[0].LastErr
		assert.ErrorIs(t, le, ErrProtocol)
		assert.ErrorIs(t, le, framing.ErrVersion)
		assert.NotErrorIs(t, le, ErrCEARejected)
	})
	t.Run("refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close()) // nothing listens there now: the dial is refused
		cfg := testConfig(addr)
		cfg.BackoffInitial, cfg.BackoffMax = time.Minute, time.Minute
		w := watchStates(&cfg)
		e, err := New(cfg)
		require.NoError(t, err)
		t.Cleanup(func() { _ = e.Close(ctxT(t, 3*time.Second)) })
		ctx := ctxT(t, 10*time.Second)
		go func() { _ = e.Start(ctx) }()
		w.await(t, ctx, 1, fsm.Reconnecting) // a failed dial backs off
		le := e.Stats().Conns[0].LastErr
		assert.ErrorIs(t, le, syscall.ECONNREFUSED, "%v", le)
		assert.NotErrorIs(t, le, ErrCEARejected)
	})
}
