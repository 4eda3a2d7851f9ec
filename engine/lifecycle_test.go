package engine

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/fsm"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Close lets outstanding requests finish, then sends DPR and ends every connection.
func TestCloseDrainsThenSendsDPR(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Delay: 100 * time.Millisecond}
	}})
	cfg := testConfig(peer.Addr())
	cfg.DRAs[0].Connections = 2
	cfg.DRAs[0].Identity = IdentityPerConnection
	w := watchStates(&cfg)
	e, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(ctxT(t, 3*time.Second)))
	w.awaitOpen(t, ctxT(t, 3*time.Second), 2)
	var answered atomic.Int64
	for i := 0; i < 10; i++ {
		require.NoError(t, e.Go(testReq, func(_ s13.Answer, err error) {
			if err == nil {
				answered.Add(1)
			}
		}))
	}
	require.NoError(t, e.Close(ctxT(t, 3*time.Second)))
	assert.EqualValues(t, 10, answered.Load(), "outstanding requests finish before DPR")
	ctx := ctxT(t, time.Second)
	for i := 0; i < 2; i++ {
		_, err := peer.Await(ctx, testpeer.GotDPR)
		require.NoError(t, err)
	}
	for _, c := range e.Stats().Conns {
		assert.Equal(t, "Disconnected", c.State)
	}
	require.ErrorIs(t, e.Go(testReq, func(s13.Answer, error) {}), ErrClosed)
}

// Close with a short context cuts outstanding requests off with ErrClosed, exactly once each.
func TestCloseCutsShort(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Drop: true}
	}})
	cfg := testConfig(peer.Addr())
	cfg.RequestTimeout = 10 * time.Second
	e, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(ctxT(t, 3*time.Second)))
	var closed, calls atomic.Int64
	for i := 0; i < 20; i++ {
		require.NoError(t, e.Go(testReq, func(_ s13.Answer, err error) {
			calls.Add(1)
			if assert.ErrorIs(t, err, ErrClosed) {
				closed.Add(1)
			}
		}))
	}
	_, err = peer.Await(ctxT(t, 2*time.Second), testpeer.GotECR)
	require.NoError(t, err)
	err = e.Close(ctxT(t, 100*time.Millisecond))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.EqualValues(t, 20, calls.Load())
	assert.EqualValues(t, 20, closed.Load())
}

// The responder restarts: the connection goes down, comes back, passes REOPEN (three DWAs) and
// carries requests again.
func TestReconnectAfterResponderRestart(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 5*time.Second)
	_, err := e.Check(ctx, testReq)
	require.NoError(t, err)

	peer.Stop()
	w.await(t, ctx, 1, fsm.Reconnecting)
	_, err = e.Check(ctx, testReq)
	require.ErrorIs(t, err, ErrNoConnection, "nothing usable while the peer is down")
	require.NoError(t, peer.Restart())
	w.await(t, ctx, 1, fsm.Reopen)
	w.await(t, ctx, 1, fsm.Open)
	assert.EqualValues(t, 3, peer.DWRs.Load(), "REOPEN takes exactly three DWR/DWA exchanges")
	_, err = e.Check(ctx, testReq)
	require.NoError(t, err)
	st := e.Stats()
	assert.EqualValues(t, 1, st.Total.Reconnects)
	assert.EqualValues(t, 3, st.Total.DWRSent)
}

// In REOPEN the connection carries nothing until the third DWA, however long that takes.
func TestReopenWithholdsTraffic(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	fast(&cfg, 300*time.Millisecond, 300*time.Millisecond)
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 5*time.Second)
	peer.SetIgnoreDWR(true)
	peer.Conns()[0].Close()
	w.await(t, ctx, 1, fsm.Reopen)
	_, err := peer.Await(ctx, testpeer.GotDWR) // REOPEN's first DWR, unanswered
	require.NoError(t, err)
	_, err = e.Check(ctx, testReq)
	require.ErrorIs(t, err, ErrNoConnection)
	assert.Equal(t, "Reopen", e.state(0))
	peer.SetIgnoreDWR(false)
	// the next expiry sends nothing new (a DWR is pending) then gives the peer one more Tw;
	// the peer now answers the DWRs that follow
	w.await(t, ctx, 1, fsm.Open)
	_, err = e.Check(ctx, testReq)
	require.NoError(t, err)
}

