package engine

import (
	"context"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/leakcheck"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

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

func startEngine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, e.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.Close(ctx)
	})
	return e
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

var testReq = s13.Request{IMEI: "35209900176148", SoftwareVersion: "23", IMSI: "001010123456789"}
