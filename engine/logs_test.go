package engine

import (
	"context"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link/linktest"
	"github.com/hsdfat8/diam-gw/internal/ratelog/ratelogtest"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// connAttrs checks that r names connection 1 of the DRA at addr and, when host is set, the peer.
func connAttrs(t *testing.T, r ratelogtest.Record, addr, host string) {
	t.Helper()
	assert.Equal(t, addr, r.Str("dra"), "%s: dra", r.Msg)
	assert.Equal(t, "1", r.Str("conn"), "%s: conn", r.Msg)
	if host != "" {
		assert.Equal(t, host, r.Str("peer_host"), "%s: peer_host", r.Msg)
		assert.Equal(t, "test.local", r.Str("peer_realm"), "%s: peer_realm", r.Msg)
	}
}

// openLogged starts an engine logging to a Recorder at Info against a testpeer of pcfg and
// waits for its connection to open.
func openLogged(t *testing.T, pcfg testpeer.Config) (*Engine, *testpeer.Peer, *ratelogtest.Recorder, *watch, context.Context) {
	t.Helper()
	peer := testpeer.StartT(t, pcfg)
	cfg := testConfig(peer.Addr())
	logs := ratelogtest.NewRecorder(slog.LevelInfo)
	cfg.Logger = slog.New(logs)
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 20*time.Second)
	w.await(t, ctx, 1, fsm.Open)
	return e, peer, logs, w, ctx
}

// The handshake, the state changes and our DPR are logged once each, with the connection and
// the peer as attributes; then 1,000 requests log nothing at Info, answered or refused.
func TestLogHandshakeStatesAndNothingPerRequest(t *testing.T) {
	e, _, logs, _, ctx := openLogged(t, testpeer.Config{})
	addr := e.peers[0].dra.name

	cea := logs.One(t, "CEA accepted")
	connAttrs(t, cea, addr, "eir.test.local")
	assert.Contains(t, cea.Str("apps"), "16777252", "the peer's applications")
	for _, r := range logs.Find("connection state") {
		connAttrs(t, r, addr, "")
	}
	open := logs.Find("connection state")
	require.NotEmpty(t, open)
	last := open[len(open)-1]
	assert.Equal(t, "CERSent", last.Str("from"))
	assert.Equal(t, "Open", last.Str("to"))
	assert.Equal(t, "eir.test.local", last.Str("peer_host"), "the state change after the CEA names the peer")

	before := len(logs.Records())
	for range 1000 {
		_, err := e.Check(ctx, testReq)
		require.NoError(t, err)
	}
	assert.Equal(t, before, len(logs.Records()), "nothing logged per request at Info")

	require.NoError(t, e.Close(ctx))
	dpr := logs.One(t, "DPR sent")
	connAttrs(t, dpr, addr, "eir.test.local")
	assert.Equal(t, framing.Rebooting.String(), dpr.Str("cause"))
}

// A rejected CEA is logged with the reason and the peer that gave it, then the backoff chosen
// and the attempt it follows.
func TestLogCEARejectedAndBackoff(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{CEAResult: framing.NoCommonApplication})
	cfg := testConfig(peer.Addr())
	cfg.BackoffInitial, cfg.BackoffMax = time.Hour, time.Hour // one attempt
	logs := ratelogtest.NewRecorder(slog.LevelInfo)
	cfg.Logger = slog.New(logs)
	w := watchStates(&cfg)
	e, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close(ctxT(t, 5*time.Second)) })
	_ = e.Start(ctxT(t, 5*time.Second)) // no connection opens
	ctx := ctxT(t, 10*time.Second)
	w.await(t, ctx, 1, fsm.Reconnecting)
	addr := e.peers[0].dra.name

	rej := logs.One(t, "CEA rejected")
	connAttrs(t, rej, addr, "eir.test.local")
	assert.Contains(t, rej.Str("err"), "5010")
	b := logs.One(t, "reconnect backoff")
	connAttrs(t, b, addr, "")
	assert.Equal(t, "1", b.Str("attempt"))
	d := b.Attrs["delay"].Duration()
	assert.InDelta(t, float64(time.Hour), float64(d), 0.26*float64(time.Hour), "BackoffInitial ± its jitter")
}

