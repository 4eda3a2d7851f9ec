package engine

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A request whose connection dies is resent on another DRA with the T flag, the same
// End-to-End id, Session-Id and Origin-Host, and a new Hop-by-Hop id (RFC 6733 §5.5.4). The
// DRAs' connections present different identities, so the resend's Origin-Host is the first
// connection's, not the one of the connection carrying it.
func TestFailoverToOtherDRA(t *testing.T) { overEachTransport(t, testFailoverToOtherDRA) }

func testFailoverToOtherDRA(t *testing.T, tr transport) {
	got := make(chan *s13.ECR, 4)
	keep := func(_ *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		c := *req
		c.SessionID = append([]byte(nil), req.SessionID...)
		c.OriginHost = append([]byte(nil), req.OriginHost...)
		got <- &c
		return testpeer.Reply{}
	}
	a := testpeer.StartT(t, tr.peer(testpeer.Config{OriginHost: "dra-a.test.local", Handler: func(c *testpeer.Conn, req *s13.ECR) testpeer.Reply {
		keep(c, req)
		return testpeer.Reply{Drop: true}
	}}))
	b := testpeer.StartT(t, tr.peer(testpeer.Config{OriginHost: "dra-b.test.local", Handler: keep}))
	cfg := testConfig()
	cfg.DRAs = []DRA{{Name: "a", Address: a.Addr(), Priority: 0},
		{Name: "b", Address: b.Addr(), Priority: 1, Identity: IdentityPerConnection}}
	tr.dras(&cfg)
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	w.awaitOpen(t, ctxT(t, 3*time.Second), 2)
	assert.Equal(t, "gw-1.test.local", *b.Conns()[0].Origin.Load(), "b's connection has its own identity")

	res := make(chan error, 1)
	var ans s13.Answer
	go func() {
		var err error
		ans, err = e.Check(ctxT(t, 3*time.Second), testReq)
		res <- err
	}()
	first := await.Recv(t, got, 5*time.Second) // on the preferred DRA, which will never answer
	assert.False(t, first.Header.IsRetransmit())
	a.Conns()[0].Reset()
	second := await.Recv(t, got, 5*time.Second)
	require.NoError(t, await.Recv(t, res, 5*time.Second))
	assert.Equal(t, "dra-b.test.local", string(ans.OriginHost))
	assert.True(t, second.Header.IsRetransmit(), "T flag on the resend")
	assert.Equal(t, first.Header.EndToEnd, second.Header.EndToEnd)
	assert.NotEqual(t, first.Header.HopByHop, second.Header.HopByHop)
	assert.Equal(t, string(first.SessionID), string(second.SessionID))
	assert.Equal(t, "gw.test.local", string(first.OriginHost))
	assert.Equal(t, "gw.test.local", string(second.OriginHost), "the first connection's Origin-Host")
	st := e.Stats()
	assert.EqualValues(t, 1, st.DRAs[0].Failovers)
	assert.EqualValues(t, 1, st.DRAs[1].Retransmits)
}

// Requests go to the most preferred priority that has a usable connection, and move to the next
// one only while it has none.
func TestPriorityRouting(t *testing.T) {
	a := testpeer.StartT(t, testpeer.Config{OriginHost: "dra-a.test.local"})
	b := testpeer.StartT(t, testpeer.Config{OriginHost: "dra-b.test.local"})
	cfg := testConfig()
	cfg.DRAs = []DRA{{Name: "b", Address: b.Addr(), Priority: 5}, {Name: "a", Address: a.Addr(), Priority: 1}}
	w := watchStates(&cfg)
	holds := w.holds
	e := startEngine(t, cfg)
	ctx := ctxT(t, 5*time.Second)
	w.awaitOpen(t, ctx, 2) // and routed to: the settle after each CEA is over
	for i := 0; i < 5; i++ {
		ans, err := e.Check(ctx, testReq)
		require.NoError(t, err)
		assert.Equal(t, "dra-a.test.local", string(ans.OriginHost))
	}
	a.Stop()
	for {
		sc := await.Recv(t, w.ch, 5*time.Second)
		if sc.DRA == "a" && sc.To == fsm.Reconnecting {
			break
		}
	}
	ans, err := e.Check(ctx, testReq)
	require.NoError(t, err)
	assert.Equal(t, "dra-b.test.local", string(ans.OriginHost))
	require.NoError(t, a.Restart())
	for {
		sc := await.Recv(t, w.ch, 5*time.Second)
		if sc.DRA == "a" && sc.To == fsm.Open {
			break
		}
	}
	awaitUnheld(t, holds, "a", 1, 5*time.Second)
	ans, err = e.Check(ctx, testReq)
	require.NoError(t, err)
	assert.Equal(t, "dra-a.test.local", string(ans.OriginHost), "back to the preferred DRA")
}

