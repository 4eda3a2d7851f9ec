package e2e

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/engine"
	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/hsdfat8/diam-gw/server"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEngineEndToEnd runs the real client against the real server: two connections with an
// identity each (the server refuses duplicates, as freeDiameter does), every outcome of the
// freeDiameter rule file, then the client's DPR on Close.
func TestEngineEndToEnd(t *testing.T) {
	eir := fdEIR(t)
	srv := startServer(t, server.Config{Handler: eir, DuplicateIdentity: server.RejectDuplicates})

	e, err := engine.New(engine.Config{
		OriginHost:     cliHost,
		OriginRealm:    realm,
		DRAs:           []engine.DRA{{Address: srv.Addr(), Connections: 2, Identity: engine.IdentityPerConnection}},
		RequestTimeout: 500 * time.Millisecond,
		ConnectTimeout: 2 * time.Second,
		DPATimeout:     time.Second,
		BackoffInitial: 50 * time.Millisecond,
		BackoffMax:     200 * time.Millisecond,
	})
	require.NoError(t, err)
	require.NoError(t, e.Start(ctxT(t, 5*time.Second)))
	engineClosed := false
	t.Cleanup(func() {
		if !engineClosed {
			_ = e.Close(context.Background())
		}
	})
	eventually(t, func() bool { return srv.Stats().Peers == 2 }, "both connections open")

	check := func(imei string) (s13.Answer, error) {
		return e.Check(ctxT(t, 3*time.Second), s13.Request{IMEI: imei, SoftwareVersion: "23", IMSI: "001010123456789"})
	}
	for _, c := range []struct {
		imei   string
		rc     framing.ResultCode
		exp    s13.ExperimentalResultCode
		status s13.EquipmentStatus
		ebit   bool
	}{
		{"35209900176148", framing.Success, 0, s13.Whitelisted, false},
		{"99000001123456", framing.Success, 0, s13.Blacklisted, false},
		{"99000002123456", framing.Success, 0, s13.Greylisted, false},
		{"99000003123456", 0, s13.EquipmentUnknown, 0, false},
		{"99000004123456", framing.UnableToComply, 0, 0, false},
		{"99000005123456", framing.TooBusy, 0, 0, true},
	} {
		a, err := check(c.imei)
		require.NoError(t, err, c.imei)
		assert.Equal(t, c.rc, a.ResultCode, c.imei)
		assert.Equal(t, c.exp, a.ExperimentalResult.Code, c.imei)
		assert.Equal(t, c.ebit, a.IsError(), c.imei)
		if c.rc == framing.Success {
			assert.Equal(t, c.status, a.EquipmentStatus, c.imei)
		}
		assert.Equal(t, srvHost, string(a.OriginHost))
	}
	_, err = check("99000006123456") // DROP
	assert.True(t, errors.Is(err, engine.ErrTimeout), "a dropped ECR times out: %v", err)

	// Concurrent load over both connections through the callback API, at most 512 in flight
	// (the semaphore keeps within the engine's window, so Go never says ErrBusy).
	const n = 2000
	var wg sync.WaitGroup
	var ok, failed atomic.Int64
	sem := make(chan struct{}, 512)
	for i := 0; i < n; i++ {
		await.Send(t, sem, struct{}{}, 10*time.Second)
		wg.Add(1)
		err := e.Go(s13.Request{IMEI: "99000001123456"}, func(a s13.Answer, err error) {
			defer func() { await.Within(sem, time.Second); wg.Done() }() // frees the slot it holds
			if err == nil && a.EquipmentStatus == s13.Blacklisted {
				ok.Add(1)
			} else {
				failed.Add(1)
			}
		})
		require.NoError(t, err)
	}
	await.Wait(t, &wg, 10*time.Second)
	assert.EqualValues(t, n, ok.Load())
	assert.Zero(t, failed.Load())

	st := srv.Stats()
	assert.EqualValues(t, 2, st.Peers)
	assert.Zero(t, st.CERRejects, "one identity per connection: no duplicate")
	assert.EqualValues(t, n+6, st.Answers)
	assert.GreaterOrEqual(t, eir.Stats().Blacklisted, uint64(n+1))

	// The client's Close sends DPR on both connections; the server answers and they go.
	engineClosed = true
	require.NoError(t, e.Close(ctxT(t, 5*time.Second)))
	eventually(t, func() bool { return srv.Stats().Connections == 0 }, "both connections gone")
	assert.EqualValues(t, 2, srv.Stats().DPRReceived)
}

// TestEngineSeesServerDPR checks the other direction: the server's Close sends DPR, the engine
// answers DPA, and the server closes without waiting for its DPA timeout.
func TestEngineSeesServerDPR(t *testing.T) {
	srv := newServer(t, server.Config{Handler: fdEIR(t), DPATimeout: 3 * time.Second})
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))
	e, err := engine.New(engine.Config{
		OriginHost: cliHost, OriginRealm: realm,
		DRAs:           []engine.DRA{{Address: srv.Addr(), Connections: 1}},
		BackoffInitial: time.Minute, // stay away after the DPR
	})
	require.NoError(t, err)
	require.NoError(t, e.Start(ctxT(t, 5*time.Second)))
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	_, err = e.Check(ctxT(t, 3*time.Second), s13.Request{IMEI: "35209900176148"})
	require.NoError(t, err)

	start := time.Now()
	require.NoError(t, srv.Close(ctxT(t, 5*time.Second)))
	assert.Less(t, time.Since(start), 3*time.Second, "the DPA came back")
	st := srv.Stats()
	assert.EqualValues(t, 1, st.DPRSent)
	assert.EqualValues(t, 1, st.DPAReceived)
}