// The peer's DPR is logged with its cause.
func TestLogDPRReceived(t *testing.T) {
	e, peer, logs, w, ctx := openLogged(t, testpeer.Config{})
	require.NoError(t, peer.Conns()[0].SendDPR(framing.Busy))
	w.await(t, ctx, 1, fsm.Closing)
	r := logs.One(t, "DPR received")
	connAttrs(t, r, e.peers[0].dra.name, "eir.test.local")
	assert.Equal(t, framing.Busy.String(), r.Str("cause"))
}

// The peer's REOPEN hold is logged when it starts and when it ends.
func TestLogPeerReopen(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Reopen: true})
	cfg := testConfig(peer.Addr())
	logs := ratelogtest.NewRecorder(slog.LevelInfo)
	cfg.Logger = slog.New(logs)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 20*time.Second)
	_, err := e.Check(ctx, testReq) // parked through the hold, answered after it
	require.NoError(t, err)
	addr := e.peers[0].dra.name
	connAttrs(t, logs.One(t, "peer is reopening the connection: holding traffic until it has three DWAs"), addr, "eir.test.local")
	end := logs.One(t, "peer's REOPEN is over: routing to it after the settle")
	connAttrs(t, end, addr, "eir.test.local")
	assert.Equal(t, "3", end.Str("dwrs"))
}

// A failover is one record per pair of connections, with how many requests moved and where.
func TestLogFailoverMoves(t *testing.T) {
	cfg := testConfig("127.0.0.1:1")
	cfg.ConnectionCount = 2
	logs := ratelogtest.NewRecorder(slog.LevelInfo)
	cfg.Logger = slog.New(logs)
	e, _ := fakeEngine(t, cfg)
	var res [6]result
	for i := range res {
		submitFake(t, e, &res[i])
	}
	e.flush()
	lost, other := e.peers[0], e.peers[1]
	moved := pending(lost)
	require.NotZero(t, moved)
	lost.step(fsm.Event{Kind: fsm.EvTransportLost}, nil)
	e.resend(e.now())
	r := logs.One(t, "failover")
	assert.Equal(t, "1", r.Str("conn"), "from")
	assert.Equal(t, other.dra.name, r.Str("to_dra"))
	assert.Equal(t, "2", r.Str("to_conn"))
	assert.EqualValues(t, moved, r.Attrs["requests"].Int64())
	assert.Equal(t, len(res), pending(other))
}

// answerTo is an answer to each ECR written on c, built by mk from the ECR.
func answerTo(t *testing.T, c *fakeConn, mk func(req *s13.ECR) []byte) []byte {
	t.Helper()
	var out []byte
	for _, b := range c.written {
		for _, m := range linktest.Messages(t, b) {
			req, err := s13.ParseECR(m)
			require.NoError(t, err)
			out = append(out, mk(&req)...)
		}
	}
	c.written = nil
	return out
}