// A CEA refusal (5010 no common application, here) never makes the connection usable and the
// retries back off instead of hammering the peer.
func TestCEARejectedBacksOff(t *testing.T) {
	for _, pc := range []testpeer.Config{{CEAResult: framing.NoCommonApplication}, {NoCommonApp: true}} {
		peer := testpeer.StartT(t, pc)
		cfg := testConfig(peer.Addr())
		cfg.BackoffInitial, cfg.BackoffMax, cfg.BackoffMultiplier = 100*time.Millisecond, time.Second, 2
		e, err := New(cfg)
		require.NoError(t, err)
		err = e.Start(ctxT(t, 700*time.Millisecond))
		require.ErrorIs(t, err, ErrNoConnection)
		// 0.7 s with delays of ~100, 200, 400 ms leaves room for at most 4 attempts
		cers := 0
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			_, err := peer.Await(ctx, testpeer.GotCER)
			cancel()
			if err != nil {
				break
			}
			cers++
		}
		assert.GreaterOrEqual(t, cers, 2)
		assert.LessOrEqual(t, cers, 5)
		st := e.Stats()
		assert.GreaterOrEqual(t, st.Total.CEARejects, uint64(2))
		assert.Contains(t, st.Conns[0].LastError, "capabilities exchange rejected")
		require.NoError(t, e.Close(ctxT(t, 2*time.Second)))
	}
}

// A CEA from an unexpected Origin-Host is refused.
func TestPeerOriginHostEnforced(t *testing.T) {
	for _, tc := range []struct {
		name             string
		peerHost, realm  string // what the peer's CEA says
		wantHost, wantRm string // what the DRA's config expects
		refused          string // a quoted value LastError names; "" when the CEA is accepted
	}{
		{"wrong host", "evil.example", "test.local", "eir.test.local", "", `"evil.example"`},
		{"wrong realm", "eir.test.local", "evil.example", "", "test.local", `"evil.example"`},
		{"both match, in another case (DiameterIdentity compares case-insensitively)", "eir.test.local", "test.local",
			"EIR.Test.Local", "TEST.local", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer := testpeer.StartT(t, testpeer.Config{OriginHost: tc.peerHost, OriginRealm: tc.realm})
			cfg := testConfig(peer.Addr())
			cfg.DRAs[0].PeerOriginHost, cfg.DRAs[0].PeerOriginRealm = tc.wantHost, tc.wantRm
			e, err := New(cfg)
			require.NoError(t, err)
			wait := 300 * time.Millisecond // a refused CEA never makes it usable: Start gives up
			if tc.refused == "" {
				wait = 5 * time.Second
			}
			err = e.Start(ctxT(t, wait))
			if tc.refused == "" {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrNoConnection)
				assert.ErrorIs(t, e.Stats().Conns[0].LastErr, ErrCEARejected)
				assert.Contains(t, e.Stats().Conns[0].LastError, tc.refused)
			}
			require.NoError(t, e.Close(ctxT(t, 2*time.Second)))
		})
	}
}

// Bytes that break the framing rules reset the connection (an RST, not a FIN: RFC 6733 §2.1);
// pending requests fail over or fail; the engine reconnects.
func TestFramingViolationResets(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{})
	cfg := testConfig(peer.Addr())
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	ctx := ctxT(t, 5*time.Second)
	require.NoError(t, peer.Conns()[0].Write([]byte{2, 0, 0, 20, 0x80, 0, 1, 24, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1}))
	st := awaitFramingReset(t, ctx, peer, w, e, "unsupported Diameter version")
	assert.ErrorIs(t, st.Conns[0].LastErr, ErrProtocol, "LastErr is the error value")
	assert.ErrorIs(t, st.Conns[0].LastErr, framing.ErrVersion, "with the framing cause")
	w.await(t, ctx, 1, fsm.Open)
}