// A DRA's 3004 (or 3002) answer-message sends the request once through another DRA, as a new
// request: no T flag, a new End-to-End id. With no other DRA the answer is returned as it is.
func TestTooBusyRetriedThroughAnotherDRA(t *testing.T) {
	busy := func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Verdict: s13.Verdict{ResultCode: framing.TooBusy}}
	}
	retriedThroughAnotherDRA(t, framing.TooBusy)

	// alone, the 3004 comes back to the caller
	solo := testpeer.StartT(t, testpeer.Config{Handler: busy})
	e2 := startEngine(t, testConfig(solo.Addr()))
	ans, err := e2.Check(ctxT(t, 2*time.Second), testReq)
	require.NoError(t, err)
	assert.Equal(t, framing.TooBusy, ans.ResultCode)
	assert.True(t, ans.IsError())
}

// 3002 DIAMETER_UNABLE_TO_DELIVER from a DRA is retried through another DRA, like 3004.
func TestUnableToDeliverRetriedThroughAnotherDRA(t *testing.T) {
	retriedThroughAnotherDRA(t, framing.UnableToDeliver)
}

// retriedThroughAnotherDRA checks that a request the preferred DRA answers with rc (an E-bit
// answer-message) is sent once more through the other DRA, as a new request (no T flag, a new
// End-to-End id), and that the caller gets the other DRA's answer.
func retriedThroughAnotherDRA(t *testing.T, rc framing.ResultCode) {
	t.Helper()
	got := make(chan framing.Header, 2)
	a := testpeer.StartT(t, testpeer.Config{OriginHost: "dra-a.test.local", Handler: func(_ *testpeer.Conn, r *s13.ECR) testpeer.Reply {
		got <- r.Header
		return testpeer.Reply{Verdict: s13.Verdict{ResultCode: rc}}
	}})
	b := testpeer.StartT(t, testpeer.Config{OriginHost: "dra-b.test.local", Handler: func(_ *testpeer.Conn, r *s13.ECR) testpeer.Reply {
		got <- r.Header
		return testpeer.Reply{}
	}})
	cfg := testConfig()
	cfg.DRAs = []DRA{{Name: "a", Address: a.Addr()}, {Name: "b", Address: b.Addr(), Priority: 1}}
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	w.awaitOpen(t, ctxT(t, 3*time.Second), 2)
	ans, err := e.Check(ctxT(t, 2*time.Second), testReq)
	require.NoError(t, err)
	assert.Equal(t, framing.Success, ans.ResultCode)
	assert.Equal(t, "dra-b.test.local", string(ans.OriginHost))
	first := waitFor(t, got, time.Second, "the first ECR")
	second := waitFor(t, got, time.Second, "the retry")
	assert.False(t, second.IsRetransmit(), "no T flag after an error answer (RFC 6733 §3)")
	assert.NotEqual(t, first.EndToEnd, second.EndToEnd)
	assert.EqualValues(t, 1, e.Stats().DRAs[0].AlternateRetries)
}

// When every DRA answers 3004 DIAMETER_TOO_BUSY, each request is resent once through another
// DRA and then handed the refusal: two sends a request, no more, however many requests (a
// retry storm is bounded; catalogue scenario 38).
func TestTooBusyEverywhereIsBounded(t *testing.T) {
	var ecrs atomic.Int64
	busy := func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		ecrs.Add(1)
		return testpeer.Reply{Verdict: s13.Verdict{ResultCode: framing.TooBusy}}
	}
	a := testpeer.StartT(t, testpeer.Config{OriginHost: "dra-a.test.local", Handler: busy})
	b := testpeer.StartT(t, testpeer.Config{OriginHost: "dra-b.test.local", Handler: busy})
	cfg := testConfig()
	cfg.DRAs = []DRA{{Name: "a", Address: a.Addr()}, {Name: "b", Address: b.Addr()}}
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	w.awaitOpen(t, ctxT(t, 3*time.Second), 2)
	const n = 50
	for range n {
		ans, err := e.Check(ctxT(t, 2*time.Second), testReq)
		require.NoError(t, err)
		assert.Equal(t, framing.TooBusy, ans.ResultCode)
	}
	assert.EqualValues(t, 2*n, ecrs.Load(), "each request sent twice: once, and once elsewhere")
	st := e.Stats()
	assert.EqualValues(t, n, st.DRAs[0].AlternateRetries+st.DRAs[1].AlternateRetries)
}
