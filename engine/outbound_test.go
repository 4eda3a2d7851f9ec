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
	assert.Zero(t, st.Total.ProtocolErrors)
	assert.Contains(t, st.Conns[0].LastError, ErrSlowPeer.Error())
}
