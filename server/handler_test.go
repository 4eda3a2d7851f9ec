package server_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/s13/eir"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ server.Handler = (*eir.Handler)(nil)

// Without a Handler every request is answered with an E-bit answer-message: 3007 for an
// application the server does not advertise (here S6a's), 3001 for a command of one it does.
func TestUnknownCommandWithoutHandlerGets3001(t *testing.T) {
	srv := startServer(t, server.Config{})
	c := dial(t, srv.Addr()).open(cliHost)
	const sid = "gw.test.local;1;2"
	proxyInfo := framing.AppendOctets(nil, framing.AVPProxyInfo, framing.AVPFlagMandatory, 0,
		framing.AppendString(nil, framing.AVPProxyHost, framing.AVPFlagMandatory, 0, "dra.test.local"))
	hbh, e2e := c.ids()
	req, m := framing.BeginMessage(nil, framing.Header{Flags: framing.FlagRequest | framing.FlagProxiable, Code: 8388620, AppID: 16777251, HopByHop: hbh, EndToEnd: e2e})
	req = framing.AppendString(req, framing.AVPSessionID, framing.AVPFlagMandatory, 0, sid)
	req = append(req, proxyInfo...)
	req = framing.EndMessage(req, m)
	c.send(req, c.ecr("35209900176148")) // no Handler: an ECR is unsupported too

	for i := 0; i < 2; i++ {
		msg, h := c.read()
		assert.True(t, h.IsError())
		assert.False(t, h.IsRequest())
		assert.True(t, h.IsProxiable(), "P bit kept")
		b, err := framing.ParseAnswerMessage(msg)
		require.NoError(t, err)
		want := framing.CommandUnsupported
		if i == 0 {
			want = framing.ApplicationUnsupported
		}
		assert.Equal(t, want, b.ResultCode)
		assert.Equal(t, srvHost, string(b.OriginHost))
		if i == 0 {
			assert.Equal(t, hbh, h.HopByHop)
			assert.EqualValues(t, 8388620, h.Code)
			assert.Equal(t, sid, string(b.SessionID))
			assert.True(t, bytes.Contains(msg, proxyInfo), "Proxy-Info echoed")
		} else {
			assert.Equal(t, s13.CommandCode, h.Code)
		}
	}
	st := srv.Stats()
	assert.EqualValues(t, 2, st.Requests)
	assert.EqualValues(t, 2, st.Answers)
	assert.EqualValues(t, 2, st.Unsupported)
}

func TestEIRHandlerOverTheWire(t *testing.T) {
	srv := startServer(t, server.Config{Handler: fdEIR(t)})
	c := dial(t, srv.Addr()).open(cliHost)
	type want struct {
		rc   framing.ResultCode
		exp  s13.ExperimentalResultCode
		es   s13.EquipmentStatus
		ebit bool
	}
	cases := []struct {
		imei string
		want want
	}{
		{"35209900176148", want{rc: framing.Success, es: s13.Whitelisted}},
		{"99000001123456", want{rc: framing.Success, es: s13.Blacklisted}},
		{"99000002123456", want{rc: framing.Success, es: s13.Greylisted}},
		{"99000003123456", want{exp: s13.EquipmentUnknown}},
		{"99000004123456", want{rc: framing.UnableToComply}},
		{"99000005123456", want{rc: framing.TooBusy, ebit: true}},
	}
	var reqs [][]byte
	var hbhs []uint32
	for _, cs := range cases {
		reqs = append(reqs, c.ecr(cs.imei))
		hbhs = append(hbhs, c.hbh)
		if cs.imei == "99000001123456" {
			reqs = append(reqs, c.ecr("99000006123456")) // DROP: nothing comes back for it
		}
	}
	c.send(reqs...) // one write: the server answers the batch with one write
	for i, cs := range cases {
		a, h := c.eca()
		assert.Equal(t, hbhs[i], h.HopByHop, cs.imei)
		assert.Equal(t, cs.want.ebit, a.IsError(), cs.imei)
		assert.Equal(t, cs.want.rc, a.ResultCode, cs.imei)
		assert.Equal(t, cs.want.exp, a.ExperimentalResult.Code, cs.imei)
		if cs.want.rc == framing.Success {
			assert.True(t, a.HasEquipmentStatus)
			assert.Equal(t, cs.want.es, a.EquipmentStatus, cs.imei)
		}
	}
	st := srv.Stats()
	assert.EqualValues(t, 7, st.Requests)
	assert.EqualValues(t, 6, st.Answers)
	assert.EqualValues(t, 1, st.NoAnswer)
	assert.Less(t, st.Writes, uint64(4), "answers batched")
}

