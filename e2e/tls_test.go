package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/internal/labpki"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tlsEngine(t *testing.T, dras ...engine.DRA) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Config{
		OriginHost: cliHost, OriginRealm: realm, DRAs: dras, ConnectionCount: 1,
		RequestTimeout: 2 * time.Second, ConnectTimeout: 2 * time.Second, DPATimeout: time.Second,
		BackoffInitial: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, e.Start(ctxT(t, 5*time.Second)))
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

// The engine against the server over TLS with client certificates required: 300 pipelined
// ECRs each answered once with the rule file's verdict, and both ends count wire bytes.
func TestEngineServerOverTLS(t *testing.T) {
	l, err := labpki.New(time.Now())
	require.NoError(t, err)
	srv := startServer(t, server.Config{Handler: fdEIR(t), TLS: l.ServerConfig(true)})
	e := tlsEngine(t, engine.DRA{Address: srv.Addr(), TLS: l.ClientConfig("")})

	const n = 300
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[s13.EquipmentStatus]int{}
	for i := range n {
		imei := "35209900176148"
		if i%2 == 1 {
			imei = "99000001123456" // blacklisted
		}
		wg.Add(1)
		require.NoError(t, e.Go(s13.Request{IMEI: imei, SoftwareVersion: "23"}, func(a s13.Answer, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			if assert.NoError(t, err) {
				got[a.EquipmentStatus]++
			}
		}))
	}
	await.Wait(t, &wg, 10*time.Second)
	assert.Equal(t, map[s13.EquipmentStatus]int{s13.Whitelisted: n / 2, s13.Blacklisted: n / 2}, got)
	st := srv.Stats()
	assert.Zero(t, st.TLSHandshakeFailures)
	assert.Equal(t, uint64(n), st.Answers)
	cs := e.Stats().Conns[0]
	assert.Greater(t, cs.BytesIn, uint64(len(l.Server.Certificate[0])), "the engine counts wire bytes")
	assert.Greater(t, st.BytesIn, uint64(len(l.Client.Certificate[0])), "the server counts wire bytes")
}

// A mixed pool: DRA a over TLS preferred, DRA b over TCP behind it. Requests go to a; when a
// goes away they fail over to b over the other transport, none lost.
func TestMixedPoolFailsOverFromTLSToTCP(t *testing.T) {
	l, err := labpki.New(time.Now())
	require.NoError(t, err)
	a := newServer(t, server.Config{Handler: fdEIR(t), TLS: l.ServerConfig(true)})
	require.NoError(t, a.Start(ctxT(t, 5*time.Second)))
	aClosed := false
	t.Cleanup(func() {
		if !aClosed {
			_ = a.Close(context.Background())
		}
	})
	b := startServer(t, server.Config{Handler: fdEIR(t)})
	e := tlsEngine(t,
		engine.DRA{Name: "a", Address: a.Addr(), TLS: l.ClientConfig(""), Priority: 0},
		engine.DRA{Name: "b", Address: b.Addr(), Priority: 1})
	eventually(t, func() bool {
		cs := e.Stats().Conns
		return len(cs) == 2 && cs[0].Usable && cs[1].Usable
	}, "both DRAs usable")
	check := func() {
		t.Helper()
		ans, err := e.Check(ctxT(t, 3*time.Second), s13.Request{IMEI: "35209900176148", SoftwareVersion: "23"})
		require.NoError(t, err)
		assert.Equal(t, s13.Whitelisted, ans.EquipmentStatus)
	}
	for range 10 {
		check()
	}
	assert.Equal(t, uint64(10), a.Stats().Answers, "the preferred TLS DRA takes the traffic")
	assert.Zero(t, b.Stats().Answers)

	require.NoError(t, a.Close(ctxT(t, 5*time.Second))) // DPR, then gone
	aClosed = true
	for range 10 {
		check()
	}
	assert.Equal(t, uint64(10), b.Stats().Answers, "the TCP DRA takes over")
}