// A DPR from the peer is answered; after REBOOTING the engine reconnects, after BUSY it stays
// away for the long backoff.
func TestPeerDPR(t *testing.T) {
	for _, cause := range []framing.DisconnectCause{framing.Rebooting, framing.Busy} {
		peer := testpeer.StartT(t, testpeer.Config{})
		cfg := testConfig(peer.Addr())
		cfg.BackoffMax = 5 * time.Second
		w := watchStates(&cfg)
		e := startEngine(t, cfg)
		ctx := ctxT(t, 3*time.Second)
		c := peer.Conns()[0]
		require.NoError(t, c.SendDPR(cause))
		_, err := peer.Await(ctx, testpeer.GotDPA)
		require.NoError(t, err)
		c.Close() // the DPR sender closes
		w.await(t, ctx, 1, fsm.Reconnecting)
		if cause == framing.Rebooting {
			w.await(t, ctx, 1, fsm.Reopen)
		} else {
			short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			_, err := peer.Await(short, testpeer.Accepted)
			cancel()
			require.Error(t, err, "no reconnect within the long backoff after BUSY")
		}
		require.NoError(t, e.Close(ctxT(t, 2*time.Second)))
	}
}

// Many requests in flight while connections are torn down: each completes exactly once.
func TestExactlyOnceUnderResets(t *testing.T) {
	peer := testpeer.StartT(t, testpeer.Config{Handler: func(*testpeer.Conn, *s13.ECR) testpeer.Reply {
		return testpeer.Reply{Delay: time.Millisecond}
	}})
	cfg := testConfig(peer.Addr())
	cfg.DRAs[0].Connections = 3
	cfg.DRAs[0].Identity = IdentityPerConnection
	cfg.RequestTimeout = 500 * time.Millisecond
	w := watchStates(&cfg)
	e := startEngine(t, cfg)
	w.awaitOpen(t, ctxT(t, 3*time.Second), 3)

	var mu sync.Mutex
	completions := map[int]int{}
	outcomes := map[string]int{}
	var wg sync.WaitGroup
	accepted := 0
	stop := make(chan struct{})
	chaosDone := make(chan struct{})
	go func() { // chaos: reset one connection every few milliseconds
		defer close(chaosDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if cs := peer.Conns(); len(cs) > 0 {
				cs[i%len(cs)].Reset()
			}
		}
	}()
	end := time.Now().Add(400 * time.Millisecond)
	for i := 0; time.Now().Before(end); i++ {
		i := i
		wg.Add(1)
		err := e.Go(testReq, func(_ s13.Answer, err error) {
			mu.Lock()
			completions[i]++
			switch {
			case err == nil:
				outcomes["answer"]++
			case errors.Is(err, ErrConnectionLost):
				outcomes["lost"]++
			case errors.Is(err, ErrTimeout):
				outcomes["timeout"]++
			default:
				outcomes[err.Error()]++
			}
			mu.Unlock()
			wg.Done()
		})
		if err != nil {
			wg.Done()
			time.Sleep(50 * time.Microsecond) // nothing usable right now: pace the retries
			continue
		}
		accepted++
		if i%20 == 0 {
			time.Sleep(100 * time.Microsecond) // spread the load over the chaos
		}
	}
	close(stop)
	await.Recv(t, chaosDone, 5*time.Second)
	await.Wait(t, &wg, 30*time.Second)
	mu.Lock()
	defer mu.Unlock()
	t.Logf("accepted %d, outcomes %v, failovers %d", accepted, outcomes, e.Stats().Total.Failovers)
	// How many get answered during the chaos depends on how the machine schedules the resets
	// against the traffic; that some requests were accepted and caught in flight does not.
	assert.Greater(t, accepted, 100)
	assert.Positive(t, e.Stats().Total.Failovers, "the chaos must have caught requests in flight")
	assert.Len(t, completions, accepted)
	for i, n := range completions {
		require.Equal(t, 1, n, "request %d completed %d times", i, n)
	}
	assert.Zero(t, e.Stats().Outstanding)
	assert.Zero(t, e.Stats().Total.InFlight)

	// Once the resets stop, the connections come back and carry traffic again.
	require.NoError(t, e.WaitReady(ctxT(t, 5*time.Second)))
	for range 10 {
		_, err := e.Check(ctxT(t, 5*time.Second), testReq)
		require.NoError(t, err)
	}
}
