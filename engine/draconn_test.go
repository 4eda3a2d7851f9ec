package engine

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/link/linktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestActionsRunInBitOrder applies outputs with several action bits set to an Open connection
// on a fake transport: the bits run lowest first (fsm.Action), which the messages in the batch
// show, and a close after an answer leaves the answer queued where a close first would drop it.
func TestActionsRunInBitOrder(t *testing.T) {
	dwr := framing.Header{Version: framing.Version, Flags: framing.FlagRequest, Code: framing.CmdDeviceWatchdog,
		HopByHop: 7, EndToEnd: 8}
	dpr := dwr
	dpr.Code = framing.CmdDisconnectPeer
	cases := []struct {
		name   string
		req    *framing.Header // the request being answered
		do     fsm.Action
		want   []string // the batch's messages: command code, R for a request, A for an answer
		closed bool
	}{
		{"answer then base requests", &dwr, fsm.ActSendDPR | fsm.ActSendDWR | fsm.ActSendCER | fsm.ActSendDWA,
			[]string{"280A", "257R", "280R", "282R"}, false},
		{"DPA then DPR", &dpr, fsm.ActSendDPR | fsm.ActSendDPA, []string{"282A", "282R"}, false},
		{"answer before close", &dwr, fsm.ActClose | fsm.ActSendDWA, []string{"280A"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testConfig("127.0.0.1:1")
			cfg.HostIPAddresses = []netip.Addr{netip.MustParseAddr("127.0.0.1")} // the fake transport has no address
			e, conns := fakeEngine(t, cfg)
			p := e.peers[0]
			p.apply(fsm.Event{Kind: fsm.EvMessage}, fsm.Output{From: fsm.Open, To: fsm.Open, Do: c.do}, c.req)
			var got []string
			for _, msg := range linktest.Messages(t, p.out.B) {
				h, err := framing.ParseHeader(msg)
				require.NoError(t, err)
				kind := "A"
				if h.IsRequest() {
					kind = "R"
				}
				got = append(got, fmt.Sprint(h.Code, kind))
			}
			assert.Equal(t, c.want, got, "%v", c.do)
			assert.Equal(t, c.closed, conns[0].closed)
		})
	}
}
