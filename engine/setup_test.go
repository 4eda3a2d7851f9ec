package engine

import (
	"context"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/require"
)

// testConfig is a config for one DRA at addr with fast timers.
func testConfig(addrs ...string) Config {
	c := Config{
		OriginHost:      "gw.test.local",
		OriginRealm:     "test.local",
		ConnectionCount: 1,
		ConnectTimeout:  2 * time.Second,
		CEATimeout:      2 * time.Second,
		DWRInterval:     30 * time.Second,
		DWATimeout:      10 * time.Second,
		DPATimeout:      time.Second,
		BackoffInitial:  50 * time.Millisecond,
		BackoffMax:      200 * time.Millisecond,
		RequestTimeout:  2 * time.Second,
		seed:            1,
	}
	for _, a := range addrs {
		c.DRAs = append(c.DRAs, DRA{Address: a})
	}
	return c
}

// startEngine builds and starts an engine that t closes at its end.
func startEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	require.NoError(t, err)
	require.NoError(t, e.Start(ctxT(t, 5*time.Second)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Close(ctx)
	})
	return e
}

var testReq = s13.Request{IMEI: "35209900176148", SoftwareVersion: "23", IMSI: "001010123456789"}

// fast makes Tw short for tests, below the RFC minimum, without jitter.
func fast(cfg *Config, tw, dwa time.Duration) {
	cfg.DWRInterval, cfg.DWATimeout = tw, dwa
	cfg.watchdogFloor = min(tw, 100*time.Millisecond)
	cfg.noJitter = true
}

// newEngineT builds an engine that t closes at its end, for a test that starts it itself.
func newEngineT(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = closeWithin(t, e, time.Second) })
	return e
}

// startBounded is startEngine whose closing at the end of t is bounded too: a broken shutdown
// fails the test instead of hanging it.
func startBounded(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e := newEngineT(t, cfg)
	require.NoError(t, e.Start(ctxT(t, 5*time.Second)))
	return e
}

// state returns connection i's state name from the statistics.
func (e *Engine) state(i int) string { return e.Stats().Conns[i].State }
