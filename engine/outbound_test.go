package engine

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unsentOnLoop reads connection i's outbound backlog (our batch plus gnet's buffer) on the loop.
func unsentOnLoop(t *testing.T, e *Engine, i int) int {
	t.Helper()
	ch := make(chan int, 1)
	e.post(func() { ch <- e.peers[i].unsent() })
	select {
	case n := <-ch:
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("the loop did not run a posted task")
		return 0
	}
}

// unknownRequest is a request for a command the engine does not serve (it answers E-bit 3001,
// echoing the Session-Id), carrying sid as its Session-Id.
func unknownRequest(hbh uint32, sid string) []byte {
	b, m := framing.BeginMessage(nil, framing.Header{Flags: framing.FlagRequest | framing.FlagProxiable, Code: 316,
		AppID: 16777251, HopByHop: hbh, EndToEnd: hbh})
	b = framing.AppendString(b, framing.AVPSessionID, framing.AVPFlagMandatory, 0, sid)
	b = framing.AppendString(b, framing.AVPOriginHost, framing.AVPFlagMandatory, 0, "eir.test.local")
	b = framing.AppendString(b, framing.AVPOriginRealm, framing.AVPFlagMandatory, 0, "test.local")
	return framing.EndMessage(b, m)
}

// A peer that floods requests and reads none of the answers is reset once answering would put
// more than MaxOutboundBytes unsent, and counted; our backlog never goes past the budget.
// Its requests re-arm the watchdog, so nothing else would ever close the connection.
func TestSlowPeerIsReset(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	cfg.MaxOutboundBytes = 1 << 20
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	c := peer.Conns()[0]
	c.StopReading()
	sid := "eir.test.local;" + strings.Repeat("x", 60<<10) // each 3001 echoes it: ~60 KiB answers
	var werr error
	// The kernel's socket buffers take some MiB before gnet buffers anything; a reset comes after
	// at most a few hundred requests. Without the budget the backlog passes it long before the
	// bound on i.
	i := uint32(0)
	for werr == nil {
		i++
		require.Less(t, i, uint32(1000), "the connection was never reset")
		werr = c.Write(unknownRequest(i, sid))
		require.LessOrEqual(t, unsentOnLoop(t, e, 0), cfg.MaxOutboundBytes, "after request %d", i)
	}
	t.Logf("reset after %d requests of %d bytes", i, len(unknownRequest(0, sid)))
	assert.True(t, errors.Is(werr, syscall.ECONNRESET) || errors.Is(werr, syscall.EPIPE), "%v", werr)
	w.await(t, ctxT(t, 5*time.Second), 1, fsm.Reconnecting)
	st := e.Stats()
	assert.EqualValues(t, 1, st.Total.SlowPeerCloses)
	assert.Zero(t, st.Total.FramingResets)
	assert.Contains(t, st.Conns[0].LastError, ErrSlowPeer.Error())
}

// An answer above MaxMessageSize is a framing error: the connection is reset (RST), and the
// request fails over (here, with nowhere to go, it is lost).
func TestAnswerAboveMaxMessageSizeResets(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		b, m := framing.BeginMessage(nil, framing.AnswerHeader(req.Header))
		b = framing.AppendOctets(b, framing.AVPSessionID, framing.AVPFlagMandatory, 0, req.SessionID)
		b = framing.AppendUint32(b, framing.AVPResultCode, framing.AVPFlagMandatory, 0, uint32(framing.Success))
		b = framing.AppendString(b, framing.AVPOriginHost, framing.AVPFlagMandatory, 0, "eir.test.local")
		b = framing.AppendString(b, framing.AVPOriginRealm, framing.AVPFlagMandatory, 0, "test.local")
		b = framing.AppendOctets(b, 99999, 0, 0, make([]byte, 1100)) // an unknown AVP: 1024 bytes is the limit
		return testpeer.Reply{Raw: framing.EndMessage(b, m)}
	}})
	cfg := testConfig(peer.Addr())
	cfg.MaxMessageSize = 1024
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 5*time.Second)
	_, err := e.Check(ctx, testReq)
	require.ErrorIs(t, err, ErrConnectionLost)
	st := awaitFramingReset(t, ctx, peer, w, e, framing.ErrMessageTooLarge.Error())
	assert.Zero(t, st.Total.Answers.Total())
}

