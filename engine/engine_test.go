package engine

import (
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCheckWhitelisted(t *testing.T) {
	peer := startPeer(t, testpeer.Config{})
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