func TestDelayedAnswers(t *testing.T) {
	const delay = 300 * time.Millisecond
	p, err := eir.ParsePolicy(strings.NewReader("1 BLACKLISTED 300\n"))
	require.NoError(t, err)
	handler, err := eir.New(framing.Identity{OriginHost: srvHost, OriginRealm: realm}, p)
	require.NoError(t, err)
	srv := startServer(t, server.Config{Handler: handler})
	c := dial(t, srv.Addr()).open(cliHost)

	start := time.Now()
	slow := c.ecr("11111111111111")
	slowHbH := c.hbh
	c.send(slow, c.ecr("35209900176148"))
	a, h := c.eca()
	assert.Equal(t, s13.Whitelisted, a.EquipmentStatus, "the immediate answer overtakes the delayed one")
	assert.Less(t, time.Since(start), delay)
	a, h = c.eca()
	assert.Equal(t, slowHbH, h.HopByHop)
	assert.Equal(t, s13.Blacklisted, a.EquipmentStatus)
	assert.GreaterOrEqual(t, time.Since(start), delay)
	assert.Less(t, time.Since(start), delay+500*time.Millisecond, "within a few ticks")

	st := srv.Stats()
	assert.EqualValues(t, 1, st.Delayed)
	assert.EqualValues(t, 2, st.Answers)
	assert.Zero(t, st.DelayedDropped)
	// The delayed answer was set while the loop's alarm slept towards Tw (30 s): it cut the sleep
	// short (the answer came on time, above), and the loop was woken for it, not every Tick.
	assert.GreaterOrEqual(t, st.TimerWakeups, uint64(1))
	assert.LessOrEqual(t, st.TimerWakeups, uint64(3), "an idle loop is woken only for due timers")
}

func TestDelayedAnswersDroppedOnClose(t *testing.T) {
	p, err := eir.ParsePolicy(strings.NewReader("* WHITELISTED 2000\n"))
	require.NoError(t, err)
	handler, err := eir.New(framing.Identity{OriginHost: srvHost, OriginRealm: realm}, p)
	require.NoError(t, err)
	srv := startServer(t, server.Config{Handler: handler})
	c := dial(t, srv.Addr()).open(cliHost)
	var reqs [][]byte
	for i := 0; i < 5; i++ {
		reqs = append(reqs, c.ecr("35209900176148"))
	}
	c.send(reqs...)
	eventually(t, func() bool { return srv.Stats().Delayed == 5 }, "all five parked")
	require.NoError(t, c.nc.Close())
	eventually(t, func() bool { return srv.Stats().DelayedDropped == 5 }, "dropped with their connection")
	assert.Zero(t, srv.Stats().Answers)
	assert.Zero(t, srv.Stats().Connections)

	// The pool entries are reused by the next connection.
	c2 := dial(t, srv.Addr()).open(cliHost)
	c2.roundTrip()
}

func TestDelayedAnswerLimit(t *testing.T) {
	h := server.HandlerFunc(func(dst, msg []byte, h *framing.Header) ([]byte, time.Duration) {
		return framing.AppendAnswerMessage(dst, *h, &framing.Identity{OriginHost: srvHost, OriginRealm: realm},
			&framing.ErrorAnswer{ResultCode: framing.UnableToComply}), time.Hour
	})
	srv := startServer(t, server.Config{Handler: h, MaxDelayedPerConn: 2})
	c := dial(t, srv.Addr()).open(cliHost)
	c.send(c.ecr("35209900176148"), c.ecr("35209900176148"), c.ecr("35209900176148"))
	c.roundTrip()
	st := srv.Stats()
	assert.EqualValues(t, 2, st.Delayed)
	assert.EqualValues(t, 1, st.DelayedDropped)
}

func TestHandlerPanicClosesOnlyThatConnection(t *testing.T) {
	handler := fdEIR(t)
	h := server.HandlerFunc(func(dst, msg []byte, h *framing.Header) ([]byte, time.Duration) {
		if bytes.Contains(msg, []byte("66666666666666")) {
			panic("handler bug")
		}
		return handler.ServeDiameter(dst, msg, h)
	})
	srv := startServer(t, server.Config{Handler: h})
	bad := dial(t, srv.Addr()).open(cliHost)
	good := dial(t, srv.Addr()).open("gw-2.test.local")

	bad.send(bad.ecr("35209900176148"), bad.ecr("66666666666666"), bad.ecr("35209900176148"))
	a, _ := bad.eca() // the answer before the panic still goes out
	assert.Equal(t, framing.Success, a.ResultCode)
	assert.True(t, isEOF(bad.expectClosed(ioTimeout, false)), "then the connection closes")

	good.send(good.ecr("99000001123456"))
	a, _ = good.eca()
	assert.Equal(t, s13.Blacklisted, a.EquipmentStatus, "the process and other connections live on")
	st := srv.Stats()
	assert.EqualValues(t, 1, st.HandlerPanics)
	assert.EqualValues(t, 2, st.Answers)
}

