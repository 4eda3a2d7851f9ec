package server

import (
	"net/netip"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/panjf2000/gnet/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The slow-consumer rule itself, on the loop's code with a socketless connection whose unsent
// backlog the test sets: a client with more than MaxOutboundBytes of answers unread is closed at
// the flush that finds it (FIN) and counted; one at the limit is not. The end-to-end version
// (slowconsumer_test.go) depends on how the kernel buffers fill.
func TestSlowConsumerRule(t *testing.T) {
	const max = 64 << 10
	for _, tc := range []struct {
		unsent int
		closed bool
	}{{max, false}, {max + 1, true}} {
		s, err := New(Config{OriginHost: "eir.test.local", OriginRealm: "test.local", MaxOutboundBytes: max})
		require.NoError(t, err)
		h := &handler{s: s}
		c := &fuzzConn{}
		_, act := h.OnOpen(c)
		require.Equal(t, gnet.None, act)
		c.In = framing.AppendCER(nil, 1, 1, &framing.Capabilities{
			OriginHost: "gw.test.local", OriginRealm: "test.local", VendorID: framing.Vendor3GPP, ProductName: "t",
			HostIPAddresses:    []netip.Addr{netip.MustParseAddr("127.0.0.1")},
			VendorSpecificApps: []framing.VendorApp{{VendorID: framing.Vendor3GPP, AuthAppID: framing.AppS13}},
		})
		require.Equal(t, gnet.None, h.OnTraffic(c), "CEA")
		c.Unsent = tc.unsent
		req, m := framing.BeginMessage(nil, framing.Header{Flags: framing.FlagRequest, Code: 316, AppID: 16777251, HopByHop: 7, EndToEnd: 7})
		req = framing.AppendString(req, framing.AVPSessionID, framing.AVPFlagMandatory, 0, "gw.test.local;1;1")
		c.In = framing.EndMessage(req, m)
		act = h.OnTraffic(c)
		st := s.Stats()
		assert.EqualValues(t, 1, st.Unsupported, "unsent %d: the request was answered", tc.unsent)
		if tc.closed {
			assert.Equal(t, gnet.Close, act, "unsent %d: closed", tc.unsent)
			assert.EqualValues(t, 1, st.SlowConsumerCloses)
		} else {
			assert.Equal(t, gnet.None, act, "unsent %d: kept", tc.unsent)
			assert.Zero(t, st.SlowConsumerCloses)
		}
		h.OnClose(c, nil)
	}
}
