package server_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/fixtures"
	"github.com/hsdfat8/diam-gw/internal/leakcheck"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/s13/eir"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

const (
	srvHost   = "eir.test.local"
	realm     = "test.local"
	cliHost   = "gw.test.local"
	ioTimeout = 3 * time.Second
)

// startServer starts a server on an ephemeral loopback port with cfg's identity filled in, and
// closes it when the test ends.
func startServer(t testing.TB, cfg server.Config) *server.Server {
	t.Helper()
	if cfg.OriginHost == "" {
		cfg.OriginHost = srvHost
	}
	if cfg.OriginRealm == "" {
		cfg.OriginRealm = realm
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	srv, err := server.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Close(ctx))
	})
	return srv
}

// fdEIR is an EIR following the freeDiameter rule file.
func fdEIR(t testing.TB, opts ...eir.Option) *eir.Handler {
	t.Helper()
	p, err := eir.LoadPolicy(fixtures.EIRRules(t))
	require.NoError(t, err)
	e, err := eir.New(framing.Identity{OriginHost: srvHost, OriginRealm: realm}, p, opts...)
	require.NoError(t, err)
	return e
}

// client is a plain blocking Diameter client built from the framing and s13 encoders: a second,
// independent implementation to test the server against.
type client struct {
	t        testing.TB
	nc       net.Conn
	buf      []byte
	hbh, e2e uint32
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, hbh: 0x1000, e2e: 0x7000}
}

func (c *client) ids() (uint32, uint32) {
	c.hbh++
	c.e2e++
	return c.hbh, c.e2e
}

func (c *client) send(msgs ...[]byte) {
	c.t.Helper()
	var b []byte
	for _, m := range msgs {
		b = append(b, m...)
	}
	require.NoError(c.t, c.nc.SetWriteDeadline(time.Now().Add(ioTimeout)))
	_, err := c.nc.Write(b)
	require.NoError(c.t, err)
}

// next reads one message, waiting at most d.
func (c *client) next(d time.Duration) ([]byte, framing.Header, error) {
	deadline := time.Now().Add(d)
	for {
		n, err := framing.FrameLen(c.buf, 0)
		if err != nil {
			return nil, framing.Header{}, err
		}
		if n > 0 {
			msg := append([]byte(nil), c.buf[:n]...)
			c.buf = c.buf[n:]
			h, err := framing.ParseHeader(msg)
			return msg, h, err
		}
		if err := c.nc.SetReadDeadline(deadline); err != nil {
			return nil, framing.Header{}, err
		}
		var tmp [64 << 10]byte
		k, err := c.nc.Read(tmp[:])
		c.buf = append(c.buf, tmp[:k]...)
		if err != nil && k == 0 {
			return nil, framing.Header{}, err
		}
	}
}

// read reads one message or fails the test.
func (c *client) read() ([]byte, framing.Header) {
	c.t.Helper()
	msg, h, err := c.next(ioTimeout)
	require.NoError(c.t, err)
	return msg, h
}

// expectClosed reads until the server closes the connection and returns how it ended (io.EOF,
// or ECONNRESET for a reset); a message received meanwhile fails the test unless allowMsgs.
func (c *client) expectClosed(d time.Duration, allowMsgs bool) error {
	c.t.Helper()
	for {
		_, h, err := c.next(d)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("connection still open after %v", d)
			}
			return err
		}
		if !allowMsgs {
			c.t.Fatalf("unexpected message %s before the close", h)
		}
	}
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// caps is a client CER advertising S13 the 3GPP way.
func caps(host string) *framing.Capabilities {
	return &framing.Capabilities{
		OriginHost:         host,
		OriginRealm:        realm,
		HostIPAddresses:    []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		VendorID:           framing.Vendor3GPP,
		ProductName:        "server-test",
		SupportedVendorIDs: []uint32{framing.Vendor3GPP},
		VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}},
	}
}

// cer sends a CER and returns the decoded answer and its header.
func (c *client) cer(cp *framing.Capabilities) (framing.CEA, framing.Header) {
	c.t.Helper()
	hbh, e2e := c.ids()
	c.send(framing.AppendCER(nil, hbh, e2e, cp))
	msg, h := c.read()
	require.Equal(c.t, framing.CmdCapabilitiesExchange, h.Code)
	require.False(c.t, h.IsRequest())
	require.Equal(c.t, hbh, h.HopByHop)
	require.Equal(c.t, e2e, h.EndToEnd)
	cea, err := framing.ParseCEA(msg)
	require.NoError(c.t, err)
	return cea, h
}

// open performs a successful capabilities exchange.
func (c *client) open(host string) *client {
	c.t.Helper()
	cea, _ := c.cer(caps(host))
	require.Equal(c.t, framing.Success, cea.ResultCode)
	return c
}

func (c *client) ecr(imei string) []byte {
	hbh, e2e := c.ids()
	return s13.AppendECR(nil, &s13.Envelope{HopByHop: hbh, EndToEnd: e2e, OriginHost: cliHost, OriginRealm: realm,
		SessionHi: 1, SessionLo: hbh}, &s13.Request{IMEI: imei, DestinationRealm: realm})
}

func (c *client) dwr() []byte {
	hbh, e2e := c.ids()
	return framing.AppendDWR(nil, hbh, e2e, &framing.Identity{OriginHost: cliHost, OriginRealm: realm})
}

// roundTrip sends a DWR and expects its DWA: proof that the connection still works.
func (c *client) roundTrip() {
	c.t.Helper()
	c.send(c.dwr())
	msg, h := c.read()
	require.Equal(c.t, framing.CmdDeviceWatchdog, h.Code)
	require.False(c.t, h.IsRequest())
	_, err := framing.ParseDWA(msg)
	require.NoError(c.t, err)
}

// eca reads one ECA.
func (c *client) eca() (s13.Answer, framing.Header) {
	c.t.Helper()
	msg, h := c.read()
	require.Equal(c.t, s13.CommandCode, h.Code, "got %s", h)
	a, err := s13.ParseECA(msg)
	require.NoError(c.t, err)
	return a, h
}

// eventually waits for cond, which reads the server's counters: the only place a test has no
// event to wait on.
func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, ioTimeout, 5*time.Millisecond, msg)
}
