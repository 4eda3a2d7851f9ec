package server_test

import (
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
)

// badHeader returns a 20-byte header with the given version and Message Length.
func badHeader(version byte, length uint32) []byte {
	h := framing.AppendHeader(nil, framing.Header{Flags: framing.FlagRequest, Code: framing.CmdDeviceWatchdog, Length: length})
	h[0] = version
	return h
}

func TestFramingErrorResetsTheConnection(t *testing.T) {
	srv := startServer(t, server.Config{MaxMessageSize: 4096})
	cases := []struct {
		name   string
		open   bool
		stream []byte
	}{
		{"version 2", true, badHeader(2, 20)},
		{"length not a multiple of 4", true, badHeader(1, 122)},
		{"length below the header", true, badHeader(1, 16)},
		{"length above MaxMessageSize", true, badHeader(1, 8192)},
		{"before the CER", false, badHeader(2, 20)},
		{"only the first 4 bytes", true, badHeader(1, 1<<20)[:4]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := dial(t, srv.Addr())
			if c.open {
				cl.open(cliHost)
			}
			cl.send(c.stream)
			err := cl.expectClosed(ioTimeout, false)
			assert.True(t, isReset(err), "want a reset, got %v", err)
		})
	}
	eventually(t, func() bool { return srv.Stats().FramingErrors == uint64(len(cases)) }, "each counted")
	eventually(t, func() bool { return srv.Stats().Connections == 0 }, "released")
}

func TestFramingErrorAfterValidMessages(t *testing.T) {
	srv := startServer(t, server.Config{})
	c := dial(t, srv.Addr()).open(cliHost)
	c.roundTrip()
	valid := c.dwr()
	stream := append(append([]byte(nil), valid...), badHeader(1, 21)...)
	c.send(stream)
	// The DWA of the valid DWR may or may not make it before the reset: the stream is
	// compromised and dropped as a whole.
	err := c.expectClosed(ioTimeout, true)
	assert.True(t, isReset(err), "want a reset, got %v", err)
	eventually(t, func() bool { return srv.Stats().FramingErrors == 1 }, "counted")
}