func TestHandlerNoAnswerAndGarbage(t *testing.T) {
	h := server.HandlerFunc(func(dst, msg []byte, h *framing.Header) ([]byte, time.Duration) {
		switch {
		case bytes.Contains(msg, []byte("11111111111111")):
			return dst, 0 // no answer
		case bytes.Contains(msg, []byte("22222222222222")):
			return append(dst, "garbage"...), 0
		case bytes.Contains(msg, []byte("33333333333333")):
			// A header announcing more bytes than follow.
			return framing.AppendHeader(dst, framing.Header{Length: 64, Code: h.Code, HopByHop: h.HopByHop}), 0
		}
		return framing.AppendAnswerMessage(dst, *h, &framing.Identity{OriginHost: srvHost, OriginRealm: realm},
			&framing.ErrorAnswer{ResultCode: framing.TooBusy}), 0
	})
	srv := startServer(t, server.Config{Handler: h})
	c := dial(t, srv.Addr()).open(cliHost)
	c.send(c.ecr("44444444444444"), c.ecr("11111111111111"), c.ecr("44444444444444"), c.ecr("22222222222222"),
		c.ecr("44444444444444"), c.ecr("33333333333333"), c.ecr("44444444444444"))
	for i := 0; i < 4; i++ {
		msg, h := c.read()
		assert.True(t, h.IsError(), "only the four good answers, intact")
		b, err := framing.ParseAnswerMessage(msg)
		require.NoError(t, err)
		assert.Equal(t, framing.TooBusy, b.ResultCode)
	}
	c.roundTrip()
	st := srv.Stats()
	assert.EqualValues(t, 1, st.NoAnswer)
	assert.EqualValues(t, 2, st.HandlerErrors)
	assert.EqualValues(t, 4, st.Answers)
}

func TestUnexpectedAnswersDropped(t *testing.T) {
	srv := startServer(t, server.Config{Handler: fdEIR(t)})
	c := dial(t, srv.Addr()).open(cliHost)
	eca := s13.AppendECA(nil, &s13.ECR{Header: framing.Header{Code: s13.CommandCode, AppID: s13.AppID, HopByHop: 9}},
		&framing.Identity{OriginHost: cliHost, OriginRealm: realm}, &s13.Verdict{})
	dwa := framing.AppendDWA(nil, framing.Header{Code: framing.CmdDeviceWatchdog, HopByHop: 10}, framing.Success,
		&framing.Identity{OriginHost: cliHost, OriginRealm: realm})
	dpa := framing.AppendDPA(nil, framing.Header{Code: framing.CmdDisconnectPeer, HopByHop: 11}, framing.Success,
		&framing.Identity{OriginHost: cliHost, OriginRealm: realm})
	c.send(eca, dwa, dpa)
	c.roundTrip() // nothing came back for those three, and the connection is fine
	st := srv.Stats()
	assert.EqualValues(t, 1, st.UnexpectedAnswers)
	assert.EqualValues(t, 1, st.DWAReceived, "an unsolicited DWA is absorbed")
	assert.EqualValues(t, 1, st.DPAReceived)
	assert.Zero(t, st.Requests)
}

func TestPipelinedBatchAnsweredInOrder(t *testing.T) {
	const n = 3000
	srv := startServer(t, server.Config{Handler: fdEIR(t)})
	c := dial(t, srv.Addr()).open(cliHost)
	first := c.hbh + 1
	var reqs [][]byte
	for i := 0; i < n; i++ {
		reqs = append(reqs, c.ecr("35209900176148"))
	}
	done := make(chan struct{})
	go func() { // the answers flow while the requests are still being written
		defer close(done)
		c.send(reqs...)
	}()
	for i := 0; i < n; i++ {
		_, h := c.eca()
		require.Equal(t, first+uint32(i), h.HopByHop)
	}
	await.Recv(t, done, 5*time.Second)
	st := srv.Stats()
	assert.EqualValues(t, n, st.Answers)
	assert.Less(t, st.Writes, uint64(n/10), "answers are batched, not written one by one")
}

func TestFramesSplitAcrossReads(t *testing.T) {
	srv := startServer(t, server.Config{Handler: fdEIR(t)})
	c := dial(t, srv.Addr())
	hbh, e2e := c.ids()
	stream := framing.AppendCER(nil, hbh, e2e, caps(cliHost))
	stream = append(stream, c.ecr("99000002123456")...)
	stream = append(stream, c.ecr("35209900176148")...)
	// Odd-sized pieces, each its own segment (TCP_NODELAY is Go's default), cut headers and
	// bodies at every kind of place, including inside the 4-byte length prefix.
	for i := 0; i < len(stream); {
		k := min(1+i%7, len(stream)-i)
		c.send(stream[i : i+k])
		i += k
	}
	msg, h := c.read()
	require.Equal(t, framing.CmdCapabilitiesExchange, h.Code)
	cea, err := framing.ParseCEA(msg)
	require.NoError(t, err)
	assert.Equal(t, framing.Success, cea.ResultCode)
	a, _ := c.eca()
	assert.Equal(t, s13.Greylisted, a.EquipmentStatus)
	a, _ = c.eca()
	assert.Equal(t, s13.Whitelisted, a.EquipmentStatus)
}
