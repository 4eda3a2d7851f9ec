package server_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCEASuccess(t *testing.T) {
	srv := startServer(t, server.Config{OriginStateID: 77, ProductName: "eir-under-test", FirmwareRevision: 3})
	c := dial(t, srv.Addr())
	cea, h := c.cer(caps(cliHost))
	assert.Equal(t, framing.Success, cea.ResultCode)
	assert.False(t, cea.Error)
	assert.False(t, h.IsError())
	assert.Equal(t, srvHost, cea.OriginHost)
	assert.Equal(t, realm, cea.OriginRealm)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, cea.HostIPAddresses, "the accepted socket's address")
	assert.Equal(t, framing.Vendor3GPP, cea.VendorID)
	assert.Equal(t, "eir-under-test", cea.ProductName)
	assert.True(t, cea.HasOriginStateID)
	assert.EqualValues(t, 77, cea.OriginStateID)
	assert.EqualValues(t, 3, cea.FirmwareRevision)
	assert.Equal(t, []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}}, cea.VendorSpecificApps)
	assert.Equal(t, []uint32{framing.Vendor3GPP}, cea.SupportedVendorIDs)
	assert.Empty(t, cea.AuthAppIDs)

	c.roundTrip() // the connection is open
	st := srv.Stats()
	assert.EqualValues(t, 1, st.Connections)
	assert.EqualValues(t, 1, st.Peers)
	assert.EqualValues(t, 1, st.Accepted)
	assert.EqualValues(t, 1, st.CERs)
	assert.Zero(t, st.CERRejects)
}

func TestCERApplicationForms(t *testing.T) {
	srv := startServer(t, server.Config{})
	relay := caps(cliHost)
	relay.VendorSpecificApps, relay.SupportedVendorIDs = nil, nil
	relay.AuthAppIDs = []uint32{framing.AppRelay}
	plain := caps(cliHost)
	plain.VendorSpecificApps = nil
	plain.AuthAppIDs = []uint32{framing.AppS13}
	for name, cp := range map[string]*framing.Capabilities{"relay": relay, "plain Auth-Application-Id": plain} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, srv.Addr())
			cea, _ := c.cer(cp)
			assert.Equal(t, framing.Success, cea.ResultCode)
			c.roundTrip()
		})
	}
}

func TestCERNoCommonApplication(t *testing.T) {
	srv := startServer(t, server.Config{})
	c := dial(t, srv.Addr())
	cp := caps(cliHost)
	cp.VendorSpecificApps = []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: 16777251}} // S6a
	cea, h := c.cer(cp)
	assert.Equal(t, framing.NoCommonApplication, cea.ResultCode)
	assert.False(t, h.IsError(), "5xxx answers carry no E bit")
	assert.NotEmpty(t, cea.HostIPAddresses, "a 5010 CEA still describes us")
	assert.True(t, isEOF(c.expectClosed(ioTimeout, false)), "closed after the CEA")
	eventually(t, func() bool { return srv.Stats().Connections == 0 }, "connection released")
	st := srv.Stats()
	assert.EqualValues(t, 1, st.CERRejects)
	assert.Zero(t, st.Peers)
}

func TestServerAdvertisingRelayAcceptsAnyApplication(t *testing.T) {
	srv := startServer(t, server.Config{AuthAppIDs: []uint32{framing.AppRelay}})
	c := dial(t, srv.Addr())
	cp := caps(cliHost)
	cp.VendorSpecificApps = []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: 16777251}}
	cea, _ := c.cer(cp)
	assert.Equal(t, framing.Success, cea.ResultCode)
	assert.Equal(t, []uint32{framing.AppRelay}, cea.AuthAppIDs)
}

func TestCERMalformed(t *testing.T) {
	srv := startServer(t, server.Config{})
	c := dial(t, srv.Addr())
	cp := caps(cliHost)
	cp.HostIPAddresses = nil // required (RFC 6733 §5.3.1)
	cea, _ := c.cer(cp)
	assert.Equal(t, framing.MissingAVP, cea.ResultCode)
	assert.True(t, isEOF(c.expectClosed(ioTimeout, false)))
	assert.EqualValues(t, 1, srv.Stats().CERRejects)
}

