package engine

import (
	"net/netip"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckWhitelisted(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	e := startEngine(t, testConfig(peer.Addr()))
	ans, err := e.Check(ctxT(t, 3*time.Second), testReq)
	require.NoError(t, err)
	assert.Equal(t, framing.Success, ans.ResultCode)
	assert.True(t, ans.HasEquipmentStatus)
	assert.Equal(t, s13.Whitelisted, ans.EquipmentStatus)
	assert.Equal(t, "eir.test.local", string(ans.OriginHost))
	st := e.Stats()
	require.Len(t, st.Conns, 1)
	assert.Equal(t, "Open", st.Conns[0].State)
	assert.EqualValues(t, 1, st.Total.Answers.Success)
	assert.Equal(t, "eir.test.local", st.Conns[0].PeerOriginHost)
}

// The CER names us, our realm, the socket's address, and advertises S13 the 3GPP way.
func TestCERContents(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	cfg.OriginStateID = 77
	startEngine(t, cfg)
	ev, err := peer.Await(ctxT(t, 2*time.Second), testpeer.GotCER)
	require.NoError(t, err)
	caps, err := framing.ParseCER(ev.Msg)
	require.NoError(t, err)
	assert.Equal(t, "gw.test.local", caps.OriginHost)
	assert.Equal(t, "test.local", caps.OriginRealm)
	assert.Equal(t, []netip.Addr{netip.MustParseAddr("127.0.0.1")}, caps.HostIPAddresses)
	assert.Equal(t, uint32(10415), caps.VendorID)
	assert.Equal(t, "diam-gw", caps.ProductName)
	assert.Equal(t, uint32(77), caps.OriginStateID)
	assert.Equal(t, []uint32{10415}, caps.SupportedVendorIDs)
	assert.Equal(t, []framing.VendorApp{{VendorID: 10415, AuthAppID: 16777252}}, caps.VendorSpecificApps)
	assert.True(t, caps.Supports(s13.AppID))
}
