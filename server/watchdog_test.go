package server_test

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDWRAnswered(t *testing.T) {
	srv := startServer(t, server.Config{OriginStateID: 5})
	c := dial(t, srv.Addr()).open(cliHost)
	hbh, e2e := c.ids()
	c.send(framing.AppendDWR(nil, hbh, e2e, &framing.Identity{OriginHost: cliHost, OriginRealm: realm}))
	msg, h := c.read()
	assert.Equal(t, framing.CmdDeviceWatchdog, h.Code)
	assert.False(t, h.IsRequest())
	assert.Equal(t, hbh, h.HopByHop)
	assert.Equal(t, e2e, h.EndToEnd)
	b, err := framing.ParseDWA(msg)
	require.NoError(t, err)
	assert.Equal(t, framing.Success, b.ResultCode)
	assert.Equal(t, srvHost, string(b.OriginHost))
	assert.Equal(t, realm, string(b.OriginRealm))
	assert.True(t, b.HasOriginStateID)
	assert.EqualValues(t, 5, b.OriginStateID)
	eventually(t, func() bool { return srv.Stats().DWRReceived == 1 }, "counted")
}

// readDWR waits for the server's DWR and returns it with the time it took.
func readDWR(t *testing.T, c *client, within time.Duration) (framing.Header, time.Duration) {
	t.Helper()
	start := time.Now()
	msg, h, err := c.next(within)
	require.NoError(t, err, "no DWR within %v", within)
	require.Equal(t, framing.CmdDeviceWatchdog, h.Code)
	require.True(t, h.IsRequest())
	b, err := framing.ParseDWR(msg)
	require.NoError(t, err)
	assert.Equal(t, srvHost, string(b.OriginHost))
	return h, time.Since(start)
}

func answerDWR(c *client, h framing.Header) {
	c.send(framing.AppendDWA(nil, h, framing.Success, &framing.Identity{OriginHost: cliHost, OriginRealm: realm}))
}

func TestServerDWROnIdle(t *testing.T) {
	const tw = 300 * time.Millisecond // jitter is ±tw/4 below the RFC minimum
	var cfg server.Config
	server.SetTestWatchdog(&cfg, tw)
	srv := startServer(t, cfg)
	c := dial(t, srv.Addr()).open(cliHost)

	h1, waited := readDWR(t, c, 3*time.Second)
	assert.GreaterOrEqual(t, waited, tw*3/4-20*time.Millisecond, "not before Tw - jitter")
	answerDWR(c, h1)
	h2, waited := readDWR(t, c, 3*time.Second)
	assert.GreaterOrEqual(t, waited, tw*3/4-20*time.Millisecond)
	assert.NotEqual(t, h1.HopByHop, h2.HopByHop)
	answerDWR(c, h2)
	c.roundTrip()

	st := srv.Stats()
	assert.GreaterOrEqual(t, st.DWRSent, uint64(2))
	assert.GreaterOrEqual(t, st.DWAReceived, uint64(2))
	assert.Zero(t, st.WatchdogCloses)
	assert.EqualValues(t, 1, st.Connections)
}

func TestServerDWRDeferredByTraffic(t *testing.T) {
	const tw = 400 * time.Millisecond
	var cfg server.Config
	server.SetTestWatchdog(&cfg, tw)
	srv := startServer(t, cfg)
	c := dial(t, srv.Addr()).open(cliHost)

	// Traffic every tw/4 for 3·tw: every arrival re-arms the watchdog, so the server never finds
	// the connection idle. The ticker paces the load; nothing waits on it.
	tick := time.NewTicker(tw / 4)
	defer tick.Stop()
	end := time.Now().Add(3 * tw)
	for time.Now().Before(end) {
		await.Recv(t, tick.C, 5*time.Second)
		c.send(c.dwr())
		_, h := c.read()
		require.False(t, h.IsRequest(), "the server sent a DWR on a busy connection")
	}
	assert.Zero(t, srv.Stats().DWRSent)

	readDWR(t, c, 3*time.Second) // idle now: it comes
}

func TestMissingDWACloses(t *testing.T) {
	const tw = 200 * time.Millisecond
	var cfg server.Config
	server.SetTestWatchdog(&cfg, tw)
	srv := startServer(t, cfg)
	c := dial(t, srv.Addr()).open(cliHost)

	readDWR(t, c, 3*time.Second)
	start := time.Now()
	assert.True(t, isEOF(c.expectClosed(5*time.Second, false)), "closed, without a second DWR")
	assert.GreaterOrEqual(t, time.Since(start), 2*tw-20*time.Millisecond, "SUSPECT a Tw after the DWR, closed a Tw after that")
	eventually(t, func() bool { return srv.Stats().WatchdogCloses == 1 }, "counted")
	assert.EqualValues(t, 1, srv.Stats().DWRSent)
}
