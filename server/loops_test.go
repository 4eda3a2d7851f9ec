package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/s13/eir"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSeveralLoops spreads connections over two event loops, each with its own wheel: delayed
// and immediate answers on every connection, counters summed over the loops, and Close reaching
// the connections of both.
func TestSeveralLoops(t *testing.T) {
	p, err := eir.ParsePolicy(strings.NewReader("1 GREYLISTED 50\n"))
	require.NoError(t, err)
	handler, err := eir.New(framing.Identity{OriginHost: srvHost, OriginRealm: realm}, p)
	require.NoError(t, err)
	srv := newServer(t, server.Config{Handler: handler, Loops: 2})
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))

	const conns = 6
	var cs []*client
	for i := 0; i < conns; i++ {
		c := dial(t, srv.Addr()).open(cliHost)
		c.send(c.ecr("11111111111111"), c.ecr("35209900176148"))
		cs = append(cs, c)
	}
	for _, c := range cs {
		a, _ := c.eca()
		assert.Equal(t, s13.Whitelisted, a.EquipmentStatus)
		a, _ = c.eca()
		assert.Equal(t, s13.Greylisted, a.EquipmentStatus, "the delayed one, from this connection's loop")
	}
	st := srv.Stats()
	assert.EqualValues(t, conns, st.Peers)
	assert.EqualValues(t, 2*conns, st.Answers)
	assert.EqualValues(t, conns, st.Delayed)

	closed := make(chan error, 1)
	go func() { closed <- srv.Close(context.Background()) }()
	for _, c := range cs {
		h := readDPR(t, c)
		c.send(framing.AppendDPA(nil, h, framing.Success, &framing.Identity{OriginHost: cliHost, OriginRealm: realm}))
	}
	require.NoError(t, await.Recv(t, closed, 5*time.Second))
	assert.EqualValues(t, conns, srv.Stats().DPAReceived)
	assert.Zero(t, srv.Stats().Connections)
}
