package server_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newServer builds a server on an ephemeral port without starting it.
func newServer(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.OriginHost, cfg.OriginRealm = srvHost, realm
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	srv, err := server.New(cfg)
	require.NoError(t, err)
	return srv
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// readDPR waits for the server's DPR and checks its cause.
func readDPR(t *testing.T, c *client) framing.Header {
	t.Helper()
	msg, h := c.read()
	require.Equal(t, framing.CmdDisconnectPeer, h.Code)
	require.True(t, h.IsRequest())
	b, err := framing.ParseDPR(msg)
	require.NoError(t, err)
	assert.Equal(t, framing.Rebooting, b.DisconnectCause)
	assert.Equal(t, srvHost, string(b.OriginHost))
	return h
}

func TestCloseSendsDPR(t *testing.T) {
	srv := newServer(t, server.Config{})
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))
	a := dial(t, srv.Addr()).open(cliHost)
	b := dial(t, srv.Addr()).open("gw-2.test.local")
	waiting := dial(t, srv.Addr()) // never sends its CER

	closed := make(chan error, 1)
	start := time.Now()
	go func() { closed <- srv.Close(context.Background()) }()
	for _, c := range []*client{a, b} {
		h := readDPR(t, c)
		c.send(framing.AppendDPA(nil, h, framing.Success, &framing.Identity{OriginHost: cliHost, OriginRealm: realm}))
		assert.True(t, isEOF(c.expectClosed(ioTimeout, false)), "the server closes after our DPA")
	}
	assert.True(t, isEOF(waiting.expectClosed(ioTimeout, false)), "no DPR before the CER: just closed")
	require.NoError(t, await.Recv(t, closed, 5*time.Second))
	assert.Less(t, time.Since(start), server.DefaultDPATimeout, "did not wait for the DPA timeout")

	st := srv.Stats()
	assert.EqualValues(t, 2, st.DPRSent)
	assert.EqualValues(t, 2, st.DPAReceived)
	assert.Zero(t, st.Connections)

	_, err := net.DialTimeout("tcp", srv.Addr(), time.Second)
	assert.Error(t, err, "no longer listening")
	assert.NoError(t, srv.Close(context.Background()), "a second Close returns the first's result")
}

func TestCloseWithoutDPA(t *testing.T) {
	srv := newServer(t, server.Config{DPATimeout: 300 * time.Millisecond})
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))
	c := dial(t, srv.Addr()).open(cliHost)
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- srv.Close(context.Background()) }()
	readDPR(t, c) // and never answer it
	assert.True(t, isEOF(c.expectClosed(ioTimeout, false)))
	require.NoError(t, await.Recv(t, closed, 5*time.Second))
	assert.GreaterOrEqual(t, time.Since(start), 280*time.Millisecond)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestCloseCutShortByContext(t *testing.T) {
	srv := newServer(t, server.Config{DPATimeout: 5 * time.Second})
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))
	c := dial(t, srv.Addr()).open(cliHost)
	ctx, cancel := context.WithCancel(context.Background())
	closed := make(chan error, 1)
	go func() { closed <- srv.Close(ctx) }()
	readDPR(t, c)
	cancel()
	err := await.Recv(t, closed, 5*time.Second)
	assert.ErrorIs(t, err, context.Canceled)
	// Cut short the wait for the DPA, not the stop itself: the loops are gone too.
	assert.True(t, isEOF(c.expectClosed(ioTimeout, false)))
}

func TestConcurrentClose(t *testing.T) {
	srv := newServer(t, server.Config{DPATimeout: 200 * time.Millisecond})
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))
	dial(t, srv.Addr()).open(cliHost) // answers no DPR: Close waits DPATimeout
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, srv.Close(context.Background()))
		}()
	}
	await.Wait(t, &wg, 10*time.Second)
}

func TestLifecycleErrors(t *testing.T) {
	srv := newServer(t, server.Config{})
	assert.NoError(t, srv.Close(context.Background()), "closing an unstarted server is a no-op")
	assert.ErrorIs(t, srv.Start(ctxT(t, time.Second)), server.ErrClosed)

	srv = newServer(t, server.Config{})
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	assert.ErrorIs(t, srv.Start(ctxT(t, time.Second)), server.ErrAlreadyStarted)

	taken := newServer(t, server.Config{Listen: srv.Addr()})
	err := taken.Start(ctxT(t, 5*time.Second))
	assert.ErrorIs(t, err, server.ErrListen)
	assert.NoError(t, taken.Close(context.Background()))
}

func TestAddrReportsTheEphemeralPort(t *testing.T) {
	srv := newServer(t, server.Config{})
	assert.Equal(t, "127.0.0.1:0", srv.Addr(), "before Start: the configured address")
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	host, port, err := net.SplitHostPort(srv.Addr())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.NotEqual(t, "0", port)
	dial(t, srv.Addr()).open(cliHost).roundTrip()
}

func TestConnectionsDuringCloseAreRefused(t *testing.T) {
	srv := newServer(t, server.Config{DPATimeout: 2 * time.Second})
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))
	c := dial(t, srv.Addr()).open(cliHost)
	closed := make(chan error, 1)
	go func() { closed <- srv.Close(context.Background()) }()
	h := readDPR(t, c) // Close is under way, and waits for this DPA
	late, err := net.DialTimeout("tcp", srv.Addr(), ioTimeout)
	if err == nil { // accepted by the kernel, then closed by the server
		lc := &client{t: t, nc: late}
		t.Cleanup(func() { late.Close() })
		assert.Error(t, lc.expectClosed(ioTimeout, false))
	}
	c.send(framing.AppendDPA(nil, h, framing.Success, &framing.Identity{OriginHost: cliHost, OriginRealm: realm}))
	require.NoError(t, await.Recv(t, closed, 5*time.Second))
}

// Reset aborts every open connection with an RST and no DPR, and keeps accepting: a new client
// opens and is answered. On a server not started it does nothing.
func TestResetAbortsConnections(t *testing.T) {
	newServer(t, server.Config{}).Reset()
	srv := startServer(t, server.Config{})
	a := dial(t, srv.Addr()).open(cliHost)
	b := dial(t, srv.Addr()).open(cliHost + ".b")
	a.roundTrip()
	srv.Reset()
	for _, c := range []*client{a, b} {
		err := c.expectClosed(ioTimeout, false) // no DPR: no message at all
		assert.True(t, isReset(err), "want a reset, got %v", err)
	}
	eventually(t, func() bool { return srv.Stats().Connections == 0 }, "released")
	c := dial(t, srv.Addr()).open(cliHost)
	c.roundTrip()
}
