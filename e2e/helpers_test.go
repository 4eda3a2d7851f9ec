package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/fixtures"
	"github.com/hsdfat8/diam-gw/internal/leakcheck"
	"github.com/hsdfat8/diam-gw/s13/eir"
	"github.com/hsdfat8/diam-gw/server"
)

// Every goroutine of an engine or a server ends with it; gnet's process-wide pool is the
// exception.
func TestMain(m *testing.M) { leakcheck.VerifyTestMain(m) }

const (
	srvHost = "eir.test.local"
	realm   = "test.local"
	cliHost = "gw.test.local"
	waitFor = 3 * time.Second // bound of eventually
)

// ctxT is a context bounded by d and the test.
func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// fdEIR is an EIR following the freeDiameter rule file.
func fdEIR(t *testing.T) *eir.Handler {
	t.Helper()
	p, err := eir.LoadPolicy(fixtures.EIRRules(t))
	require.NoError(t, err)
	h, err := eir.New(framing.Identity{OriginHost: srvHost, OriginRealm: realm}, p)
	require.NoError(t, err)
	return h
}

// newServer builds a server on an ephemeral loopback port, answering as srvHost; the test starts
// and closes it.
func newServer(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	cfg.Listen, cfg.OriginHost, cfg.OriginRealm = "127.0.0.1:0", srvHost, realm
	srv, err := server.New(cfg)
	require.NoError(t, err)
	return srv
}

// startServer is newServer started, and closed when the test ends.
func startServer(t *testing.T, cfg server.Config) *server.Server {
	t.Helper()
	srv := newServer(t, cfg)
	require.NoError(t, srv.Start(ctxT(t, 5*time.Second)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Close(ctx))
	})
	return srv
}

// eventually waits for cond, which reads the server's counters: the only place a test has no
// event to wait on.
func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, waitFor, 5*time.Millisecond, msg)
}