// A peer that sends 10,000 malformed answers, 10,000 answers to nothing and 10,000 E-bit
// answers gets a bounded number of records, each kind logged (once: the same instant), each
// counted; every request completes once.
func TestLogPeerFloodsBounded(t *testing.T) {
	const n = 10000
	cfg := testConfig("127.0.0.1:1")
	cfg.MaxInFlight = 1000
	logs := ratelogtest.NewRecorder(slog.LevelInfo)
	cfg.Logger = slog.New(logs)
	e, conns := fakeEngine(t, cfg)
	p := e.peers[0]
	c := &linktest.Conn{}
	feed := func(b []byte) {
		c.In = b
		p.conn = c
		p.traffic(c, e.now())
		p.conn = conns[0]
	}
	bare := func(hbh, e2e uint32) []byte { // an ECA of no application: not S13's
		dst, m := framing.BeginMessage(nil, framing.Header{Code: s13.CommandCode, HopByHop: hbh, EndToEnd: e2e})
		return framing.EndMessage(dst, m)
	}
	malformed := func(req *s13.ECR) []byte { return bare(req.Header.HopByHop, req.Header.EndToEnd) }
	eBit := func(req *s13.ECR) []byte {
		return s13.AppendECA(nil, req, &framing.Identity{OriginHost: "dra.test.local", OriginRealm: "test.local"},
			&s13.Verdict{ResultCode: framing.CommandUnsupported})
	}
	var res [n]result
	for _, mk := range []func(*s13.ECR) []byte{malformed, eBit} {
		for i := 0; i < n; i += 1000 {
			for k := i; k < i+1000; k++ {
				res[k] = result{}
				submitFake(t, e, &res[k])
			}
			e.flush()
			feed(answerTo(t, conns[0], mk))
		}
		for i := range res {
			require.Equal(t, 1, res[i].calls, "request %d completes once", i)
		}
	}
	var nothing []byte
	for k := range n {
		nothing = append(nothing, bare(uint32(k), uint32(k))...)
	}
	feed(nothing)

	assert.EqualValues(t, n, p.stats.c[cMalformed])
	assert.EqualValues(t, n, p.stats.c[cUnknownAnswers])
	for _, msg := range []string{"malformed answer", "answer with the E bit", "answer matches no request"} {
		r := logs.One(t, msg)
		connAttrs(t, r, p.dra.name, "")
	}
	assert.Less(t, len(logs.Records()), 10, "bounded")
	assert.Equal(t, slog.LevelInfo, logs.One(t, "answer with the E bit").Level, "a request's outcome, not a fault")
	assert.Equal(t, slog.LevelWarn, logs.One(t, "malformed answer").Level)
}

// Past the limiter's interval the next record says how many were left out.
func TestLogPeerFloodSuppressedCount(t *testing.T) {
	cfg := testConfig("127.0.0.1:1")
	logs := ratelogtest.NewRecorder(slog.LevelInfo)
	cfg.Logger = slog.New(logs)
	e, _ := fakeEngine(t, cfg)
	p := e.peers[0]
	h := framing.Header{Code: s13.CommandCode}
	now := e.now()
	for range 100 {
		p.unknownAnswer(&h, now)
	}
	p.unknownAnswer(&h, now+int64(time.Minute))
	recs := logs.Find("answer matches no request")
	require.Len(t, recs, 2)
	assert.Equal(t, "99", recs[1].Str("suppressed"))
}

// The watchdog's probe on an idle connection (Open to DWRSent and back: RFC 3539's OKAY either
// way) is logged at Debug, so an idle connection writes no Info record per Tw; SUSPECT is Info.
func TestLogWatchdogProbeIsDebugInVirtualTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const tw = 30 * time.Second
		cfg := testConfig("127.0.0.1:1")
		cfg.DWRInterval, cfg.DWATimeout, cfg.noJitter = tw, 0, true
		logs := ratelogtest.NewRecorder(slog.LevelDebug)
		cfg.Logger = slog.New(logs)
		e, _ := fakeEngine(t, cfg)
		p := e.peers[0]
		c := &linktest.Conn{}
		p.conn = c
		p.step(fsm.Event{Kind: fsm.EvMessage}, nil)
		vloop{t, e}.run(time.Hour, func() bool { return p.m.State() == fsm.Suspect })
		var levels []string
		for _, r := range logs.Find("connection state") {
			levels = append(levels, r.Str("from")+">"+r.Str("to")+":"+r.Level.String())
		}
		assert.Equal(t, []string{"Open>DWRSent:DEBUG", "DWRSent>Suspect:INFO"}, levels)
	})
}