// A message cut short by the end of a connection is dropped with it: its first bytes are not glued
// to what the next connection sends (here they would swallow the CEA).
func TestPartialMessageDroppedAcrossReconnect(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	cfg.CEATimeout, cfg.FragmentTimeout = 30*time.Second, 30*time.Second // neither may rescue it
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 5*time.Second)
	c := peer.Conns()[0]
	// the first 24 bytes of a 4 KiB message, then FIN
	head := unknownRequest(1, strings.Repeat("y", 4096))[:24]
	require.NoError(t, c.Write(head))
	c.Close()
	w.await(t, ctx, 1, fsm.Reconnecting)
	w.await(t, ctx, 1, fsm.Reopen) // the CEA was read as a CEA
	w.await(t, ctx, 1, fsm.Open)
	_, err := e.Check(ctx, testReq)
	require.NoError(t, err)
	assert.Zero(t, e.Stats().Total.FramingResets)
}

// Before its CEA the peer may send nothing else (RFC 6733 §5.6.1 Wait-I-CEA I-Rcv-Non-CEA:
// Error): a DWR closes the connection unanswered, whether its Origin-State-Id is the one the
// previous connection had or a new one.
func TestNonCEABeforeCEACloses(t *testing.T) {
	for _, stateID := range []uint32{7, 8} {
		peer := testpeer.StartT(t, testpeer.Config{OriginStateID: 7})
		cfg := testConfig(peer.Addr())
		cfg.CEATimeout = 30 * time.Second // the close must come from the DWR
		w := watchStates(&cfg)
		e := startEngine(t, cfg)
		ctx := ctxT(t, 5*time.Second)
		peer.SetSilent(true) // the next CER gets no CEA
		first := peer.Conns()[0]
		first.Close()
		ev := awaitNew(t, ctx, peer, testpeer.GotCER, first)
		dwr := framing.AppendDWR(nil, 1, 1, &framing.Identity{OriginHost: "eir.test.local", OriginRealm: "test.local", OriginStateID: stateID})
		require.NoError(t, ev.Conn.Write(dwr))
		sc := w.await(t, ctx, 1, fsm.Failed)
		assert.Equal(t, fsm.CERSent, sc.From, "Origin-State-Id %d", stateID)
		awaitNew(t, ctx, peer, testpeer.Closed, first) // the engine closed it
		assert.Zero(t, e.Stats().Total.DWAReceived)
		require.NoError(t, e.Close(ctxT(t, 3*time.Second)))
	}
}

// In REOPEN the peer's own request gets the E-bit 3001 it gets in Open; the connection stays in
// REOPEN, carrying none of our traffic.
func TestReopenAnswersPeerRequests(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 5*time.Second)
	peer.SetIgnoreDWR(true) // REOPEN's DWRs go unanswered: it stays there (DWATimeout is 10 s)
	first := peer.Conns()[0]
	first.Close()
	c := awaitNew(t, ctx, peer, testpeer.GotCER, first).Conn
	w.await(t, ctx, 1, fsm.Reopen)
	require.NoError(t, c.Write(unknownRequest(77, "eir.test.local;1;2")))
	ev, err := peer.Await(ctx, testpeer.GotOther)
	require.NoError(t, err)
	assert.EqualValues(t, 316, ev.Header.Code)
	assert.True(t, ev.Header.IsError())
	assert.False(t, ev.Header.IsRequest())
	assert.EqualValues(t, 77, ev.Header.HopByHop)
	assert.Equal(t, "Reopen", e.state(0))
	_, err = e.Check(ctx, testReq)
	require.ErrorIs(t, err, ErrNoConnection)
}
