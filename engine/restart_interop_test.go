package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hsdfat8/diam-gw/framing"
	"github.com/hsdfat8/diam-gw/internal/await"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Restart resilience against real peers that the test starts, kills and restarts itself, on
// ports and in a run directory of its own (CI's shared peers are not touched). DIAMGW_FD_SCRIPTS
// and DIAMGW_OTP_SCRIPTS are ../shared/peers/freediameter and ../shared/peers/otp.

// ownPeers is one set of peers started by a test.
type ownPeers struct {
	t       *testing.T
	scripts string
	runDir  string
	env     []string
}

func startOwnPeers(t *testing.T, scriptsEnv string, env ...string) *ownPeers {
	t.Helper()
	dir := os.Getenv(scriptsEnv)
	if dir == "" {
		skipOrFail(t, "%s is not set: no peer scripts to start our own peers with (../shared/peers)", scriptsEnv)
	}
	p := &ownPeers{t: t, scripts: dir, runDir: t.TempDir(), env: env}
	t.Cleanup(func() { _ = p.script("stop.sh") })
	return p
}

// script runs one of the peer scripts with the test's run directory and environment.
func (p *ownPeers) script(name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // also from a cleanup
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(p.scripts, name), append(args, p.runDir)...)
	cmd.Env = append(os.Environ(), p.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %w: %s", name, args, err, out)
	}
	return nil
}