func TestFirstMessageNotCERCloses(t *testing.T) {
	srv := startServer(t, server.Config{Handler: fdEIR(t)})
	for name, first := range map[string]func(c *client) []byte{
		"DWR": (*client).dwr,
		"ECR": func(c *client) []byte { return c.ecr("35209900176148") },
		"CEA": func(c *client) []byte {
			return framing.AppendCEA(nil, framing.Header{Code: framing.CmdCapabilitiesExchange}, framing.Success, caps(cliHost), "")
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, srv.Addr())
			c.send(first(c))
			assert.True(t, isEOF(c.expectClosed(ioTimeout, false)), "closed without an answer")
		})
	}
	eventually(t, func() bool { return srv.Stats().NoCER == 3 }, "three connections refused")
}

func TestCERTimeout(t *testing.T) {
	srv := startServer(t, server.Config{CERTimeout: 150 * time.Millisecond})
	c := dial(t, srv.Addr())
	start := time.Now()
	assert.True(t, isEOF(c.expectClosed(ioTimeout, false)))
	assert.GreaterOrEqual(t, time.Since(start), 140*time.Millisecond)
	eventually(t, func() bool { return srv.Stats().NoCER == 1 }, "counted")
}

func TestCERAllowOrigin(t *testing.T) {
	srv := startServer(t, server.Config{AllowOrigin: func(h string) bool {
		if h == "boom.test.local" {
			panic("policy bug")
		}
		return strings.HasSuffix(h, ".test.local") && h != "bad.test.local"
	}})
	for _, host := range []string{"bad.test.local", "gw.other.net", "boom.test.local"} {
		c := dial(t, srv.Addr())
		hbh, e2e := c.ids()
		c.send(framing.AppendCER(nil, hbh, e2e, caps(host)))
		msg, h := c.read()
		assert.True(t, h.IsError(), "3010 is an E-bit answer-message")
		b, err := framing.ParseAnswerMessage(msg)
		require.NoError(t, err)
		assert.Equal(t, framing.UnknownPeer, b.ResultCode, host)
		assert.True(t, isEOF(c.expectClosed(ioTimeout, false)))
	}
	dial(t, srv.Addr()).open("good.test.local").roundTrip()
	assert.EqualValues(t, 3, srv.Stats().CERRejects)
}

func TestCERDuplicateIdentity(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		srv := startServer(t, server.Config{DuplicateIdentity: server.RejectDuplicates})
		first := dial(t, srv.Addr()).open(cliHost)

		second := dial(t, srv.Addr())
		cea, _ := second.cer(caps(strings.ToUpper(cliHost))) // DiameterIdentity compares case-insensitively
		assert.Equal(t, framing.UnableToComply, cea.ResultCode)
		assert.True(t, isEOF(second.expectClosed(ioTimeout, false)))

		first.roundTrip() // unaffected
		dial(t, srv.Addr()).open("gw-2.test.local").roundTrip()

		require.NoError(t, first.nc.Close())
		eventually(t, func() bool { return srv.Stats().Peers == 1 }, "first connection gone")
		dial(t, srv.Addr()).open(cliHost).roundTrip() // the identity is free again
	})
	t.Run("allow by default", func(t *testing.T) {
		srv := startServer(t, server.Config{})
		a := dial(t, srv.Addr()).open(cliHost)
		b := dial(t, srv.Addr()).open(cliHost)
		a.roundTrip()
		b.roundTrip()
		assert.EqualValues(t, 2, srv.Stats().Peers)
	})
}

func TestSecondCERRefused(t *testing.T) {
	srv := startServer(t, server.Config{})
	c := dial(t, srv.Addr()).open(cliHost)
	cea, _ := c.cer(caps(cliHost))
	assert.Equal(t, framing.UnableToComply, cea.ResultCode)
	c.roundTrip() // still open
	assert.EqualValues(t, 1, srv.Stats().Peers)
}
