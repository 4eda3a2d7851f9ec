package server_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A client that sends requests and reads none of the answers is closed once more than
// MaxOutboundBytes of them are unsent, and counted; a client that reads is not.
func TestSlowConsumerClosed(t *testing.T) {
	const max = 256 << 10
	srv := startServer(t, server.Config{MaxOutboundBytes: max}) // no Handler: each request gets a 3001
	reader := dial(t, srv.Addr()).open(cliHost)
	c := dial(t, srv.Addr()).open("gw-2.test.local")
	require.NoError(t, c.nc.(*net.TCPConn).SetReadBuffer(16<<10)) // and never reads again

	sid := cliHost + ";" + strings.Repeat("s", 32<<10) // each 3001 echoes it
	var werr error
	sent := 0
	for werr == nil {
		sent++
		// The kernel's buffers take some MiB first; a close comes after a few hundred requests.
		require.Less(t, sent, 2000, "the client was never closed")
		hbh, e2e := c.ids()
		req, m := framing.BeginMessage(nil, framing.Header{Flags: framing.FlagRequest, Code: 316, AppID: 16777251, HopByHop: hbh, EndToEnd: e2e})
		req = framing.AppendString(req, framing.AVPSessionID, framing.AVPFlagMandatory, 0, sid)
		req = framing.EndMessage(req, m)
		require.NoError(t, c.nc.SetWriteDeadline(time.Now().Add(ioTimeout)))
		_, werr = c.nc.Write(req)
		if srv.Stats().SlowConsumerCloses > 0 {
			break
		}
	}
	t.Logf("closed after %d requests (write error %v)", sent, werr)
	eventually(t, func() bool { return srv.Stats().Connections == 1 }, "the slow client's connection is gone")
	st := srv.Stats()
	assert.EqualValues(t, 1, st.SlowConsumerCloses)
	assert.Zero(t, st.FramingErrors)
	reader.roundTrip() // the client that reads is untouched
}