// kill sends SIGKILL to the peer whose pid file is name.pid: an unclean end.
func (p *ownPeers) kill(name string) {
	p.t.Helper()
	b, err := os.ReadFile(filepath.Join(p.runDir, name+".pid"))
	require.NoError(p.t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(p.t, err)
	require.NoError(p.t, syscall.Kill(pid, syscall.SIGKILL))
	// SIGKILL is delivered, not done: the next start must not find the old process (or its
	// listening port) still there. It is not our child, so poll for it to be gone.
	require.Eventually(p.t, func() bool { return syscall.Kill(pid, 0) == syscall.ESRCH }, 10*time.Second,
		10*time.Millisecond, "the killed peer (pid %d) is gone", pid)
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// checkLoad keeps a few goroutines sending ECRs and books every outcome: each request completes
// exactly once, with an answer or a typed error.
type checkLoad struct {
	e                  *Engine
	stop               chan struct{}
	stopOnce           sync.Once
	wg                 sync.WaitGroup
	ok, typed, untyped atomic.Int64
	okSince            atomic.Int64 // successes since the last mark
	mu                 sync.Mutex
	untypedErrs        []error
}

func startCheckLoad(t *testing.T, e *Engine, workers int) *checkLoad {
	l := &checkLoad{e: e, stop: make(chan struct{})}
	t.Cleanup(func() { l.halt(); l.wg.Wait() }) // a test that fails early stops its load first
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				// Not ctxT: t's methods are not for goroutines that outlive it.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				a, err := e.Check(ctx, testReq)
				cancel()
				switch {
				case err == nil && a.ResultCode == framing.Success:
					l.ok.Add(1)
					l.okSince.Add(1)
				case err == nil:
					l.typed.Add(1) // an answer, of another code (3002 from the DRA while the EIR is down)
				case errors.Is(err, ErrTimeout), errors.Is(err, ErrNoConnection), errors.Is(err, ErrConnectionLost),
					errors.Is(err, ErrBusy):
					l.typed.Add(1)
					select { // no connection: do not spin
					case <-l.stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
				default:
					l.untyped.Add(1)
					l.mu.Lock()
					l.untypedErrs = append(l.untypedErrs, err)
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}

// awaitAnswers waits until n more requests have been answered 2001.
func (l *checkLoad) awaitAnswers(t *testing.T, n int64, d time.Duration) {
	t.Helper()
	l.okSince.Store(0)
	deadline := time.After(d)
	tick := time.NewTicker(50 * time.Millisecond) // the books are counters: polled, not awaited
	defer tick.Stop()
	for l.okSince.Load() < n {
		select {
		case <-deadline:
			t.Fatalf("only %d answers 2001 within %v (ok %d, typed errors %d)", l.okSince.Load(), d, l.ok.Load(), l.typed.Load())
		case <-tick.C:
		}
	}
}

// halt stops the load's goroutines; it may be called more than once.
func (l *checkLoad) halt() { l.stopOnce.Do(func() { close(l.stop) }) }

func (l *checkLoad) finish(t *testing.T) {
	t.Helper()
	l.halt()
	await.Wait(t, &l.wg, 20*time.Second)
	assert.Zero(t, l.untyped.Load(), "errors of no engine type: %v", l.untypedErrs)
	assert.Zero(t, l.e.Stats().Outstanding, "every request completed")
}

// Under load through freeDiameter's DRA, the EIR is killed and restarted, then the DRA: the
// engine reconnects by itself, every request completes once (2001, another answer or a typed
// error) and answers 2001 come back after each restart. After Close (DPR), a new engine with
// the same identity finds the DRA clean: no REOPEN of the peer's.
func TestInteropRestartFreeDiameter(t *testing.T) {
	eirPort, draPort := freePort(t), freePort(t)
	peers := startOwnPeers(t, "DIAMGW_FD_SCRIPTS", "FD_TW=6", "EIR_PORT="+strconv.Itoa(eirPort),
		"DRA_PORT="+strconv.Itoa(draPort), "FD_NO_INSTALL=1")
	require.NoError(t, peers.script("start.sh", "dra"))
	cfg, e, l := loadedEngine(t, "gw-restart", draPort)

	peers.kill("eir")
	require.NoError(t, peers.script("start.sh", "dra")) // restarts the EIR; waits for the DRA to reach it
	l.awaitAnswers(t, 200, 30*time.Second)

	peers.kill("dra")
	require.NoError(t, peers.script("start.sh", "dra"))
	l.awaitAnswers(t, 200, 30*time.Second)
	l.finish(t)
	requireCleanAfterClose(t, e, cfg)
}

// loadedEngine starts an engine with identity host towards 127.0.0.1:port under the load of four
// goroutines, once answers flow.
func loadedEngine(t *testing.T, host string, port int) (Config, *Engine, *checkLoad) {
	t.Helper()
	cfg := fdConfig(host, "127.0.0.1:"+strconv.Itoa(port))
	cfg.RequestTimeout = 3 * time.Second
	e := startEngine(t, cfg)
	l := startCheckLoad(t, e, 4)
	l.awaitAnswers(t, 200, 10*time.Second)
	return cfg, e, l
}

// requireCleanAfterClose closes e, which reconnected during the test, and starts another engine
// with the same identity: our Close sent DPR, so the peer forgot us cleanly and the fresh
// connection is not in its REOPEN.
func requireCleanAfterClose(t *testing.T, e *Engine, cfg Config) {
	t.Helper()
	assert.Positive(t, e.Stats().Total.Reconnects, "reconnected to the restarted peer")
	require.NoError(t, e.Close(ctxT(t, 5*time.Second)))
	e2 := startEngine(t, cfg)
	_, err := e2.Check(ctxT(t, 5*time.Second), testReq)
	require.NoError(t, err)
	assert.Zero(t, e2.Stats().Total.PeerReopens, "no REOPEN after our DPR")
}

// The same against the OTP EIR: killed and restarted under load.
func TestInteropRestartOTP(t *testing.T) {
	port := freePort(t)
	peers := startOwnPeers(t, "DIAMGW_OTP_SCRIPTS", "OTP_TW=6", "OTP_EIR_PORT="+strconv.Itoa(port), "OTP_NO_INSTALL=1")
	require.NoError(t, peers.script("start.sh", "eir"))
	cfg, e, l := loadedEngine(t, "gw-restart-otp", port)

	peers.kill("eir")
	require.NoError(t, peers.script("start.sh", "eir"))
	l.awaitAnswers(t, 200, 30*time.Second)
	l.finish(t)
	requireCleanAfterClose(t, e, cfg)
}
