package engine

import (
	"context"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/internal/testpeer"
	"github.com/hsdfat8/diam-gw/s13"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// gnet starts a process-wide ants worker pool at init (pkg/pool/goroutine.DefaultWorkerPool);
// its two housekeeping goroutines are not the engine's and live as long as the process.
var leakOpts = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).purgeStaleWorkers"),
	goleak.IgnoreTopFunction("github.com/panjf2000/ants/v2.(*poolCommon).ticktock"),
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, leakOpts...)
}

// testConfig is a config for one DRA at addr with fast timers.
func testConfig(addrs ...string) Config {
	c := Config{
		OriginHost:        "gw.test.local",
		OriginRealm:       "test.local",
		ConnectionCount:   1,
		ConnectTimeout:    2 * time.Second,
		CERTimeout:        2 * time.Second,
		DWRInterval:       30 * time.Second,
		DWRTimeout:        10 * time.Second,
		DPATimeout:        time.Second,
		ReconnectInterval: 50 * time.Millisecond,
		MaxReconnectDelay: 200 * time.Millisecond,
		RequestTimeout:    2 * time.Second,
		seed:              1,
	}
	for _, a := range addrs {
		c.DRAs = append(c.DRAs, DRA{Address: a})
	}
	return c
}

func startPeer(t *testing.T, cfg testpeer.Config) *testpeer.Peer {
	t.Helper()
	p, err := testpeer.Start(cfg)
	require.NoError(t, err)
	t.Cleanup(p.Stop)
	return p
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
