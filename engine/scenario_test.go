package engine

import (
	"context"
	"syscall"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Scenarios played with a testpeer, and the outcomes they are awaited by.

// reopened brings the engine's only connection to the peer into REOPEN: it resets the first
// connection while the peer ignores DWRs, and returns the new connection and REOPEN's first
// (unanswered) DWR.
func reopened(t *testing.T, ctx context.Context, peer *testpeer.Peer, w *watch) (*testpeer.Conn, framing.Header) {
	t.Helper()
	_, err := peer.Await(ctx, testpeer.GotCER)
	require.NoError(t, err)
	peer.SetIgnoreDWR(true)
	peer.Conns()[0].Reset()
	w.await(t, ctx, 1, fsm.Reopen)
	cer, err := peer.Await(ctx, testpeer.GotCER)
	require.NoError(t, err)
	dwr, err := peer.Await(ctx, testpeer.GotDWR)
	require.NoError(t, err)
	return cer.Conn, dwr.Header
}

// awaitFramingReset waits until the peer's only connection ends with an RST (RFC 6733 §2.1: a
// stream that broke the framing rules cannot be trusted) and the engine's connection is down,
// with one protocol error whose text contains lastErr.
func awaitFramingReset(t *testing.T, ctx context.Context, peer *testpeer.Peer, w *watch, e *Engine, lastErr string) Snapshot {
	t.Helper()
	ev, err := peer.Await(ctx, testpeer.Closed)
	require.NoError(t, err)
	assert.ErrorIs(t, ev.Err, syscall.ECONNRESET, "reset, not closed")
	w.await(t, ctx, 1, fsm.Reconnecting)
	st := e.Stats()
	assert.EqualValues(t, 1, st.Total.FramingResets)
	assert.EqualValues(t, 1, st.Conns[0].FramingResets)
	assert.EqualValues(t, 1, st.Total.ProtocolErrors, "the deprecated name is still filled")
	assert.Contains(t, st.Conns[0].LastError, lastErr)
	return st
}

// awaitNew returns the next event of kind k on a connection other than old.
func awaitNew(t *testing.T, ctx context.Context, peer *testpeer.Peer, k testpeer.EventKind, old *testpeer.Conn) testpeer.Event {
	t.Helper()
	for {
		ev, err := peer.Await(ctx, k)
		require.NoError(t, err)
		if ev.Conn != old {
			return ev
		}
	}
}
