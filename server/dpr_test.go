package server_test

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (c *client) dpr(cause framing.DisconnectCause) (uint32, uint32) {
	hbh, e2e := c.ids()
	c.send(framing.AppendDPR(nil, hbh, e2e, &framing.Identity{OriginHost: cliHost, OriginRealm: realm}, cause))
	return hbh, e2e
}

func (c *client) readDPA(hbh uint32) {
	c.t.Helper()
	msg, h := c.read()
	require.Equal(c.t, framing.CmdDisconnectPeer, h.Code)
	require.False(c.t, h.IsRequest())
	require.Equal(c.t, hbh, h.HopByHop)
	b, err := framing.ParseDPA(msg)
	require.NoError(c.t, err)
	require.Equal(c.t, framing.Success, b.ResultCode)
	require.Equal(c.t, srvHost, string(b.OriginHost))
}

func TestDPRAnsweredThenClosedAfterGrace(t *testing.T) {
	const grace = 200 * time.Millisecond
	var cfg server.Config
	server.SetTestDPRGrace(&cfg, grace)
	srv := startServer(t, cfg)
	c := dial(t, srv.Addr()).open(cliHost)

	hbh, _ := c.dpr(framing.Busy)
	c.readDPA(hbh)
	start := time.Now()
	// This client does not close, as the DPR sender should: the server does after the grace.
	assert.True(t, isEOF(c.expectClosed(3*time.Second, false)))
	assert.GreaterOrEqual(t, time.Since(start), grace-20*time.Millisecond)
	eventually(t, func() bool { return srv.Stats().Connections == 0 }, "released")
	assert.EqualValues(t, 1, srv.Stats().DPRReceived)
}

func TestDPRClientCloses(t *testing.T) {
	srv := startServer(t, server.Config{}) // default grace: 1 s
	c := dial(t, srv.Addr()).open(cliHost)
	hbh, _ := c.dpr(framing.Rebooting)
	c.readDPA(hbh)
	require.NoError(t, c.nc.Close())
	start := time.Now()
	eventually(t, func() bool { return srv.Stats().Connections == 0 }, "released when the client closes")
	assert.Less(t, time.Since(start), server.DPRGrace, "without waiting for the grace")
	assert.Zero(t, srv.Stats().Peers)
}

func TestRequestsStillAnsweredDuringGrace(t *testing.T) {
	srv := startServer(t, server.Config{Handler: fdEIR(t)})
	c := dial(t, srv.Addr()).open(cliHost)
	hbh, _ := c.dpr(framing.Rebooting)
	c.readDPA(hbh)
	c.send(c.ecr("35209900176148")) // in flight when the DPR crossed it
	a, _ := c.eca()
	assert.Equal(t, framing.Success, a.ResultCode)
	assert.EqualValues(t, 1, srv.Stats().Answers)
}
