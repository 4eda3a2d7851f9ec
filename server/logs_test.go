package server_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/internal/ratelog/ratelogtest"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peerAttrs checks that r names the client: its address and, once known, its identity.
func peerAttrs(t *testing.T, r ratelogtest.Record, c *client) {
	t.Helper()
	assert.Equal(t, c.nc.LocalAddr().String(), r.Str("remote"), "%s: remote", r.Msg)
	assert.Equal(t, cliHost, r.Str("peer_host"), "%s: peer_host", r.Msg)
	assert.Equal(t, realm, r.Str("peer_realm"), "%s: peer_realm", r.Msg)
}

// A client's life is logged once an event, with its address and identity: connected, CER
// accepted (with its applications), DPR received (with its cause), disconnected. 1,000
// requests in between log nothing at Info.
func TestLogClientLifecycleAndNothingPerRequest(t *testing.T) {
	logs := ratelogtest.NewRecorder(slog.LevelInfo)
	srv := startServer(t, server.Config{Logger: slog.New(logs), Handler: fdEIR(t)})
	c := dial(t, srv.Addr()).open(cliHost)
	c.roundTrip()
	assert.Equal(t, c.nc.LocalAddr().String(), logs.One(t, "client connected").Str("remote"))
	cer := logs.One(t, "CER accepted")
	peerAttrs(t, cer, c)
	assert.Contains(t, cer.Str("apps"), "auth:16777252/10415")

	before := len(logs.Records())
	for range 1000 {
		c.send(c.ecr("35209900176148"))
		c.eca()
	}
	assert.Equal(t, before, len(logs.Records()), "nothing logged per request at Info")

	hbh, _ := c.dpr(framing.Busy)
	c.readDPA(hbh)
	dpr := logs.One(t, "DPR received")
	peerAttrs(t, dpr, c)
	assert.Equal(t, framing.Busy.String(), dpr.Str("cause"))
	require.NoError(t, c.nc.Close())
	eventually(t, func() bool { return srv.Stats().Connections == 0 }, "released")
	peerAttrs(t, logs.One(t, "client disconnected"), c)
}

// A rejected CER is logged with the identity it claimed, the Result-Code and the reason.
func TestLogCERRejected(t *testing.T) {
	logs := ratelogtest.NewRecorder(slog.LevelInfo)
	srv := startServer(t, server.Config{Logger: slog.New(logs)})
	c := dial(t, srv.Addr())
	cp := caps(cliHost)
	cp.VendorSpecificApps, cp.AuthAppIDs = nil, []uint32{4}
	cea, _ := c.cer(cp)
	require.Equal(t, framing.NoCommonApplication, cea.ResultCode)
	r := logs.One(t, "CER rejected")
	peerAttrs(t, r, c)
	assert.Equal(t, framing.NoCommonApplication.String(), r.Str("result"))
	assert.Equal(t, "no common application", r.Str("reason"))
	assert.Equal(t, slog.LevelWarn, r.Level)
}

// The watchdog's close of a silent client is a warning naming it; Close's DPR is logged with
// its cause.
func TestLogWatchdogCloseAndDPRSent(t *testing.T) {
	const tw = 200 * time.Millisecond
	logs := ratelogtest.NewRecorder(slog.LevelInfo)
	cfg := server.Config{Logger: slog.New(logs)}
	server.SetTestWatchdog(&cfg, tw)
	srv := startServer(t, cfg)
	silent := dial(t, srv.Addr()).open(cliHost)
	readDWR(t, silent, 3*time.Second)
	assert.True(t, isEOF(silent.expectClosed(5*time.Second, false)))
	eventually(t, func() bool { return srv.Stats().WatchdogCloses == 1 }, "counted")
	r := logs.One(t, "no answer to our DWR, closing")
	peerAttrs(t, r, silent)
	assert.Equal(t, slog.LevelWarn, r.Level)

	c := dial(t, srv.Addr()).open(cliHost)
	c.roundTrip()
	closed := make(chan error, 1)
	go func() { closed <- srv.Close(context.Background()) }()
	h := readDPR(t, c)
	c.send(framing.AppendDPA(nil, h, framing.Success, &framing.Identity{OriginHost: cliHost, OriginRealm: realm}))
	require.NoError(t, await.Recv(t, closed, 5*time.Second))
	dpr := logs.One(t, "DPR sent")
	peerAttrs(t, dpr, c)
	assert.Equal(t, framing.Rebooting.String(), dpr.Str("cause"))
}

// A client that connects again and again cannot make the loop write a record per connection:
// the records of a kind stop at a burst per interval.
func TestLogConnectionStormBounded(t *testing.T) {
	logs := ratelogtest.NewRecorder(slog.LevelInfo)
	srv := startServer(t, server.Config{Logger: slog.New(logs)})
	const n = 100
	for range n {
		c := dial(t, srv.Addr()).open(cliHost)
		require.NoError(t, c.nc.Close())
	}
	eventually(t, func() bool { return srv.Stats().Accepted == n && srv.Stats().Connections == 0 }, "all served")
	for _, msg := range []string{"client connected", "CER accepted", "client disconnected"} {
		k := len(logs.Find(msg))
		assert.NotZero(t, k, msg)
		assert.LessOrEqual(t, k, 2*20, "%s: a burst per interval (one interval, or two if the storm spans the end of one)", msg)
	}
}
